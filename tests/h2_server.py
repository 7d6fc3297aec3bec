"""A real local HTTPS server speaking HTTP/2 for the capture tests (the ``h2`` library over
``ssl``, ALPN ``h2``), plus a TLS server whose ALPN selects ``http/1.1`` only.

The HTTP/2 server answers each stream from :data:`ROUTES` (a page with a gzip script, an
image and fetched JSON; a page of hostile images) and from hostile behaviours: a stream
reset mid-body, a GOAWAY mid-body (with an error, then the connection closed; or
graceful, then the rest of the body), a stream refused before any response, a body that
stalls (``/stall``); and a body of any size sent as flow control allows (``/big?N``),
a request body echoed (``/echo``). It remembers the exact body bytes it sent per path
(``sent``) and the header block of every request it got, pseudo-headers included
(``received``).

Certificates come from the capture tests' test CA (:func:`tests.capture_server._test_pki`).
"""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.errors import ErrorCodes
from h2.events import (
    ConnectionTerminated,
    DataReceived,
    RequestReceived,
    StreamEnded,
    StreamReset,
    WindowUpdated,
)
from h2.exceptions import H2Error
from hyperframe.frame import GoAwayFrame

from .capture_server import _test_pki, png

H2_MARKER = "CUSTODY-H2-PAGE-5c1e"
H2_SCRIPT = b"document.getElementById('gz').textContent = 'H2-GZIP-DECODED-OK';\n" * 30
H2_DATA = b'{"message": "H2-FETCHED-BY-SCRIPT"}'
H2_PAGE = f"""<!doctype html>
<html><head><title>HTTP/2 page</title></head><body>
<h1>{H2_MARKER}</h1>
<p id="gz">gzip script not run</p>
<p id="xhr">fetch not run</p>
<img src="/img.png" width="20" height="20">
<script src="/gz.js"></script>
<script>fetch('/data.json').then(r => r.json())
  .then(d => {{ document.getElementById('xhr').textContent = d.message; }});</script>
</body></html>
""".encode()
HOSTILE_PAGE = f"""<html><body><h1>{H2_MARKER}</h1>
<img src="/reset-mid-body"><img src="/goaway-mid-body"><img src="/refused">
</body></html>""".encode()
PARTIAL = b"first part of the body;"  # what the hostile endpoints send before ending badly
REST = b"the rest of the body" * 10
Fields = list[tuple[str, str]]
ROUTES: dict[str, tuple[int, Fields, bytes]] = {
    "/": (200, [("content-type", "text/html; charset=utf-8")], H2_PAGE),
    "/gz.js": (
        200,
        [("content-type", "application/javascript"), ("content-encoding", "gzip")],
        gzip.compress(H2_SCRIPT, mtime=0),
    ),
    "/img.png": (200, [("content-type", "image/png")], png()),
    "/data.json": (200, [("content-type", "application/json"), ("x-order", "z-first")], H2_DATA),
    "/odd-status": (599, [("content-type", "text/plain")], b"odd"),
    "/hostile.html": (200, [("content-type", "text/html")], HOSTILE_PAGE),
}


@dataclass
class H2Site:
    """The running servers: their base URLs, the test CA, and what the h2 server did."""

    base: str  # https://localhost:PORT, HTTP/2
    http1_base: str  # https://localhost:PORT, ALPN selects http/1.1
    ca_file: Path
    sent: dict[str, bytes] = field(default_factory=dict)
    received: dict[str, list[list[tuple[str, str]]]] = field(default_factory=dict)
    bodies: dict[str, bytes] = field(default_factory=dict)  # request bodies, per path
    stopping: threading.Event = field(default_factory=threading.Event)


def _text(block: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in block]


class _Connection:
    """One HTTP/2 server connection, served until the client or the test goes away."""

    def __init__(self, site: H2Site, sock: ssl.SSLSocket) -> None:
        self.site, self.sock = site, sock
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding=None))
        self.requests: dict[int, list[tuple[str, str]]] = {}
        self.uploads: dict[int, bytearray] = {}
        self.pending: dict[int, bytearray] = {}  # stream -> body still to send
        self.closing = False

    def serve(self) -> None:
        self.conn.initiate_connection()
        self._flush()
        while not self.closing and not self.site.stopping.is_set():
            try:
                data = self.sock.recv(1 << 16)
            except TimeoutError:
                continue
            if not data:
                return
            for event in self.conn.receive_data(data):
                self._event(event)
            self._send_pending()
            self._flush()
        if self.closing:
            self._linger()

    def _linger(self) -> None:
        """Close gently: stop sending, then read what the client still sends. Closing with
        unread data would make the kernel reset the connection and drop what it had not
        delivered yet."""
        with suppress(OSError):
            socket.socket.shutdown(self.sock, socket.SHUT_WR)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and self.sock.recv(1 << 16):
                pass

    def _flush(self) -> None:
        if data := self.conn.data_to_send():
            self.sock.sendall(data)

    def _event(self, event: object) -> None:
        if isinstance(event, RequestReceived) and event.stream_id:
            self.requests[event.stream_id] = _text(list(event.headers or []))
        elif isinstance(event, DataReceived) and event.stream_id:
            self.uploads.setdefault(event.stream_id, bytearray()).extend(event.data or b"")
            self.conn.acknowledge_received_data(event.flow_controlled_length or 0, event.stream_id)
        elif isinstance(event, StreamEnded) and event.stream_id in self.requests:
            self._respond(event.stream_id)
        elif isinstance(event, StreamReset) and event.stream_id:
            self.pending.pop(event.stream_id, None)
        elif isinstance(event, ConnectionTerminated):
            self.closing = True
        elif isinstance(event, WindowUpdated):
            pass  # _send_pending runs after every batch of events

    def _respond(self, sid: int) -> None:
        block = self.requests[sid]
        path = dict(block)[":path"]
        self.site.received.setdefault(path, []).append(block)
        self.site.bodies[path] = bytes(self.uploads.get(sid, b""))
        if path in ROUTES:
            status, fields, body = ROUTES[path]
            self._headers(sid, status, fields)
            self.site.sent[path] = body
            self.pending[sid] = bytearray(body)
        elif path.startswith("/big?"):
            body = bytes(range(256)) * (int(path[5:]) // 256)
            self._headers(sid, 200, [("content-type", "application/octet-stream")])
            self.site.sent[path] = body
            self.pending[sid] = bytearray(body)
        elif path == "/echo":
            self._headers(sid, 200, [("content-type", "application/octet-stream")])
            self.pending[sid] = bytearray(self.site.bodies[path])
        else:
            self._hostile(sid, path)

    def _headers(self, sid: int, status: int, fields: Fields) -> None:
        block = [(":status", str(status)), *fields]
        self.conn.send_headers(sid, [(n.encode(), v.encode()) for n, v in block])

    def _hostile(self, sid: int, path: str) -> None:
        if path == "/refused":  # reset before any response
            self.conn.reset_stream(sid, ErrorCodes.REFUSED_STREAM)
            return
        if path not in ("/reset-mid-body", "/goaway-mid-body", "/goaway-graceful", "/stall"):
            self._headers(sid, 404, [("content-type", "text/plain")])
            self.pending[sid] = bytearray(b"not found")
            return
        self._headers(sid, 200, [("content-type", "text/plain")])
        self.conn.send_data(sid, PARTIAL)
        self._flush()
        if path == "/stall":  # nothing more, until the client goes away
            return
        if path == "/reset-mid-body":
            self.conn.reset_stream(sid, ErrorCodes.INTERNAL_ERROR)
            return
        graceful = path == "/goaway-graceful"
        code = ErrorCodes.NO_ERROR if graceful else ErrorCodes.INTERNAL_ERROR
        # written as a raw frame: the h2 library refuses to send anything after a GOAWAY
        self.sock.sendall(GoAwayFrame(0, last_stream_id=sid, error_code=code).serialize())
        if graceful:  # RFC 9113 6.8: the stream it covers may still complete
            self.site.sent[path] = PARTIAL + REST
            self.conn.send_data(sid, REST, end_stream=True)
            self._flush()
        self.closing = True

    def _send_pending(self) -> None:
        for sid in list(self.pending):
            body = self.pending[sid]
            try:
                while body:
                    window = self.conn.local_flow_control_window(sid)
                    size = min(len(body), window, self.conn.max_outbound_frame_size)
                    if size <= 0:
                        break
                    self.conn.send_data(sid, bytes(body[:size]))
                    del body[:size]
                if not body:
                    self.conn.end_stream(sid)
                    del self.pending[sid]
            except H2Error:
                del self.pending[sid]  # the client reset or closed the stream


def _serve_http1(site: H2Site, sock: ssl.SSLSocket) -> None:
    """A minimal HTTP/1.1 answer: the test only needs to see that http/1.1 was chosen."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            return
        head += chunk
    path = head.split(b" ", 2)[1].decode("latin-1")
    body = f"HTTP/1.1 chosen by ALPN for {path}".encode()
    site.sent["http1:" + path] = body
    sock.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def _handle(site: H2Site, ctx: ssl.SSLContext, raw: socket.socket) -> None:
    raw.settimeout(1.0)
    try:
        with ctx.wrap_socket(raw, server_side=True) as sock:
            if sock.selected_alpn_protocol() == "h2":
                _Connection(site, sock).serve()
            else:
                _serve_http1(site, sock)
    except (OSError, H2Error):
        pass  # the client went away, or broke off the handshake
    finally:
        raw.close()


def _listen(site: H2Site, ctx: ssl.SSLContext) -> tuple[socket.socket, threading.Thread]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)

    def accept() -> None:
        workers: list[threading.Thread] = []
        while not site.stopping.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            worker = threading.Thread(target=_handle, args=(site, ctx, raw), daemon=True)
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join(5)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    return listener, thread


def _context(cert: Path, key: Path, alpn: list[str]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(alpn)
    return ctx


@contextmanager
def serve_h2(folder: Path) -> Iterator[H2Site]:
    """Run the HTTP/2 server and the http/1.1-by-ALPN server until the block ends."""
    ca_file, cert_file, key_file, _ = _test_pki(folder)
    site = H2Site(base="", http1_base="", ca_file=ca_file)
    h2_listener, h2_thread = _listen(site, _context(cert_file, key_file, ["h2", "http/1.1"]))
    h1_listener, h1_thread = _listen(site, _context(cert_file, key_file, ["http/1.1"]))
    site.base = f"https://localhost:{h2_listener.getsockname()[1]}"
    site.http1_base = f"https://localhost:{h1_listener.getsockname()[1]}"
    try:
        yield site
    finally:
        site.stopping.set()
        for thread in (h2_thread, h1_thread):
            thread.join(10)
        for listener in (h2_listener, h1_listener):
            with suppress(OSError):
                listener.close()
