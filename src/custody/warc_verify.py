"""Strict WARC reading: every record parsed, every rule checked, every digest recomputed.

warcio is a lenient reader (it accepts missing and duplicate mandatory fields, unknown
types and orphan records), so this module parses WARC bytes itself, streaming, with bounded
memory (record ids are remembered, as 16-byte hashes, for the first million records). It
follows WARC 1.1 (ISO 28500:2017) and, where the spec only recommends or leaves readers to
guess, the strictness of JWAT's validator: a non-empty block needs a ``Content-Type``
(except ``continuation``), ``warcinfo`` must be ``application/warc-fields``, an unknown
``WARC-Type`` is an error (the spec says to skip such records), and so is a value that
starts an RFC 2047 encoded-word but is not one (readers that decode encoded-words, as the
spec asks, disagree about it).

Findings are data. ``ERROR`` findings mean the file fails; ``WARNING`` findings are worth
showing but do not (legacy ``WARC/0.17`` and ``0.18`` headers, a ``revisit`` without
``WARC-Refers-To``, a ``continuation`` whose first segment is in another file, URIs with
whitespace or angle brackets as old wget wrote them, digests in algorithms we cannot check).
A finding's ``offset`` is the byte offset in the file of the record it is about (for gzip
files, of the gzip member the record starts in), or of the fault itself when no record
is known.

Digests: labelled ``algorithm:value`` with sha1, sha224, sha256, sha384, sha512 or md5
(``sha-256`` style labels too); values in base32 (padded or not), hex or base64. An HTTP
payload digest passes if it matches the entity body either as stored or, for a chunked
body, with the transfer coding removed (WARC 1.1 says the latter; warcio and most
crawlers write the former).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import BinaryIO

from custody.errors import InputError, IntegrityError, StorageError

_CHUNK = 1 << 16
_MAX_HEADER = 1 << 18  # bytes of one WARC header, folded lines included
_MAX_HTTP_HEAD = 1 << 16
_MAX_IDS = 1 << 20  # record ids remembered for the duplicate and orphan checks


class WarcType(StrEnum):
    """The eight record types of WARC 1.1."""

    WARCINFO = "warcinfo"
    RESPONSE = "response"
    RESOURCE = "resource"
    REQUEST = "request"
    METADATA = "metadata"
    REVISIT = "revisit"
    CONVERSION = "conversion"
    CONTINUATION = "continuation"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class WarcFault(StrEnum):
    """What is wrong; one value per kind of fault."""

    NOT_WARC = "not-warc"  # the file does not start with a WARC record (ARC, empty, other)
    BAD_VERSION = "bad-version"
    LEGACY_VERSION = "legacy-version"
    MALFORMED_HEADER = "malformed-header"  # bad line, bare LF, not UTF-8, too long
    MISSING_FIELD = "missing-field"
    DUPLICATE_FIELD = "duplicate-field"
    INVALID_FIELD = "invalid-field"
    UNKNOWN_TYPE = "unknown-type"
    DUPLICATE_RECORD_ID = "duplicate-record-id"
    BAD_SEGMENT = "bad-segment"
    ORPHAN_CONTINUATION = "orphan-continuation"
    REVISIT_WITHOUT_REFERS_TO = "revisit-without-refers-to"
    DIGEST_MISMATCH = "digest-mismatch"
    DIGEST_UNCHECKED = "digest-unchecked"
    BAD_RECORD_END = "bad-record-end"  # block not followed by CRLF CRLF
    TRUNCATED = "truncated"
    GARBAGE = "garbage"
    GZIP_CORRUPT = "gzip-corrupt"
    GZIP_LAYOUT = "gzip-layout"  # records not one per gzip member


@dataclass(frozen=True, slots=True)
class WarcFinding:
    """One fault: what, how bad, where (file byte offset) and in which record."""

    kind: WarcFault
    severity: Severity
    offset: int
    record_id: str | None
    message: str


@dataclass(frozen=True, slots=True)
class WarcReport:
    """Everything :func:`verify_warc` found in one file."""

    findings: tuple[WarcFinding, ...]
    records: int
    gzip: bool

    @property
    def ok(self) -> bool:
        """True when no finding is an error."""
        return not any(f.severity is Severity.ERROR for f in self.findings)

    @property
    def is_warc(self) -> bool:
        return not any(f.kind is WarcFault.NOT_WARC for f in self.findings)


class NotAWarcError(InputError):
    """The input is not a WARC file at all."""


class WarcIntegrityError(IntegrityError):
    """A WARC file failed strict verification; ``findings`` says where and why."""

    def __init__(
        self, message: str, *, findings: tuple[WarcFinding, ...], hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.findings = findings


_E, _W = Severity.ERROR, Severity.WARNING
_LEGACY = {"0.17", "0.18"}
_ALGORITHMS = {"sha1", "sha224", "sha256", "sha384", "sha512", "md5"}
_NEEDS_TARGET = {"response", "resource", "request", "revisit", "conversion", "continuation"}
_MANDATORY = ("warc-record-id", "warc-date", "warc-type", "content-length")
_DEFINED = {
    *("warc-type", "warc-record-id", "warc-date", "content-length", "content-type"),
    *("warc-concurrent-to", "warc-block-digest", "warc-payload-digest", "warc-ip-address"),
    *("warc-refers-to", "warc-target-uri", "warc-truncated", "warc-warcinfo-id"),
    *("warc-filename", "warc-profile", "warc-identified-payload-type"),
    *("warc-segment-origin-id", "warc-segment-number", "warc-segment-total-length"),
}
_VERSION_RE = re.compile(rb"WARC/(\d+\.\d+)\r?\n", re.IGNORECASE)
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DATE_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", re.IGNORECASE)
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S")
_TOK = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_MEDIA_RE = re.compile(rf'{_TOK}/{_TOK}(\s*;\s*{_TOK}=({_TOK}|"([^"\\]|\\.)*"))*\s*;?')
_EW_START = re.compile(r"=\?[^?\s]+\?[BbQq]\?")
_EW = re.compile(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=")


def is_uri(value: str) -> bool:
    """True for an absolute URI (it has a scheme) without whitespace or angle brackets."""
    return _SCHEME_RE.match(value) is not None and re.search(r"[\s<>]", value) is None


def is_record_id(value: str) -> bool:
    """True for ``<URI>``, the form of WARC record ids."""
    return value[:1] == "<" and value[-1:] == ">" and is_uri(value[1:-1])


def malformed_encoded_word(value: str) -> bool:
    """True if ``value`` starts an RFC 2047 encoded-word (``=?charset?Q?``) but is not one.

    WARC readers must decode encoded-words, so readers disagree about such a value.
    """
    return any(not _EW.match(value, m.start()) for m in _EW_START.finditer(value))


def _labelled(value: str | None) -> tuple[str, str] | None:
    """``(algorithm, value)`` of a labelled digest, algorithm normalised; None if malformed."""
    algorithm, sep, digest = (value or "").partition(":")
    if not sep or not _TOKEN_RE.fullmatch(algorithm) or not re.fullmatch(r"\S+", digest):
        return None
    return algorithm.lower().replace("-", ""), digest


def _is_date(value: str) -> bool:
    try:
        datetime.strptime(value[:19].upper() + "+0000", "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return False
    return _DATE_RE.fullmatch(value) is not None


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_number(value: str) -> bool:
    return re.fullmatch(r"[0-9]{1,18}", value) is not None


_FORMATS: dict[str, tuple[Callable[[str], object], str]] = {
    **dict.fromkeys(
        ("warc-record-id", "warc-concurrent-to", "warc-refers-to", "warc-warcinfo-id"),
        (is_record_id, "a <URI>"),
    ),
    "warc-segment-origin-id": (is_record_id, "a <URI>"),
    "warc-date": (_is_date, "YYYY-MM-DDThh:mm:ssZ"),
    "content-length": (_is_number, "a number"),
    "warc-segment-number": (_is_number, "a number"),
    "warc-segment-total-length": (_is_number, "a number"),
    "content-type": (_MEDIA_RE.fullmatch, "a media type"),
    "warc-identified-payload-type": (_MEDIA_RE.fullmatch, "a media type"),
    "warc-ip-address": (_is_ip, "an IP address"),
    "warc-block-digest": (_labelled, "algorithm:value"),
    "warc-payload-digest": (_labelled, "algorithm:value"),
    "warc-profile": (is_uri, "a URI"),
}


def field_problem(name: str, value: str) -> str | None:
    """Why ``value`` is not valid in WARC field ``name`` (checked: defined fields), or None."""
    name = name.lower()
    check, form = _FORMATS.get(name, (bool, "set"))
    if name in _DEFINED and not check(value):
        return f"{name} is not {form}: {value[:80]!r}"
    if malformed_encoded_word(value):
        return f"{name} starts an RFC 2047 encoded-word but is not one: {value[:80]!r}"
    return None


def _decode_digest(value: str, size: int) -> list[bytes]:
    """Every reading of a digest value (hex, base32, base64) that has the right size."""
    out: list[bytes] = []
    bare = value.rstrip("=")
    try:
        if len(value) == 2 * size and re.fullmatch(r"[0-9A-Fa-f]+", value):
            out.append(bytes.fromhex(value))
        if len(bare) == -(-size * 8 // 5) and re.fullmatch(r"[A-Za-z2-7]+", bare):
            out.append(base64.b32decode(bare.upper() + "=" * (-len(bare) % 8)))
        if len(bare) == -(-size * 4 // 3) and re.fullmatch(r"[A-Za-z0-9+/_-]+", bare):
            std = bare.replace("-", "+").replace("_", "/")
            out.append(base64.b64decode(std + "=" * (-len(bare) % 4)))
    except (ValueError, binascii.Error):
        pass
    return [d for d in out if len(d) == size]


class _Source:
    """The logical (decompressed) bytes of a plain or gzip WARC, with gzip member starts."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._buf = bytearray()
        self.pos = 0  # logical offset of _buf[0]
        self._produced = 0
        self._dec: zlib._Decompress | None = None
        self._in: bytes = raw.read(_CHUNK)
        self._in_off = 0
        self.gzip = self._in[:2] == b"\x1f\x8b"
        self._eof = not self._in
        self.members: deque[tuple[int, int]] = deque()  # (logical start, file offset)
        self.error: tuple[WarcFault, str, int] | None = None
        if not self.gzip:
            self._buf += self._in

    def file_offset(self, logical: int) -> int:
        """The file offset of a logical offset; for gzip, of its member's start."""
        if not self.gzip:
            return logical
        return max((off for start, off in self.members if start <= logical), default=0)

    def forget_before(self, logical: int) -> None:
        while len(self.members) > 1 and self.members[1][0] <= logical:
            self.members.popleft()

    def _more(self) -> bool:
        """Append more logical bytes to the buffer; False at the end of input."""
        while not self._eof:
            if not self.gzip:
                chunk = self._raw.read(_CHUNK)
                self._buf += chunk
                self._eof = not chunk
                return bool(chunk)
            self._in = self._in or self._raw.read(_CHUNK)
            if self._dec is None:
                self._eof = not self._in
                if self._eof:
                    return False
                self._dec = zlib.decompressobj(31)
                self.members.append((self._produced, self._in_off))
            try:
                out = self._dec.decompress(self._in, _CHUNK)
            except zlib.error as exc:
                self._eof = True
                self.error = (WarcFault.GZIP_CORRUPT, f"gzip data corrupt: {exc}", self._in_off)
                return False
            if self._dec.eof:
                rest, self._dec = self._dec.unused_data, None
            elif not self._in and not out:
                self._eof = True
                where = self.members[-1][1]
                self.error = (WarcFault.TRUNCATED, "file ends inside a gzip member", where)
                return False
            else:
                rest = self._dec.unconsumed_tail
            self._in_off += len(self._in) - len(rest)
            self._in = rest
            self._buf += out
            self._produced += len(out)
            if out:
                return True
        return False

    def peek(self, n: int) -> bytes:
        while len(self._buf) < n and self._more():
            pass
        return bytes(self._buf[:n])

    def read(self, n: int) -> bytes:
        out = self.peek(n)
        del self._buf[: len(out)]
        self.pos += len(out)
        return out

    def readline(self, limit: int) -> bytes:
        start = 0
        while (end := self._buf.find(b"\n", start, limit)) < 0:
            start = len(self._buf)
            if start >= limit or not self._more():
                return self.read(min(limit, len(self._buf)))
        return self.read(end + 1)


class _Dechunker:
    """Removes HTTP chunked transfer coding from a stream, hashing what comes out."""

    def __init__(self, algorithm: str) -> None:
        self.hash = hashlib.new(algorithm)
        self.ok = True
        self._state = "size"
        self._line = bytearray()
        self._left = 0

    def feed(self, data: bytes) -> None:
        i = 0
        while i < len(data) and self.ok and self._state != "done":
            if self._state == "data":
                part = data[i : i + self._left]
                self.hash.update(part)
                i += len(part)
                self._left -= len(part)
                self._state = "data" if self._left else "crlf"
                continue
            j = data.find(b"\n", i)
            self._line += data[i : j if j >= 0 else len(data)]
            if j < 0:
                self.ok = len(self._line) < 4096
                return
            i = j + 1
            line = bytes(self._line).rstrip(b"\r")
            self._line.clear()
            if self._state == "size":
                size = line.split(b";")[0].strip()
                self.ok = re.fullmatch(rb"[0-9A-Fa-f]{1,15}", size) is not None
                self._left = int(size, 16) if self.ok else 0
                self._state = "data" if self._left else "trailer"
            elif self._state == "crlf":
                self.ok, self._state = not line, "size"
            elif not line:
                self._state = "done"


class _Payload:
    """Hashes a record's payload: the whole block, or the entity body of an HTTP block."""

    def __init__(self, algorithm: str, http: bool) -> None:
        self.algorithm = algorithm
        self.hash = hashlib.new(algorithm)
        self._head: bytearray | None = bytearray() if http else None
        self.dechunker: _Dechunker | None = None
        self.unchecked = False

    def feed(self, data: bytes) -> None:
        if self._head is not None and not self.unchecked:
            self._head += data
            marks = ((self._head.find(b"\n\r\n"), 3), (self._head.find(b"\n\n"), 2))
            end = min((i + n for i, n in marks if i >= 0), default=-1)
            if end < 0:
                self.unchecked = len(self._head) > _MAX_HTTP_HEAD
                return
            head, data = bytes(self._head[:end]), bytes(self._head[end:])
            self._head = None
            if re.search(rb"(?im)^transfer-encoding:[^\n]*chunked", head):
                self.dechunker = _Dechunker(self.algorithm)
        self.hash.update(data)
        if self.dechunker is not None:
            self.dechunker.feed(data)

    def candidates(self) -> list[bytes]:
        """The payload's digest as stored and, if chunked, with the coding removed."""
        found = [self.hash.digest()]
        if self.dechunker is not None and self.dechunker.ok:
            found.append(self.dechunker.hash.digest())
        return found


@dataclass(slots=True)
class _Record:
    offset: int
    fields: dict[str, list[str]]
    record_id: str | None = None
    rtype: str = ""
    length: int | None = 0

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


class _Verifier:
    def __init__(self, raw: BinaryIO, own: bool) -> None:
        self.src = _Source(raw)
        self.own = own
        self.findings: list[WarcFinding] = []
        self.ids: set[bytes] = set()  # of _key(record id)
        self.records = 0
        self.layout_reported = False

    def add(
        self, kind: WarcFault, msg: str, offset: int, rid: str | None = None, sev: Severity = _E
    ) -> None:
        self.findings.append(WarcFinding(kind, sev, offset, rid, msg))

    def run(self) -> WarcReport:
        src = self.src
        while src.peek(1):
            start = src.pos
            line = src.readline(64)
            match = _VERSION_RE.fullmatch(line)
            cut = line.upper()[:5] in (b"WARC/", b"WARC/"[: len(line)]) and not src.peek(1)
            if match is None and cut and not line.endswith(b"\n"):
                self.add(WarcFault.TRUNCATED, "file ends in a version line", src.file_offset(start))
                break
            if match is None and self.records == 0:
                what = "an ARC file" if line.startswith(b"filedesc://") else "not a WARC file"
                self.add(WarcFault.NOT_WARC, f"{what}: no WARC version line", 0)
                break
            if match is None:
                self._skip_garbage(start, len(line))
            else:
                self._record(start, match.group(1).decode())
        if src.error is not None:
            self.add(*src.error)
        elif self.records == 0 and not self.findings:
            self.add(WarcFault.NOT_WARC, "empty input: no WARC record", 0)
        return WarcReport(tuple(self.findings), self.records, src.gzip)

    def _skip_garbage(self, start: int, skipped: int) -> None:
        """Report bytes that are not a record, then resume at the next version line."""
        while head := self.src.peek(64):
            if _VERSION_RE.fullmatch(head[: head.find(b"\n") + 1]):
                break
            skipped += len(self.src.readline(_MAX_HEADER))
        msg = f"{skipped} bytes that are not a WARC record"
        self.add(WarcFault.GARBAGE, msg, self.src.file_offset(start))

    def _layout(self, offset: int, msg: str) -> None:
        if not self.layout_reported:
            self.layout_reported = True
            self.add(WarcFault.GZIP_LAYOUT, msg, offset)

    def _record(self, start: int, version: str) -> None:
        src = self.src
        self.records += 1
        rec = _Record(src.file_offset(start), {})
        if src.gzip and all(s != start for s, _ in src.members):
            self._layout(rec.offset, "records share a gzip member, not one member per record")
        if self._read_header(rec):
            self._check_fields(rec, version)
            if rec.length is not None:
                self._read_block(rec)
        if src.gzip and any(start < s < src.pos for s, _ in src.members):
            self._layout(rec.offset, "a record is split across gzip members")
        src.forget_before(src.pos)

    def _read_header(self, rec: _Record) -> bool:
        """Read the named fields into ``rec``; False if the header never ends."""
        size, bare_lf, last, problems = 0, False, "", []
        while True:
            raw = self.src.readline(_MAX_HEADER - size + 1)
            size += len(raw)
            if size > _MAX_HEADER or not raw.endswith(b"\n"):
                big = size > _MAX_HEADER
                kind = WarcFault.MALFORMED_HEADER if big else WarcFault.TRUNCATED
                msg = "header larger than 256 KiB" if big else "file ends inside a record header"
                self.add(kind, msg, rec.offset, rec.first("warc-record-id"))
                return False
            bare_lf = bare_lf or not raw.endswith(b"\r\n")
            line = raw.removesuffix(b"\n").removesuffix(b"\r")
            if not line:
                break
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("utf-8", "replace")
                problems.append("header is not valid UTF-8")
            if line[:1] in (b" ", b"\t") and last:
                rec.fields[last][-1] = f"{rec.fields[last][-1]} {text.strip()}".strip()
                continue
            name, sep, value = text.partition(":")
            if not sep or not _TOKEN_RE.fullmatch(name):
                problems.append(f"not a named field: {text[:60]!r}")
                continue
            last = name.lower()
            rec.fields.setdefault(last, []).append(value.strip())
        rec.record_id = rec.first("warc-record-id") or None
        rec.rtype = (rec.first("warc-type") or "").lower()
        if bare_lf:
            problems.append("header lines end in LF, not CRLF")
        for msg in problems:
            self.add(WarcFault.MALFORMED_HEADER, msg, rec.offset, rec.record_id)
        return True

    def _check_fields(self, rec: _Record, version: str) -> None:
        found: list[tuple[WarcFault, str, Severity]] = []

        def bad(kind: WarcFault, msg: str, sev: Severity = _E) -> None:
            found.append((kind, msg, sev))

        fields, rtype = rec.fields, rec.rtype
        if version not in ("1.0", "1.1", *_LEGACY):
            bad(WarcFault.BAD_VERSION, f"unknown version WARC/{version}")
        elif self.own and version != "1.1":
            bad(WarcFault.BAD_VERSION, f"WARC/{version}, but custody writes WARC/1.1")
        elif version in _LEGACY:
            bad(WarcFault.LEGACY_VERSION, f"pre-standard version WARC/{version}", _W)
        for name in _MANDATORY:
            if name not in fields:
                bad(WarcFault.MISSING_FIELD, f"no {name} field")
        for name, values in fields.items():
            if name in _DEFINED and len(values) > 1 and name != "warc-concurrent-to":
                bad(WarcFault.DUPLICATE_FIELD, f"{name} appears {len(values)} times")
            for value in values:
                if problem := field_problem(name, value):
                    bad(WarcFault.INVALID_FIELD, problem)
        if rtype and rtype not in WarcType.__members__.values():
            bad(WarcFault.UNKNOWN_TYPE, f"unknown WARC-Type {rtype!r}")
        length = rec.first("content-length")
        rec.length = None if length is not None and not _is_number(length) else int(length or 0)
        ctype = rec.first("content-type")
        if ctype is None and rec.length and rtype != WarcType.CONTINUATION:
            bad(WarcFault.MISSING_FIELD, "non-empty block without content-type")
        if rtype == WarcType.WARCINFO and ctype and _media_type(ctype) != "application/warc-fields":
            bad(WarcFault.INVALID_FIELD, f"warcinfo content-type {ctype[:80]!r}, not warc-fields")
        self._check_target(rec, bad)
        self._check_segments(rec, bad)
        if rtype == WarcType.REVISIT:
            profile = rec.first("warc-profile") or ""
            if not profile:
                bad(WarcFault.MISSING_FIELD, "revisit record without warc-profile")
            elif "identical-payload-digest" in profile and "warc-payload-digest" not in fields:
                bad(WarcFault.MISSING_FIELD, "identical-payload-digest revisit without a digest")
            if "warc-refers-to" not in fields:
                msg = "revisit record without warc-refers-to (recommended)"
                bad(WarcFault.REVISIT_WITHOUT_REFERS_TO, msg, _W)
        for name in ("warc-block-digest", "warc-payload-digest"):
            parsed = _labelled(rec.first(name))
            if parsed and parsed[0] not in _ALGORITHMS:
                bad(WarcFault.DIGEST_UNCHECKED, f"{name}: cannot check {parsed[0]!r}", _W)
        block = _labelled(rec.first("warc-block-digest"))
        if self.own and (block is None or block[0] != "sha256"):
            bad(WarcFault.MISSING_FIELD, "no sha256 warc-block-digest, which custody writes")
        for kind, msg, sev in found:
            self.add(kind, msg, rec.offset, rec.record_id, sev)
        key = _key(rec.record_id)
        if key in self.ids:
            msg = f"record id {rec.record_id} used twice"
            self.add(WarcFault.DUPLICATE_RECORD_ID, msg, rec.offset, rec.record_id)
        elif key and len(self.ids) < _MAX_IDS:
            self.ids.add(key)

    @staticmethod
    def _check_target(rec: _Record, bad: Callable[..., None]) -> None:
        uri = rec.first("warc-target-uri")
        if uri is None and rec.rtype in _NEEDS_TARGET:
            bad(WarcFault.MISSING_FIELD, f"{rec.rtype} record without warc-target-uri")
        if not uri:
            return
        if uri[:1] == "<" and uri[-1:] == ">":
            uri = uri[1:-1]
            bad(WarcFault.INVALID_FIELD, "warc-target-uri in angle brackets (old wget)", _W)
        if not _SCHEME_RE.match(uri):
            bad(WarcFault.INVALID_FIELD, f"warc-target-uri is not a URI: {uri[:80]!r}")
        elif re.search(r"\s", uri):
            bad(WarcFault.INVALID_FIELD, f"warc-target-uri has whitespace: {uri[:80]!r}", _W)

    def _check_segments(self, rec: _Record, bad: Callable[..., None]) -> None:
        number = rec.first("warc-segment-number")
        continuation = rec.rtype == WarcType.CONTINUATION
        if number and _is_number(number) and (int(number) < 2 if continuation else number != "1"):
            bad(WarcFault.BAD_SEGMENT, f"{rec.rtype} record with segment number {number}")
        if not continuation:
            return
        origin = rec.first("warc-segment-origin-id")
        for name in ("warc-segment-number", "warc-segment-origin-id"):
            if name not in rec.fields:
                bad(WarcFault.MISSING_FIELD, f"continuation record without {name}")
        if origin and _key(origin) not in self.ids:
            msg = f"continuation of {origin}, which is not in this file"
            bad(WarcFault.ORPHAN_CONTINUATION, msg, _W)

    def _payload(self, rec: _Record) -> _Payload | None:
        """A hasher for the payload, if it has a digest we can and should check."""
        payload, rtype = _labelled(rec.first("warc-payload-digest")), rec.rtype
        if not payload or payload[0] not in _ALGORITHMS:
            return None
        if rtype in (WarcType.WARCINFO, WarcType.METADATA):
            msg = f"payload digest on a {rtype} record, which has no payload"
            self.add(WarcFault.DIGEST_UNCHECKED, msg, rec.offset, rec.record_id, _W)
            return None
        if (  # a revisit's is the original's; a segment's is the whole record's
            rtype not in _NEEDS_TARGET
            or rtype in (WarcType.REVISIT, WarcType.CONTINUATION)
            or "warc-segment-number" in rec.fields
        ):
            return None
        http = _media_type(rec.first("content-type")) == "application/http"
        return _Payload(payload[0], http and rtype in (WarcType.RESPONSE, WarcType.REQUEST))

    def _read_block(self, rec: _Record) -> None:
        block = _labelled(rec.first("warc-block-digest"))
        block_hash = hashlib.new(block[0]) if block and block[0] in _ALGORITHMS else None
        payload = self._payload(rec)
        left = rec.length or 0
        while left:
            data = self.src.read(min(left, _CHUNK))
            if not data:
                msg = f"file ends inside a block: {left} of {rec.length} bytes missing"
                self.add(WarcFault.TRUNCATED, msg, rec.offset, rec.record_id)
                return
            left -= len(data)
            if block_hash is not None:
                block_hash.update(data)
            if payload is not None:
                payload.feed(data)
        end = self.src.peek(4)
        self.src.read(4 if end == b"\r\n\r\n" else len(end) - len(end.lstrip(b"\r\n")))
        if end != b"\r\n\r\n":
            short = len(end) < 4 and not self.src.peek(1)
            kind = WarcFault.TRUNCATED if short else WarcFault.BAD_RECORD_END
            msg = "block not followed by CRLF CRLF: wrong content-length or altered record"
            self.add(kind, msg, rec.offset, rec.record_id)
        if block and block_hash is not None:
            self._compare(rec, "warc-block-digest", block, [block_hash.digest()])
        label = _labelled(rec.first("warc-payload-digest"))
        if label and payload is not None and payload.unchecked:
            msg = "payload digest not checked: HTTP head longer than 64 KiB"
            self.add(WarcFault.DIGEST_UNCHECKED, msg, rec.offset, rec.record_id, _W)
        elif label and payload is not None:
            self._compare(rec, "warc-payload-digest", label, payload.candidates())

    def _compare(
        self, rec: _Record, name: str, label: tuple[str, str], computed: list[bytes]
    ) -> None:
        algorithm, value = label
        expected = _decode_digest(value, len(computed[0]))
        if not expected:
            msg = f"{name} {value!r} is not a hex, base32 or base64 {algorithm} digest"
        elif not set(expected) & set(computed):
            now = base64.b32encode(computed[0]).decode()
            msg = f"{name} does not match: recorded {algorithm}:{value}, computed {algorithm}:{now}"
        else:
            return
        self.add(WarcFault.DIGEST_MISMATCH, msg, rec.offset, rec.record_id)


def _key(record_id: str | None) -> bytes:
    """A short fixed-size stand-in for a record id, so hostile long ids cost no memory."""
    return hashlib.sha256(record_id.encode()).digest()[:16] if record_id else b""


def _media_type(value: str | None) -> str:
    return (value or "").split(";")[0].strip().lower()


def verify_warc(fileobj: BinaryIO, *, own: bool = False) -> WarcReport:
    """Strictly verify a WARC file (plain, or gzip per record) and collect every fault.

    Hostile input never raises: each problem becomes a :class:`WarcFinding`. With
    ``own=True`` the file must also be what custody writes: WARC/1.1 records that each
    carry a sha256 ``WARC-Block-Digest``.

    Raises:
        StorageError: reading ``fileobj`` fails (an I/O error, not a content problem).
    """
    try:
        return _Verifier(fileobj, own).run()
    except OSError as exc:
        raise StorageError(f"cannot read WARC: {exc.strerror or exc}") from exc


def check_warc(fileobj: BinaryIO, *, own: bool = False) -> WarcReport:
    """Verify like :func:`verify_warc`; return the report if no finding is an error.

    Raises:
        NotAWarcError: the input is not a WARC file at all.
        WarcIntegrityError: the file has error findings; all findings are in ``findings``.
        StorageError: reading ``fileobj`` fails.
    """
    report = verify_warc(fileobj, own=own)
    if not report.is_warc:
        raise NotAWarcError(report.findings[0].message)
    errors = [f for f in report.findings if f.severity is Severity.ERROR]
    if errors:
        first = errors[0]
        where = f"offset {first.offset}" + (
            f", record {first.record_id}" if first.record_id else ""
        )
        raise WarcIntegrityError(
            f"WARC failed verification with {len(errors)} errors; first at {where}: "
            f"{first.kind}: {first.message}",
            findings=report.findings,
        )
    return report
