"""Find and launch the Chromium a capture runs in.

Which Chromium (DESIGN section 6): ``CUSTODY_CHROMIUM`` if set (it must then work: no
silent fallback), else the first of ``chromium``, ``chromium-browser``, ``google-chrome``
on ``PATH``, else a Playwright-managed Chromium under ``PLAYWRIGHT_BROWSERS_PATH`` or
``~/.cache/ms-playwright``. Playwright's own download is never used or triggered.

The browser is headless, with a fresh profile (Playwright's temporary user-data-dir per
launch, and a new browser context per capture), ``--no-sandbox`` only when running as
root, Chromium's own pop-up blocker on as in a normal browser (Playwright turns it off:
``--disable-popup-blocking`` is left out), and no network of its own: its proxy is a
local port that refuses connections, so anything the capture does not intercept and
record (pre-connections, WebSockets, WebRTC) fails instead of reaching a server unseen.

A :class:`BrowserSession` runs Playwright on its own event-loop thread, so synchronous
code (the CLI, tests sharing one browser) can run captures on it, one at a time; a batch
runs one session per job (:mod:`custody.capture.batch` says why).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import socket
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import Browser, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from custody.errors import UsageError

T = TypeVar("T")
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome")
BASE_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Chromium reloads an error page by itself after 1 s, 5 s, 30 s… (NetErrorAutoReloader;
    # a redirect loop is such an error): a capture must hold what was asked for, not a
    # second request the browser made on its own while the snapshots were taken.
    "--disable-auto-reload",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--proxy-bypass-list=<-loopback>",
)
_DROPPED_DEFAULTS = ("--disable-popup-blocking",)  # Playwright's; a normal browser blocks
_MANAGED = ("chromium-*/chrome-linux*/chrome", "chromium_headless_shell-*/chrome-linux*/*shell")


class BrowserNotFoundError(UsageError):
    """No usable Chromium: none installed, or ``CUSTODY_CHROMIUM`` names no executable."""


class BrowserLaunchError(UsageError):
    """Chromium was found but would not start."""


@dataclass(frozen=True, slots=True)
class Chromium:
    """A Chromium executable and how it was chosen."""

    path: Path
    source: str  # "CUSTODY_CHROMIUM", "PATH" or "playwright"


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_chromium(environ: Mapping[str, str] | None = None) -> Chromium:
    """The Chromium to capture with (see the module docstring for the order).

    Raises:
        BrowserNotFoundError: none is found, or ``CUSTODY_CHROMIUM`` is not executable.
    """
    env = os.environ if environ is None else environ
    chosen = env.get("CUSTODY_CHROMIUM")
    if chosen:
        found = shutil.which(chosen, path=env.get("PATH"))
        if found is None or not _executable(Path(found)):
            raise BrowserNotFoundError(
                f"CUSTODY_CHROMIUM={chosen} is not an executable file",
                hint="point it at a Chromium binary, or unset it to use the system's",
            )
        return Chromium(Path(found), "CUSTODY_CHROMIUM")
    for name in SYSTEM_NAMES:
        found = shutil.which(name, path=env.get("PATH"))
        if found is not None:
            return Chromium(Path(found), "PATH")
    home = env.get("HOME")
    roots = [env.get("PLAYWRIGHT_BROWSERS_PATH"), f"{home}/.cache/ms-playwright" if home else None]
    for root in filter(None, roots):
        for pattern in _MANAGED:
            hits = sorted(p for p in Path(root).glob(pattern) if _executable(p))
            if hits:
                return Chromium(hits[-1], "playwright")
    raise BrowserNotFoundError(
        "no Chromium found for web capture",
        hint="install it (Debian: apt-get install chromium) or set CUSTODY_CHROMIUM",
    )


def launch_args(dead_proxy_port: int, *, root: bool) -> list[str]:
    """Chromium's command-line flags (Playwright adds ``--headless`` and the profile)."""
    args = [*BASE_ARGS, f"--proxy-server=http://127.0.0.1:{dead_proxy_port}"]
    return ["--no-sandbox", *args] if root else args


_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, remembered per path, size and mtime for this process.

    Raises:
        OSError: the file cannot be read.
    """
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def _sha256_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


class BrowserSession:
    """A headless Chromium on its own event-loop thread; captures run on it one at a time.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, chromium: Chromium | None = None) -> None:
        """Find (unless given) and launch Chromium.

        Raises:
            BrowserNotFoundError: no Chromium is found.
            BrowserLaunchError: it does not start.
        """
        self.chromium = chromium or find_chromium()
        self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        self.args = launch_args(self._dead.getsockname()[1], root=os.geteuid() == 0)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="custody-browser", daemon=True
        )
        self._thread.start()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        try:
            self.run(self._start())
        except BaseException as exc:
            self.close()
            if not isinstance(exc, PlaywrightError):
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            raise BrowserLaunchError(
                f"Chromium at {self.chromium.path} did not start: {first}",
                hint="check that it runs: chromium --headless --dump-dom about:blank",
            ) from None

    async def _start(self) -> None:
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=str(self.chromium.path),
            headless=True,
            args=self.args,
            ignore_default_args=list(_DROPPED_DEFAULTS),
            chromium_sandbox=os.geteuid() != 0,
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
            timeout=30_000,
        )

    @property
    def browser(self) -> Browser:
        if self._browser is None:
            raise RuntimeError("the browser session is closed")
        return self._browser

    @property
    def version(self) -> str:
        return self.browser.version

    def describe(self) -> dict[str, Any]:
        """What the provenance records about the browser."""
        return {
            "path": str(self.chromium.path),
            "chosen_by": self.chromium.source,
            "version": self.version,
            "executable_sha256": _sha256_or_none(self.chromium.path),
            "args": list(self.args),
            "headless": True,
            "popup_blocker": True,
        }

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the browser's loop and wait for its result (one at a time)."""
        with self._lock:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    async def _stop(self) -> None:
        try:
            if self._browser is not None:
                await self._browser.close()
        finally:
            self._browser = None
            if self._playwright is not None:
                await self._playwright.stop()
            self._playwright = None

    def close(self) -> None:
        """Close the browser and its thread (idempotent)."""
        if self._loop.is_closed():
            return
        try:
            if self._thread.is_alive():
                self.run(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
            self._dead.close()

    def __enter__(self) -> BrowserSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
