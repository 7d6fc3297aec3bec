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
5. adds the snapshots to the WARC as ``resource`` records and, last, the provenance as a
   ``metadata`` record (:mod:`custody.capture.provenance`): each byte stored once;
6. stores the WARC, a salted commitment per WARC record (:mod:`custody.capture.units`)
   and a details record (URL, note), and appends one signed ``capture`` entry whose
   subject holds commitments and the status, nothing else (:mod:`custody.capture.seal`).

The capture is PARTIAL, with reasons, when the page did not load or settle in time, a
request was blocked or refused by a limit, a response was cut short, a snapshot failed,
or a server's TLS certificate did not validate (its exchanges are recorded all the same);
it is sealed all the same (exit 7). A page that got no response at all is a
network error (exit 6) and leaves nothing behind. Network errors of single resources
(a third-party server down) are what the page really was: listed, not PARTIAL. Several
URLs: :mod:`custody.capture.batch`.
"""

from __future__ import annotations

import ssl
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError

from custody import locker, log, signing
from custody.capture import guard
from custody.capture.browser import BrowserLaunchError, BrowserSession
from custody.capture.credentials import Scrubber, StorageState, load_storage_state
from custody.capture.http2 import ALPN
from custody.capture.intercept import Interceptor
from custody.capture.options import CaptureOptions
from custody.capture.page import SNAPSHOTS, Outcome, drive
from custody.capture.progress import Phase, ProgressFn, Reporter
from custody.capture.provenance import (
    build_provenance,
    warcinfo_fields,
    write_provenance,
    write_snapshots,
)
from custody.capture.recorder import Limits, WarcRecorder
from custody.capture.seal import (
    CaptureResult,
    CaptureStatus,
    StoredArtifact,
    details_record,
    seal_capture,
)
from custody.case import Case
from custody.errors import NetworkError, UsageError
from custody.warc import WrittenRecord

__all__ = [
    "SNAPSHOTS",
    "CaptureOptions",
    "CaptureResult",
    "CaptureStatus",
    "StoredArtifact",
    "capture_page",
]


class BadUrlError(UsageError):
    """A URL that cannot be captured: not an http or https URL with a host."""


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
    ctx.set_alpn_protocols(list(ALPN))  # h2, then http/1.1 (custody.capture.http2)
    if extra_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(extra_ca))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load CA file {extra_ca}: {exc}") from None
    return ctx


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
        KeyMaterialError: the signer is not a member of the case (exit 8).
        StorageError: writing to the case fails.
    """
    host, port = check_url(url)
    policy = policy or guard.AddressPolicy(options.allow_private)
    guard.check_target(host, port, policy, proxied=options.proxy is not None)
    log.check_head(case)
    locker.require_member(case, signer)
    tls = tls_context(options.extra_ca_file)
    state: StorageState | None = None
    if options.storage_state is not None:
        state = load_storage_state(options.storage_state)
    scrubber = Scrubber() if state is not None else None
    report = Reporter(url, progress)
    report.enter(Phase.STARTING)
    session = browser or BrowserSession()
    capture_id = uuid.uuid4().hex
    try:
        with tempfile.TemporaryFile(dir=case.root) as warc_file:
            recorder = WarcRecorder(warc_file)
            recorder.write_warcinfo(warcinfo_fields(session, options, capture_id))
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
            out.browser = session.describe()
            credentials = scrubber.describe(state) if scrubber and state else None
            records = _finish_warc(recorder, options, out, credentials, capture_id)
            status = CaptureStatus.PARTIAL if out.reasons else CaptureStatus.COMPLETE
            details = details_record(
                out.url, out.final_url, sensitive=options.sensitive, note=options.note
            )
            sealed = seal_capture(
                case, warc_file, recorder.records, details, status, signer=signer, home=home
            )
    finally:
        if browser is None:
            session.close()
    report.enter(Phase.DONE)
    return CaptureResult(
        out.url,
        out.final_url,
        status,
        tuple(out.reasons),
        sealed.seq,
        sealed.details,
        sealed.artifacts,
        sealed.units,
        records,
        dict(out.network["counts"]),
    )


def _finish_warc(
    recorder: WarcRecorder,
    options: CaptureOptions,
    out: Outcome,
    credentials: dict[str, Any] | None,
    capture_id: str,
) -> dict[str, WrittenRecord]:
    """Add the snapshots and, last, the provenance to the WARC; return them by role."""
    records = write_snapshots(recorder, out, capture_id)
    count = len(recorder.records)
    doc = build_provenance(options, out, credentials, capture_id, records, count)
    records["provenance"] = write_provenance(recorder, doc, capture_id, datetime.now(UTC))
    return records
