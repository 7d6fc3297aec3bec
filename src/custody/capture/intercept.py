"""Every request of a capture's browser paused, performed by custody, recorded, answered.

See :mod:`custody.capture.recorder` for how records are obtained and their fidelity limits.
One :class:`Interceptor` serves one capture in one browser (a batch runs one browser per
job): the DevTools ``Fetch`` interception is browser-wide, so it sees redirect hops,
out-of-process iframes, workers and pop-ups, and everything it sees belongs to the capture.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.async_api import Browser, CDPSession
from playwright.async_api import Error as PlaywrightError

from custody.capture import guard
from custody.capture.credentials import Scrubber
from custody.capture.proxy import Proxy
from custody.capture.recorder import (
    Exchange,
    Limits,
    OutgoingRequest,
    Stopper,
    WarcRecorder,
    browser_view,
)

_LISTED = 200  # entries kept per list in the provenance (the counts stay exact)
COUNTS = ("requests", "recorded", "blocked", "failed", "truncated", "refused", "bytes")


class Interceptor:
    """Pauses every request of the browser, performs and records it, answers the browser.

    Browser-wide (one DevTools session on the browser target), so redirect hops,
    out-of-process iframes, workers and pop-ups are all seen. Runs on the browser's loop;
    the blocking network work runs on a small thread pool; records are written from the
    loop only, one at a time. Requests go through ``proxy`` when given; recorded requests
    are scrubbed by ``scrubber`` when given; ``on_change`` gets the counts after each
    request is answered.
    """

    def __init__(
        self,
        recorder: WarcRecorder,
        policy: guard.AddressPolicy,
        limits: Limits,
        tls: ssl.SSLContext,
        *,
        max_requests: int,
        max_total_bytes: int,
        proxy: Proxy | None = None,
        scrubber: Scrubber | None = None,
        on_change: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        self.recorder, self.policy, self.limits, self.tls = recorder, policy, limits, tls
        self.max_requests, self.max_total_bytes = max_requests, max_total_bytes
        self.proxy, self.scrubber, self.on_change = proxy, scrubber, on_change
        self.stopper = Stopper()
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="custody-fetch")
        self.tasks: set[asyncio.Task[None]] = set()
        self.inflight = 0
        self.last_activity = time.monotonic()
        self.counts: dict[str, int] = dict.fromkeys(COUNTS, 0)
        self.blocked: list[dict[str, str]] = []
        self.failed: list[dict[str, str]] = []
        self.truncated: list[dict[str, str]] = []
        self.tls_sessions: dict[str, dict[str, Any]] = {}
        self.unverified: dict[str, str] = {}  # https origins whose certificate failed validation
        self.fatal: BaseException | None = None
        self._cdp: CDPSession | None = None

    async def attach(self, browser: Browser) -> None:
        """Start pausing every request of ``browser``.

        Raises:
            playwright.async_api.Error: the DevTools session cannot be opened.
        """
        self._cdp = await browser.new_browser_cdp_session()
        self._cdp.on("Fetch.requestPaused", self._spawn)
        await self._cdp.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})

    def _spawn(self, event: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._handle(event))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        if self.on_change is not None:
            self.on_change(dict(self.counts))

    def note(self, kind: str, url: str, why: str) -> None:
        self.counts[kind] += 1
        listed = getattr(self, kind)
        if len(listed) < _LISTED:
            listed.append({"url": url[:2000], "reason": why})

    async def _answer(self, method: str, params: dict[str, Any]) -> None:
        if self._cdp is None:
            return
        with contextlib.suppress(PlaywrightError):  # the page or request is gone
            await self._cdp.send(method, params)

    async def _fail(self, request_id: str, reason: str = "Failed") -> None:
        await self._answer("Fetch.failRequest", {"requestId": request_id, "errorReason": reason})

    async def _handle(self, event: dict[str, Any]) -> None:
        rid, req = event["requestId"], event["request"]
        url = req["url"] + req.get("urlFragment", "")
        if self.stopper.stopped:
            return await self._fail(rid, "Aborted")
        if not url.startswith(("http://", "https://")):
            self.note("blocked", url, "not an http(s) URL")
            return await self._fail(rid, "BlockedByClient")
        self.counts["requests"] += 1
        if self.counts["requests"] > self.max_requests:
            self.counts["refused"] += 1
            return await self._fail(rid)
        if self.counts["bytes"] >= self.max_total_bytes:
            self.counts["refused"] += 1
            return await self._fail(rid)
        body = b"".join(
            base64.b64decode(e.get("bytes", "")) for e in req.get("postDataEntries", [])
        )
        headers = tuple((str(n), str(v)) for n, v in req.get("headers", {}).items())
        request = OutgoingRequest(req["method"], req["url"], headers, body)
        self.inflight += 1
        loop = asyncio.get_running_loop()
        try:
            args = (request, self.policy, self.limits, self.stopper, self.tls, self.proxy)
            ex = await loop.run_in_executor(self.pool, guard.perform, *args)
        except Exception as exc:  # perform never raises: this is a bug, surfaced at the end
            self.fatal = self.fatal or exc
            return await self._fail(rid)
        finally:
            self.inflight -= 1
            self.last_activity = time.monotonic()
        try:
            self.recorder.record(self.scrubber.apply(ex) if self.scrubber else ex)
        except Exception as exc:  # a failed WARC write ends the capture
            self.fatal = self.fatal or exc
            self.stopper.stop()
            return await self._fail(rid)
        await self._respond(rid, ex)

    async def _respond(self, rid: str, ex: Exchange) -> None:
        url = ex.request.url
        if ex.blocked:
            self.note("blocked", url, ex.blocked)
            return await self._fail(rid, "BlockedByClient")
        resp = ex.response
        if resp is None:
            self.note("failed", url, ex.error or "no response")
            return await self._fail(rid)
        self.counts["recorded"] += 1
        self.counts["bytes"] += len(resp.body)
        if ex.tls is not None:
            origin = "/".join(url.split("/", 3)[:3])
            self.tls_sessions.setdefault(origin, _tls_summary(ex))
            if ex.tls.verify_error is not None:
                self.unverified.setdefault(origin, ex.tls.verify_error)
        if resp.truncated:
            self.note("truncated", url, f"WARC-Truncated: {resp.truncated}")
            return await self._fail(rid)
        try:
            headers, body = browser_view(resp, 4 * self.limits.max_resource_bytes)
        except (ValueError, zlib.error) as exc:
            self.note("failed", url, f"body does not decode: {exc}")
            return await self._fail(rid)
        phrase = resp.status_line.split(" ", 2)[2:]
        params: dict[str, Any] = {
            "requestId": rid,
            "responseCode": resp.status,
            "responseHeaders": [{"name": n, "value": v} for n, v in headers],
            "body": base64.b64encode(body).decode("ascii"),
        }
        if phrase and phrase[0].isascii() and phrase[0].isprintable():
            params["responsePhrase"] = phrase[0]
        await self._answer("Fetch.fulfillRequest", params)

    async def quiet(self, settle: float, budget: float) -> bool:
        """Wait until no request has been in flight for ``settle`` s; False after ``budget``."""
        end = time.monotonic() + max(budget, 0)
        while True:
            now = time.monotonic()
            if not self.inflight and not self.tasks and now - self.last_activity >= settle:
                return True
            if now >= end:
                return False
            await asyncio.sleep(0.05)

    async def cut(self, grace: float = 2.0) -> None:
        """End the requests in flight now (their responses are recorded cut short, the
        browser's requests fail); later requests are still served."""
        self.stopper.cut()
        await self.quiet(0, grace)

    async def close(self, grace: float = 5.0) -> int:
        """Stop: cut in-flight requests short, record them, detach. Returns abandoned count."""
        self.stopper.stop()
        pending = set(self.tasks)
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            abandoned = len(still)
        else:
            abandoned = 0
        cdp, self._cdp = self._cdp, None
        if cdp is not None:
            with contextlib.suppress(PlaywrightError):
                await cdp.send("Fetch.disable")
                await cdp.detach()
        self.pool.shutdown(wait=False, cancel_futures=True)
        return abandoned


def _tls_summary(ex: Exchange) -> dict[str, Any]:
    assert ex.tls is not None  # noqa: S101  # callers check
    return {
        "ip": ex.ip,
        "version": ex.tls.version,
        "cipher": ex.tls.cipher,
        "chain_sha256": [hashlib.sha256(der).hexdigest() for der in ex.tls.chain],
        "verified": ex.tls.verify_error is None,
        "verify_error": ex.tls.verify_error,
    }
