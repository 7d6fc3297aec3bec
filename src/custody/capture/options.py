"""How to capture: the options of one capture, checked when made, recorded in the provenance."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody.capture.proxy import Proxy
from custody.errors import UsageError


@dataclass(frozen=True, slots=True)
class CaptureOptions:
    """How to capture; all but the note are recorded in the provenance.

    ``proxy`` is recorded without its credentials; ``storage_state`` (the file of a
    logged-in session) only as whether one was used: the provenance describes the session
    (cookie names and domains, origins) without values, and never the file's path.
    """

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
    proxy: Proxy | None = None  # the investigator's upstream HTTP proxy (CONNECT)
    storage_state: Path | None = None  # Playwright storage state: a logged-in session

    def __post_init__(self) -> None:
        if not (self.timeout > 0 and self.snapshot_timeout > 0 and self.settle_seconds >= 0):
            raise UsageError("timeouts must be positive numbers of seconds")
        if min(self.viewport_width, self.viewport_height) < 100 or self.scroll_steps < 0:
            raise UsageError("the viewport must be at least 100x100, scroll steps >= 0")
        if min(self.max_resource_bytes, self.max_total_bytes, self.max_requests) < 1:
            raise UsageError("limits must be positive")

    def to_dict(self) -> dict[str, Any]:
        """The options as the provenance records them (no note, no secrets, no paths
        of session files)."""
        d = {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("note", "proxy", "storage_state", "extra_ca_file")
        }
        d["extra_ca_file"] = str(self.extra_ca_file) if self.extra_ca_file else None
        d["proxy"] = self.proxy.public_url if self.proxy else None
        d["storage_state"] = self.storage_state is not None
        return d
