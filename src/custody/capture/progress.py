"""Progress of a capture, reported to a callback (the core never prints; the CLI renders).

Callbacks are called from the browser's event-loop thread while the page is driven and
from the capturing thread otherwise, so they must be quick and thread-safe. An exception
a callback raises is ignored: a progress display never breaks a capture.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum


class Phase(StrEnum):
    QUEUED = "queued"
    STARTING = "starting"
    LOADING = "loading"
    SCROLLING = "scrolling"
    SETTLING = "settling"
    SNAPSHOTS = "snapshots"
    SEALING = "sealing"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one capture is: its phase and the network tallies so far."""

    url: str
    phase: Phase
    resources: int = 0  # responses recorded
    bytes: int = 0  # response bodies recorded, as received
    blocked: int = 0
    failed: int = 0


ProgressFn = Callable[[Progress], None]


class Reporter:
    """Builds :class:`Progress` reports of one capture and hands them to a callback."""

    def __init__(self, url: str, callback: ProgressFn | None) -> None:
        self.url, self._callback = url, callback
        self.phase = Phase.STARTING
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def counts(self, counts: dict[str, int]) -> None:
        """New network tallies (the interceptor's counts)."""
        self._counts = counts
        self._emit()

    def enter(self, phase: Phase) -> None:
        """The capture moved on to ``phase``."""
        self.phase = phase
        self._emit()

    def _emit(self) -> None:
        if self._callback is None:
            return
        c = self._counts
        report = Progress(
            self.url,
            self.phase,
            c.get("recorded", 0),
            c.get("bytes", 0),
            c.get("blocked", 0),
            c.get("failed", 0),
        )
        with self._lock, contextlib.suppress(Exception):  # see the module docstring
            self._callback(report)
