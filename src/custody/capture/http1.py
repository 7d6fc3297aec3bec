"""HTTP/1.1 messages as custody sends and reads them for the browser (see
:mod:`custody.capture.recorder` for what is recorded, and the fidelity limits).

One request per connection. The request head is built from the headers Chromium handed
over, minus the hop-by-hop ones, plus ``Host``, ``Accept-Encoding`` (see
:func:`accept_encoding`) and, with a body, ``Content-Length``. The response head is read
up to 64 KiB; the body is read under a cap, after transfer decoding (chunks joined) and
before content decoding.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from urllib.parse import urlsplit

from custody.capture.recorder import Headers, OutgoingRequest, Stopper
from custody.warc import _http_head as http_head  # the exact bytes the WARC writer records

# Chromium (156) sends "gzip, deflate, br, zstd" over https and to loopback hosts, else
# "gzip, deflate"; custody sends the same less zstd, which it cannot decode for the browser.
ACCEPT_ENCODING = "gzip, deflate"
ACCEPT_ENCODING_SECURE = "gzip, deflate, br"
MAX_HEAD = 1 << 16
_NOT_FORWARDED = {
    *("host", "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te"),
    *("upgrade", "content-length", "accept-encoding", "trailer"),
}
_DEFAULT_PORT = {"http": 80, "https": 443}


def _target(url: str) -> tuple[str, str, int, str, str]:
    """(scheme, host, port, Host header, request target) of an absolute http(s) URL."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in _DEFAULT_PORT or not host:
        raise ValueError(f"not an http(s) URL: {url[:200]}")
    netloc = parts.netloc.rpartition("@")[2]
    prefix = f"{parts.scheme}://{parts.netloc}"
    target = url.split("#", 1)[0][len(prefix) :] if url.startswith(prefix) else parts.path
    return scheme, host, parts.port or _DEFAULT_PORT[scheme], netloc, target or "/"


def accept_encoding(scheme: str, host: str) -> str:
    """The ``Accept-Encoding`` custody sends for a request to ``scheme://host``.

    Chromium's own rule (``URLRequestHttpJob``): ``br`` and ``zstd`` only over https or to
    a loopback host (``localhost``, ``*.localhost``, ``127.0.0.0/8``, ``::1``), because
    middleboxes on plain http mangle them. custody follows it, less ``zstd``.
    """
    if scheme.lower() == "https":
        return ACCEPT_ENCODING_SECURE
    name = host.lower().removesuffix(".")
    try:
        loopback = ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        loopback = name == "localhost" or name.endswith(".localhost")
    return ACCEPT_ENCODING_SECURE if loopback else ACCEPT_ENCODING


def read_head(rfile: io.BufferedReader) -> bytes:
    """The raw bytes of one response head, up to and including the empty line.

    Raises:
        ConnectionError: the connection closed first, or the head exceeds 64 KiB.
        OSError: reading fails (a timeout included).
    """
    head = bytearray()
    while True:
        line = rfile.readline(MAX_HEAD + 1)
        if not line:
            raise ConnectionError("connection closed before a complete response head")
        head += line
        if len(head) > MAX_HEAD:
            raise ConnectionError("response head larger than 64 KiB")
        if line in (b"\r\n", b"\n") and len(head) > len(line):
            return bytes(head)


def parse_head(raw: bytes) -> tuple[str, int, Headers]:
    """Status line, status code and header fields (folded lines joined) of a raw head.

    Raises:
        ValueError: the status line is not ``HTTP/x.y NNN …``.
    """
    lines = raw.decode("latin-1").splitlines()
    status_line = lines[0]
    version, _, rest = status_line.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise ValueError(f"not an HTTP status line: {status_line[:80]!r}")
    fields: list[list[str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and fields:
            fields[-1][1] += " " + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            fields.append([name, value.strip(" \t")])
    return status_line, int(code), tuple((n, v) for n, v in fields)


class Body:
    """Reads a body under a size cap; records why it stopped early."""

    def __init__(
        self,
        rfile: io.BufferedReader,
        cap: int,
        stopper: Stopper,
        sock: socket.socket | None = None,
    ) -> None:
        self.rfile, self.cap, self.stopper, self.sock = rfile, cap, stopper, sock
        self.data = bytearray()
        self.truncated: str | None = None

    def take(self, size: int | None) -> bool:
        """Read ``size`` bytes (None: to EOF) into the body; False if cut short."""
        while size is None or size > 0:
            if len(self.data) >= self.cap:
                self.truncated = "length"
                return False
            want = min(1 << 16, self.cap - len(self.data), size or 1 << 16)
            try:
                chunk = self.rfile.read1(want)
            except TimeoutError:
                self.truncated = "time"
                return False
            except OSError:
                chunk = b""
            if not chunk:
                cut = self.stopper.was_cut(self.sock)
                if cut or size is not None:
                    self.truncated = "time" if cut else "disconnect"
                    return False
                return True
            self.data += chunk
            size = None if size is None else size - len(chunk)
        return True

    def line(self) -> bytes:
        return self.rfile.readline(4096)


def read_body(method: str, status: int, headers: Headers, b: Body) -> None:
    """Read the body of a response with this head into ``b`` (chunked, sized or to EOF);
    a body cut short is marked in ``b.truncated``, never raised."""
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return
    coding = [v for n, v in headers if n.lower() == "transfer-encoding"]
    length = [v for n, v in headers if n.lower() == "content-length"]
    if coding and coding[-1].split(",")[-1].strip().lower() == "chunked":
        while True:
            size_line = b.line().split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                b.truncated = "time" if b.stopper.was_cut(b.sock) else "disconnect"
                return
            if size == 0:
                while b.line() not in (b"\r\n", b"\n", b""):
                    pass  # trailers are read, not recorded
                return
            if not b.take(size):
                return
            b.line()
    elif length and length[0].strip().isdigit():
        b.take(int(length[0].strip()))
    else:
        b.take(None)


def request_head(request: OutgoingRequest) -> tuple[str, str, int, str, Headers, bytes]:
    """(scheme, host, port, request line, headers, head bytes) of what custody will send.

    Raises:
        ValueError: the URL is not http(s).
        WarcHeaderError: a header cannot be written as it would be recorded.
    """
    scheme, host, port, host_header, target = _target(request.url)
    headers = [("Host", host_header)]
    headers += [(n, v) for n, v in request.headers if n.lower() not in _NOT_FORWARDED]
    headers.append(("Accept-Encoding", accept_encoding(scheme, host)))
    if request.body or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("Content-Length", str(len(request.body))))
    request_line = f"{request.method} {target} HTTP/1.1"
    return scheme, host, port, request_line, tuple(headers), http_head(request_line, headers)
