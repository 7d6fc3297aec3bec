"""The investigator's own upstream proxy (``custody capture --proxy URL``).

Only ``http://[user:password@]host:port`` proxies. Every request custody performs for the
browser then goes through an HTTP ``CONNECT`` tunnel, for https *and* http targets, so
the bytes inside the tunnel (and so the WARC's request and response records) are the
same as without a proxy: the origin server's answer, not a proxy's rewrite of it. TLS
runs end to end inside the tunnel and is checked as without a proxy.

What changes with a proxy, and is recorded in the provenance (``proxy``):

- the address connected is the proxy's; the origin's address is the proxy's business,
  so response records carry no ``WARC-IP-Address``;
- the address policy cannot see which address the proxy connects to: custody resolves
  each target host itself and refuses it when *any* of its addresses is refused (not
  only when all are), and the proxy resolves again (so rebinding between the two is not
  excluded). With ``--allow-private`` custody does no lookup of its own and the proxy
  alone resolves names;
- the proxy's credentials are sent in ``Proxy-Authorization`` to the proxy only; they are
  never recorded (the ``CONNECT`` exchange is not part of the WARC) and the provenance
  names the proxy without them.
"""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from custody.errors import NetworkError, UsageError

MAX_HEAD = 1 << 16
METHOD = (
    "every request sent through an HTTP CONNECT tunnel to the origin (http and https "
    "alike), TLS end to end inside it; the proxy's own exchange is not recorded"
)
ADDRESS_CHECK = (
    "each target host resolved by custody and refused if any address is refused; the "
    "proxy resolves again and connects where it chooses"
)


@dataclass(frozen=True, slots=True)
class Proxy:
    """An upstream HTTP proxy; its credentials never appear in ``repr`` or the provenance."""

    host: str
    port: int
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> Proxy:
        """A proxy from ``http://[user:password@]host:port``.

        Raises:
            UsageError: not such a URL (another scheme, no host or port, a path).
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise UsageError(f"not a proxy URL: {exc}") from None
        if parts.scheme.lower() != "http" or not parts.hostname:
            raise UsageError(
                "the proxy must be an http:// URL (http://host:port)",
                hint="custody speaks HTTP CONNECT to the proxy; SOCKS and https:// are not "
                "supported",
            )
        if port is None:
            raise UsageError("give the proxy's port: http://host:port")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise UsageError("a proxy URL has no path, query or fragment")
        user = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, user, password)

    @property
    def public_url(self) -> str:
        """The proxy's URL without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` value (Basic), or None without credentials."""
        if self.username is None:
            return None
        pair = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")

    def describe(self, *, address_check: bool) -> dict[str, Any]:
        """What the provenance records about the proxy (never its credentials)."""
        return {
            "url": self.public_url,
            "authenticated": self.username is not None,
            "method": METHOD,
            "address_check": ADDRESS_CHECK if address_check else "none (--allow-private)",
        }


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _read_head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("the proxy closed the connection")
        data += chunk
        if len(data) > MAX_HEAD:
            raise ConnectionError("the proxy's response head is larger than 64 KiB")
    head, _, rest = data.partition(b"\r\n\r\n")
    if rest:
        raise ConnectionError("the proxy sent data before the tunnel was used")
    return head


def open_tunnel(proxy: Proxy, host: str, port: int, timeout: float) -> socket.socket:
    """A connection to ``host``:``port`` through ``proxy`` (CONNECT), ready for the request.

    Raises:
        NetworkError: the proxy cannot be reached, refuses the tunnel or answers oddly.
    """
    try:
        sock = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
    except OSError as exc:
        raise NetworkError(f"cannot connect to the proxy {proxy.public_url}: {exc}") from exc
    authority = _authority(host, port)
    try:
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}"]
        if (auth := proxy.authorization()) is not None:
            lines.append(f"Proxy-Authorization: {auth}")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii"))
        head = _read_head(sock)
    except (OSError, UnicodeError) as exc:
        sock.close()
        raise NetworkError(f"the proxy {proxy.public_url} failed: {exc}") from exc
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    code = status_line.split(" ", 2)[1:2]
    if not status_line.startswith("HTTP/1.") or not code or not code[0].startswith("2"):
        sock.close()
        raise NetworkError(
            f"the proxy {proxy.public_url} refused CONNECT {authority}: {status_line[:200]}"
        )
    return sock
