"""A real local web site for capture tests: HTTP (and HTTPS with a test CA) on 127.0.0.1.

The server remembers the exact body bytes it sent for each path (``sent``) and the
request headers it received (``received``), so tests can check that the WARC holds the
bodies byte for byte and what the server really got. Besides the test page (lazy images,
fetch, an iframe, a web font, CSS backgrounds, a redirect chain, gzip, br and chunked
bodies, a 404) and a page and script sent with real Brotli when the request accepts br,
it serves hostile endpoints (a redirect loop, an endless stream, a huge body, a pop-up
storm, dialogs, downloads, a busy script) and a second HTTPS origin whose certificate is
self-signed (``selfsigned_base``).

It also provides the session fixtures ``site`` and ``browser``: test modules import them,
and every module's copy shares one site and one Chromium per test process.
"""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import brotlicffi  # type: ignore[import-untyped]  # no type information shipped
import pytest

from custody.capture.browser import BrowserNotFoundError, BrowserSession, find_chromium

MARKER = "CUSTODY-TEST-MARKER-7f3a"
GZ_SCRIPT = b"document.getElementById('gz').textContent = 'GZIP-DECODED-OK';\n" * 40
CHUNKS = [b"first chunk;", b"second chunk;", b"third chunk"]
SPACER = 6000  # px between the top of the page and the lazy image
BR_TEXT = b"BROTLI-ENCODED-BODY " * 64
FRAME_MARKER = "FRAME-CONTENT-OK"
FONT = b"wOF2" + bytes(range(256)) * 4  # not a real font: Chromium fetches it all the same
POPUPS = 30  # window.open calls of /popups
ALERTS = 220  # alert() calls of /dialogs (more than custody lists)
BR_PAGE_MARKER = "BROTLI-PAGE-RENDERED-OK"
BR_SCRIPT_MARKER = "BROTLI-SCRIPT-RAN-OK"
# /br-page.html and its script /br.js: Brotli-compressed (really, by brotlicffi)
# when the request accepts br, as a real server does; identity otherwise.
BR_PAGE = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Brotli page</title></head><body>
<h1>{BR_PAGE_MARKER}</h1>
<p>Grüße, ünïcödé, 10 € {"the same words again and again. " * 40}</p>
<p id="br-script">script not run</p>
<script src="/br.js"></script>
</body></html>
""".encode()
BR_SCRIPT = f"document.getElementById('br-script').textContent = '{BR_SCRIPT_MARKER}';\n".encode()


def brotli_stored(data: bytes) -> bytes:
    """A valid Brotli stream (RFC 7932) holding ``data`` in uncompressed meta-blocks.

    What a server sends as ``Content-Encoding: br``, without a Brotli encoder.
    """
    out, acc, nbits = bytearray(), 0, 0

    def put(value: int, n: int) -> None:
        nonlocal acc, nbits
        acc, nbits = acc | value << nbits, nbits + n
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc, nbits = acc >> 8, nbits - 8

    def align() -> None:
        nonlocal acc, nbits
        if nbits:
            out.append(acc & 0xFF)
            acc = nbits = 0

    put(0, 1)  # WBITS 16
    for start in range(0, len(data), 1 << 16):
        chunk = data[start : start + (1 << 16)]
        put(0, 1)  # ISLAST 0
        put(0, 2)  # MNIBBLES 4
        put(len(chunk) - 1, 16)  # MLEN - 1
        put(1, 1)  # ISUNCOMPRESSED
        align()
        out += chunk
    put(1, 1)  # ISLAST
    put(1, 1)  # ISLASTEMPTY
    align()
    return bytes(out)


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small valid PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = zlib.compress(row * height)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


PAGE = f"""<!doctype html>
<html><head><title>Test page</title>
<link rel="stylesheet" href="/style.css">
<script src="/app.js"></script>
</head><body>
<h1>{MARKER}</h1>
<p id="gz">gzip script not run</p>
<p id="xhr">fetch not run</p>
<img src="/img.png" width="20" height="20">
<img src="/old-image" width="20" height="20">
<img src="/missing.png" width="20" height="20">
<iframe src="/frame.html" width="300" height="80"></iframe>
<div style="height:{SPACER}px">spacer</div>
<img loading="lazy" src="/lazy.png" width="20" height="20">
<script src="/gz.js"></script>
</body></html>
""".encode()

APP_JS = b"""window.addEventListener('DOMContentLoaded', () => {
  fetch('/data.json').then(r => r.json()).then(d => {
    document.getElementById('xhr').textContent = d.message;
  });
  fetch('/chunked.txt');
  fetch('/br.txt');
});
"""
STYLE = b"""@font-face { font-family: "Test Font"; src: url('/font.woff2') format('woff2'); }
h1 { font-family: "Test Font", sans-serif; }
body { background: url('/bg.png'); }
"""
FRAME = f"<html><body><p>{FRAME_MARKER}</p><img src='/frame.png'></body></html>".encode()
HOSTILE_PAGES = {
    "/popups": f"for (let i = 0; i < {POPUPS}; i++) window.open('/popup?' + i);",
    "/dialogs": (
        "window.addEventListener('beforeunload', e => { e.preventDefault(); e.returnValue = ''; });"
        f"alert('hello'); confirm('sure?'); prompt('name?');"
        f"for (let i = 0; i < {ALERTS}; i++) alert('storm ' + i);"
    ),
    "/busy": "while (true) {}",
}

HANG_PAGE = f"<html><body><h1>{MARKER}</h1><img src='/never'></body></html>".encode()

# A logged-in view: the session cookie shows the account; a script sends the token it
# finds in localStorage as a bearer token.
SESSION_COOKIE = "SESSION-VALUE-0b5e9d"
TOKEN = "TOKEN-VALUE-77c1aa"  # noqa: S105  # a test value the capture must not record
ACCOUNT_PAGE = b"""<html><body><h1>Signed in as Ana</h1><p id="api">api not called</p>
<script>
fetch('/api/me', {headers: {Authorization: 'Bearer ' + localStorage.getItem('token')}})
  .then(r => r.text()).then(t => { document.getElementById('api').textContent = t; });
</script></body></html>"""


@dataclass
class Site:
    """The running site: its base URLs and what it sent."""

    base: str
    https_base: str | None = None
    ca_file: Path | None = None
    selfsigned_base: str | None = None  # HTTPS with a self-signed certificate
    sent: dict[str, bytes] = field(default_factory=dict)
    received: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def _send(self, status: int, ctype: str, body: bytes, **extra: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            for name, value in extra.items():
                self.send_header(name.replace("_", "-"), value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            site.sent[self.path] = body  # before the client can have read it all
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path
            site.received.setdefault(path, []).append(dict(self.headers.items()))
            if path == "/account":
                signed_in = f"session={SESSION_COOKIE}" in self.headers.get("Cookie", "")
                page = ACCOUNT_PAGE if signed_in else b"<h1>Please sign in</h1>"
                self._send(200, "text/html", page)
            elif path == "/api/me":
                ok = self.headers.get("Authorization") == f"Bearer {TOKEN}"
                self._send(200 if ok else 401, "text/plain", b"API-TOKEN-ACCEPTED" if ok else b"no")
            elif path == "/slow":  # a page that takes a while to answer
                site.stopping.wait(2)
                self._send(200, "text/html", f"<h1>{MARKER}</h1>".encode())
            elif path == "/start":
                self._send(302, "text/plain", b"", Location="/")
            elif path == "/":
                self._send(200, "text/html; charset=utf-8", PAGE)
            elif path == "/style.css":
                self._send(200, "text/css", STYLE)
            elif path == "/app.js":
                self._send(200, "application/javascript", APP_JS)
            elif path == "/gz.js":
                body = gzip.compress(GZ_SCRIPT, mtime=0)
                self._send(200, "application/javascript", body, Content_Encoding="gzip")
            elif path in ("/img.png", "/moved.png", "/lazy.png", "/bg.png", "/frame.png"):
                self._send(200, "image/png", png())
            elif path == "/frame.html":
                self._send(200, "text/html", FRAME)
            elif path == "/font.woff2":
                self._send(200, "font/woff2", FONT)
            elif path == "/br.txt":  # sent br whatever the request accepted
                self._send(200, "text/plain", brotli_stored(BR_TEXT), Content_Encoding="br")
            elif not self._hostile(path):
                self._other(path)

        def _br_if_accepted(self, ctype: str, content: bytes) -> None:
            accepted = self.headers.get("Accept-Encoding", "")
            if "br" in (c.split(";")[0].strip() for c in accepted.split(",")):
                body = brotlicffi.compress(content, mode=brotlicffi.MODE_TEXT)
                self._send(200, ctype, body, Content_Encoding="br", Vary="Accept-Encoding")
            else:
                self._send(200, ctype, content, Vary="Accept-Encoding")

        def _other(self, path: str) -> None:
            if path == "/br-page.html":
                self._br_if_accepted("text/html; charset=utf-8", BR_PAGE)
            elif path == "/br.js":
                self._br_if_accepted("application/javascript", BR_SCRIPT)
            elif path == "/old-image":
                self._send(302, "text/plain", b"", Location="/moved.png")
            elif path == "/data.json":
                self._send(200, "application/json", b'{"message": "FETCHED-BY-SCRIPT"}')
            elif path == "/chunked.txt":
                self._chunked()
            elif path == "/hang":
                self._send(200, "text/html", HANG_PAGE)
            elif path == "/never":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"\x89PNG")
                self.wfile.flush()
                site.stopping.wait(60)
            elif path == "/blocked-image":
                port = self.headers["Host"].rsplit(":", 1)[1]
                html = f"<h1>{MARKER}</h1><img src='http://127.0.0.2:{port}/img.png'>"
                self._send(200, "text/html", html.encode())
            else:
                self._send(404, "text/plain", b"not found")

        def _hostile(self, path: str) -> bool:
            """The hostile endpoints; False for any other path."""
            if path == "/loop":  # a redirect to itself, forever
                self._send(302, "text/plain", b"", Location="/loop")
            elif path in HOSTILE_PAGES:
                script = HOSTILE_PAGES[path]
                page = f"<html><body><h1>{MARKER}</h1><script>{script}</script></body></html>"
                self._send(200, "text/html", page.encode())
            elif path.startswith("/popup?"):
                self._send(200, "text/html", b"<p>a pop-up</p>")
            elif path == "/download":
                disposition = 'attachment; filename="evidence.bin"'
                body = b"DOWNLOADED-BYTES" * 64
                self._send(200, "application/octet-stream", body, Content_Disposition=disposition)
            elif path == "/stream":  # an HTML page that never ends
                self._endless(b"<p>more</p>\n", 0.05)
            elif path == "/huge":  # 1 GiB announced, sent as fast as it is read
                self._endless(b"\0" * (1 << 16), 0.0, length=1 << 30)
            else:
                return False
            return True

        def _endless(self, part: bytes, pause: float, length: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html" if pause else "application/octet-stream")
            if length is None:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            frame = part if length is not None else f"{len(part):x}\r\n".encode() + part + b"\r\n"
            deadline = time.monotonic() + 60
            try:
                while time.monotonic() < deadline and not site.stopping.is_set():
                    self.wfile.write(frame)
                    if pause:
                        self.wfile.flush()
                        site.stopping.wait(pause)
            except OSError:
                pass  # the client went away
            self.close_connection = True

        def _chunked(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            site.sent[self.path] = b"".join(CHUNKS)  # before the client can have read it all
            for part in CHUNKS:
                self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

    return Handler


def _test_pki(folder: Path) -> tuple[Path, Path, Path, Path]:
    """A CA and a certificate for localhost/127.0.0.1 signed by it, and a self-signed one
    for the same names (ca, cert, key, self-signed cert files; both certificates have
    the key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )

    def cert(subject: str, issuer: str, signer: ec.EllipticCurvePrivateKey) -> x509.Certificate:
        public = (ca_key if subject == "custody test CA" else key).public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
        )
        if subject == "custody test CA":
            builder = builder.add_extension(
                x509.BasicConstraints(ca=True, path_length=None), critical=True
            )
        else:
            builder = builder.add_extension(san, critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca = cert("custody test CA", "custody test CA", ca_key)
    leaf = cert("localhost", "custody test CA", ca_key)
    own = cert("self-signed localhost", "self-signed localhost", key)
    pem = serialization.Encoding.PEM
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    own_file = folder / "self-signed.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    cert_file.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    own_file.write_bytes(own.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file, own_file


@contextmanager
def serve(folder: Path) -> Iterator[Site]:
    """Run the site over HTTP and HTTPS on 127.0.0.1 until the block ends."""
    site = Site(base="")
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _handler(site)) for _ in range(3)]
    plain, secure, own = servers
    ca_file, cert_file, key_file, own_file = _test_pki(folder)
    for server, cert in ((secure, cert_file), (own, own_file)):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key_file)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    site.base = f"http://127.0.0.1:{plain.server_address[1]}"
    site.https_base = f"https://localhost:{secure.server_address[1]}"
    site.selfsigned_base = f"https://localhost:{own.server_address[1]}"
    site.ca_file = ca_file
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for server in servers:
        server.daemon_threads = True
    for t in threads:
        t.start()
    try:
        yield site
    finally:
        site.stopping.set()
        for server in servers:
            server.shutdown()
            server.server_close()
        for t in threads:
            t.join(5)


# --- session fixtures shared by the capture test modules -----------------------------------

T = TypeVar("T")
_shared: dict[str, list[Any]] = {}  # name -> [value, users, context manager]
_shared_lock = threading.Lock()


@contextmanager
def _shared_use(name: str, make: Callable[[], AbstractContextManager[T]]) -> Iterator[T]:
    """One ``make()`` per process however many fixtures use it; exited by the last user."""
    with _shared_lock:
        if name not in _shared:
            cm = make()
            _shared[name] = [cm.__enter__(), 0, cm]
        _shared[name][1] += 1
        value: T = _shared[name][0]
    try:
        yield value
    finally:
        with _shared_lock:
            _shared[name][1] -= 1
            done = _shared.pop(name) if _shared[name][1] == 0 else None
        if done is not None:
            done[2].__exit__(None, None, None)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The local test site (HTTP and HTTPS), one per test process."""
    with _shared_use("site", lambda: serve(tmp_path_factory.mktemp("pki"))) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[BrowserSession]:
    """One Chromium per test process."""
    try:
        chromium = find_chromium()
    except BrowserNotFoundError as exc:
        pytest.skip(f"no Chromium to capture with: {exc.message} ({exc.hint})")
    with _shared_use("browser", lambda: BrowserSession(chromium)) as session:
        yield session
