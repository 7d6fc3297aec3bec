"""``custody capture URL``: a sealed WARC of what the browser saw, with its provenance.

One capture:

1. checks the URL (http or https only) and refuses it before anything is written when its
   host resolves only to refused addresses (exit 4; ``--allow-private`` allows them);
2. opens a fresh browser context in headless Chromium (from a logged-in session's storage
   state if given: :mod:`custody.capture.credentials`) whose every request is paused and
   performed by custody under the address policy, directly or through the investigator's
   proxy (:mod:`custody.capture.proxy`), and recorded in a WARC (see
   :mod:`custody.capture.recorder` for how, and for the fidelity limits); requests the
   policy refuses (redirect hops and subresources included) fail in the browser and are
   listed in the provenance;
3. loads the page (until ``load``), scrolls down one viewport at a time to trigger lazy
   content, and waits for the network to be quiet, all within ``timeout`` seconds
   (:mod:`custody.capture.page`), reporting its progress to a callback;
4. takes a full-page screenshot (PNG), a PDF, the DOM after load and the visible text,
   each within ``snapshot_timeout`` seconds (so the whole capture ends within about
   ``timeout + 4 * snapshot_timeout`` seconds plus browser start-up);
5. stores the WARC, each snapshot, a provenance record and a details record (URL, note)
   as artifacts, commits each with a salted commitment, and appends one signed ``capture``
   entry whose subject holds those commitments and the status, nothing else.

The capture is PARTIAL, with reasons, when the page did not load or settle in time, a
request was blocked or refused by a limit, a response was cut short, or a snapshot
failed; it is sealed all the same (exit 7). A page that got no response at all is a
network error (exit 6) and leaves nothing behind. Network errors of single resources
(a third-party server down) are what the page really was: listed, not PARTIAL. Several
URLs: :mod:`custody.capture.batch`.
"""

from __future__ import annotations

import json
import platform
import ssl
import tempfile
import threading
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError

from custody import TOOL_NAME, __version__, canonical, log, seen, signing, store
from custody.capture import guard
from custody.capture.browser import BrowserLaunchError, BrowserSession
from custody.capture.credentials import SCRUBBED, Scrubber, StorageState, load_storage_state
from custody.capture.intercept import Interceptor
from custody.capture.options import CaptureOptions
from custody.capture.page import SNAPSHOTS, Outcome, drive
from custody.capture.progress import Phase, ProgressFn, Reporter
from custody.capture.recorder import Limits, WarcRecorder
from custody.case import Case
from custody.errors import ExitCode, NetworkError, UsageError

__all__ = ["SNAPSHOTS", "CaptureOptions", "CaptureResult", "CaptureStatus", "capture_page"]

METHOD = (
    "every request of the browser paused (DevTools Fetch, browser-wide) and performed by "
    "custody over its own HTTP/1.1 connection to a policy-checked address; recorded as "
    "received (body after transfer decoding, before content decoding); the browser got "
    "the response through Fetch.fulfillRequest, content-decoded by custody"
)
_SEALING = threading.Lock()  # captures of one process seal one at a time


class CaptureStatus(StrEnum):
    COMPLETE = "COMPLETE"
    PARTIAL = "PARTIAL"


class BadUrlError(UsageError):
    """A URL that cannot be captured: not an http or https URL with a host."""


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """One artifact of a capture, as stored and committed."""

    kind: str
    path: Path
    sha256: str
    sha512: str
    size: int
    commitment: str

    def to_dict(self, root: Path) -> dict[str, Any]:
        d = asdict(self) | {"path": str(self.path.relative_to(root))}
        del d["kind"]
        return d


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What one capture preserved."""

    url: str
    final_url: str
    status: CaptureStatus
    reasons: tuple[str, ...]
    seq: int
    details: str  # commitment of the details record
    artifacts: dict[str, StoredArtifact]
    counts: dict[str, int]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.status is CaptureStatus.COMPLETE else ExitCode.PARTIAL

    def to_dict(self, root: Path) -> dict[str, Any]:
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "entry": self.seq,
            "details": self.details,
            "artifacts": {k: a.to_dict(root) for k, a in self.artifacts.items()},
            "counts": self.counts,
        }


def check_url(url: str) -> tuple[str, int]:
    """The host and port of a URL custody can capture.

    Raises:
        BadUrlError: it is not an http or https URL with a host.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadUrlError(f"not a URL: {url[:200]!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise BadUrlError(f"only http and https URLs can be captured: {url[:200]!r}")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def tls_context(extra_ca: Path | None) -> ssl.SSLContext:
    """The TLS settings of custody's own connections (system trust, plus ``extra_ca``).

    Raises:
        UsageError: the CA file cannot be loaded.
    """
    ctx = ssl.create_default_context()
    ctx.set_alpn_protocols(["http/1.1"])
    if extra_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(extra_ca))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load CA file {extra_ca}: {exc}") from None
    return ctx


def _provenance(
    options: CaptureOptions, out: Outcome, credentials: dict[str, Any] | None
) -> dict[str, Any]:
    assert out.ended is not None  # noqa: S101  # set by drive()
    proxy = options.proxy
    return {
        "format_version": 1,
        "kind": "capture-provenance",
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
        "status": CaptureStatus.PARTIAL.value if out.reasons else "COMPLETE",
        "reasons": out.reasons,
        "scroll_steps": out.scroll_steps,
        "dialogs_dismissed": out.dialogs,
        "popups": out.popups,
    } | out.network


def _warcinfo(session: BrowserSession, options: CaptureOptions) -> list[tuple[str, str]]:
    info = [("software", f"{TOOL_NAME}/{__version__}"), ("format", "WARC File Format 1.1")]
    info += [("browser", f"Chromium {session.version}"), ("method", METHOD)]
    if options.proxy is not None:
        info.append(("proxy", f"{options.proxy.public_url} (HTTP CONNECT)"))
    if options.storage_state is not None:
        info.append(("scrubbed-request-headers", ", ".join(SCRUBBED)))
    return info


def capture_page(
    case: Case,
    url: str,
    options: CaptureOptions,
    *,
    signer: signing.Signer,
    home: Path,
    browser: BrowserSession | None = None,
    policy: guard.AddressPolicy | None = None,
    progress: ProgressFn | None = None,
) -> CaptureResult:
    """Capture ``url`` into ``case`` and seal it with one signed ``capture`` entry.

    ``browser`` is reused when given (one capture at a time), else launched and closed.
    ``policy`` defaults to the one ``options.allow_private`` implies. ``progress`` gets
    reports as the capture goes (see :mod:`custody.capture.progress`). Several threads may
    capture into one case at once, each with its own browser.

    Raises:
        BadUrlError: the URL is not http(s).
        UsageError: the CA file or the storage state cannot be read.
        BlockedAddressError: the URL's host resolves only to refused addresses (exit 4).
        NetworkError: the host does not resolve, or the page got no response at all.
        BrowserNotFoundError: no Chromium is found.
        BrowserLaunchError: Chromium does not start, or fails during the capture.
        TornTailError: the custody log needs recovery first.
        StorageError: writing to the case fails.
    """
    host, port = check_url(url)
    policy = policy or guard.AddressPolicy(options.allow_private)
    guard.check_target(host, port, policy, proxied=options.proxy is not None)
    log.check_head(case)
    tls = tls_context(options.extra_ca_file)
    state: StorageState | None = None
    if options.storage_state is not None:
        state = load_storage_state(options.storage_state)
    scrubber = Scrubber() if state is not None else None
    report = Reporter(url, progress)
    report.enter(Phase.STARTING)
    session = browser or BrowserSession()
    try:
        with tempfile.TemporaryFile(dir=case.root) as warc_file:
            recorder = WarcRecorder(warc_file)
            recorder.write_warcinfo(_warcinfo(session, options))
            icpt = Interceptor(
                recorder,
                policy,
                Limits(options.max_resource_bytes),
                tls,
                max_requests=options.max_requests,
                max_total_bytes=options.max_total_bytes,
                proxy=options.proxy,
                scrubber=scrubber,
                on_change=report.counts,
            )
            document = state.document if state is not None else None
            try:
                out = session.run(drive(session.browser, url, options, icpt, report, document))
            except PlaywrightError as exc:
                raise BrowserLaunchError(f"Chromium failed during the capture: {exc}") from exc
            if icpt.fatal is not None:
                raise icpt.fatal
            if out.main_status is None and not icpt.counts["recorded"] + icpt.counts["blocked"]:
                why = icpt.failed[0]["reason"] if icpt.failed else out.nav_error
                raise NetworkError(f"cannot load {url[:200]}: {why or 'no response'}")
            report.enter(Phase.SEALING)
            warc_file.seek(0)
            warc = store.store_stream(case, warc_file)
        out.browser = session.describe()
    finally:
        if browser is None:
            session.close()
    credentials = scrubber.describe(state) if scrubber and state else None
    with _SEALING:
        result = _seal(case, options, signer, home, warc, out, credentials)
    report.enter(Phase.DONE)
    return result


def _seal(
    case: Case,
    options: CaptureOptions,
    signer: signing.Signer,
    home: Path,
    warc: store.StoredObject,
    out: Outcome,
    credentials: dict[str, Any] | None,
) -> CaptureResult:
    stored: dict[str, StoredArtifact] = {}

    def keep(kind: str, obj: store.StoredObject) -> None:
        commitment = store.commit(case, f"capture-{kind}", obj.digests).commitment
        d = obj.digests
        stored[kind] = StoredArtifact(kind, obj.path, d.sha256, d.sha512 or "", d.size, commitment)

    keep("warc", warc)
    for kind, data in out.snapshots.items():
        keep(kind, store.store_bytes(case, data))
    provenance = _provenance(options, out, credentials)
    provenance["artifacts"] = {k: {"sha256": a.sha256, "size": a.size} for k, a in stored.items()}
    doc = json.dumps(provenance, indent=2, sort_keys=True, ensure_ascii=False)
    keep("provenance", store.store_bytes(case, doc.encode("utf-8") + b"\n"))
    details_doc: dict[str, Any] = {"v": 1, "kind": "capture-details", "url": out.url}
    details_doc |= {"final_url": out.final_url, "sensitive": options.sensitive}
    if options.note:
        details_doc["note"] = options.note
    record = store.store_bytes(case, canonical.dumps(details_doc))
    details = store.commit(case, "capture-details", record.digests).commitment
    status = CaptureStatus.PARTIAL if out.reasons else CaptureStatus.COMPLETE
    subject = {
        "artifact": stored["warc"].commitment,
        "details": details,
        "artifacts": {k: a.commitment for k, a in stored.items() if k != "warc"},
        "status": status.value,
    }
    with log.appending(case, signer) as app:
        entry = app.append("capture", subject)
    seen.remember(home, case.case_id, case.checkpoint.read_bytes())
    return CaptureResult(
        out.url,
        out.final_url,
        status,
        tuple(out.reasons),
        entry.seq,
        details,
        stored,
        dict(out.network["counts"]),
    )
