"""Several captures: a list of URLs, bounded concurrency, one failure not stopping the rest.

``jobs`` captures run at once, each job with its own Chromium (launched when the job
first needs it, reused for its next URLs, relaunched after it failed). Why not one browser
with a context per capture: custody's request interception is browser-wide, and a
request cannot be reliably told apart by context (frames of the same process carry no
target of their own; marking requests with a header would make browsers send CORS
pre-flights and so alter pages). A browser per job keeps every recorded exchange inside
the capture that caused it.

Each URL ends as one :class:`BatchItem`: COMPLETE or PARTIAL (sealed with its own
``capture`` entry) or FAILED (nothing sealed) for errors that concern that URL alone: not
an http(s) URL, a refused address, no response, the browser failing on that page.
Anything else (the case cannot be written, the log needs recovery, no Chromium at all)
stops the batch: captures already running finish and are sealed, none is started, and
the error is raised.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody import locker, log, signing
from custody.capture import guard
from custody.capture.browser import BrowserLaunchError, BrowserSession
from custody.capture.credentials import load_storage_state
from custody.capture.options import CaptureOptions
from custody.capture.progress import Phase, Progress
from custody.capture.web import BadUrlError, CaptureResult, capture_page, check_url, tls_context
from custody.case import Case
from custody.errors import CustodyError, ExitCode, InputError, NetworkError, UsageError

MAX_JOBS = 8
MAX_URLS = 10_000
PER_URL_ERRORS = (BadUrlError, InputError, NetworkError, BrowserLaunchError)

BatchProgressFn = Callable[[int, Progress], None]


def read_url_list(lines: Iterable[str], source: str = "the URL list") -> list[str]:
    """The URLs of a list: one per line; blank lines and ``#`` comments are skipped.

    A comment is a line starting with ``#``, or text after whitespace and ``#`` (a ``#``
    inside a URL is its fragment).

    Raises:
        UsageError: a line holds more than one URL, or the list is too long.
    """
    urls: list[str] = []
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) > 1 and not words[1].startswith("#"):
            raise UsageError(f"{source} line {number}: one URL per line ({line.strip()[:200]!r})")
        urls.append(words[0])
        if len(urls) > MAX_URLS:
            raise UsageError(f"{source}: more than {MAX_URLS} URLs")
    return urls


def load_url_file(path: Path) -> list[str]:
    """The URLs listed in a text file (see :func:`read_url_list`).

    Raises:
        UsageError: the file cannot be read as UTF-8 text, or is not a URL list.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise UsageError(f"cannot read the URL list {path}: {why}") from None
    return read_url_list(text.splitlines(), str(path))


@dataclass(frozen=True, slots=True)
class BatchItem:
    """What came of one URL of a batch: a sealed capture, or the error that stopped it."""

    index: int
    url: str
    result: CaptureResult | None = None
    error: CustodyError | None = None

    def __post_init__(self) -> None:
        if (self.result is None) == (self.error is None):
            raise ValueError("a batch item has either a result or an error")

    @property
    def status(self) -> str:
        """COMPLETE, PARTIAL or FAILED."""
        return self.result.status.value if self.result is not None else "FAILED"

    @property
    def exit_code(self) -> ExitCode:
        """The exit code this URL alone would give."""
        if self.result is not None:
            return self.result.exit_code
        assert self.error is not None  # noqa: S101  # __post_init__
        return self.error.exit_code

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why it is PARTIAL or FAILED; empty when COMPLETE."""
        if self.result is not None:
            return self.result.reasons
        assert self.error is not None  # noqa: S101  # __post_init__
        return (self.error.message,)

    def to_dict(self, root: Path) -> dict[str, Any]:
        """One row of ``custody capture --json``."""
        if self.result is not None:
            return self.result.to_dict(root) | {"exit_code": int(self.exit_code)}
        return {
            "url": self.url,
            "status": "FAILED",
            "reasons": list(self.reasons),
            "entry": None,
            "exit_code": int(self.exit_code),
        }


def batch_exit_code(items: Sequence[BatchItem]) -> ExitCode:
    """0 when every capture is COMPLETE, else 7 (PARTIAL captures or failed URLs)."""
    return ExitCode.OK if all(i.status == "COMPLETE" for i in items) else ExitCode.PARTIAL


def capture_batch(
    case: Case,
    urls: Sequence[str],
    options: CaptureOptions,
    *,
    signer: signing.Signer,
    home: Path,
    jobs: int = 2,
    progress: BatchProgressFn | None = None,
    policy: guard.AddressPolicy | None = None,
    launch: Callable[[], BrowserSession] | None = None,
) -> list[BatchItem]:
    """Capture every URL of ``urls`` into ``case``, ``jobs`` at a time; items in URL order.

    ``progress`` gets each capture's reports with its index in ``urls``. ``launch`` makes
    the browser of a job (default: a new :class:`BrowserSession`; tests share one).

    Raises:
        UsageError: no URLs, ``jobs`` out of range, the CA file or storage state unusable.
        BrowserNotFoundError: no Chromium is found.
        BrowserLaunchError: Chromium does not start.
        TornTailError: the custody log needs recovery first.
        StorageError: writing to the case fails.
    """
    if not urls:
        raise UsageError("no URL to capture", hint="give URLs, or --batch FILE")
    if not 1 <= jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be between 1 and {MAX_JOBS}")
    tls_context(options.extra_ca_file)  # what every capture needs, checked once up front
    if options.storage_state is not None:
        load_storage_state(options.storage_state)
    log.check_head(case)
    locker.require_member(case, signer)
    new_browser = launch or BrowserSession
    todo: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
    for item in enumerate(urls):
        todo.put(item)
    items: dict[int, BatchItem] = {}
    stop = threading.Event()
    fatal: list[BaseException] = []

    def tell(index: int, report: Progress) -> None:
        if progress is not None:
            with contextlib.suppress(Exception):  # a display never breaks a capture
                progress(index, report)

    def one(session: BrowserSession, index: int, url: str) -> BatchItem:
        def say(report: Progress) -> None:
            tell(index, report)

        try:
            result = capture_page(
                case, url, options, signer=signer, home=home, browser=session,
                policy=policy, progress=say,
            )  # fmt: skip
        except PER_URL_ERRORS as exc:
            say(Progress(url, Phase.FAILED))
            return BatchItem(index, url, error=exc)
        return BatchItem(index, url, result=result)

    def work() -> None:
        session: BrowserSession | None = None
        try:
            while not stop.is_set():
                try:
                    index, url = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    check_url(url)  # no browser is started for a list of typos
                except BadUrlError as exc:
                    tell(index, Progress(url, Phase.FAILED))
                    items[index] = BatchItem(index, url, error=exc)
                    continue
                session = session or new_browser()
                items[index] = item = one(session, index, url)
                if isinstance(item.error, BrowserLaunchError):
                    session.close()  # the browser failed on that page: a fresh one next
                    session = None
        except BaseException as exc:  # stops the batch; raised by the caller's thread
            fatal.append(exc)
            stop.set()
        finally:
            if session is not None:
                session.close()

    threads = [
        threading.Thread(target=work, name=f"custody-capture-{n}")
        for n in range(min(jobs, len(urls)))
    ]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        stop.set()  # running captures end within their own time bounds and are sealed
        for t in threads:
            t.join()
        raise
    if fatal:
        raise fatal[0]
    return [items[i] for i in sorted(items)]
