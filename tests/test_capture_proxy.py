"""--proxy: every request through the investigator's HTTP proxy (CONNECT), real sockets.

The proxy is a small real CONNECT proxy on 127.0.0.1 (a thread), with Basic auth; it
logs the tunnels it opened, so the tests see that the requests went through it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from custody.capture import guard
from custody.capture.browser import BrowserSession
from custody.capture.proxy import Proxy
from custody.capture.recorder import Limits, OutgoingRequest, Stopper
from custody.capture.web import CaptureOptions, capture_page
from custody.case import open_case
from custody.errors import ExitCode, UsageError

from . import capture_server
from .capture_server import Site
from .conftest import Runner, make_case
from .test_capture import _records, _signer, _snapshot

site = capture_server.site
browser = capture_server.browser

USER, PASSWORD = "ana", "pr0xy-s3cret"


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A CONNECT-only HTTP proxy that wants Basic auth and logs every tunnel."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Tunnel)
        self.tunnels: list[str] = []
        self.refused: list[str] = []
        self.auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Tunnel(socketserver.StreamRequestHandler):
    server: ConnectProxy

    def handle(self) -> None:
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            byte = self.rfile.read(1)
            if not byte:
                return
            head += byte
        lines = head.decode("latin-1").split("\r\n")
        method, authority, _ = lines[0].split(" ", 2)
        fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        if method != "CONNECT" or fields.get("Proxy-Authorization") != self.server.auth:
            self.server.refused.append(lines[0])
            self.wfile.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n")
            self.wfile.write(b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n')
            return
        host, _, port = authority.rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=30)
        self.server.tunnels.append(authority)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        back = threading.Thread(target=_pipe, args=(upstream, self.connection), daemon=True)
        back.start()
        _pipe(self.connection, upstream)
        back.join(30)
        upstream.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    server = ConnectProxy()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _url(proxy: ConnectProxy, password: str = PASSWORD) -> str:
    return f"http://{USER}:{password}@127.0.0.1:{proxy.port}"


def _perform(url: str, proxy: Proxy, policy: guard.AddressPolicy | None = None) -> Any:
    request = OutgoingRequest("GET", url, (("User-Agent", "test"),))
    policy = policy or guard.AddressPolicy(allow_private=True)
    return guard.perform(request, policy, Limits(), Stopper(), ssl.create_default_context(), proxy)


# --- through the proxy, with real Chromium ------------------------------------------------


@pytest.mark.slow
def test_capture_through_a_connect_proxy(
    tmp_path: Path,
    home: Path,
    cli: Runner,
    browser: BrowserSession,
    site: Site,
    proxy: ConnectProxy,
) -> None:
    assert site.https_base is not None
    case = open_case(make_case(tmp_path, cli, files=0))
    options = CaptureOptions(
        allow_private=True,
        timeout=20.0,
        proxy=Proxy.parse(_url(proxy)),
        extra_ca_file=site.ca_file,
    )
    signer = _signer(home)
    # the full test page over http; a small page over https
    for url in (site.base + "/", site.https_base + "/account"):
        result = capture_page(case, url, options, signer=signer, home=home, browser=browser)
        assert result.exit_code == ExitCode.OK, result.reasons
        records = _records(result.artifacts["warc"].path)
        responses = [r for r in records if r["type"] == "response"]
        assert len(responses) == result.counts["recorded"] >= (8 if url[4] == ":" else 1)
        assert all(r["ip"] is None for r in responses)  # the proxy connected, not custody
        prov_bytes = _snapshot(result, "provenance")
        prov = json.loads(prov_bytes)
        assert prov["proxy"]["url"] == f"http://127.0.0.1:{proxy.port}"
        assert prov["proxy"]["authenticated"] is True
        assert prov["options"]["proxy"] == f"http://127.0.0.1:{proxy.port}"
        assert PASSWORD.encode() not in prov_bytes
        assert not any(PASSWORD.encode() in r["body"] for r in records)
        warcinfo = records[0]["body"].decode()
        assert f"proxy: http://127.0.0.1:{proxy.port} (HTTP CONNECT)" in warcinfo
    https_port = site.https_base.rsplit(":", 1)[1]
    http_port = site.base.rsplit(":", 1)[1]
    assert f"127.0.0.1:{http_port}" in proxy.tunnels  # http targets tunnel too
    assert f"localhost:{https_port}" in proxy.tunnels  # the name: the proxy resolves it
    assert set(proxy.tunnels) == {f"127.0.0.1:{http_port}", f"localhost:{https_port}"}
    assert not proxy.refused
    # the TLS session was end to end through the tunnel: the site's own chain was kept
    assert prov["tls"][site.https_base]["ip"] is None
    assert len(prov["tls"][site.https_base]["chain_sha256"]) == 2


# --- the request path, without a browser --------------------------------------------------


def test_wrong_proxy_credentials_fail_the_request(site: Site, proxy: ConnectProxy) -> None:
    ex = _perform(site.base + "/", Proxy.parse(_url(proxy, "wrong")))
    assert not ex.sent and ex.response is None
    assert "refused CONNECT" in ex.error and "407" in ex.error
    assert proxy.refused and not proxy.tunnels


def test_proxy_that_is_down_is_a_network_failure(site: Site) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    ex = _perform(site.base + "/", Proxy.parse(f"http://127.0.0.1:{port}"))
    assert ex.error is not None and "cannot connect to the proxy" in ex.error


def test_address_policy_still_applies_through_a_proxy(site: Site, proxy: ConnectProxy) -> None:
    ex = _perform(site.base + "/", Proxy.parse(_url(proxy)), guard.AddressPolicy())
    assert ex.blocked is not None and "loopback" in ex.blocked
    assert not proxy.tunnels and not proxy.refused  # the proxy was never asked
    with pytest.raises(guard.BlockedAddressError):
        guard.check_target("localhost", 80, guard.AddressPolicy(), proxied=True)


def test_proxied_response_is_the_origins(site: Site, proxy: ConnectProxy) -> None:
    ex = _perform(site.base + "/gz.js", Proxy.parse(_url(proxy)))
    assert ex.response is not None and ex.response.body == site.sent["/gz.js"]
    assert ex.ip is None and ex.request_line == "GET /gz.js HTTP/1.1"


# --- proxy URLs ----------------------------------------------------------------------------


def test_proxy_url_keeps_credentials_out_of_sight() -> None:
    p = Proxy.parse("http://ana%40work:p%3Ass@proxy.example:3128")
    assert (p.host, p.port, p.username, p.password) == ("proxy.example", 3128, "ana@work", "p:ss")
    assert p.public_url == "http://proxy.example:3128"
    assert "p:ss" not in repr(p) and "ana" not in repr(p)
    assert p.authorization() == "Basic " + base64.b64encode(b"ana@work:p:ss").decode()
    assert Proxy.parse("http://[::1]:8080/").public_url == "http://[::1]:8080"
    assert Proxy.parse("http://127.0.0.1:8080").authorization() is None
    assert "p:ss" not in json.dumps(p.describe(address_check=True))


@pytest.mark.parametrize(
    "url",
    [
        "socks5://127.0.0.1:1080",
        "https://proxy.example:443",
        "http://proxy.example",
        "http://:3128",
        "http://proxy.example:3128/path",
        "http://proxy.example:99999",
        "proxy.example:3128",
    ],
)
def test_bad_proxy_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        Proxy.parse(url)


def test_cli_refuses_a_bad_proxy(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    code, out, err = cli(
        "capture", "http://example.org/", "--proxy", "socks5://x:1", "--case", str(case)
    )
    assert code == ExitCode.USAGE and out == "" and "http:// URL" in err
