"""Exchanges → WARC: custody performs every request the browser makes, and records it.

How records are obtained. During a capture Chromium's requests are paused, browser-wide,
by the DevTools ``Fetch`` domain at the request stage (redirect hops, cross-origin iframes
and workers included). :func:`custody.capture.guard.perform` then makes the request
itself over its own socket (HTTP/1.1, or HTTP/2 when an https server chooses ``h2`` by
ALPN: :mod:`custody.capture.http2`; TLS by Python's ``ssl`` with the system trust
store), connecting only to an address the address policy allowed (or through a CONNECT
tunnel of the investigator's proxy: :mod:`custody.capture.proxy`), and
:class:`WarcRecorder` writes:

- a ``response`` record: the status line and header lines exactly as received (each line
  decoded as Latin-1, so bytes round-trip), the body *as received*: after transfer
  decoding (chunks joined), before content decoding (gzip stays gzip, with its
  ``Content-Encoding``), ``WARC-IP-Address`` (the address connected; none through a
  proxy, which chose the address), ``WARC-Protocol``
  (``http/1.1``, plus ``tls/1.3`` or the like), ``WARC-Truncated`` when cut short;
- a ``request`` record holding the exact bytes custody sent, except that in a logged-in
  capture (``--storage-state``) the values of ``Cookie``, ``Authorization`` and
  ``Proxy-Authorization`` are replaced by a placeholder (:mod:`custody.capture.credentials`);
- a ``metadata`` record when the head as received cannot be re-serialised byte for byte
  (odd spacing, folded or malformed lines): its raw bytes, base64, so nothing is lost;
- over HTTP/2 (no status or request line): HTTP/1.1-syntax heads with ``WARC-Protocol:
  h2``, and a JSON ``metadata`` record of what that synthesis loses (see ``http2.py``);
- a ``metadata`` record with the PEM certificate chain the server presented in *that* TLS
  session, once per origin and chain, whether or not it validated (a chain that failed
  validation is recorded all the same; the provenance says why it failed).

After the browser part, :mod:`custody.capture.web` adds the snapshots (``resource``
records) and the provenance (a ``metadata`` record, last) through :meth:`WarcRecorder.add`.

The browser then gets the response through ``Fetch.fulfillRequest``, content-decoded by
custody (Chromium does not decode fulfilled bodies): ``gzip``, ``deflate`` and ``br``.

Fidelity limits, all recorded in the provenance:
- The origin server talks to Python, not to Chromium: HTTP/1.1 or HTTP/2 (no HTTP/3), a
  Python TLS handshake, one connection per request, and the request headers Chromium hands
  to ``Fetch`` (user agent, accept, referer, cookies, client hints) plus ``Host`` and
  ``Accept-Encoding``: Chromium's own value less ``zstd``, which custody cannot decode for
  the browser (:func:`custody.capture.http1.accept_encoding`); a ``zstd`` body sent anyway
  is recorded and fails in the browser.
  Headers Chromium adds later in its network stack (``Sec-Fetch-*``, ``Accept-Language``)
  are not sent. A server that fingerprints clients may answer differently.
- 1xx interim responses and chunked trailers are read and not recorded; a request body
  Chromium does not hand over (very large uploads) is sent empty.
- Responses are held in memory up to ``max_resource_bytes``; beyond it the record is cut
  (``WARC-Truncated: length``) and the browser's request fails.
"""

from __future__ import annotations

import base64
import contextlib
import re
import socket
import ssl
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import brotlicffi  # type: ignore[import-untyped]  # no type information shipped

from custody.errors import StorageError
from custody.warc import (
    Severity,
    WarcHeaderError,
    WarcWriter,
    WrittenRecord,
    verify_warc,
    warc_fields,
)
from custody.warc import _http_head as http_head  # the exact bytes the writer records

if TYPE_CHECKING:
    from custody.capture.http2 import Http2Stream

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request bounds."""

    max_resource_bytes: int = 32 << 20
    connect_timeout: float = 15.0
    read_timeout: float = 30.0


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """A request as the browser asked for it."""

    method: str
    url: str
    headers: Headers
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class TlsSession:
    """The TLS session a response came over."""

    version: str
    cipher: str
    chain: tuple[bytes, ...]  # DER, leaf first, as the server presented it
    verify_error: str | None = None  # why validation failed; None: the chain validated


@dataclass(frozen=True, slots=True)
class Response:
    """A response as received."""

    status_line: str  # over HTTP/2: synthesized (custody.capture.http2.status_line)
    status: int
    headers: Headers
    raw_head: bytes  # empty over HTTP/2 (HPACK-coded on the wire; see Exchange.http2)
    body: bytes
    truncated: str | None = None  # a WARC-Truncated reason

    def header(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name]


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request custody performed for the browser, and what came of it."""

    request: OutgoingRequest
    started: datetime
    request_line: str
    sent_headers: Headers
    ip: str | None = None
    tls: TlsSession | None = None
    response: Response | None = None
    error: str | None = None
    blocked: str | None = None
    sent: bool = False  # the request bytes went out (so a request record is written)
    http2: Http2Stream | None = None  # over HTTP/2: what the synthesized records lose


class Stopper:
    """Ends in-flight requests: sockets are shut down, so their reads end at once.

    :meth:`cut` ends the requests in flight now (the capture's time is up, its snapshots
    must not wait on the network); :meth:`stop` ends them and every later one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: set[ssl.SSLSocket | socket.socket] = set()
        self._cut: set[int] = set()  # ids of the sockets shut down here
        self.stopped = False

    def track(self, sock: socket.socket) -> None:
        with self._lock:
            if self.stopped:
                sock.close()
                raise OSError("capture stopped")
            self._sockets.add(sock)

    def swap(self, old: socket.socket, new: socket.socket) -> None:
        """Track ``new``, a TLS socket that took over (detached) ``old``, instead."""
        with self._lock:
            self._sockets.discard(old)
            self._sockets.add(new)
            if id(old) in self._cut:
                self._cut.add(id(new))
                _shut(new)

    def forget(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
            self._cut.discard(id(sock))

    def was_cut(self, sock: socket.socket | None) -> bool:
        """True if ``sock`` (None: any request) was ended here rather than by its server."""
        with self._lock:
            return self.stopped or (sock is not None and id(sock) in self._cut)

    def cut(self) -> None:
        with self._lock:
            for sock in self._sockets:
                self._cut.add(id(sock))
                _shut(sock)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
        self.cut()


def _shut(sock: socket.socket) -> None:
    """Shut the connection down (below TLS: a TLS socket's own shutdown would drop its
    TLS state under a thread reading from it)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


_DECODED = ("gzip", "x-gzip", "deflate", "br")  # the content codings custody undoes
_UNDECODABLE = ("zstd",)  # codings Chromium would undo and custody cannot


def _unbrotli(data: bytes, cap: int) -> bytes:
    decoder = brotlicffi.Decompressor()
    try:
        out = bytes(decoder.process(data, output_buffer_limit=cap + 1))
    except brotlicffi.error as exc:
        raise ValueError(f"br: {exc}") from exc
    if len(out) > cap:
        raise ValueError(f"decoded body larger than {cap} bytes")
    if not decoder.is_finished():
        raise ValueError("br: the compressed stream ends early")
    return out


def _decode(data: bytes, coding: str, cap: int) -> bytes:
    if coding == "br":
        return _unbrotli(data, cap)
    out = bytearray()
    while data:
        wbits = 47 if coding in ("gzip", "x-gzip") else 15
        d = zlib.decompressobj(wbits)
        try:
            out += d.decompress(data, cap + 1 - len(out))
        except zlib.error:
            if coding != "deflate" or wbits < 0:
                raise
            d = zlib.decompressobj(-15)  # "deflate" servers often send raw deflate
            out += d.decompress(data, cap + 1 - len(out))
        if len(out) > cap or d.unconsumed_tail:
            raise ValueError(f"decoded body larger than {cap} bytes")
        data = d.unused_data if coding != "deflate" else b""
    return bytes(out)


def browser_view(response: Response, cap: int) -> tuple[Headers, bytes]:
    """Headers and body to hand to the browser: content codings custody can undo, undone.

    ``gzip``, ``x-gzip``, ``deflate`` and ``br`` are undone (in reverse order of listing)
    and ``Content-Encoding`` is dropped. A body with a coding Chromium does not know is
    handed over as it is, headers and all, as Chromium itself would pass it through.

    Raises:
        ValueError: the body does not decode, decodes to more than ``cap`` bytes, or has
            a coding Chromium would undo and custody cannot (``zstd``).
        zlib.error: the gzip or deflate data is corrupt.
    """
    codings = [
        c.strip().lower()
        for v in response.header("content-encoding")
        for c in v.split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    drop = {"transfer-encoding", "content-length"}
    body = response.body
    if codings and all(c in _DECODED for c in codings):
        for coding in reversed(codings):
            body = _decode(body, coding, cap)
        drop.add("content-encoding")
    elif codings and all(c in _DECODED + _UNDECODABLE for c in codings):
        raise ValueError(f"content coding {', '.join(codings)[:100]}: not decodable by custody")
    return tuple((n, v) for n, v in response.headers if n.lower() not in drop), body


def _pem(chain: Sequence[bytes]) -> bytes:
    return b"".join(ssl.DER_cert_to_PEM_cert(der).encode("ascii") for der in chain)


class WarcRecorder:
    """Writes a capture's exchanges to one WARC (gzip per record)."""

    def __init__(self, out: BinaryIO) -> None:
        self.writer = WarcWriter(out)
        self.records: list[WrittenRecord] = []
        self._chains: set[tuple[str, bytes]] = set()

    def _keep(self, record: WrittenRecord) -> WrittenRecord:
        self.records.append(record)
        return record

    def write_warcinfo(self, fields: Sequence[tuple[str, str]]) -> WrittenRecord:
        """The ``warcinfo`` record that opens the file.

        Raises:
            WarcHeaderError: a value cannot be written.
            StorageError: writing fails.
        """
        return self._keep(self.writer.write_warcinfo(fields))

    def add(self, record: WrittenRecord) -> WrittenRecord:
        """Keep a record written directly with :attr:`writer` (a snapshot, the provenance)."""
        return self._keep(record)

    def record(self, ex: Exchange) -> WrittenRecord | None:
        """Write the records of one exchange (nothing if no request was sent).

        Returns the response record, if there was a response.

        Raises:
            StorageError: writing fails.
        """
        if not ex.sent:
            return None
        url, resp, rec = ex.request.url, ex.response, None
        if resp is not None:
            rec = self._response(ex, resp)
        concurrent = [rec.record_id] if rec is not None else []
        req = self._keep(
            self.writer.write_request(
                url,
                request_line=ex.request_line,
                headers=ex.sent_headers,
                body=ex.request.body,
                concurrent_to=concurrent,
                date=ex.started,
                warc_headers=_protocols(ex) if ex.http2 is not None else (),
            )
        )
        if ex.http2 is not None:
            self._keep(
                self.writer.write_metadata(
                    url,
                    ex.http2.json_bytes(),
                    content_type="application/json",
                    refers_to=(rec or req).record_id,
                    date=ex.started,
                )
            )
        if ex.tls is not None and ex.tls.chain and rec is not None:
            origin = url.split("/", 3)
            key = ("/".join(origin[:3]) + "/", b"".join(ex.tls.chain))
            if key not in self._chains:
                self._chains.add(key)
                self._keep(
                    self.writer.write_metadata(
                        key[0],
                        _pem(ex.tls.chain),
                        content_type="application/pem-certificate-chain",
                        refers_to=rec.record_id,
                        date=ex.started,
                        warc_headers=[("WARC-IP-Address", ex.ip)] if ex.ip else [],
                    )
                )
        return rec

    def _response(self, ex: Exchange, resp: Response) -> WrittenRecord:
        extra = _protocols(ex)
        if resp.truncated:
            extra.append(("WARC-Truncated", resp.truncated))
        status_line, headers = resp.status_line, resp.headers
        synthesized = ex.http2 is not None  # its metadata record keeps the block as received
        try:
            exact = http_head(status_line, headers) == resp.raw_head or synthesized
        except WarcHeaderError:
            exact = synthesized
            status_line = f"HTTP/1.1 {resp.status}"
            headers = tuple(h for h in headers if _writable(h))
        rec = self._keep(
            self.writer.write_response(
                ex.request.url,
                status_line=status_line,
                headers=headers,
                body=resp.body,
                ip_address=ex.ip,
                date=ex.started,
                warc_headers=extra,
            )
        )
        if not exact:
            note = "the HTTP head as received; the response record re-serialises it"
            block = warc_fields(
                [("note", note), ("http-head-base64", base64.b64encode(resp.raw_head).decode())]
            )
            self._keep(
                self.writer.write_metadata(
                    ex.request.url, block, refers_to=rec.record_id, date=ex.started
                )
            )
        return rec


def _protocols(ex: Exchange) -> list[tuple[str, str]]:
    """``WARC-Protocol`` fields: ``h2`` or the status line's version, then ``tls/1.3``."""
    fields = [("WARC-Protocol", "h2")] if ex.http2 is not None else []
    if ex.http2 is None and ex.response is not None:
        version = ex.response.status_line.split(" ", 1)[0].lower()  # as the server said it
        if re.fullmatch(r"http/\d\.\d", version):
            fields.append(("WARC-Protocol", version))
    if ex.tls is not None:
        fields.append(("WARC-Protocol", ex.tls.version.lower().replace("tlsv", "tls/")))
    return fields


def _writable(header: tuple[str, str]) -> bool:
    try:
        http_head("HTTP/1.1 200", [header])
    except WarcHeaderError:
        return False
    return True


def check_capture_warc(path: Path) -> list[str]:
    """What strict reading (``own=True``) finds wrong with a capture's WARC; [] if nothing.

    Raises:
        StorageError: the file cannot be read.
    """
    try:
        with path.open("rb") as fh:
            report = verify_warc(fh, own=True)
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return [
        f"{f.kind} at byte {f.offset}: {f.message}"
        for f in report.findings
        if f.severity is Severity.ERROR
    ]
