"""What a capture does in the browser: load, scroll, settle, snapshot (see
:mod:`custody.capture.web` for the whole capture and its time bounds).

No alteration of the page: no ad blocking, no banner clicking. Dialogs are dismissed,
pop-ups are noted and closed at once (not captured; a request one made before it closed
is recorded like any other), WebSockets are refused (not recordable), downloads are not
accepted (their responses are recorded; they are listed) and service workers are blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from playwright.async_api import Browser, Dialog, Download, Page, WebSocketRoute
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from custody.capture.intercept import Interceptor
from custody.capture.options import CaptureOptions
from custody.capture.progress import Phase, Reporter

if TYPE_CHECKING:
    from playwright._impl._api_structures import StorageState

SNAPSHOTS = ("screenshot", "pdf", "dom", "text")
LISTED = 200  # dialogs, pop-ups and downloads listed in the provenance (totals stay exact)


_EVENTS = ("dialogs", "popups", "downloads")


@dataclass
class Outcome:
    """What happened in the browser (filled in by :func:`drive`)."""

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
    snapshot_times: dict[str, datetime] = field(default_factory=dict)
    scroll_steps: int = 0
    dialogs: list[dict[str, str]] = field(default_factory=list)
    popups: list[str] = field(default_factory=list)
    downloads: list[dict[str, str]] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_EVENTS, 0))
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
        if "Download is starting" in out.nav_error:
            out.reasons.append(
                "the URL is a download (Content-Disposition: attachment): its response is "
                "recorded, but there is no page to render"
            )
        else:
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
    hung = False
    for kind in SNAPSHOTS:
        if hung:
            out.reasons.append(f"no {kind}: the page stopped responding")
            continue
        try:
            out.snapshot_times[kind] = datetime.now(UTC)
            out.snapshots[kind] = await _bounded(takers[kind](), wait)
        except (PlaywrightError, TimeoutError) as exc:
            why = "timed out" if isinstance(exc, TimeoutError) else _first_line(exc)
            out.reasons.append(f"no {kind}: {why}")
            hung = isinstance(exc, TimeoutError) and not await _responds(page)


async def _responds(page: Page) -> bool:
    """Whether the page's main thread still runs scripts (a busy loop blocks it)."""
    try:
        await _bounded(page.evaluate("() => 1"), 1.0)
    except (PlaywrightError, TimeoutError):
        return False
    return True


def _count(out: Outcome, event: str) -> bool:
    """Count one page event; True while it should still be listed."""
    out.totals[event] += 1
    return out.totals[event] <= LISTED


async def _utf8(text: Awaitable[Any]) -> bytes:
    return str(await text).encode("utf-8")


async def drive(
    browser: Browser,
    url: str,
    options: CaptureOptions,
    icpt: Interceptor,
    report: Reporter,
    storage_state: dict[str, Any] | None = None,
) -> Outcome:
    """Capture ``url`` in a fresh context of ``browser``: every request goes through ``icpt``.

    Raises:
        playwright.async_api.Error: the browser fails (not the page: page failures are
            reasons in the outcome).
    """
    out = Outcome(url, datetime.now(UTC))
    deadline = time.monotonic() + options.timeout
    await icpt.attach(browser)
    context = await browser.new_context(
        viewport={"width": options.viewport_width, "height": options.viewport_height},
        service_workers="block",
        accept_downloads=False,
        storage_state=cast("StorageState", storage_state),
    )
    try:

        async def on_websocket(ws: WebSocketRoute) -> None:
            icpt.note("blocked", ws.url, "WebSocket: not recordable, refused")
            await ws.close(code=1008, reason="refused by the capture")

        async def on_dialog(dialog: Dialog) -> None:
            if _count(out, "dialogs"):
                out.dialogs.append({"type": dialog.type, "message": dialog.message[:500]})
            with contextlib.suppress(PlaywrightError):
                await dialog.dismiss()

        async def on_popup(popup: Page) -> None:
            if _count(out, "popups"):
                out.popups.append(popup.url[:2000])
            with contextlib.suppress(PlaywrightError):
                await popup.close()

        def on_download(download: Download) -> None:
            if _count(out, "downloads"):
                name = download.suggested_filename[:300]
                out.downloads.append({"url": download.url[:2000], "filename": name})

        await context.route_web_socket(re.compile(".*"), on_websocket)
        page = await context.new_page()
        context.on("page", on_popup)
        page.on("dialog", on_dialog)
        page.on("download", on_download)
        out.user_agent = str(await _bounded(page.evaluate("() => navigator.userAgent"), 10))
        report.enter(Phase.LOADING)
        await _load(page, url, options, out, deadline - time.monotonic())
        if time.monotonic() < deadline:
            report.enter(Phase.SCROLLING)
            out.scroll_steps = await _scroll(page, options, icpt, deadline)
        report.enter(Phase.SETTLING)
        left = deadline - time.monotonic()
        if not await icpt.quiet(options.settle_seconds, left):
            if not out.reasons:
                out.reasons.append(f"the network did not settle within {options.timeout:g} s")
            await icpt.cut()  # the snapshots show the page as it is now, without waiting
        report.enter(Phase.SNAPSHOTS)
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
    for origin, why in icpt.unverified.items():
        out.reasons.append(
            f"the TLS certificate of {origin} did not validate ({why}): its exchanges are "
            "recorded, but the server's identity is not established"
        )
    out.network = {"counts": dict(c), "blocked": icpt.blocked, "failed": icpt.failed}
    out.network |= {"truncated": icpt.truncated, "tls": icpt.tls_sessions}
    out.ended = datetime.now(UTC)
    return out
