"""HTTP/2 over TLS as custody speaks it for the browser, when the server chooses ``h2``.

custody offers ALPN ``h2, http/1.1`` on every https connection, as Chromium does
(:data:`ALPN`); when the server selects ``h2`` the exchange is made here with the ``h2``
library (python-hyper), one request per connection on stream 1, under the same bounds as
HTTP/1.1 (:mod:`custody.capture.http1`): ``max_resource_bytes`` for the body (custody
then resets the stream, ``CANCEL``), ``read_timeout`` per read, the capture's
:class:`~custody.capture.recorder.Stopper`, response header lists of at most 64 KiB, no
server push, at most :data:`MAX_INTERIM` interim (1xx) responses.

What is sent: the pseudo-headers in Chromium's order (``:method``, ``:authority``,
``:scheme``, ``:path``), then the same header fields as over HTTP/1.1, less ``Host``
(``:authority`` carries it), names in lower case as HTTP/2 requires; the request body in
DATA frames. What is kept: the body as the DATA frames carried it (after HTTP/2 framing,
before content decoding), the response header block as received, interim (1xx) blocks
and trailers, and how the stream ended (:class:`Http2Stream`).

HTTP/2 has no status line and no request line: :mod:`custody.capture.recorder` writes the
conventional HTTP/1.1-syntax ones (``HTTP/1.1 200 OK``, ``GET /path HTTP/1.1`` with a
``Host`` line from ``:authority``) with ``WARC-Protocol: h2``, and keeps what that
synthesis loses in a ``metadata`` record (:meth:`Http2Stream.document`).

A GOAWAY that still covers stream 1 (``last_stream_id`` ≥ 1) lets the stream finish, as
RFC 9113 section 6.8 says and Chromium does; the ``h2`` library would otherwise refuse
every frame after it, so the connection state is put back to open for that stream.
"""

from __future__ import annotations

import http
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, assert_never

from h2.config import H2Configuration
from h2.connection import ConnectionState, H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    Event,
    InformationalResponseReceived,
    ResponseReceived,
    StreamEnded,
    StreamReset,
    TrailersReceived,
)
from h2.exceptions import H2Error
from h2.settings import SettingCodes, Settings

from custody.capture.http1 import MAX_HEAD
from custody.capture.recorder import Exchange, Headers, Limits, Response, Stopper

ALPN = ("h2", "http/1.1")  # offered on every https connection, in Chromium's order
STREAM = 1  # one request per connection: always the client's first stream
MAX_INTERIM = 20  # 1xx responses kept before the final one; more ends the exchange
_WINDOW = 6 << 20  # stream receive window (Chromium announces 6 MiB)
_CONNECTION_WINDOW = 15 << 20  # connection receive window (Chromium: 15 MiB)
_SETTINGS = {
    SettingCodes.ENABLE_PUSH: 0,
    SettingCodes.INITIAL_WINDOW_SIZE: _WINDOW,
    SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEAD,
}
_CONFIG = H2Configuration(
    client_side=True,
    header_encoding=None,  # bytes in and out: decoded as Latin-1 here, every byte kept
    normalize_outbound_headers=False,  # custody sends exactly the fields it records
    normalize_inbound_headers=False,  # keep the block as received (no cookie joining)
)
_PSEUDO_ORDER = (":method", ":authority", ":scheme", ":path")
NOTE = (
    "HTTP/2 has no status line and no request line: the response and request records of "
    "this exchange carry HTTP/1.1-syntax heads synthesized by custody (the status line "
    "HTTP/1.1 <status> <standard reason phrase or nothing>, a Host line from :authority); "
    "this record keeps what that synthesis loses. HTTP/2 header names are lower case on "
    "the wire; names and values are the bytes received, decoded as Latin-1."
)


class StreamEnd(StrEnum):
    """How an HTTP/2 stream ended (``end.how`` in the metadata record)."""

    END_STREAM = "end_stream"  # the server ended it: complete
    RST_STREAM = "rst_stream"  # the server reset it
    GOAWAY = "goaway"  # a GOAWAY refused it before the server processed it
    CLOSED = "closed"  # the connection closed before the stream ended
    TIME = "time"  # a read timed out, or the capture cut the connection
    LENGTH = "length"  # custody reset it (CANCEL) at max_resource_bytes
    PROTOCOL_ERROR = "protocol_error"  # the server broke HTTP/2; custody closed the connection

    @property
    def truncated(self) -> str | None:
        """The ``WARC-Truncated`` reason of a response whose stream ended so."""
        match self:
            case StreamEnd.END_STREAM:
                return None
            case StreamEnd.TIME | StreamEnd.LENGTH:
                return self.value
            case StreamEnd.RST_STREAM | StreamEnd.GOAWAY | StreamEnd.CLOSED:
                return "disconnect"
            case StreamEnd.PROTOCOL_ERROR:  # the connection was torn down under it
                return "disconnect"
            case _:
                assert_never(self)


@dataclass(frozen=True, slots=True)
class Http2Stream:
    """What an HTTP/2 exchange was on the wire, beyond its synthesized HTTP/1.1 records.

    Header fields are ``(name, value)``, the bytes decoded as Latin-1. Request header
    values are not kept here: they are in the request record, scrubbed where a logged-in
    capture requires it (:mod:`custody.capture.credentials`).
    """

    request_pseudo: Headers  # as sent, in order
    request_names: tuple[str, ...]  # the other header names, in the order sent
    response_block: Headers | None = None  # the final response's block, :status included
    informational: tuple[Headers, ...] = ()  # 1xx blocks, in order
    trailers: Headers | None = None
    end: StreamEnd = StreamEnd.END_STREAM
    error_code: str | None = None  # of the RST_STREAM or GOAWAY that ended it
    detail: str | None = None  # what went wrong, in words
    goaway: tuple[str, int] | None = None  # (error code, last stream id) of a GOAWAY seen
    stream_id: int = STREAM

    def json_bytes(self) -> bytes:
        """The block of the ``metadata`` record: :meth:`document` as UTF-8 JSON, member
        names sorted, two-space indentation, one trailing newline (as the provenance)."""
        doc = json.dumps(self.document(), indent=2, sort_keys=True, ensure_ascii=False)
        return (doc + "\n").encode("utf-8")

    def document(self) -> dict[str, Any]:
        """The ``capture-http2`` JSON document (schemas/capture-http2.schema.json)."""

        def pairs(block: Headers | None) -> list[list[str]] | None:
            return None if block is None else [[n, v] for n, v in block]

        response = None
        if self.response_block is not None:
            response = {
                "header_block": pairs(self.response_block),
                "informational": [pairs(b) for b in self.informational],
                "trailers": pairs(self.trailers),
            }
        goaway = None
        if self.goaway is not None:
            goaway = {"error_code": self.goaway[0], "last_stream_id": self.goaway[1]}
        return {
            "format_version": 1,
            "kind": "capture-http2",
            "protocol": "h2",
            "note": NOTE,
            "stream_id": self.stream_id,
            "lowercase_names": True,
            "request": {
                "pseudo_headers": pairs(self.request_pseudo),
                "header_names": list(self.request_names),
            },
            "response": response,
            "end": {"how": self.end.value, "error_code": self.error_code, "detail": self.detail},
            "goaway": goaway,
        }


def status_line(status: int) -> str:
    """The HTTP/1.1-syntax status line written for an HTTP/2 response.

    >>> status_line(404), status_line(599)
    ('HTTP/1.1 404 Not Found', 'HTTP/1.1 599 ')
    """
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}"


def _wire(text: str) -> bytes:
    """A header name or value as sent: Latin-1 when it fits (as over HTTP/1.1), else UTF-8."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _decoded(block: Any) -> Headers:
    return tuple((bytes(n).decode("latin-1"), bytes(v).decode("latin-1")) for n, v in block)


def request_fields(base: Exchange) -> tuple[Headers, Headers]:
    """(pseudo-headers, other header fields) of the HTTP/2 form of ``base``'s request.

    ``base`` holds the HTTP/1.1 request custody built (:func:`http1.request_head`).
    """
    method, target, _ = base.request_line.split(" ", 2)
    scheme = base.request.url.split(":", 1)[0].lower()
    authority = next(v for n, v in base.sent_headers if n.lower() == "host")
    values = {":method": method, ":authority": authority, ":scheme": scheme, ":path": target}
    pseudo = tuple((n, values[n]) for n in _PSEUDO_ORDER)
    fields = tuple((n.lower(), v.strip(" \t")) for n, v in base.sent_headers if n.lower() != "host")
    return pseudo, fields


def _frames(buffer: bytearray, max_size: int) -> Iterator[bytes]:
    """Whole frames from the front of ``buffer`` (a frame over ``max_size`` at once, for
    the library to refuse), so that each is handed over on its own."""
    while len(buffer) >= 9:
        length = int.from_bytes(buffer[:3], "big")
        size = 9 if length > max_size else 9 + length
        if len(buffer) < size:
            return
        frame = bytes(buffer[:size])
        del buffer[:size]
        yield frame


class _Stream:
    """One request on stream 1 of a fresh connection, and what came back."""

    def __init__(self, sock: ssl.SSLSocket, cap: int, stopper: Stopper) -> None:
        self.sock, self.cap, self.stopper = sock, cap, stopper
        self.conn = H2Connection(config=_CONFIG)
        self.conn.local_settings = Settings(client=True, initial_values=_SETTINGS)
        self.block: Headers | None = None
        self.informational: list[Headers] = []
        self.trailers: Headers | None = None
        self.body = bytearray()
        self.end: StreamEnd | None = None
        self.error_code: str | None = None
        self.detail: str | None = None
        self.goaway: tuple[str, int] | None = None
        self.sent = False

    def run(self, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """Send the request, read until the stream ends; never raises on network trouble."""
        try:
            self.conn.initiate_connection()
            self.conn.increment_flow_control_window(_CONNECTION_WINDOW - 65535)
            self.conn.send_headers(STREAM, headers, end_stream=not body)
            self._flush()
            self.sent = True
            self._loop(memoryview(body))
        except (H2Error, ValueError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"
            if self.stopper.was_cut(self.sock):
                self._finish(StreamEnd.TIME, detail="capture stopped")
            elif isinstance(exc, TimeoutError):
                self._finish(StreamEnd.TIME, detail=why)
            elif isinstance(exc, OSError):
                self._finish(StreamEnd.CLOSED, detail=why)
            else:
                self._finish(StreamEnd.PROTOCOL_ERROR, detail=f"HTTP/2: {why}")
                self._flush(quiet=True)  # the library's GOAWAY, if the peer still listens

    def _flush(self, *, quiet: bool = False) -> None:
        if data := self.conn.data_to_send():
            try:
                self.sock.sendall(data)
            except OSError:
                if not quiet:
                    raise

    def _loop(self, body: memoryview) -> None:
        buffer = bytearray()
        while not self.ended():
            body = self._send_body(body)
            self._flush()
            data = self.sock.recv(1 << 16)
            if not data:
                cut = self.stopper.was_cut(self.sock)
                how = StreamEnd.TIME if cut else StreamEnd.CLOSED
                self._finish(how, detail="capture stopped" if cut else None)
                return
            buffer += data
            for frame in _frames(buffer, self.conn.max_inbound_frame_size):
                for event in self.conn.receive_data(frame):
                    self._apply(event)
                if self.ended():
                    break
        self._flush(quiet=True)

    def _send_body(self, body: memoryview) -> memoryview:
        """Send as much of the request body as flow control allows; the rest is left."""
        stream = self.conn.streams.get(STREAM)
        if stream is None or stream.closed or self.ended():
            return body
        while body:
            size = min(len(body), self.conn.local_flow_control_window(STREAM))
            size = min(size, self.conn.max_outbound_frame_size)
            if size <= 0:
                break
            self.conn.send_data(STREAM, body[:size].tobytes(), end_stream=size == len(body))
            body = body[size:]
        return body

    def _apply(self, event: Event) -> None:
        if isinstance(event, ConnectionTerminated):
            code, last = _code(event.error_code), int(event.last_stream_id or 0)
            self.goaway = (code, last)
            if last < STREAM:
                self._finish(
                    StreamEnd.GOAWAY, code, f"GOAWAY ({code}) before the stream was processed"
                )
            else:  # RFC 9113 6.8: streams up to last_stream_id may still complete
                self.conn.state_machine.state = ConnectionState.CLIENT_OPEN
        elif getattr(event, "stream_id", STREAM) != STREAM:
            return
        elif isinstance(event, InformationalResponseReceived):
            self.informational.append(_decoded(event.headers or ()))
            if len(self.informational) > MAX_INTERIM:
                self._finish(
                    StreamEnd.PROTOCOL_ERROR, detail=f"over {MAX_INTERIM} interim responses"
                )
        elif isinstance(event, ResponseReceived):
            self.block = _decoded(event.headers or ())
        elif isinstance(event, TrailersReceived):
            self.trailers = _decoded(event.headers or ())
        elif isinstance(event, DataReceived):
            self._data(event)
        elif isinstance(event, StreamEnded):
            self._finish(StreamEnd.END_STREAM)
        elif isinstance(event, StreamReset):
            code = _code(event.error_code)
            self._finish(StreamEnd.RST_STREAM, code, f"the server reset the stream ({code})")

    def _data(self, event: DataReceived) -> None:
        data = event.data or b""
        room = self.cap - len(self.body)
        self.body += data[:room]
        if len(data) > room:
            self.conn.reset_stream(STREAM, ErrorCodes.CANCEL)
            self._finish(StreamEnd.LENGTH, detail=f"body larger than {self.cap} bytes")
            return
        self.conn.acknowledge_received_data(event.flow_controlled_length or 0, STREAM)

    def ended(self) -> bool:
        return self.end is not None

    def _finish(self, how: StreamEnd, code: str | None = None, detail: str | None = None) -> None:
        if self.end is None:
            self.end, self.error_code, self.detail = how, code, detail


def _code(code: Any) -> str:
    return code.name if isinstance(code, ErrorCodes) else str(code)


def exchange(base: Exchange, sock: ssl.SSLSocket, limits: Limits, stopper: Stopper) -> Exchange:
    """Make ``base``'s request over ``sock``, a TLS connection on which the server chose
    ``h2``; never raises on network or protocol trouble (it is described in the result).

    The result's request line and headers are the synthesized HTTP/1.1 form custody
    records (a ``Host`` line from ``:authority``, then the fields as sent), its
    ``http2`` what the synthesis loses. The caller closes the socket.
    """
    pseudo, fields = request_fields(base)
    sent_headers = (("Host", pseudo[1][1]), *fields)
    stream = _Stream(sock, limits.max_resource_bytes, stopper)
    wire = [(_wire(n), _wire(v)) for n, v in (*pseudo, *fields)]
    stream.run(wire, base.request.body)
    end = stream.end or StreamEnd.CLOSED
    details = Http2Stream(
        request_pseudo=pseudo,
        request_names=tuple(n for n, _ in fields),
        response_block=stream.block,
        informational=tuple(stream.informational),
        trailers=stream.trailers,
        end=end,
        error_code=stream.error_code,
        detail=stream.detail,
        goaway=stream.goaway,
    )
    done = replace(base, sent_headers=sent_headers, http2=details, sent=stream.sent)
    if stream.block is None:
        why = stream.detail or f"the stream ended ({end.value})"
        return replace(done, error=f"no HTTP/2 response: {why}")
    code = next((v for n, v in stream.block if n == ":status"), "")
    if not (len(code) == 3 and code.isdigit()):
        return replace(done, error=f"no HTTP/2 response: :status is {code[:20]!r}")
    status = int(code)
    headers = tuple((n, v) for n, v in stream.block if not n.startswith(":"))
    body = bytes(stream.body)
    response = Response(status_line(status), status, headers, b"", body, end.truncated)
    return replace(done, response=response)
