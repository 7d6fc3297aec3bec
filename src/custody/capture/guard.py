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

The exchange itself (:func:`perform`, one connection per request: HTTP/1.1, or HTTP/2
when an https server chooses ``h2`` among the ALPN protocols offered, :data:`ALPN`, see
:mod:`custody.capture.http2`) and its fidelity limits are described in
:mod:`custody.capture.recorder`. Through an upstream proxy (``--proxy``) the address
check is made on the target's name instead: see :mod:`custody.capture.proxy`.
"""

from __future__ import annotations

import _ssl
import contextlib
import ipaddress
import socket
import ssl
import threading
import weakref
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache

from custody.capture import http1, http2
from custody.capture.http2 import ALPN
from custody.capture.proxy import Proxy, open_tunnel
from custody.capture.recorder import (
    Exchange,
    Limits,
    OutgoingRequest,
    Response,
    Stopper,
    TlsSession,
)
from custody.errors import CustodyError, InputError, NetworkError
from custody.warc import WarcHeaderError

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
    return _scope_problem(ip)


def _scope_problem(ip: IPAddress) -> str | None:
    """The checks IPv4 and IPv6 share, after their own."""
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
    return _scope_problem(ip)


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


def check_proxied(host: str, port: int, policy: AddressPolicy) -> None:
    """Check a target reached through a proxy: *every* address of ``host`` must be allowed
    (the proxy chooses which it connects to). No lookup at all when private addresses are
    allowed: the proxy alone resolves names then.

    Raises:
        NetworkError: the name does not resolve here.
        BlockedRequest: an address it resolves to is refused.
    """
    if policy.allow_private:
        return
    found = resolve(host, port)
    for _, ip in found:
        if (problem := policy.problem(ip)) is not None:
            what = f"{host} is" if host.strip("[]") == str(ip) else f"{host} resolves to {ip},"
            raise BlockedRequest(f"{what} a {problem} address", tuple(str(a) for _, a in found))


def check_target(host: str, port: int, policy: AddressPolicy, *, proxied: bool = False) -> None:
    """Refuse a capture up front when its URL's host is refused (nothing is written).

    Raises:
        BlockedAddressError: every address of ``host`` is refused (exit 4); through a
            proxy, any address.
        NetworkError: the name does not resolve (exit 6).
    """
    try:
        if proxied:
            try:
                check_proxied(host, port, policy)
            except NetworkError as exc:
                exc.hint = "through a proxy, --allow-private leaves name resolution to it"
                raise
        else:
            allowed_addresses(host, port, policy)
    except BlockedRequest as exc:
        raise BlockedAddressError(
            f"refusing to capture {host}: {exc.reason}",
            hint="pass --allow-private to capture private or local addresses on purpose",
        ) from None


def _open(
    scheme: str, host: str, port: int, policy: AddressPolicy, limits: Limits, proxy: Proxy | None
) -> socket.socket:
    if proxy is None:
        return connect(host, port, policy, limits.connect_timeout)
    check_proxied(host, port, policy)
    return open_tunnel(proxy, host, port, limits.connect_timeout)


def perform(
    request: OutgoingRequest,
    policy: AddressPolicy,
    limits: Limits,
    stopper: Stopper,
    tls: ssl.SSLContext,
    proxy: Proxy | None = None,
) -> Exchange:
    """Make ``request`` over a connection to an allowed address (or through ``proxy``'s
    tunnel); never raises.

    Blocked requests, network errors and cut-short bodies are described in the result.
    Over https, ALPN offers ``h2`` and ``http/1.1`` (:func:`offer_alpn`) and the exchange
    is made in the protocol the server chooses. An https server whose certificate fails
    validation under ``tls`` is still recorded: the refused handshake's reason is kept,
    and the exchange is made over a second connection that does not validate
    (:class:`TlsSession` ``verify_error``).
    """
    started = datetime.now(UTC)
    tls = offer_alpn(tls)
    try:
        scheme, host, port, request_line, headers, head = http1.request_head(request)
    except (ValueError, WarcHeaderError) as exc:
        return Exchange(request, started, "", (), error=str(exc))
    base = Exchange(request, started, request_line, headers)
    refused: tuple[str, tuple[bytes, ...]] | None = None
    while True:
        try:
            raw_sock = _open(scheme, host, port, policy, limits, proxy)
        except BlockedRequest as exc:
            return replace(base, blocked=exc.reason)
        except CustodyError as exc:
            return replace(base, error=exc.message)
        ctx = tls if refused is None else _unverified_context()
        try:
            return _exchange(base, raw_sock, ctx, host if scheme == "https" else None, head,
                             limits, stopper, proxy, refused)  # fmt: skip
        except _Refused as exc:
            if refused is not None:  # cannot happen without validation; never loop
                return replace(base, error=f"TLS certificate refused: {exc.reason}")
            refused = (exc.reason, exc.chain)


class _Refused(Exception):
    """The TLS handshake refused the server's certificate (validation failed)."""

    def __init__(self, reason: str, chain: tuple[bytes, ...]) -> None:
        super().__init__(reason)
        self.reason, self.chain = reason, chain


_alpn_lock = threading.Lock()
_alpn_set: weakref.WeakSet[ssl.SSLContext] = weakref.WeakSet()


def offer_alpn(ctx: ssl.SSLContext) -> ssl.SSLContext:
    """``ctx`` set, once, to offer what custody speaks (:data:`ALPN`: ``h2`` then
    ``http/1.1``, as Chromium); any ALPN it had is replaced."""
    with _alpn_lock:  # every connection made with ctx here passes this lock first
        if ctx not in _alpn_set:
            ctx.set_alpn_protocols(list(ALPN))
            _alpn_set.add(ctx)
    return ctx


@cache
def _unverified_context() -> ssl.SSLContext:
    """TLS for the second connection to a server whose certificate failed validation."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return offer_alpn(ctx)


def _exchange(
    base: Exchange,
    raw_sock: socket.socket,
    tls: ssl.SSLContext,
    tls_host: str | None,
    head: bytes,
    limits: Limits,
    stopper: Stopper,
    proxy: Proxy | None,
    refused: tuple[str, tuple[bytes, ...]] | None,
) -> Exchange:
    """One exchange over ``raw_sock`` (TLS first when ``tls_host`` is set; HTTP/2 when
    the server chose ``h2``); closes it.

    Raises:
        _Refused: the certificate failed validation (nothing was sent).
    """
    request = base.request
    sock: socket.socket = raw_sock
    ip = None if proxy is not None else str(raw_sock.getpeername()[0])
    session, sent = None, False
    try:
        stopper.track(raw_sock)
        if tls_host is not None:
            tls_sock = tls.wrap_socket(
                raw_sock, server_hostname=tls_host, do_handshake_on_connect=False
            )
            stopper.swap(raw_sock, tls_sock)  # the TLS socket took the connection over
            sock = tls_sock
            try:
                tls_sock.do_handshake()
            except ssl.SSLCertVerificationError as exc:
                why = f"{exc.verify_message} (OpenSSL verify code {exc.verify_code})"
                raise _Refused(why, _chain(tls_sock)) from None
            session = _session(tls_sock, refused)
        sock.settimeout(limits.read_timeout)
        if isinstance(sock, ssl.SSLSocket) and sock.selected_alpn_protocol() == "h2":
            done = http2.exchange(base, sock, limits, stopper)
            return replace(done, ip=ip, tls=session)
        sock.sendall(head + request.body)
        sent = True
        with sock.makefile("rb") as rfile:
            raw = http1.read_head(rfile)
            status_line, status, fields = http1.parse_head(raw)
            while 100 <= status < 200 and status != 101:  # interim responses
                raw = http1.read_head(rfile)
                status_line, status, fields = http1.parse_head(raw)
            body = http1.Body(rfile, limits.max_resource_bytes, stopper, sock)
            http1.read_body(request.method, status, fields, body)
        response = Response(status_line, status, fields, raw, bytes(body.data), body.truncated)
        return replace(base, ip=ip, tls=session, response=response, sent=True)
    except (OSError, ValueError) as exc:
        cut = stopper.was_cut(sock)
        why = "capture stopped" if cut else f"{type(exc).__name__}: {exc}"
        return replace(base, ip=ip, tls=session, error=why, sent=sent)
    finally:
        stopper.forget(sock)
        stopper.forget(raw_sock)
        sock.close()
        raw_sock.close()


def _chain(sock: ssl.SSLSocket) -> tuple[bytes, ...]:
    """The certificates the server presented in this session, DER, leaf first."""
    chain: tuple[bytes, ...] = ()
    sslobj = getattr(sock, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)  # private until Python 3.13
    if getter is not None:
        chain = tuple(c.public_bytes(_ssl.ENCODING_DER) for c in getter() or ())
    if not chain:
        with contextlib.suppress(ValueError):
            if leaf := sock.getpeercert(binary_form=True):
                chain = (leaf,)
    return chain


def _session(sock: ssl.SSLSocket, refused: tuple[str, tuple[bytes, ...]] | None) -> TlsSession:
    chain = _chain(sock)
    cipher = sock.cipher()
    error = None
    if refused is not None:
        error = refused[0]
        if refused[1] and refused[1] != chain:
            error += "; this session presented another chain than the refused handshake"
    return TlsSession(sock.version() or "", cipher[0] if cipher else "", chain, error)
