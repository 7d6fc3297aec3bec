"""What a capture says about itself, inside its own WARC: warcinfo, snapshots, provenance.

The WARC of a capture ends with what the browser part produced (docs/formats/capture.md
section 3.5), each byte stored once:

- one ``resource`` record per snapshot taken, in the order ``screenshot`` (PNG), ``pdf``,
  ``dom`` (the HTML serialisation of the DOM, UTF-8), ``text`` (the visible text, UTF-8),
  each with ``WARC-Target-URI: urn:custody:<role>:<capture id>``;
- last, one ``metadata`` record, the provenance (JSON), with ``WARC-Target-URI:
  urn:custody:provenance:<capture id>`` and ``WARC-Refers-To`` the ``warcinfo`` record.
  Written last, it can describe the whole capture: every record before it is counted in
  ``records``, and each snapshot is named with its record id and SHA-256.

The capture id is a random UUID (32 hex digits), also in the ``warcinfo`` record.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime
from typing import Any

from custody import TOOL_NAME, __version__, log
from custody.capture.browser import BrowserSession
from custody.capture.credentials import SCRUBBED
from custody.capture.options import CaptureOptions
from custody.capture.page import SNAPSHOTS, Outcome
from custody.capture.recorder import WarcRecorder
from custody.warc import WrittenRecord

METHOD = (
    "every request of the browser paused (DevTools Fetch, browser-wide) and performed by "
    "custody over its own connection to a policy-checked address (HTTP/1.1, or HTTP/2 when an "
    "https server chooses h2 by ALPN; one request per connection); recorded as "
    "received (body after transfer decoding, before content decoding); the browser got "
    "the response through Fetch.fulfillRequest, content-decoded by custody"
)
CONTENT_TYPES = {
    "screenshot": "image/png",
    "pdf": "application/pdf",
    "dom": "text/html; charset=utf-8",
    "text": "text/plain; charset=utf-8",
    "provenance": "application/json",
}


def record_uri(role: str, capture_id: str) -> str:
    """The ``WARC-Target-URI`` of a capture's snapshot or provenance record."""
    return f"urn:custody:{role}:{capture_id}"


def warcinfo_fields(
    session: BrowserSession, options: CaptureOptions, capture_id: str
) -> list[tuple[str, str]]:
    """The fields of the ``warcinfo`` record that opens a capture's WARC."""
    info = [("software", f"{TOOL_NAME}/{__version__}"), ("format", "WARC File Format 1.1")]
    info += [("browser", f"Chromium {session.version}"), ("method", METHOD)]
    info.append(("capture-id", capture_id))
    if options.proxy is not None:
        info.append(("proxy", f"{options.proxy.public_url} (HTTP CONNECT)"))
    if options.storage_state is not None:
        info.append(("scrubbed-request-headers", ", ".join(SCRUBBED)))
    return info


def write_snapshots(
    recorder: WarcRecorder, out: Outcome, capture_id: str
) -> dict[str, WrittenRecord]:
    """Append one ``resource`` record per snapshot taken; return them by role.

    Raises:
        StorageError: writing fails.
    """
    written = {}
    for role in SNAPSHOTS:
        if role in out.snapshots:
            written[role] = recorder.add(
                recorder.writer.write_resource(
                    record_uri(role, capture_id),
                    out.snapshots[role],
                    content_type=CONTENT_TYPES[role],
                    date=out.snapshot_times.get(role),
                )
            )
    return written


def write_provenance(
    recorder: WarcRecorder, doc: dict[str, Any], capture_id: str, date: datetime | None
) -> WrittenRecord:
    """Append the provenance record, the WARC's last.

    Raises:
        StorageError: writing fails.
    """
    data = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"
    warcinfo = recorder.records[0].record_id if recorder.records else None
    return recorder.add(
        recorder.writer.write_metadata(
            record_uri("provenance", capture_id),
            data,
            content_type=CONTENT_TYPES["provenance"],
            refers_to=warcinfo,
            date=date,
        )
    )


def build_provenance(
    options: CaptureOptions,
    out: Outcome,
    credentials: dict[str, Any] | None,
    capture_id: str,
    snapshots: dict[str, WrittenRecord],
    records: int,
) -> dict[str, Any]:
    """The provenance record of a capture whose WARC holds ``records`` records so far."""
    assert out.ended is not None  # noqa: S101  # set by drive()
    proxy = options.proxy
    return {
        "format_version": 1,
        "kind": "capture-provenance",
        "capture_id": capture_id,
        "tool": {"name": TOOL_NAME, "version": __version__},
        "browser": out.browser,
        "os": {"platform": platform.platform(), "python": platform.python_version()},
        "user_agent": out.user_agent,
        "viewport": {"width": options.viewport_width, "height": options.viewport_height},
        "options": options.to_dict(),
        "method": METHOD,
        "proxy": proxy.describe(address_check=not options.allow_private) if proxy else None,
        "credentials": credentials,
        "started": log.format_time(out.started),
        "ended": log.format_time(out.ended),
        "times": "claimed, from this machine's clock",
        "url": out.url,
        "final_url": out.final_url,
        "main_status": out.main_status,
        "redirects": out.redirects,
        "status": "PARTIAL" if out.reasons else "COMPLETE",
        "reasons": out.reasons,
        "scroll_steps": out.scroll_steps,
        "dialogs_dismissed": out.dialogs,
        "popups": out.popups,
        "downloads": out.downloads,
        "page_events": dict(out.totals),
        "records": records,
        "snapshots": {
            role: {
                "record_id": rec.record_id,
                "target_uri": rec.target_uri,
                "content_type": CONTENT_TYPES[role],
                "sha256": rec.block_sha256,
                "size": len(out.snapshots[role]),
            }
            for role, rec in snapshots.items()
        },
    } | out.network
