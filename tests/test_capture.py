"""Web capture: real Chromium against a real local site (HTTP and HTTPS)."""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import json
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import brotlicffi  # type: ignore[import-untyped]  # no type information shipped
import pytest
import typer
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from custody import keys, log, signing
from custody import verify as case_verify
from custody.capture import batch, guard, http1
from custody.capture.browser import BrowserSession
from custody.capture.recorder import (
    Limits,
    OutgoingRequest,
    Response,
    Stopper,
    browser_view,
    check_capture_warc,
)
from custody.capture.units import check_capture, read_record
from custody.capture.web import CaptureOptions, CaptureResult, capture_page
from custody.case import Case, open_case
from custody.cli import capture_cmds
from custody.errors import ExitCode, UsageError
from custody.report import Report
from custody.warc import verify_warc

from . import capture_server
from .capture_server import (
    BR_PAGE,
    BR_PAGE_MARKER,
    BR_SCRIPT,
    BR_SCRIPT_MARKER,
    BR_TEXT,
    CHUNKS,
    FRAME_MARKER,
    GZ_SCRIPT,
    MARKER,
    Site,
    brotli_stored,
)
from .conftest import Runner, make_case

# The local site and the Chromium, one each per test process (see capture_server).
site = capture_server.site
browser = capture_server.browser

PAGE_PATHS = [
    *("/start", "/", "/style.css", "/app.js", "/gz.js", "/img.png", "/old-image"),
    *("/moved.png", "/data.json", "/chunked.txt", "/bg.png", "/lazy.png", "/missing.png"),
    *("/frame.html", "/frame.png", "/font.woff2", "/br.txt"),
]
SNAPSHOT_TYPES = {
    "screenshot": "image/png",
    "pdf": "application/pdf",
    "dom": "text/html; charset=utf-8",
    "text": "text/plain; charset=utf-8",
}


# --- helpers (the site and browser fixtures come from capture_server) ---------------------


def _signer(home: Path) -> signing.Signer:
    identity = keys.read_identity(home)
    assert identity is not None
    return keys.load_key(home, identity.key_id, "correct horse battery staple")


def _capture(
    tmp_path: Path, cli: Runner, browser: BrowserSession, url: str, **options: Any
) -> tuple[Case, CaptureResult]:
    case = open_case(make_case(tmp_path, cli, files=0))
    home = keys.custody_home()
    policy = options.pop("policy", None)
    opts = CaptureOptions(**({"allow_private": True, "timeout": 20.0} | options))
    result = capture_page(
        case, url, opts, signer=_signer(home), home=home, browser=browser, policy=policy
    )
    return case, result


class Borrowed:
    """The shared browser, lent to code that closes the browsers it launches."""

    def __init__(self, session: BrowserSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def close(self) -> None:
        pass


def _records(path: Path) -> list[dict[str, Any]]:
    out = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            h = rec.rec_headers
            out.append(
                {
                    "type": rec.rec_type,
                    "uri": h.get_header("WARC-Target-URI"),
                    "ip": h.get_header("WARC-IP-Address"),
                    "truncated": h.get_header("WARC-Truncated"),
                    "protocols": [v for n, v in h.headers if n == "WARC-Protocol"],
                    "content_type": h.get_header("Content-Type"),
                    "http": rec.http_headers,
                    "body": rec.raw_stream.read(),
                }
            )
    return out


def _snapshot(result: CaptureResult, role: str) -> bytes:
    """The content of a capture's snapshot or provenance record, read from its WARC."""
    return read_record(result.artifacts["warc"].path, result.records[role].offset)[1]


def _verify_case(case: Case) -> Report:
    """custody verify --deep of the case, with every capture's records re-checked
    (the wiring of custody.capture.units.check_capture into custody.verify)."""
    report = case_verify.verify_case(case, deep=True)
    found = {(f.code, f.message) for f in report.findings}
    for line in case.entries.read_bytes().splitlines():
        entry = log.decode_entry(line)
        if entry.type == "capture":
            for problem in check_capture(case, entry):
                message = f"entry {entry.seq}: {problem.message}"
                if (problem.code, message) not in found:  # not wired into verify yet
                    report.error(problem.code, message)
    return report


# --- browser captures -------------------------------------------------------------------


@pytest.mark.slow
def test_capture_local_page(
    tmp_path: Path,
    home: Path,
    cli: Runner,
    browser: BrowserSession,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    case, result = _capture(tmp_path, cli, browser, site.base + "/start", note="from A.")
    assert result.reasons == () and result.exit_code == ExitCode.OK
    assert result.final_url == site.base + "/"
    warc = result.artifacts["warc"].path
    with warc.open("rb") as fh:
        assert verify_warc(fh, own=True).findings == ()
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", str(warc)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    records = _records(warc)
    assert records[0]["type"] == "warcinfo"
    for path in PAGE_PATHS:
        kinds = {r["type"] for r in records if r["uri"] == site.base + path}
        assert {"request", "response"} <= kinds, path
    responses = {r["uri"][len(site.base) :]: r for r in records if r["type"] == "response"}
    assert all(
        r["ip"] == "127.0.0.1" and r["protocols"] == ["http/1.1"] for r in responses.values()
    )
    gz = responses["/gz.js"]  # stored still compressed, byte for byte, with its header
    assert gz["http"].get_header("Content-Encoding") == "gzip"
    assert gz["body"] == site.sent["/gz.js"] and gzip.decompress(gz["body"]) == GZ_SCRIPT
    br = responses["/br.txt"]  # br too (a coding sent whatever the request accepted)
    assert br["http"].get_header("Content-Encoding") == "br"
    assert br["body"] == site.sent["/br.txt"] == brotli_stored(BR_TEXT)
    assert responses["/chunked.txt"]["body"] == b"".join(CHUNKS)  # transfer coding undone
    assert responses["/start"]["http"].get_statuscode() == "302"
    assert responses["/missing.png"]["http"].get_statuscode() == "404"
    assert FRAME_MARKER.encode() in responses["/frame.html"]["body"]
    assert responses["/"]["body"] == site.sent["/"]
    # the snapshots and, last, the provenance: records of the same WARC
    prov = json.loads(_snapshot(result, "provenance"))
    capture_id = prov["capture_id"]
    assert f"capture-id: {capture_id}" in records[0]["body"].decode()
    tail = records[-5:]
    assert [r["type"] for r in tail] == ["resource"] * 4 + ["metadata"]
    for rec, (role, ctype) in zip(tail, [*SNAPSHOT_TYPES.items(), ("provenance", "")], strict=True):
        assert rec["uri"] == f"urn:custody:{role}:{capture_id}"
        assert result.records[role].target_uri == rec["uri"]
        if ctype:
            assert rec["content_type"] == ctype
            assert prov["snapshots"][role]["sha256"] == hashlib.sha256(rec["body"]).hexdigest()
            assert prov["snapshots"][role]["record_id"] == result.records[role].record_id
    assert tail[-1]["content_type"] == "application/json"
    assert prov["records"] == len(records) - 1 == result.units["count"] - 1
    assert _snapshot(result, "screenshot").startswith(b"\x89PNG\r\n\x1a\n")
    assert _snapshot(result, "pdf").startswith(b"%PDF-")
    dom = _snapshot(result, "dom").decode("utf-8")
    assert MARKER in dom and "GZIP-DECODED-OK" in dom and "FETCHED-BY-SCRIPT" in dom
    assert MARKER in _snapshot(result, "text").decode("utf-8")
    assert prov["status"] == "COMPLETE" and prov["reasons"] == []
    assert prov["redirects"] == [{"url": site.base + "/start", "status": 302}]
    assert prov["scroll_steps"] >= 2 and prov["browser"]["version"] == browser.version
    assert prov["user_agent"].startswith("Mozilla/5.0") and prov["blocked"] == []
    entries = case.entries.read_bytes()
    last = log.decode_entry(entries.splitlines()[-1])
    assert last.type == "capture" and last.seq == result.seq
    assert set(last.subject) == {"artifact", "details", "artifacts", "units", "status"}
    assert set(last.subject["artifacts"]) == {"disclosures"}
    assert last.subject["units"] == result.units and result.units["count"] == len(records)
    assert b"127.0.0.1" not in entries and b"from A." not in entries  # commitments only
    report = _verify_case(case)
    assert report.ok, [f.to_dict() for f in report.findings]
    kinds = {a["kind"] for a in report.artifacts if a["kind"].startswith("capture-")}
    assert kinds == {f"capture-{k}" for k in ("warc", "commitments", "disclosures", "details")}
    assert check_capture_warc(warc) == []
    warc.chmod(0o644)  # one flipped byte inside the gzip member of a record
    data = bytearray(warc.read_bytes())
    data[len(data) // 3] ^= 0x01
    warc.write_bytes(bytes(data))
    report = _verify_case(case)
    assert not report.ok
    assert {f.code for f in report.findings} == {"artifact-altered", "record-altered"}
    assert check_capture_warc(warc) != []
    code, _, _ = cli("verify", str(case.root))
    assert code == ExitCode.NOT_VERIFIED


@pytest.mark.slow
def test_capture_https_keeps_the_session_certificate_chain(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    assert site.https_base is not None
    url = site.https_base + "/"
    _, result = _capture(tmp_path, cli, browser, url, extra_ca_file=site.ca_file)
    assert result.exit_code == ExitCode.OK, result.reasons
    records = _records(result.artifacts["warc"].path)
    page = next(r for r in records if r["type"] == "response" and r["uri"] == url)
    assert page["protocols"][0] == "http/1.1" and page["protocols"][1].startswith("tls/1.")
    chains = [r for r in records if r["type"] == "metadata" and r["uri"] == url]
    assert len(chains) == 1
    pems = chains[0]["body"].decode().split("-----END CERTIFICATE-----")[:-1]
    assert len(pems) == 2  # the leaf and the CA, as the server sent them
    leaf = ssl.PEM_cert_to_DER_cert(pems[0] + "-----END CERTIFICATE-----\n")
    prov = json.loads(_snapshot(result, "provenance"))
    tls = prov["tls"][site.https_base]
    assert tls["chain_sha256"][0] == hashlib.sha256(leaf).hexdigest()
    assert tls["verified"] is True and tls["verify_error"] is None


@pytest.mark.slow
def test_certificate_that_fails_validation_is_captured_with_the_result(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    """A self-signed server: recorded all the same, its chain kept, the validation
    failure in the provenance, and the capture PARTIAL."""
    assert site.selfsigned_base is not None
    url = site.selfsigned_base + "/data.json"
    case, result = _capture(tmp_path, cli, browser, url)
    assert result.exit_code == ExitCode.PARTIAL
    origin = site.selfsigned_base
    assert (
        len(result.reasons) == 1
        and f"TLS certificate of {origin} did not validate" in (result.reasons[0])
    )
    assert "self-signed certificate" in result.reasons[0]
    records = _records(result.artifacts["warc"].path)
    page = next(r for r in records if r["type"] == "response" and r["uri"] == url)
    assert page["body"] == site.sent["/data.json"] and page["protocols"][1].startswith("tls/1.")
    chain = next(r for r in records if r["type"] == "metadata" and r["uri"] == origin + "/")
    der = ssl.PEM_cert_to_DER_cert(chain["body"].decode())
    prov = json.loads(_snapshot(result, "provenance"))
    tls = prov["tls"][origin]
    assert tls["verified"] is False and "self-signed certificate" in tls["verify_error"]
    assert "another chain" not in tls["verify_error"]  # the same chain both times
    assert tls["chain_sha256"] == [hashlib.sha256(der).hexdigest()]
    assert prov["status"] == "PARTIAL" and prov["reasons"] == list(result.reasons)
    assert _verify_case(case).ok


@pytest.mark.slow
def test_blocked_subresource_makes_a_partial_capture(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    class NotTwo(guard.AddressPolicy):
        def problem(self, ip: guard.IPAddress) -> str | None:
            return "test-refused" if ip == ipaddress.ip_address("127.0.0.2") else None

    url = site.base + "/blocked-image"
    _, result = _capture(tmp_path, cli, browser, url, policy=NotTwo(allow_private=True))
    assert result.exit_code == ExitCode.PARTIAL
    assert any("blocked" in r for r in result.reasons)
    prov = json.loads(_snapshot(result, "provenance"))
    port = site.base.rsplit(":", 1)[1]
    assert prov["blocked"][0]["url"] == f"http://127.0.0.2:{port}/img.png"
    assert "test-refused" in prov["blocked"][0]["reason"]
    uris = {r["uri"] for r in _records(result.artifacts["warc"].path)}
    assert url in uris and f"http://127.0.0.2:{port}/img.png" not in uris


@pytest.mark.slow
def test_page_that_never_finishes_is_partial_and_kept(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    case, result = _capture(tmp_path, cli, browser, site.base + "/hang", timeout=2.0)
    assert result.exit_code == ExitCode.PARTIAL
    assert any("did not finish loading within 2 s" in r for r in result.reasons)
    records = _records(result.artifacts["warc"].path)
    hung = next(r for r in records if r["type"] == "response" and r["uri"].endswith("/never"))
    assert hung["truncated"] == "time" and hung["body"] == b"\x89PNG"
    assert _snapshot(result, "screenshot").startswith(b"\x89PNG")
    last = log.decode_entry(case.entries.read_bytes().splitlines()[-1])
    assert last.type == "capture" and last.subject["status"] == "PARTIAL"
    assert _verify_case(case).ok


@pytest.mark.slow
def test_cli_capture_json(
    tmp_path: Path,
    home: Path,
    cli: Runner,
    browser: BrowserSession,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "BrowserSession", lambda: Borrowed(browser))
    case = make_case(tmp_path, cli, files=0)
    app = typer.Typer()
    capture_cmds.register(app)
    app.command("noop")(lambda: None)  # keep typer from collapsing to a single command
    args = ["capture", site.base + "/", "--allow-private", "--case", str(case), "--json"]
    got = CliRunner().invoke(app, args)
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert doc["case"] == str(case) and len(doc["captures"]) == 1
    row = doc["captures"][0]
    assert row["status"] == "COMPLETE" and row["final_url"] == site.base + "/"
    assert row["exit_code"] == 0 and row["url"] == site.base + "/"
    for artifact in row["artifacts"].values():
        stored = case / artifact["path"]
        assert stored.is_file() and stored.name == artifact["sha256"]
    assert set(row["artifacts"]) == {"warc", "commitments", "disclosures"}
    assert set(row["records"]) == {"screenshot", "pdf", "dom", "text", "provenance"}
    warc = case / row["artifacts"]["warc"]["path"]
    shot = row["records"]["screenshot"]
    assert read_record(warc, shot["offset"])[1].startswith(b"\x89PNG")


# --- refusals (no browser needed) --------------------------------------------------------


def test_private_address_refused_before_anything_is_written(
    tmp_path: Path, home: Path, cli: Runner, site: Site
) -> None:
    case = make_case(tmp_path, cli, files=0)
    before = sorted(p.relative_to(case) for p in case.rglob("*"))
    app = typer.Typer()
    capture_cmds.register(app)
    app.command("noop")(lambda: None)  # keep typer from collapsing to a single command
    got = CliRunner().invoke(app, ["capture", site.base + "/", "--case", str(case)])
    assert isinstance(got.exception, guard.BlockedAddressError)
    assert got.exception.exit_code == ExitCode.INVALID_INPUT
    assert "loopback" in got.exception.message and "--allow-private" in (got.exception.hint or "")
    assert sorted(p.relative_to(case) for p in case.rglob("*")) == before


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.org/", "javascript:alert(1)", "http://"]
)
def test_only_http_urls(tmp_path: Path, home: Path, cli: Runner, url: str) -> None:
    case = open_case(make_case(tmp_path, cli, files=0))
    with pytest.raises(UsageError):
        capture_page(case, url, CaptureOptions(), signer=_signer(home), home=home)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("192.0.0.8", "IETF"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "IPv4-mapped form of a loopback"),
        ("64:ff9b::7f00:1", "NAT64 form of a loopback"),
        ("2002:7f00:1::", "6to4 form of a loopback"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "private"),  # noqa: S104  # an address under test, not a bind
    ],
)
def test_address_policy_refuses(address: str, why: str) -> None:
    problem = guard.address_problem(ipaddress.ip_address(address))
    assert problem is not None and why in problem
    assert guard.AddressPolicy(allow_private=True).problem(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808"])
def test_address_policy_allows_public(address: str) -> None:
    assert guard.address_problem(ipaddress.ip_address(address)) is None


def test_odd_spellings_resolve_to_what_is_checked() -> None:
    policy = guard.AddressPolicy()
    for host in ("2130706433", "0x7f.1", "127.1", "localhost"):
        with pytest.raises(guard.BlockedAddressError):
            guard.check_target(host, 80, policy)


# --- the recorder's own HTTP client ------------------------------------------------------


def _perform(url: str, policy: guard.AddressPolicy | None = None, **limits: Any) -> Any:
    request = OutgoingRequest("GET", url, (("User-Agent", "test"),))
    return guard.perform(
        request,
        policy or guard.AddressPolicy(allow_private=True),
        Limits(**limits),
        Stopper(),
        ssl.create_default_context(),
    )


def test_perform_keeps_bodies_as_received(site: Site) -> None:
    ex = _perform(site.base + "/gz.js")
    assert ex.sent and ex.ip == "127.0.0.1" and ex.response is not None
    assert ex.response.body == site.sent["/gz.js"]
    assert ("Accept-Encoding", "gzip, deflate, br") in ex.sent_headers  # loopback: br too
    headers, body = browser_view(ex.response, 1 << 20)
    assert body == GZ_SCRIPT and not any(n.lower() == "content-encoding" for n, _ in headers)
    chunked = _perform(site.base + "/chunked.txt").response
    assert chunked.body == b"".join(CHUNKS) and chunked.truncated is None


def test_perform_blocks_refused_addresses_without_connecting(site: Site) -> None:
    ex = _perform(site.base + "/", guard.AddressPolicy())
    assert ex.blocked is not None and "loopback" in ex.blocked
    assert not ex.sent and ex.response is None and ex.ip is None


def test_perform_cuts_bodies_at_the_limit(site: Site) -> None:
    ex = _perform(site.base + "/", max_resource_bytes=100)
    assert ex.response.truncated == "length" and len(ex.response.body) == 100


def test_browser_view_refuses_a_decompression_bomb() -> None:
    bomb = gzip.compress(b"\0" * (10 << 20))
    response = Response("HTTP/1.1 200 OK", 200, (("Content-Encoding", "gzip"),), b"", bomb)
    with pytest.raises(ValueError, match="larger than"):
        browser_view(response, 1 << 20)


# --- content codings: br decoded for the browser, recorded as sent ------------------------


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_brotli_page_renders_and_is_recorded_as_sent(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site, scheme: str
) -> None:
    """A server that sends real Brotli because custody asked for br (as Chromium does over
    https and to loopback hosts): the browser renders the decoded page and runs its decoded
    script, and the WARC holds the compressed bytes exactly as sent."""
    base = site.base if scheme == "http" else site.https_base
    assert base is not None
    _, result = _capture(tmp_path, cli, browser, base + "/br-page.html", extra_ca_file=site.ca_file)
    assert result.exit_code == ExitCode.OK, result.reasons
    text = _snapshot(result, "text").decode("utf-8")
    assert BR_PAGE_MARKER in text and BR_SCRIPT_MARKER in text and "Grüße, ünïcödé, 10 €" in text
    dom = _snapshot(result, "dom").decode("utf-8")
    assert "<title>Brotli page</title>" in dom
    records = _records(result.artifacts["warc"].path)
    for path, content in (("/br-page.html", BR_PAGE), ("/br.js", BR_SCRIPT)):
        url = base + path
        response = next(r for r in records if r["type"] == "response" and r["uri"] == url)
        request = next(r for r in records if r["type"] == "request" and r["uri"] == url)
        assert request["http"].get_header("Accept-Encoding") == "gzip, deflate, br"
        assert response["http"].get_header("Content-Encoding") == "br"
        assert response["body"] == site.sent[path]  # the compressed bytes, as sent
        assert brotlicffi.decompress(response["body"]) == content != response["body"]
    assert site.received["/br-page.html"][-1]["Accept-Encoding"] == "gzip, deflate, br"
    prov = json.loads(_snapshot(result, "provenance"))
    assert prov["failed"] == [] and prov["counts"]["failed"] == 0


@pytest.mark.parametrize(
    ("scheme", "host", "expected"),
    [
        pytest.param("https", "example.com", "gzip, deflate, br", id="https"),
        pytest.param("http", "example.com", "gzip, deflate", id="plain-http"),
        pytest.param("http", "10.0.0.5", "gzip, deflate", id="private-not-loopback"),
        pytest.param("http", "127.0.0.1", "gzip, deflate, br", id="ipv4-loopback"),
        pytest.param("http", "127.3.2.1", "gzip, deflate, br", id="ipv4-loopback-net"),
        pytest.param("http", "::1", "gzip, deflate, br", id="ipv6-loopback"),
        pytest.param("http", "localhost", "gzip, deflate, br", id="localhost"),
        pytest.param("http", "localhost.", "gzip, deflate, br", id="localhost-dot"),
        pytest.param("http", "app.localhost", "gzip, deflate, br", id="sub-localhost"),
        pytest.param("http", "localhost.example", "gzip, deflate", id="not-localhost"),
    ],
)
def test_accept_encoding_follows_chromium(scheme: str, host: str, expected: str) -> None:
    """Chromium's rule (measured with Chromium 156: "gzip, deflate, br, zstd" over https and
    to loopback, else "gzip, deflate"), less zstd."""
    assert http1.accept_encoding(scheme, host) == expected


def _encoded(coding: str, body: bytes) -> Response:
    headers = (("Content-Type", "text/plain"), ("Content-Encoding", coding))
    return Response("HTTP/1.1 200 OK", 200, headers, b"", body)


def test_browser_view_decodes_br_and_chains() -> None:
    text = b"Brotli for the browser. " * 500
    headers, body = browser_view(_encoded("br", brotlicffi.compress(text)), 1 << 20)
    assert body == text and headers == (("Content-Type", "text/plain"),)
    both = brotlicffi.compress(gzip.compress(text, mtime=0))  # gzip first, then br
    assert browser_view(_encoded("gzip, br", both), 1 << 20)[1] == text
    stored = brotli_stored(BR_TEXT)  # uncompressed meta-blocks: valid Brotli too
    assert browser_view(_encoded("BR", stored), 1 << 20)[1] == BR_TEXT


@pytest.mark.parametrize(
    ("coding", "body", "match"),
    [
        pytest.param("br", brotlicffi.compress(b"\0" * (10 << 20)), "larger than", id="br-bomb"),
        pytest.param("br", brotlicffi.compress(BR_TEXT * 50)[:-4], "ends early", id="br-truncated"),
        pytest.param("br", b"not brotli at all", "br:", id="br-garbage"),
        pytest.param("br", brotlicffi.compress(b"x") + b"junk", "br:", id="br-trailing-bytes"),
        pytest.param("zstd", b"(\xb5/\xfd", "not decodable", id="zstd"),
        pytest.param("gzip, zstd", b"", "not decodable", id="zstd-in-a-chain"),
    ],
)
def test_browser_view_refuses_what_it_cannot_hand_over(
    coding: str, body: bytes, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        browser_view(_encoded(coding, body), 1 << 20)


def test_browser_view_passes_unknown_codings_through() -> None:
    """As Chromium does with a coding it does not know: the body as it is, header kept."""
    response = _encoded("x-custom, br", b"opaque bytes")
    headers, body = browser_view(response, 1 << 20)
    assert body == b"opaque bytes" and ("Content-Encoding", "x-custom, br") in headers
