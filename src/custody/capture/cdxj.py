"""CDXJ indexes of WARC files, keyed by SURT as pywb and ReplayWeb.page look URLs up.

:func:`index_warc` reads a WARC once, to the end, hashing every byte, and writes one line
per response, resource and revisit record: ``<SURT key> <14-digit time> <JSON>`` with url,
mime, status, digest, length, offset and filename, as pywb's ``cdx-indexer -j`` does.
Offsets and lengths are those of each record's gzip member, for range requests.

:func:`surt_key` computes the key as the ``surt`` package (pywb's default) does, so that
a replay tool finds the lines: ``http://www.Example.com:80/A/?b=2&a=1#x`` is
``com,example)/a?a=1&b=2``. It follows that package's default canonicalisation (Google's,
then the Internet Archive's) step for step, except that numeric hosts are normalised
without a DNS lookup. The tests compare it with the real package where pywb is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import quote_from_bytes, unquote_to_bytes

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from custody.errors import StorageError

INDEXED_TYPES = ("response", "resource", "revisit")
_CHUNK = 1 << 20


class _HashingReader:
    """Counts and hashes every byte warcio reads, so one pass indexes and checks the WARC."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n if 0 < n <= _CHUNK else _CHUNK)
        self.sha256.update(data)
        self.size += len(data)
        return data

    def tell(self) -> int:
        return self.size


@dataclass(frozen=True, slots=True)
class WarcIndex:
    """The CDXJ lines of one WARC (sorted), its digest as read, and why it did not parse."""

    lines: list[str]
    sha256: str
    size: int
    dates: dict[str, str]  # target URI -> WARC-Date of its first response record
    error: str | None = None  # set when the WARC does not parse (lines are then partial)
    heads: dict[str, bytes] = field(default_factory=dict)  # target URI -> first bytes kept


def _cdxj_line(
    rec: Any, records: ArchiveIterator, filename: str, keep: Callable[[str], bool] | None = None
) -> tuple[str, str, bytes | None] | None:
    """(CDXJ line, WARC-Date, first MiB of the content if ``keep(uri)``) of one record,
    or None if it is not indexed."""
    kind = rec.rec_type
    uri = rec.rec_headers.get_header("WARC-Target-URI")
    date = rec.rec_headers.get_header("WARC-Date") or ""
    if kind not in INDEXED_TYPES or not uri:
        return None
    head = rec.content_stream().read(_CHUNK) if keep is not None and keep(uri) else None
    fields: dict[str, str] = {"url": uri}
    http = rec.http_headers
    if kind == "revisit":
        fields["mime"] = "warc/revisit"
    else:
        ctype = http.get_header("Content-Type") if http is not None else None
        ctype = ctype or rec.rec_headers.get_header("Content-Type")
        fields["mime"] = re.split("[; ]", ctype, maxsplit=1)[0] if ctype else "unk"
    status = http.get_statuscode() if http is not None and kind != "resource" else None
    if status and status.isdigit():
        fields["status"] = status
    digest = rec.rec_headers.get_header("WARC-Payload-Digest")
    if digest:
        fields["digest"] = digest
    records.read_to_end(rec)
    fields["length"] = str(records.get_record_length())
    fields["offset"] = str(records.get_record_offset())
    fields["filename"] = filename
    stamp = re.sub(r"\D", "", date[:19])
    if len(stamp) != 14:
        raise ValueError(f"the record at byte {fields['offset']} has no valid WARC-Date")
    return f"{surt_key(uri)} {stamp} {json.dumps(fields)}", date, head


def index_warc(
    stream: BinaryIO, filename: str, *, keep: Callable[[str], bool] | None = None
) -> WarcIndex:
    """Index the response, resource and revisit records of a WARC, reading it once, to EOF.

    Offsets and lengths are those of each record's gzip member in the file (or of the
    record, for an uncompressed WARC), as a WACZ reader needs them for range requests.
    A WARC that does not parse is still read to the end and hashed, so the caller can
    tell an altered file (integrity) from one that never parsed (input): see ``error``.
    The first MiB of the content of each indexed record whose URI ``keep`` accepts is
    kept in ``heads`` (a capture's DOM snapshot, for the page title).

    Raises:
        StorageError: the stream cannot be read.
    """
    reader = _HashingReader(stream)
    lines: list[str] = []
    dates: dict[str, str] = {}
    heads: dict[str, bytes] = {}
    error = None
    try:
        records = ArchiveIterator(reader)
        for rec in records:
            got = _cdxj_line(rec, records, filename, keep)
            if got is not None:
                lines.append(got[0])
                if got[2] is not None:
                    heads.setdefault(rec.rec_headers.get_header("WARC-Target-URI"), got[2])
                if rec.rec_type == "response":
                    dates.setdefault(rec.rec_headers.get_header("WARC-Target-URI"), got[1])
    except (ArchiveLoadFailed, ValueError, EOFError, zlib.error) as exc:
        error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
    try:
        while reader.read(_CHUNK):
            pass  # every byte counts towards the digest
    except OSError as exc:
        raise StorageError(f"cannot read the WARC: {exc.strerror or exc}") from exc
    lines.sort(key=lambda line: line.encode("utf-8"))
    return WarcIndex(lines, reader.sha256.hexdigest(), reader.size, dates, error, heads)


# --- SURT keys ---------------------------------------------------------------------------

_SAFE = b"!\"$&'()*+,-./:;<=>?@[\\]^_`{|}~"
_URI = re.compile(rb"^(([a-zA-Z][a-zA-Z0-9+.-]*):)?((//([^/?#]*))?([^?#]*)(\?([^#]*))?)?(#(.*))?$")
_DECIMAL_IP = re.compile(rb"^([1-9][0-9]*)(\.[0-9]+)?(\.[0-9]+)?(\.[0-9]+)?$")
_OCTAL_IP = re.compile(rb"^(0[0-7]*)(\.[0-7]+)?(\.[0-7]+)?(\.[0-7]+)?$")
_PATH_SESSION = [
    re.compile(rb"^(.*/)(\((?:[a-z]\([0-9a-z]{24}\))+\)/)([^\?]+\.aspx.*)$", re.I),
    re.compile(rb"^(.*/)(\([0-9a-z]{24}\)/)([^\?]+\.aspx.*)$", re.I),
]
_QUERY_SESSION = [
    re.compile(rb"^(.*)(?:" + p + rb")(?:&(.*))?$", re.I)
    for p in (
        rb"jsessionid=[0-9a-zA-Z]{32}",
        rb"phpsessid=[0-9a-zA-Z]{32}",
        rb"sid=[0-9a-zA-Z]{32}",
        rb"ASPSESSIONID[a-zA-Z]{8}=[a-zA-Z]{24}",
        rb"cfid=[^&]+&cftoken=[^&]+",
    )
]


def _unescape(data: bytes) -> bytes:
    while (un := unquote_to_bytes(data)) != data:
        data = un
    return data


def _escape(data: bytes) -> bytes:
    return quote_from_bytes(data, safe=_SAFE).encode("ascii") if data else data


def _ip(host: bytes) -> bytes | None:
    if host.isdigit():
        return socket.inet_ntoa((int(host) & 0xFFFFFFFF).to_bytes(4, "big")).encode()
    if _DECIMAL_IP.match(host) or _OCTAL_IP.match(host):
        with contextlib.suppress(OSError):
            return socket.inet_ntoa(socket.inet_aton(host.decode("ascii"))).encode()
    return None


def _canonical_path(path: bytes, has_host: bool) -> bytes:
    path = _unescape(path)
    if has_host:
        kept: list[bytes] = []
        for part in path.split(b"/")[1:]:
            if part == b".":
                continue
            if part == b".." and kept:
                kept.pop()
            else:
                kept.append(part)
        path = b"/" + b"".join(p + b"/" for p in kept[:-1] if p) + (kept[-1] if kept else b"")
    path = _escape(path).lower()
    for pattern in _PATH_SESSION:
        if m := pattern.match(path):
            path = m.group(1) + m.group(3)
    return path[:-1] if path.endswith(b"/") and len(path) > 1 else path


def _canonical_query(query: bytes) -> bytes:
    query = _escape(_unescape(query))
    for pattern in _QUERY_SESSION:
        if m := pattern.match(query):
            query = m.group(1) + (m.group(2) or b"")
    query = query.lower()
    if len(query) > 1:
        args = sorted(tuple(arg.split(b"=", 1)) for arg in query.split(b"&"))
        query = b"&".join(b"=".join(arg) for arg in args)
    return query


def _host_port(netloc: bytes) -> tuple[bytes | None, int | None]:
    """Host (ASCII-lowercased) and port of a netloc, split as urllib splits bytes."""
    hostport = netloc.rpartition(b"@")[2]
    _, bracket, inside = hostport.partition(b"[")
    if bracket:
        host, _, rest = inside.partition(b"]")
        port = rest.partition(b":")[2]
    else:
        host, _, port = hostport.partition(b":")
    if port and not (port.isdigit() and int(port) <= 65535):
        raise ValueError(f"bad port {port!r}")
    return host.lower() or None, int(port) or None if port else None


def surt_key(url: str) -> str:
    """The SURT key of ``url``, as the ``surt`` package (pywb's default) computes it.

    ``http://www.Example.com:80/A/?b=2&a=1#x`` gives ``com,example)/a?a=1&b=2``. Numeric
    hosts are normalised without any DNS lookup.
    """
    raw = re.sub(rb"[\n\r\t]", b"", url.encode("utf-8").strip())
    if not raw:
        return "-"
    if raw.startswith(b"filedesc"):
        return url
    if not re.match(rb"^[a-zA-Z][a-zA-Z0-9+\-.]*:", raw):
        raw = b"http://" + raw
    raw = re.sub(rb"^(https?://)+", lambda m: m.group(1), raw)
    m = _URI.match(raw)
    if m is None:
        return url
    scheme, netloc = m.group(2) or b"", (m.group(5) or b"").rstrip(b":")
    path, query = m.group(6) or b"", m.group(8) or None
    try:
        host, port = _host_port(netloc)
    except ValueError:
        return url
    if scheme.startswith(b"http") and not host and path:
        head, _, rest = path.lstrip(b"/").partition(b"/")
        host, path = head, b"/" + rest
    if host:
        host = _unescape(host)
        if not host.isascii():
            with contextlib.suppress(UnicodeError):
                host = host.decode("utf-8", "ignore").encode("idna")
        host = host.replace(b"..", b".").strip(b".")
        host = _ip(host) or _escape(host.lower())
        host = re.sub(rb"^www\d*\.", b"", host.lower()) if scheme != b"dns" else host.lower()
    if port == {b"http": 80, b"https": 443}.get(scheme.lower()):
        port = None
    path = _canonical_path(path, bool(host))
    query = _canonical_query(query) if query else None
    out = b",".join(reversed(host.split(b"."))) if host else b""
    out = (out + (b":%d" % port if port else b"") + b")") if host else scheme + b":"
    out += path or (b"/" if query else b"")
    if query:
        out += b"?" + query
    return out.decode("utf-8", "replace")
