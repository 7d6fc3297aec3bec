"""The capturer's own credentials: a logged-in session in, scrubbed request records out.

``custody capture --storage-state FILE`` starts the browser context from a Playwright
storage state (``{"cookies": [...], "origins": [{"origin", "localStorage": [...]}]}``, as
``context.storage_state()`` writes it), so a page can be captured as a logged-in user
sees it.

The real values are sent to the server; what is *recorded* is scrubbed. In every WARC
``request`` record of such a capture the values of the headers in :data:`SCRUBBED` are
replaced by :data:`PLACEHOLDER` before the record (and so its digests) is written. The
scrubbing covers the session's cookies and tokens however they were sent: cookies from the
file, cookies the site set during the capture, ``Authorization`` headers scripts built
from ``localStorage``. The provenance (``credentials``) says which header names were
scrubbed in how many requests, names the session's cookies and origins (never values)
and carries :data:`WARNING`: responses are recorded as received, so ``Set-Cookie``
headers, page bodies, the DOM, the text and the screenshot may still show who was logged
in. Request bodies (a login form posted during the capture) are not scrubbed.

Without a storage state nothing is scrubbed: a fresh profile has no credentials of its
own, and cookies the site sets during the capture are part of what it did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from custody.capture.recorder import Exchange
from custody.errors import UsageError

PLACEHOLDER = "[scrubbed by custody]"
SCRUBBED = ("Cookie", "Authorization", "Proxy-Authorization")
MAX_STATE_BYTES = 16 << 20
WARNING = (
    "a logged-in session was used: request headers are scrubbed, but the logged-in identity "
    "may still show in responses (Set-Cookie), page bodies, the DOM, the text and the "
    "screenshot"
)
RULE = (
    "the value of each listed header in every recorded request replaced by the placeholder "
    "before the record and its digests were written; the real values were sent"
)


@dataclass(frozen=True, slots=True)
class StorageState:
    """A loaded storage state: the document for the browser, and what may be recorded."""

    document: dict[str, Any] = field(repr=False)
    cookies: tuple[tuple[str, str], ...]  # (domain, name), no values
    origins: tuple[str, ...]

    def describe(self) -> dict[str, Any]:
        """The session as the provenance names it: cookie domains and names, origins."""
        return {
            "cookies": [{"domain": d, "name": n} for d, n in self.cookies],
            "local_storage_origins": list(self.origins),
        }


def _strings(item: Any, names: tuple[str, ...]) -> bool:
    return isinstance(item, dict) and all(isinstance(item.get(n), str) for n in names)


def load_storage_state(path: Path) -> StorageState:
    """Read and check a Playwright storage-state file.

    Raises:
        UsageError: it cannot be read, is not JSON, or is not a storage state.
    """
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_STATE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read storage state {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_STATE_BYTES:
        raise UsageError(f"storage state {path} is larger than 16 MiB")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"storage state {path} is not JSON: {exc}") from None
    hint = 'Playwright\'s format: {"cookies": [...], "origins": [...]}'
    if not isinstance(doc, dict):
        raise UsageError(f"storage state {path} is not a JSON object", hint=hint)
    cookies, origins = doc.get("cookies", []), doc.get("origins", [])
    if not isinstance(cookies, list) or not isinstance(origins, list):
        raise UsageError(f"storage state {path}: cookies and origins must be lists", hint=hint)
    for i, c in enumerate(cookies):
        if not _strings(c, ("name", "value", "domain", "path")):
            raise UsageError(f"storage state {path}: cookie {i} lacks name/value/domain/path")
    for i, o in enumerate(origins):
        if not _strings(o, ("origin",)) or not isinstance(o.get("localStorage", []), list):
            raise UsageError(f"storage state {path}: origin {i} is not an origin entry")
    return StorageState(
        {"cookies": cookies, "origins": origins},
        tuple((c["domain"], c["name"]) for c in cookies),
        tuple(o["origin"] for o in origins),
    )


class Scrubber:
    """Replaces credential header values in exchanges before they are recorded."""

    def __init__(self, names: tuple[str, ...] = SCRUBBED) -> None:
        self._names = {n.lower() for n in names}
        self.seen: dict[str, int] = {}  # header name as sent -> requests scrubbed

    def apply(self, ex: Exchange) -> Exchange:
        """``ex`` with the listed headers' values replaced in what will be recorded."""
        hit = {n for n, _ in ex.sent_headers if n.lower() in self._names}
        if not hit:
            return ex
        for name in hit:
            self.seen[name] = self.seen.get(name, 0) + 1
        headers = tuple(
            (n, PLACEHOLDER if n.lower() in self._names else v) for n, v in ex.sent_headers
        )
        return replace(ex, sent_headers=headers)

    def describe(self, state: StorageState) -> dict[str, Any]:
        """The provenance's ``credentials`` section."""
        return {
            "storage_state": state.describe(),
            "scrubbed_headers": sorted(self.seen),
            "scrubbed_requests": dict(sorted(self.seen.items())),
            "scrub_rule": {"headers": list(SCRUBBED), "placeholder": PLACEHOLDER, "how": RULE},
            "warning": WARNING,
        }
