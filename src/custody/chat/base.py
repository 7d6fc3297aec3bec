"""The chat-import model: normalized messages, the import report, the importer protocol.

A :class:`Message` is what every format is turned into; its :meth:`Message.to_dict` is
the JSON object of one line of the messages artifact (schemas/message.schema.json,
docs/formats/chat/messages.md). Parsers never print: everything noteworthy goes into
the :class:`ImportReport` of their :class:`ParseContext`.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, BinaryIO, Protocol
from zoneinfo import ZoneInfo

MESSAGE_VERSION = 1
MAX_FINDINGS_PER_CODE = 200
"""Findings kept in the report per code; more are only counted."""


class Kind(StrEnum):
    """What a message is."""

    TEXT = "text"
    MEDIA = "media"
    SYSTEM = "system"
    DELETED = "deleted"
    CALL = "call"
    POLL = "poll"
    LOCATION = "location"
    CONTACT = "contact"
    UNAVAILABLE = "unavailable"  # "Waiting for this message": the exporter could not decrypt it
    UNSUPPORTED = "unsupported"  # the platform itself exported no content (Telegram)


class TimeBasis(StrEnum):
    """How ``sent_at`` was obtained from ``sent_at_raw``."""

    EXPLICIT = "explicit"  # the source states the instant (epoch seconds, an offset)
    ASSUMED = "assumed"  # local time read in the --timezone zone
    AMBIGUOUS = "ambiguous"  # local time that occurs twice (DST fall-back): two candidates
    NONEXISTENT = "nonexistent"  # local time skipped by a DST change: no instant
    MISSING = "missing"  # no zone, or no time at all


class Status(StrEnum):
    """What the export says about an attachment."""

    REFERENCED = "referenced"  # named as a file that should be in the package
    OMITTED = "omitted"  # the export says it left the file out
    REMOTE = "remote"  # only a URL
    FAILED = "failed"  # the exporter tried and failed


class Flag(StrEnum):
    SYSTEM = "system"
    DELETED = "deleted"
    EDITED = "edited"
    FORWARDED = "forwarded"


_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


def clean_sender(raw: str | None) -> str | None:
    """The display name: bidi controls removed, U+00A0 and U+202F turned into spaces."""
    if raw is None:
        return None
    return _clean(raw)


@functools.lru_cache(maxsize=4096)  # a chat has a few senders, each named thousands of times
def _clean(raw: str) -> str:
    return _BIDI.sub("", raw).translate(_SPACES)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """One file of the export package, hashed before parsing."""

    name: str  # relative path inside the package, "/"-separated
    size: int
    sha256: str
    sha512: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a message names (or says it left out)."""

    name: str | None
    status: Status
    sha256: str | None = None  # when the file is in the package
    size: int | None = None
    present: bool | None = None  # for referenced files: found in the package?
    media: str | None = None  # image, video, audio, sticker, document, contact, …
    title: str | None = None  # a document's title or description, as the export gives it
    note: str | None = None  # the exporter's own words, e.g. Telegram's "(File not included…)"
    role: str | None = None  # Telegram: "thumbnail"
    unit: str | None = None  # id of its commitment unit (set by the importer)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "status": self.status.value}
        for key in ("sha256", "size", "present", "media", "title", "note", "role", "unit"):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        return d


@dataclass(frozen=True, slots=True)
class When:
    """A message's time: as written, as local wall time, and as UTC when it can be known."""

    raw: str | None
    local: str | None = None  # ISO 8601 without offset, when the date could be read
    utc: str | None = None  # ISO 8601 UTC with Z
    zone: str | None = None
    basis: TimeBasis = TimeBasis.MISSING
    candidates: tuple[str, ...] = ()  # both instants of an ambiguous local time


@dataclass(frozen=True, slots=True)
class Message:
    """One normalized message, in source order."""

    seq: int
    when: When
    sender_raw: str | None
    sender_id: str | None
    text: str
    kind: Kind
    source: Mapping[
        str, Any
    ]  # {"file", "line", "end_line", "offset", "length"} or {"file", "pointer"}
    flags: frozenset[Flag] = frozenset()
    attachments: tuple[Attachment, ...] = ()
    system: bool = False  # platform/system message: sender is null
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seq < 0:
            raise ValueError("seq must be >= 0")

    @property
    def sender(self) -> str | None:
        return None if self.system else clean_sender(self.sender_raw)

    def to_dict(self, import_id: str) -> dict[str, Any]:
        """The JSON object of this message's line in the messages artifact."""
        flags = {*self.flags, Flag.SYSTEM} if self.system else self.flags
        d: dict[str, Any] = {
            "v": MESSAGE_VERSION,
            "id": f"{import_id}:{self.seq}",
            "seq": self.seq,
            "sender": self.sender,
            "sender_raw": self.sender_raw,
            "sender_id": self.sender_id,
            "sent_at_raw": self.when.raw,
            "sent_at_local": self.when.local,
            "sent_at": self.when.utc,
            "time_zone": self.when.zone,
            "time_basis": self.when.basis.value,
            "text": self.text,
            "kind": self.kind.value,
            "flags": sorted(f.value for f in flags) if flags else [],
            "attachments": [a.to_dict() for a in self.attachments] if self.attachments else [],
            "source": dict(self.source),
        }
        if self.when.candidates:
            d["sent_at_candidates"] = list(self.when.candidates)
        d.update(self.extra)
        return d

    def json_line(self, import_id: str) -> bytes | None:
        """The messages-artifact line of this message (no newline), written directly.

        The bytes are those of ``json.dumps(self.to_dict(import_id), ensure_ascii=False,
        sort_keys=True, separators=(",", ":"))``, which :func:`custody.chat.units.
        encode_message` writes for a message without floats: the members in code-point
        order, each value as that encoder writes it. None for a message with attachments
        or extra members (encode its :meth:`to_dict`). The tests compare the two.
        """
        if self.attachments or self.extra:
            return None
        when, seq = self.when, self.seq
        flags = {*self.flags, Flag.SYSTEM} if self.system else self.flags
        listed = ",".join(map(_json, sorted(f.value for f in flags))) if flags else ""
        candidates = (
            f'"sent_at_candidates":[{",".join(map(_json, when.candidates))}],'
            if when.candidates
            else ""
        )
        values = (
            *(f"{import_id}:{seq}", self.sender, self.sender_id, self.sender_raw),
            *(when.utc, when.local, when.raw, self.text, when.zone),
        )
        unit, sender, sender_id, sender_raw, utc, local, raw, text, zone = [
            "null" if v is None else _json_str(v) if type(v) is str else _json(v) for v in values
        ]
        kind, basis = _json_str(self.kind), _json_str(when.basis)  # a StrEnum is its value
        return (
            f'{{"attachments":[],"flags":[{listed}],"id":{unit},"kind":{kind},'
            f'"sender":{sender},"sender_id":{sender_id},"sender_raw":{sender_raw},'
            f'"sent_at":{utc},{candidates}"sent_at_local":{local},"sent_at_raw":{raw},'
            f'"seq":{seq if type(seq) is int else _json(seq)},'
            f'"source":{_json_object(self.source)},"text":{text},'
            f'"time_basis":{basis},"time_zone":{zone},"v":{MESSAGE_VERSION}}}'
        ).encode()


_COMPACT = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_json_str = json.encoder.encode_basestring  # how _COMPACT writes a str


def _json(value: Any) -> str:
    """``value`` as :data:`_COMPACT` writes it, inside an object or alone."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return _json_str(value)
    if type(value) is int:  # not bool
        return str(value)
    return _COMPACT.encode(value)


def _json_object(obj: Mapping[str, Any]) -> str:
    """A mapping as :data:`_COMPACT` writes it: members sorted by key."""
    try:
        members = [
            f"{_json_str(key)}:{value if type(value) is int else _json(value)}"
            for key, value in sorted(obj.items())
        ]
    except TypeError:  # a key that is not a str: json writes it its own way (or fails alike)
        return _COMPACT.encode(dict(obj))
    return "{" + ",".join(members) + "}"


@dataclass
class ImportReport:
    """Everything noteworthy about one import: facts, and findings with their location."""

    facts: dict[str, Any] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, code: str, message: str, *, severity: str = "warning", **where: Any) -> None:
        """Record a finding; ``where`` names file, line, end_line, offset, length or pointer."""
        self.counts[code] += 1
        if self.counts[code] <= MAX_FINDINGS_PER_CODE:
            entry = {"code": code, "severity": severity, "message": message}
            entry.update({k: v for k, v in where.items() if v is not None})
            self.findings.append(entry)

    def to_dict(self) -> dict[str, Any]:
        left_out = {
            code: n - MAX_FINDINGS_PER_CODE
            for code, n in sorted(self.counts.items())
            if n > MAX_FINDINGS_PER_CODE
        }
        return {
            "facts": self.facts,
            "counts": dict(sorted(self.counts.items())),
            "findings": self.findings,
            "findings_left_out": left_out,
        }


@dataclass
class ParseContext:
    """What a parser needs besides the bytes, and where it reports."""

    chat_file: str  # the export's main file, as named in the package
    files: Mapping[str, FileInfo]  # every file of the package by name
    zone: ZoneInfo | None = None  # --timezone
    date_order: str | None = None  # --date-order: DMY, MDY or YMD
    report: ImportReport = field(default_factory=ImportReport)
    referenced: set[str] = field(default_factory=set)  # package files some message names
    # Opens another file of the package by name, from its start, for a format whose chat is
    # split over several files (Messenger's message_N.json); None when the caller offers none.
    open_file: Callable[[str], BinaryIO] | None = None

    def folder(self) -> str:
        """The chat file's folder inside the package ("" at the top)."""
        return self.chat_file.rpartition("/")[0]

    def lookup(self, name: str) -> FileInfo | None:
        """The package file a message names (relative to the chat file's folder)."""
        folder = self.folder()
        found = self.files.get(f"{folder}/{name}" if folder else name)
        if found is not None:
            self.referenced.add(found.name)
        return found


class ChatImporter(Protocol):
    """One export format.

    ``sniff`` looks at the first bytes of a file (up to 64 KiB) and says whether it could be
    this format's main file. ``parse`` reads the whole file and yields its messages in
    source order with ``seq`` from 0; it raises :class:`~custody.errors.InputError` for
    input it cannot read at all (nothing is stored until every message has been yielded).
    """

    name: str

    def sniff(self, head: bytes) -> bool:
        """True if ``head`` looks like the start of this format's main file."""
        ...

    def parse(self, source: BinaryIO, ctx: ParseContext) -> Iterator[Message]:
        """Yield every message of ``source`` (a seekable binary file).

        Raises:
            InputError: the file is not this format, empty, or not decodable.
        """
        ...
