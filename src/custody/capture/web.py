"""``custody capture URL``: a sealed WARC of what the browser saw, with its provenance.

One capture:

1. checks the URL (http or https only) and refuses it before anything is written when its
   host resolves only to refused addresses (exit 4; ``--allow-private`` allows them);
2. opens a fresh browser context in headless Chromium whose every request is paused and
   performed by custody under the address policy, and recorded in a WARC (see
   :mod:`custody.capture.recorder` for how, and for the fidelity limits); requests the
   policy refuses (redirect hops and subresources included) fail in the browser and are
   listed in the provenance;
3. loads the page (until ``load``), scrolls down one viewport at a time to trigger lazy
   content, and waits for the network to be quiet, all within ``timeout`` seconds;
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
(a third-party server down) are what the page really was: listed, not PARTIAL.
"""

from __future__ import annotations

import asyncio
import json
import platform
import re
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Dialog, Page, WebSocketRoute
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from custody import TOOL_NAME, __version__, canonical, log, seen, signing, store
from custody.capture import guard
from custody.capture.browser import BrowserLaunchError, BrowserSession, Interceptor
from custody.capture.recorder import Limits, WarcRecorder
from custody.case import Case
from custody.errors import ExitCode, NetworkError, UsageError

METHOD = (
    "every request of the browser paused (DevTools Fetch, browser-wide) and performed by "
    "custody over its own HTTP/1.1 connection to a policy-checked address; recorded as "
    "received (body after transfer decoding, before content decoding); the browser got "
    "the response through Fetch.fulfillRequest, content-decoded by custody"
)
SNAPSHOTS = ("screenshot", "pdf", "dom", "text")


class CaptureStatus(StrEnum):
    COMPLETE = "COMPLETE"
    PARTIAL = "PARTIAL"


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """How to capture; all but the note are recorded in the provenance."""

    timeout: float = 60.0  # seconds for loading, scrolling and settling
    allow_private: bool = False
    viewport_width: int = 1280
    viewport_height: int = 800
    scroll_steps: int = 20  # at most this many viewport-high scrolls
    settle_seconds: float = 0.5  # no request in flight for this long counts as settled
    snapshot_timeout: float = 15.0  # per snapshot: screenshot, PDF, DOM, text
    max_resource_bytes: int = 32 << 20
    max_total_bytes: int = 512 << 20
    max_requests: int = 2000
    note: str | None = None
    sensitive: bool = False
    extra_ca_file: Path | None = None  # also trust this CA (a private PKI; tests)

    def __post_init__(self) -> None:
        if not (self.timeout > 0 and self.snapshot_timeout > 0 and self.settle_seconds >= 0):
            raise UsageError("timeouts must be positive numbers of seconds")
        if min(self.viewport_width, self.viewport_height) < 100 or self.scroll_steps < 0:
            raise UsageError("the viewport must be at least 100x100, scroll steps >= 0")
        if min(self.max_resource_bytes, self.max_total_bytes, self.max_requests) < 1:
            raise UsageError("limits must be positive")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["extra_ca_file"] = str(self.extra_ca_file) if self.extra_ca_file else None
        del d["note"]  # may name people: in the details record only
        return d


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


@dataclass
class Outcome:
    """What happened in the browser (filled in by :func:`_drive`)."""

    url: str
    started: datetime
    ended: datetime | None = None
    user_agent: str = ""
    final_url: str = ""
    main_status: int | None = None
    nav_error: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    snapshots: dict[str, bytes] = field(default_factory=dict)
    scroll_steps: int = 0
    dialogs: list[dict[str, str]] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    network: dict[str, Any] = field(default_factory=dict)  # the interceptor's tallies
    browser: dict[str, Any] = field(default_factory=dict)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


async def _bounded(what: Awaitable[Any], seconds: float) -> Any:
    return await asyncio.wait_for(what, timeout=max(seconds, 0.001))


async def _load(page: Page, url: str, options: CaptureOptions, out: Outcome, left: float) -> None:
    try:
        response = await page.goto(url, wait_until="load", timeout=left * 1000)
    except PlaywrightTimeout:
        out.reasons.append(f"the page did not finish loading within {options.timeout:g} s")
        return
    except PlaywrightError as exc:
        out.nav_error = _first_line(exc)
        out.reasons.append(f"the page did not load: {out.nav_error}")
        return
    if response is None:
        return
    out.main_status = response.status
    hops, request = [], response.request.redirected_from
    while request is not None:
        hops.append(request)
        request = request.redirected_from
    for hop in reversed(hops):
        hop_response = await hop.response()
        status = hop_response.status if hop_response else None
        out.redirects.append({"url": hop.url, "status": status})


async def _scroll(page: Page, options: CaptureOptions, icpt: Interceptor, deadline: float) -> int:
    """Scroll a viewport at a time until the bottom, the step limit or the deadline."""
    step_js = (
        "() => { window.scrollBy(0, window.innerHeight); return window.scrollY + "
        "window.innerHeight >= document.documentElement.scrollHeight - 2; }"
    )
    steps = 0
    try:
        while steps < options.scroll_steps and time.monotonic() < deadline:
            at_bottom = await _bounded(page.evaluate(step_js), deadline - time.monotonic())
            steps += 1
            await icpt.quiet(options.settle_seconds, min(2.0, deadline - time.monotonic()))
            if at_bottom:
                break
        await _bounded(page.evaluate("() => window.scrollTo(0, 0)"), 2.0)
    except (PlaywrightError, TimeoutError):
        pass  # a page that will not scroll is captured as it is
    return steps


async def _snapshots(page: Page, options: CaptureOptions, out: Outcome) -> None:
    wait = options.snapshot_timeout
    takers: dict[str, Callable[[], Awaitable[bytes]]] = {
        "screenshot": lambda: page.screenshot(full_page=True, type="png", timeout=wait * 1000),
        "pdf": lambda: page.pdf(print_background=True),
        "dom": lambda: _utf8(page.content()),
        "text": lambda: _utf8(page.evaluate("() => document.body ? document.body.innerText : ''")),
    }
    for kind in SNAPSHOTS:
        try:
            out.snapshots[kind] = await _bounded(takers[kind](), wait)
        except (PlaywrightError, TimeoutError) as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else _first_line(exc)
            out.reasons.append(f"no {kind}: {why}")


async def _utf8(text: Awaitable[Any]) -> bytes:
    return str(await text).encode("utf-8")


async def _drive(browser: Browser, url: str, options: CaptureOptions, icpt: Interceptor) -> Outcome:
    out = Outcome(url, datetime.now(UTC))
    deadline = time.monotonic() + options.timeout
    await icpt.attach(browser)
    context = await browser.new_context(
        viewport={"width": options.viewport_width, "height": options.viewport_height},
        service_workers="block",
        accept_downloads=False,
    )
    try:

        async def on_websocket(ws: WebSocketRoute) -> None:
            icpt.note("blocked", ws.url, "WebSocket: not recordable, refused")
            await ws.close(code=1008, reason="refused by the capture")

        async def on_dialog(dialog: Dialog) -> None:
            out.dialogs.append({"type": dialog.type, "message": dialog.message[:500]})
            await dialog.dismiss()

        await context.route_web_socket(re.compile(".*"), on_websocket)
        page = await context.new_page()
        context.on("page", lambda popup: out.popups.append(popup.url))
        page.on("dialog", on_dialog)
        out.user_agent = str(await _bounded(page.evaluate("() => navigator.userAgent"), 10))
        await _load(page, url, options, out, deadline - time.monotonic())
        if time.monotonic() < deadline:
            out.scroll_steps = await _scroll(page, options, icpt, deadline)
        left = deadline - time.monotonic()
        if not await icpt.quiet(options.settle_seconds, left) and not out.reasons:
            out.reasons.append(f"the network did not settle within {options.timeout:g} s")
        await _snapshots(page, options, out)
        out.final_url = page.url
    finally:
        abandoned = await icpt.close()
        try:
            await _bounded(context.close(), 10.0)
        except (PlaywrightError, TimeoutError):
            out.reasons.append("the browser context did not close cleanly")
    c = icpt.counts
    if c["blocked"]:
        out.reasons.append(f"{c['blocked']} request(s) blocked (listed under 'blocked')")
    if c["truncated"]:
        out.reasons.append(f"{c['truncated']} response(s) cut short (WARC-Truncated)")
    if c["refused"]:
        out.reasons.append(f"{c['refused']} request(s) refused: over the request or size limit")
    if abandoned:
        out.reasons.append(f"{abandoned} request(s) still open at the end were not recorded")
    out.network = {"counts": dict(c), "blocked": icpt.blocked, "failed": icpt.failed}
    out.network |= {"truncated": icpt.truncated, "tls": icpt.tls_sessions}
    out.ended = datetime.now(UTC)
    return out


def _check_url(url: str) -> tuple[str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageError(f"not a URL: {url[:200]!r} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"only http and https URLs can be captured: {url[:200]!r}")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def _tls_context(extra_ca: Path | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ctx.set_alpn_protocols(["http/1.1"])
    if extra_ca is not None:
        try:
            ctx.load_verify_locations(cafile=str(extra_ca))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load CA file {extra_ca}: {exc}") from None
    return ctx


def _provenance(options: CaptureOptions, out: Outcome) -> dict[str, Any]:
    assert out.ended is not None  # noqa: S101  # set by _drive
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


def capture_page(
    case: Case,
    url: str,
    options: CaptureOptions,
    *,
    signer: signing.Signer,
    home: Path,
    browser: BrowserSession | None = None,
    policy: guard.AddressPolicy | None = None,
    progress: Callable[[str], None] | None = None,
) -> CaptureResult:
    """Capture ``url`` into ``case`` and seal it with one signed ``capture`` entry.

    ``browser`` is reused when given (one capture at a time), else launched and closed.
    ``policy`` defaults to the one ``options.allow_private`` implies.

    Raises:
        UsageError: the URL is not http(s), or the CA file cannot be read.
        BlockedAddressError: the URL's host resolves only to refused addresses (exit 4).
        NetworkError: the host does not resolve, or the page got no response at all.
        BrowserNotFoundError: no Chromium is found.
        BrowserLaunchError: Chromium does not start.
        TornTailError: the custody log needs recovery first.
        StorageError: writing to the case fails.
    """
    host, port = _check_url(url)
    policy = policy or guard.AddressPolicy(options.allow_private)
    guard.check_target(host, port, policy)
    log.check_head(case)
    tls = _tls_context(options.extra_ca_file)
    session = browser or BrowserSession()
    say = progress or (lambda _: None)
    try:
        say("capturing")
        with tempfile.TemporaryFile(dir=case.root) as warc_file:
            recorder = WarcRecorder(warc_file)
            info = [("software", f"{TOOL_NAME}/{__version__}"), ("format", "WARC File Format 1.1")]
            info += [("browser", f"Chromium {session.version}"), ("method", METHOD)]
            recorder.write_warcinfo(info)
            limits = Limits(options.max_resource_bytes)
            icpt = Interceptor(
                recorder,
                policy,
                limits,
                tls,
                max_requests=options.max_requests,
                max_total_bytes=options.max_total_bytes,
            )
            try:
                out = session.run(_drive(session.browser, url, options, icpt))
            except PlaywrightError as exc:
                raise BrowserLaunchError(f"Chromium failed during the capture: {exc}") from exc
            if icpt.fatal is not None:
                raise icpt.fatal
            if out.main_status is None and not icpt.counts["recorded"] + icpt.counts["blocked"]:
                why = icpt.failed[0]["reason"] if icpt.failed else out.nav_error
                raise NetworkError(f"cannot load {url[:200]}: {why or 'no response'}")
            say("sealing")
            warc_file.seek(0)
            warc = store.store_stream(case, warc_file)
        out.browser = session.describe()
    finally:
        if browser is None:
            session.close()
    return _seal(case, options, signer, home, warc, out)


def _seal(
    case: Case,
    options: CaptureOptions,
    signer: signing.Signer,
    home: Path,
    warc: store.StoredObject,
    out: Outcome,
) -> CaptureResult:
    stored: dict[str, StoredArtifact] = {}

    def keep(kind: str, obj: store.StoredObject) -> None:
        commitment = store.commit(case, f"capture-{kind}", obj.digests).commitment
        d = obj.digests
        stored[kind] = StoredArtifact(kind, obj.path, d.sha256, d.sha512 or "", d.size, commitment)

    keep("warc", warc)
    for kind, data in out.snapshots.items():
        keep(kind, store.store_bytes(case, data))
    provenance = _provenance(options, out)
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
