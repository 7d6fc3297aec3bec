"""The only way a capture reaches the network: address policy, guarded HTTP/1.1 exchanges.

The browser has no network of its own during a capture (see :mod:`custody.capture.browser`):
every request it makes is performed here by :func:`perform`, which resolves the host
itself, checks *every* resolved address with :func:`address_problem`, and connects only to
an address that passed, by number. The check is therefore made on the address really used,
whatever spelling the URL had (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``), for
redirect hops as for the first request, and DNS rebinding between check and connect cannot
happen: there is no second lookup.

Refused unless ``allow_private``: every address Python does not call global (loopback,
RFC 1918, link-local, CGNAT ``100.64/10``, unique-local, documentation, benchmarking,
reserved, unspecified), multicast, the IETF protocol block ``192.0.0.0/24``, and IPv6
forms that embed an IPv4 address (IPv4-mapped, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``
and ``64:ff9b:1::/48``, Teredo) whose embedded address is refused. Python's ``is_global``
alone calls ``64:ff9b::7f00:1`` (NAT64 127.0.0.1) and ``2002:7f00:1::`` global.

The exchange itself (:func:`perform`, HTTP/1.1, one connection per request) and its
fidelity limits are described in :mod:`custody.capture.recorder`.
"""

from __future__ import annotations

import _ssl
import io
import ipaddress
import socket
import ssl
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from custody.capture.recorder import (
    Exchange,
    Headers,
    Limits,
    OutgoingRequest,
    Response,
    Stopper,
    TlsSession,
)
from custody.errors import CustodyError, InputError, NetworkError
from custody.warc import WarcHeaderError
from custody.warc import _http_head as http_head  # the exact bytes the WARC writer records

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_EXTRA_V4 = (ipaddress.ip_network("192.0.0.0/24"), ipaddress.ip_network("100.64.0.0/10"))


class BlockedAddressError(InputError):
    """A target refused by the address policy (private, loopback, reserved…)."""


class BlockedRequest(Exception):
    """Internal: one request the policy refused; ``reason`` says why, for the provenance."""

    def __init__(self, reason: str, addresses: tuple[str, ...] = ()) -> None:
        super().__init__(reason)
        self.reason = reason
        self.addresses = addresses


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _v4_problem(ip: ipaddress.IPv4Address) -> str | None:
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if any(ip in net for net in _EXTRA_V4):
        return "carrier-grade NAT or IETF-reserved"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not globally routable"
    return None


def address_problem(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be reached without ``--allow-private``, or None if it may.

    >>> address_problem(ipaddress.ip_address("64:ff9b::7f00:1"))
    'NAT64 form of a loopback address'
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return _v4_problem(ip)
    inner = _embedded_v4(ip)
    if inner is not None:
        problem = _v4_problem(inner)
        if problem is not None:
            kind = "IPv4-mapped" if ip.ipv4_mapped else "6to4" if ip.sixtofour else "NAT64"
            kind = "Teredo" if ip.teredo and kind == "NAT64" else kind
            article = "an" if problem[0] in "aeiou" else "a"
            return f"{kind} form of {article} {problem} address"
        return None
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        return "not globally routable"
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """The address rule of one capture."""

    allow_private: bool = False

    def problem(self, ip: IPAddress) -> str | None:
        """Why the policy refuses ``ip``, or None when it may be reached."""
        return None if self.allow_private else address_problem(ip)


def resolve(host: str, port: int) -> list[tuple[socket.AddressFamily, IPAddress]]:
    """Every address ``host`` resolves to (an IP literal resolves to itself), in order.

    Raises:
        NetworkError: the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise NetworkError(f"cannot resolve {host}: {exc}") from exc
    seen: list[tuple[socket.AddressFamily, IPAddress]] = []
    for family, _, _, _, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if (family, ip) not in seen:
            seen.append((family, ip))
    return seen


def allowed_addresses(
    host: str, port: int, policy: AddressPolicy
) -> list[tuple[socket.AddressFamily, IPAddress]]:
    """The resolved addresses of ``host`` that ``policy`` allows; at least one.

    Raises:
        NetworkError: the name does not resolve.
        BlockedRequest: every address it resolves to is refused.
    """
    found = resolve(host, port)
    allowed = [(f, ip) for f, ip in found if policy.problem(ip) is None]
    if not allowed:
        first = found[0][1]
        what = f"{host} is" if host.strip("[]") == str(first) else f"{host} resolves to {first},"
        raise BlockedRequest(
            f"{what} a {policy.problem(first)} address",
            tuple(str(ip) for _, ip in found),
        )
    return allowed


def connect(host: str, port: int, policy: AddressPolicy, timeout: float) -> socket.socket:
    """A TCP connection to an allowed address of ``host``, tried in resolution order.

    Raises:
        NetworkError: the name does not resolve, or no allowed address accepts.
        BlockedRequest: every address it resolves to is refused.
    """
    last: OSError | None = None
    for family, ip in allowed_addresses(host, port, policy):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((str(ip), port))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return sock
    raise NetworkError(f"cannot connect to {host} port {port}: {last}")


def check_target(host: str, port: int, policy: AddressPolicy) -> None:
    """Refuse a capture up front when its URL's host is refused (nothing is written).

    Raises:
        BlockedAddressError: every address of ``host`` is refused (exit 4).
        NetworkError: the name does not resolve (exit 6).
    """
    try:
        allowed_addresses(host, port, policy)
    except BlockedRequest as exc:
        raise BlockedAddressError(
            f"refusing to capture {host}: {exc.reason}",
            hint="pass --allow-private to capture private or local addresses on purpose",
        ) from None


ACCEPT_ENCODING = "gzip, deflate"
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


def _read_head(rfile: io.BufferedReader) -> bytes:
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


class _Body:
    """Reads a body under a size cap; records why it stopped early."""

    def __init__(self, rfile: io.BufferedReader, cap: int, stopper: Stopper) -> None:
        self.rfile, self.cap, self.stopper = rfile, cap, stopper
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
                if self.stopper.stopped or size is not None:
                    self.truncated = "time" if self.stopper.stopped else "disconnect"
                    return False
                return True
            self.data += chunk
            size = None if size is None else size - len(chunk)
        return True

    def line(self) -> bytes:
        return self.rfile.readline(4096)


def _read_body(method: str, status: int, headers: Headers, b: _Body) -> None:
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
                b.truncated = "time" if b.stopper.stopped else "disconnect"
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


def perform(
    request: OutgoingRequest,
    policy: AddressPolicy,
    limits: Limits,
    stopper: Stopper,
    tls: ssl.SSLContext,
) -> Exchange:
    """Make ``request`` over a connection to an allowed address; never raises.

    Blocked requests, network errors and cut-short bodies are described in the result.
    """
    started = datetime.now(UTC)
    headers: list[tuple[str, str]] = []
    try:
        scheme, host, port, host_header, target = _target(request.url)
        headers = [("Host", host_header)]
        headers += [(n, v) for n, v in request.headers if n.lower() not in _NOT_FORWARDED]
        headers.append(("Accept-Encoding", ACCEPT_ENCODING))
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(request.body))))
        request_line = f"{request.method} {target} HTTP/1.1"
        head = http_head(request_line, headers)
    except (ValueError, WarcHeaderError) as exc:
        return Exchange(request, started, "", tuple(headers), error=str(exc))
    base = Exchange(request, started, request_line, tuple(headers))
    try:
        raw_sock = connect(host, port, policy, limits.connect_timeout)
    except BlockedRequest as exc:
        return replace(base, blocked=exc.reason)
    except CustodyError as exc:
        return replace(base, error=exc.message)
    sock: socket.socket = raw_sock
    ip = str(raw_sock.getpeername()[0])
    session, sent = None, False
    try:
        stopper.track(raw_sock)
        if scheme == "https":
            tls_sock = tls.wrap_socket(raw_sock, server_hostname=host)
            sock, session = tls_sock, _session(tls_sock)
        sock.settimeout(limits.read_timeout)
        sock.sendall(head + request.body)
        sent = True
        with sock.makefile("rb") as rfile:
            raw = _read_head(rfile)
            status_line, status, fields = parse_head(raw)
            while 100 <= status < 200 and status != 101:  # interim responses
                raw = _read_head(rfile)
                status_line, status, fields = parse_head(raw)
            body = _Body(rfile, limits.max_resource_bytes, stopper)
            _read_body(request.method, status, fields, body)
        response = Response(status_line, status, fields, raw, bytes(body.data), body.truncated)
        return replace(base, ip=ip, tls=session, response=response, sent=True)
    except ssl.SSLCertVerificationError as exc:
        return replace(base, ip=ip, error=f"TLS certificate refused: {exc.verify_message}")
    except (OSError, ValueError) as exc:
        why = "capture stopped" if stopper.stopped else f"{type(exc).__name__}: {exc}"
        return replace(base, ip=ip, tls=session, error=why, sent=sent)
    finally:
        stopper.forget(raw_sock)
        sock.close()
        raw_sock.close()


def _session(sock: ssl.SSLSocket) -> TlsSession:
    chain: tuple[bytes, ...] = ()
    sslobj = getattr(sock, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)  # private until Python 3.13
    if getter is not None:
        chain = tuple(c.public_bytes(_ssl.ENCODING_DER) for c in getter() or ())
    if not chain and (leaf := sock.getpeercert(binary_form=True)):
        chain = (leaf,)
    cipher = sock.cipher()
    return TlsSession(sock.version() or "", cipher[0] if cipher else "", chain)
