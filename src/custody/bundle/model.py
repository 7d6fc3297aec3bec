"""What a bundle plan is made of (selection, exhibits, items), and small helpers the
planners share (:mod:`custody.bundle.plan`, :mod:`custody.bundle.plan_capture`,
:mod:`custody.bundle.plan_chat`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from custody import log
from custody.bundle import redact
from custody.bundle.sets import UnitSet
from custody.case import Case
from custody.errors import StorageError

DEFAULT_REASON = "not selected for this bundle"
RENDITION = "shows text that this bundle masks elsewhere"
TEXT_LIMIT = 16 << 20  # larger files are not searched for redaction patterns
_SAFE_EXT = re.compile(r"\.([a-z0-9]{1,8})$")


@dataclass(frozen=True, slots=True)
class ImportChoice:
    """Messages of one import chosen by time and sender."""

    import_id: str
    since: datetime | None = None
    until: datetime | None = None
    sender: str | None = None


@dataclass(frozen=True)
class Selection:
    """Everything the user chose (flags or ``--select FILE``)."""

    artifacts: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    imports: tuple[ImportChoice, ...] = ()
    warc_records: tuple[str, ...] = ()
    redact: tuple[str, ...] = ()
    strip_gps: bool = False
    withhold_reason: str = DEFAULT_REASON
    recipient: str | None = None
    since: Path | None = None
    unsafe_unredacted: bool = False

    @property
    def empty(self) -> bool:
        return not (self.artifacts or self.messages or self.imports or self.warc_records)


@dataclass
class Source:
    """Where a unit's bytes are: a slice of a case file, bytes in memory, or a WARC block."""

    path: Path | None = None
    offset: int = 0
    size: int = 0
    data: bytes | None = None
    warc_block: str | None = None  # sha256 of a resource record's block in ``path``


@dataclass
class Derived:
    """A redacted rendition of a unit, made for this bundle."""

    method: str
    data: bytes
    params: bytes
    reason: str
    name: str
    commitment: str = ""
    disclosure: bytes = b""
    params_commitment: str = ""
    params_disclosure: bytes = b""
    entry_seq: int = -1


@dataclass
class Item:
    """One unit of an exhibit and what the bundle does with it."""

    role: str  # artifact, details, record, message, attachment
    commitment: str
    status: str  # disclosed, withheld, redacted
    reason: str | None = None
    disclosure: bytes | None = None
    source: Source | None = None
    name: str | None = None
    index: int | None = None
    unit: str | None = None
    proof: list[str] | None = None
    derived: Derived | None = None


@dataclass
class Exhibit:
    """One acquisition and its units in this bundle."""

    entry: log.Entry
    items: list[Item] = field(default_factory=list)
    units: UnitSet | None = None
    set_reason: str = DEFAULT_REASON
    sensitive: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.entry.seq}-{self.entry.type}"


@dataclass
class Plan:
    """The exhibits and the log entries a bundle relies on."""

    case: Case
    entries: dict[int, log.Entry]
    exhibits: list[Exhibit]
    patterns: list[redact.Pattern]
    selection: Selection


def ext_of(name: object, default: str) -> str:
    """A short, safe file extension of ``name`` (lower case), or ``default``."""
    m = _SAFE_EXT.search(str(name or "").lower())
    return m.group(1) if m else default


def as_text(data: bytes) -> str | None:
    """``data`` as UTF-8 text, or ``None`` when it is binary or too large to search."""
    if len(data) > TEXT_LIMIT or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def read_bytes(path: Path) -> bytes:
    """The whole file.

    Raises:
        StorageError: it cannot be read.
    """
    try:
        return path.read_bytes()
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc


def read_head(path: Path, offset: int = 0) -> bytes:
    """The two bytes at ``offset`` (a gzip member starts with 1f 8b)."""
    with path.open("rb") as fh:
        fh.seek(offset)
        return fh.read(2)
