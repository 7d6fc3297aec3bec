"""WARC 1.1 writing over warcio, with SHA-256 digests and an injected clock and ids.

Every record is its own gzip member (or plain, with ``gzip=False``), starts with
``WARC/1.1`` and carries ``WARC-Block-Digest`` (and, for records with a payload,
``WARC-Payload-Digest``) as WARC 1.1 labelled digests in one form:

    sha256:<BASE32>

the RFC 4648 base32 of the SHA-256, upper case, with its ``====`` padding (56 characters).
That is exactly what warcio's own ``Digester`` prints, so ``warcio check`` and the other
tools that expect base32 (the WARC spec's examples, Heritrix, pywb) compare it as they
compare sha1. :class:`WrittenRecord` gives the same block digest as hex, custody's
identity form.

warcio hard-codes SHA-1 (``RecordBuilder._create_digester``), so the writer subclasses
it to SHA-256 and, to read each body once, computes both digests itself while it measures
(or spools) the body; warcio then writes headers and body without hashing again. Bodies
are streamed in 1 MiB chunks and never held in memory; a non-seekable body is spooled to
a temporary file. The bytes written are hashed again on the way out, so a body that
changes while it is written raises instead of leaving a record whose digest lies.

Header values from outside (URIs, HTTP headers) are refused when they could break the
header (CR, LF, other control characters) or would make our own strict reader reject the
file (a malformed RFC 2047 encoded-word).

Strict reading lives in :mod:`custody.warc_verify`; its public names are re-exported here.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, BinaryIO

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

from custody.errors import InputError, StorageError
from custody.warc_verify import (
    NotAWarcError,
    Severity,
    WarcFault,
    WarcFinding,
    WarcIntegrityError,
    WarcReport,
    WarcType,
    check_warc,
    field_problem,
    is_record_id,
    is_uri,
    verify_warc,
)

__all__ = [
    "NotAWarcError",
    "Severity",
    "WarcFault",
    "WarcFinding",
    "WarcHeaderError",
    "WarcIntegrityError",
    "WarcReport",
    "WarcType",
    "WarcWriter",
    "WrittenRecord",
    "check_warc",
    "verify_warc",
    "warc_fields",
]

CHUNK = 1 << 20
Headers = Sequence[tuple[str, str]]
Body = BinaryIO | bytes

_RESERVED = {  # set by the writer itself
    *("warc-type", "warc-record-id", "warc-date", "warc-target-uri", "content-type"),
    *("content-length", "warc-block-digest", "warc-payload-digest"),
}
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class WarcHeaderError(InputError):
    """A value cannot be written into a WARC or HTTP header as it is."""


@dataclass(frozen=True, slots=True)
class WrittenRecord:
    """One record as written: what later code commits to."""

    record_id: str  # as in the header: "<urn:uuid:…>"
    record_type: WarcType
    target_uri: str | None
    offset: int  # of the record (its gzip member) in the file
    length: int  # bytes in the file, compressed if gzip
    block_sha256: str  # hex, of the block: the WARC-Block-Digest
    sha256: str  # hex, of the record's bytes in the file: headers too, which no digest covers


class _Sha256WARCWriter(WARCWriter):  # type: ignore[misc]  # warcio has no type hints
    """warcio's writer with SHA-256 digests, and no payload digest on metadata."""

    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


class _RawHead(StatusAndHeaders):  # type: ignore[misc]  # warcio has no type hints
    """HTTP head bytes written exactly as given (warcio would re-serialise them)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("", [], protocol="")
        self.headers_buff = raw

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        del header_filter  # keep the exact bytes

    def __bool__(self) -> bool:
        return True


class _Counter:
    """The output stream, counting bytes and turning OSError into StorageError."""

    def __init__(self, out: BinaryIO, start: int) -> None:
        self._out = out
        self.position = start
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        try:
            self._out.write(data)
        except OSError as exc:
            raise StorageError(f"cannot write WARC: {exc.strerror or exc}") from exc
        self.position += len(data)
        self.sha256.update(data)
        return len(data)

    def flush(self) -> None:
        try:
            self._out.flush()
        except OSError as exc:
            raise StorageError(f"cannot write WARC: {exc.strerror or exc}") from exc


class _Exact:
    """Reads exactly ``length`` bytes of a measured body, re-hashing them on the way."""

    def __init__(self, stream: IO[bytes], length: int) -> None:
        self._stream = stream
        self._left = length
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        want = self._left if size < 0 else min(size, self._left)
        data = self._stream.read(want) if want else b""
        self._left -= len(data)
        self.sha256.update(data)
        return data

    def close(self) -> None:
        """warcio closes spooled streams; the caller owns the body."""


def _label(digest: bytes) -> str:
    return "sha256:" + base64.b32encode(digest).decode("ascii")


def _warc_date(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("WARC dates need an aware datetime")
    moment = moment.astimezone(UTC)
    fraction = f".{moment.microsecond:06d}" if moment.microsecond else ""
    return f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}Z"


def _check_value(what: str, value: str) -> str:
    if _CONTROL.search(value):
        raise WarcHeaderError(f"{what} contains a control character (CR, LF, …): {value[:80]!r}")
    return value


def _check_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise WarcHeaderError(f"not a header field name: {name[:80]!r}")
    return name


def _field(name: str, value: str) -> tuple[str, str]:
    """A WARC header field, refused if it breaks the header or fails strict reading."""
    _check_value(_check_name(name), value)
    if problem := field_problem(name, value):
        raise WarcHeaderError(problem)
    if name.lower() == "warc-target-uri" and not is_uri(value):
        raise WarcHeaderError(f"not an absolute URI without whitespace: {value[:80]!r}")
    return name, value


def warc_fields(fields: Mapping[str, str] | Headers) -> bytes:
    """Encode ``application/warc-fields`` (``name: value`` lines, UTF-8, CRLF).

    Raises:
        WarcHeaderError: a name is not a token, or a value holds a control character.
    """
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    lines = (f"{_check_name(n)}: {_check_value(n, v)}\r\n" for n, v in pairs)
    return "".join(lines).encode("utf-8")


def _http_head(first_line: str, headers: Headers) -> bytes:
    """An HTTP/1.1-syntax head; each line Latin-1 if it fits (as on the wire), else UTF-8."""
    lines = [_check_value("HTTP start line", first_line)]
    lines += [f"{_check_name(n)}: {_check_value(n, v)}" for n, v in headers]
    out = bytearray()
    for line in [*lines, ""]:
        try:
            out += line.encode("latin-1") + b"\r\n"
        except UnicodeEncodeError:
            out += line.encode("utf-8") + b"\r\n"
    return bytes(out)


class WarcWriter:
    """Writes WARC 1.1 records to a binary stream, one gzip member per record.

    ``now`` gives each record's ``WARC-Date`` (aware datetimes only) and ``new_id`` a URI
    (``urn:uuid:…`` by default) for each ``WARC-Record-ID``; inject both for deterministic
    output. ``offset`` is where ``out`` starts in the file (default: ``out.tell()``, or 0).
    When a write raises :class:`StorageError`, the bytes from that record's offset on are
    not a valid record; a header refused with :class:`WarcHeaderError` writes nothing.
    """

    def __init__(
        self,
        out: BinaryIO,
        *,
        gzip: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], str] = lambda: uuid.uuid4().urn,
        offset: int | None = None,
    ) -> None:
        if offset is None:
            try:
                offset = out.tell()
            except (OSError, AttributeError, io.UnsupportedOperation):
                offset = 0
        self._out = _Counter(out, offset)
        self._warcio = _Sha256WARCWriter(self._out, gzip=gzip, warc_version="1.1")
        self._now = now
        self._new_id = new_id

    def write_warcinfo(
        self, fields: Mapping[str, str] | Headers, *, filename: str | None = None
    ) -> WrittenRecord:
        """Write a ``warcinfo`` record whose block is ``fields`` as warc-fields.

        Raises:
            WarcHeaderError: a name or value cannot be written.
            StorageError: writing fails.
        """
        extra = [("WARC-Filename", filename)] if filename is not None else []
        return self._write(
            WarcType.WARCINFO, None, warc_fields(fields), "application/warc-fields", extra
        )

    def write_resource(
        self,
        target_uri: str,
        body: Body,
        *,
        content_type: str,
        date: datetime | None = None,
        warc_headers: Headers = (),
    ) -> WrittenRecord:
        """Write a ``resource`` record: ``body`` as it is, read once in chunks.

        Raises:
            WarcHeaderError: the URI, content type or an extra header cannot be written.
            StorageError: reading the body or writing fails, or the body changed mid-write.
        """
        return self._write(
            WarcType.RESOURCE, target_uri, body, content_type, warc_headers, date=date
        )

    def write_metadata(
        self,
        target_uri: str | None,
        body: Body,
        *,
        content_type: str = "application/warc-fields",
        refers_to: str | None = None,
        date: datetime | None = None,
        warc_headers: Headers = (),
    ) -> WrittenRecord:
        """Write a ``metadata`` record about ``target_uri``, optionally about one record.

        Raises:
            WarcHeaderError: a value cannot be written (``refers_to`` must be a record id).
            StorageError: reading the body or writing fails, or the body changed mid-write.
        """
        extra = [("WARC-Refers-To", refers_to)] if refers_to is not None else []
        extra += warc_headers
        return self._write(WarcType.METADATA, target_uri, body, content_type, extra, date=date)

    def write_response(
        self,
        target_uri: str,
        *,
        status_line: str,
        headers: Headers,
        body: Body,
        ip_address: str | None = None,
        concurrent_to: Sequence[str] = (),
        date: datetime | None = None,
        warc_headers: Headers = (),
    ) -> WrittenRecord:
        """Write an HTTP ``response``: ``status_line`` (``HTTP/1.1 200 OK``), headers, body.

        The body is stored as given (as received: after transfer decoding, before content
        decoding); the payload digest covers it.

        Raises:
            WarcHeaderError: a URI, header or status line cannot be written.
            StorageError: reading the body or writing fails, or the body changed mid-write.
        """
        extra = [("WARC-IP-Address", ip_address)] if ip_address is not None else []
        extra += [("WARC-Concurrent-To", rid) for rid in concurrent_to]
        head = _http_head(status_line, headers)
        ctype = "application/http; msgtype=response"
        return self._write(
            WarcType.RESPONSE, target_uri, body, ctype, [*extra, *warc_headers], head, date
        )

    def write_request(
        self,
        target_uri: str,
        *,
        request_line: str,
        headers: Headers,
        body: Body = b"",
        concurrent_to: Sequence[str] = (),
        date: datetime | None = None,
        warc_headers: Headers = (),
    ) -> WrittenRecord:
        """Write an HTTP ``request``: ``request_line`` (``GET / HTTP/1.1``), headers, body.

        Raises:
            WarcHeaderError: a URI, header or request line cannot be written.
            StorageError: reading the body or writing fails, or the body changed mid-write.
        """
        extra = [("WARC-Concurrent-To", rid) for rid in concurrent_to]
        head = _http_head(request_line, headers)
        ctype = "application/http; msgtype=request"
        return self._write(
            WarcType.REQUEST, target_uri, body, ctype, [*extra, *warc_headers], head, date
        )

    def _write(
        self,
        rtype: WarcType,
        target_uri: str | None,
        body: Body,
        content_type: str,
        extra: Headers,
        head: bytes = b"",
        date: datetime | None = None,
    ) -> WrittenRecord:
        record_id = f"<{self._new_id()}>"
        if not is_record_id(record_id):
            raise WarcHeaderError(f"new_id() gave {record_id!r}, not a URI")
        fields = [
            ("WARC-Type", rtype.value),
            ("WARC-Record-ID", record_id),
            ("WARC-Date", _warc_date(date or self._now())),
        ]
        if target_uri is not None:
            fields.append(_field("WARC-Target-URI", target_uri))
        for name, value in extra:
            if name.lower() in _RESERVED:
                raise WarcHeaderError(f"{name} is set by the writer, not by the caller")
            fields.append(_field(name, value))
        _field("Content-Type", content_type)
        stream = io.BytesIO(body) if isinstance(body, bytes) else body
        with tempfile.SpooledTemporaryFile(max_size=CHUNK) as spool:
            source, length, block, payload = _measure(stream, spool, head)
            if rtype not in (WarcType.WARCINFO, WarcType.METADATA):
                fields.append(("WARC-Payload-Digest", _label(payload)))
            fields.append(("WARC-Block-Digest", _label(block)))
            reader = _Exact(source, length)
            record = self._warcio.create_warc_record(
                "",
                rtype.value,
                payload=reader,
                length=length,
                warc_content_type=content_type,
                warc_headers=StatusAndHeaders("", fields, protocol="WARC/1.1"),
                http_headers=_RawHead(head) if head else None,
            )
            start, self._out.sha256 = self._out.position, hashlib.sha256()
            try:
                self._warcio.write_record(record)
            except OSError as exc:
                raise StorageError(f"cannot read body: {exc.strerror or exc}") from exc
            if reader.sha256.digest() != payload:
                raise StorageError(f"body of {record_id} changed while it was written")
        length = self._out.position - start
        written = self._out.sha256.hexdigest()
        return WrittenRecord(record_id, rtype, target_uri, start, length, block.hex(), written)


def _measure(body: BinaryIO, spool: IO[bytes], head: bytes) -> tuple[IO[bytes], int, bytes, bytes]:
    """One pass over a body: its length, block and payload SHA-256, and a re-readable copy.

    A seekable body is rewound; any other is copied to ``spool`` on the way.
    """
    block, payload = hashlib.sha256(head), hashlib.sha256()
    try:
        start = body.tell() if body.seekable() else None
    except (OSError, AttributeError):
        start = None
    length = 0
    try:
        while chunk := body.read(CHUNK):
            block.update(chunk)
            payload.update(chunk)
            length += len(chunk)
            if start is None:
                spool.write(chunk)
        source: IO[bytes] = body if start is not None else spool
        source.seek(start or 0)
    except OSError as exc:
        raise StorageError(f"cannot read body: {exc.strerror or exc}") from exc
    return source, length, block.digest(), payload.digest()
