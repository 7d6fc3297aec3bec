"""HTTP/2 capture: custody's own client speaks h2 when an https server chooses it by ALPN.

Real servers (tests/h2_server.py: the h2 library over ssl; tests/capture_server.py for a
TLS server without ALPN), real Chromium, real warcio and pywb; no mocks.
"""

from __future__ import annotations

import gzip
import json
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from warcio.archiveiterator import ArchiveIterator

from custody.capture import guard, http2, wacz
from custody.capture.browser import BrowserSession
from custody.capture.credentials import PLACEHOLDER, Scrubber
from custody.capture.proxy import Proxy
from custody.capture.recorder import (
    Exchange,
    Limits,
    OutgoingRequest,
    Stopper,
    WarcRecorder,
    check_capture_warc,
)
from custody.errors import ExitCode
from custody.warc import verify_warc

from . import capture_server, test_capture_proxy
from .capture_server import Site
from .conftest import ROOT, Runner
from .h2_server import (
    H2_DATA,
    H2_MARKER,
    H2_SCRIPT,
    PARTIAL,
    REST,
    ROUTES,
    H2Site,
    serve_h2,
)
from .test_capture import _capture, _snapshot, _verify_case
from .test_wacz import PEERS, _get, _pywb

# The plain-TLS site (no ALPN at all) and the Chromium, one each per test process.
site = capture_server.site
browser = capture_server.browser
proxy = test_capture_proxy.proxy  # a CONNECT proxy (Basic auth), one per test

VALIDATOR = Draft202012Validator(
    json.loads((ROOT / "schemas" / "capture-http2.schema.json").read_text("utf-8"))
)
ANY = guard.AddressPolicy(allow_private=True)


@pytest.fixture(scope="module")
def h2site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H2Site]:
    with serve_h2(tmp_path_factory.mktemp("h2pki")) as running:
        yield running


def _context(ca: Path | None) -> ssl.SSLContext:
    assert ca is not None
    return ssl.create_default_context(cafile=str(ca))


def _perform(
    url: str, ca: Path | None, method: str = "GET", body: bytes = b"", **limits: Any
) -> Exchange:
    request = OutgoingRequest(method, url, (("User-Agent", "test"), ("Accept", "*/*")), body)
    return guard.perform(request, ANY, Limits(**limits), Stopper(), _context(ca))


def _write(tmp_path: Path, *exchanges: Exchange) -> Path:
    """The exchanges' records in a WARC file, checked by custody's strict reader and by
    ``warcio check``."""
    path = tmp_path / "exchanges.warc.gz"
    with path.open("xb") as out:
        recorder = WarcRecorder(out)
        for ex in exchanges:
            recorder.record(ex)
    with path.open("rb") as fh:
        assert verify_warc(fh, own=True).findings == ()
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    """Every record: WARC headers, the HTTP head (first line and fields) and the block."""
    out = []
    with path.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            h, http = rec.rec_headers, rec.http_headers
            item: dict[str, Any] = {
                "type": rec.rec_type,
                "id": h.get_header("WARC-Record-ID"),
                "uri": h.get_header("WARC-Target-URI"),
                "refers": h.get_header("WARC-Refers-To"),
                "truncated": h.get_header("WARC-Truncated"),
                "ctype": h.get_header("Content-Type"),
                "protocols": [v for n, v in h.headers if n == "WARC-Protocol"],
                "line": f"{http.protocol} {http.statusline}" if http is not None else None,
                "fields": list(http.headers) if http is not None else None,
                "body": rec.raw_stream.read(),
            }
            http_uri = str(item["uri"]).startswith(("http://", "https://"))
            if rec.rec_type == "metadata" and item["ctype"] == "application/json" and http_uri:
                item["doc"] = json.loads(item["body"])
                assert list(VALIDATOR.iter_errors(item["doc"])) == []
            out.append(item)
    return out


def _exchange_records(records: list[dict[str, Any]], url: str) -> dict[str, dict[str, Any]]:
    """The response, request and HTTP/2 metadata records of ``url``."""
    mine = [r for r in records if r["uri"] == url]
    found = {r["type"]: r for r in mine if r["type"] != "metadata"}
    for r in mine:
        if r["type"] == "metadata" and "doc" in r:
            found["http2"] = r
    return found


# --- a real page over HTTP/2, captured by real Chromium ---------------------------------


@pytest.mark.slow
def test_h2_page_is_captured_recorded_verified_and_replayed(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, h2site: H2Site
) -> None:
    base = h2site.base
    case, result = _capture(tmp_path, cli, browser, base + "/", extra_ca_file=h2site.ca_file)
    assert result.exit_code == ExitCode.OK, result.reasons
    dom = _snapshot(result, "dom").decode("utf-8")
    assert H2_MARKER in dom and "H2-GZIP-DECODED-OK" in dom and "H2-FETCHED-BY-SCRIPT" in dom
    warc = result.artifacts["warc"].path
    check = subprocess.run(
        [str(Path(sys.executable).parent / "warcio"), "check", str(warc)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check_capture_warc(warc) == []
    records = _records(warc)
    authority = base.removeprefix("https://")
    for path in ("/", "/gz.js", "/img.png", "/data.json"):
        got = _exchange_records(records, base + path)
        response, request, meta = got["response"], got["request"], got["http2"]
        status, fields, body = ROUTES[path]
        # the response: synthesized status line, the fields as received, WARC-Protocol h2
        assert response["line"] == "HTTP/1.1 200 OK" and response["protocols"] == ["h2", "tls/1.3"]
        assert response["fields"] == fields and response["body"] == body == h2site.sent[path]
        # the request: synthesized request line and Host, the fields as sent (lower case)
        assert request["line"] == f"GET {path} HTTP/1.1" and request["protocols"][0] == "h2"
        assert request["fields"][0] == ("Host", authority)
        assert all(n == n.lower() for n, _ in request["fields"][1:])
        # what the synthesis lost, in the metadata record
        doc = meta["doc"]
        assert meta["refers"] == response["id"] and doc["stream_id"] == 1
        pseudo = [[":method", "GET"], [":authority", authority], [":scheme", "https"]]
        assert doc["request"]["pseudo_headers"] == [*pseudo, [":path", path]]
        assert doc["request"]["header_names"] == [n for n, _ in request["fields"][1:]]
        block = [[":status", str(status)], *([n, v] for n, v in fields)]
        assert doc["response"]["header_block"] == block and doc["end"]["how"] == "end_stream"
        assert doc["lowercase_names"] is True
        # what the server got is what the records say was sent
        sent_block = h2site.received[path][-1]
        assert [list(f) for f in sent_block[:4]] == doc["request"]["pseudo_headers"]
        assert [(n, v) for n, v in sent_block[4:]] == request["fields"][1:]
    gz = _exchange_records(records, base + "/gz.js")["response"]  # compressed, as sent
    assert ("content-encoding", "gzip") in gz["fields"] and gzip.decompress(gz["body"]) == H2_SCRIPT
    report = _verify_case(case)
    assert report.ok, [f.to_dict() for f in report.findings]
    # export-wacz, and replay in a real pywb
    wacz_path = tmp_path / "h2.wacz"
    wacz.export_wacz(case, str(result.seq), wacz_path)
    if not (PEERS / "wayback").exists():
        pytest.skip(f"peer tools not installed in {PEERS.parent}: WACZ built, no replay")
    ts = _timestamp(warc, _exchange_records(records, base + "/")["response"]["id"])
    (tmp_path / "pywb").mkdir()
    with _pywb(tmp_path / "pywb", wacz_path) as coll:
        status, body = _get(f"{coll}/{ts}mp_/{base}/")
        assert status == 200 and H2_MARKER.encode() in body
        assert _get(f"{coll}/{ts}id_/{base}/data.json") == (200, H2_DATA)
        status, body = _get(f"{coll}/{ts}id_/{base}/gz.js")
        assert status == 200 and body in (h2site.sent["/gz.js"], H2_SCRIPT)
    shutil.rmtree(tmp_path / "pywb", ignore_errors=True)


def _timestamp(warc: Path, record_id: str) -> str:
    """The WARC-Date of a record as a 14-digit timestamp, as pywb's URLs take it."""
    with warc.open("rb") as fh:
        for rec in ArchiveIterator(fh):
            if rec.rec_headers.get_header("WARC-Record-ID") == record_id:
                return "".join(c for c in rec.rec_headers.get_header("WARC-Date") if c.isdigit())[
                    :14
                ]
    raise AssertionError(f"no record {record_id}")


@pytest.mark.slow
def test_h2_streams_ended_badly_make_a_partial_capture(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, h2site: H2Site
) -> None:
    base = h2site.base
    url = base + "/hostile.html"
    case, result = _capture(tmp_path, cli, browser, url, extra_ca_file=h2site.ca_file)
    assert result.exit_code == ExitCode.PARTIAL
    prov = json.loads(_snapshot(result, "provenance"))
    truncated = {t["url"]: t["reason"] for t in prov["truncated"]}
    assert truncated == {
        base + "/reset-mid-body": "WARC-Truncated: disconnect",
        base + "/goaway-mid-body": "WARC-Truncated: disconnect",
    }
    failed = {f["url"]: f["reason"] for f in prov["failed"]}
    assert "REFUSED_STREAM" in failed[base + "/refused"]
    records = _records(result.artifacts["warc"].path)
    refused = _exchange_records(records, base + "/refused")
    assert "response" not in refused  # a request record, and what happened to the stream
    assert refused["http2"]["refers"] == refused["request"]["id"]
    assert refused["http2"]["doc"]["response"] is None
    assert refused["http2"]["doc"]["end"]["error_code"] == "REFUSED_STREAM"
    assert _verify_case(case).ok


# --- the client, against the servers directly ---------------------------------------------


@pytest.mark.parametrize("which", ["alpn-http1", "no-alpn"])
def test_http1_only_tls_servers_still_work(
    tmp_path: Path, h2site: H2Site, site: Site, which: str
) -> None:
    """A server that selects http/1.1 by ALPN, and one that does no ALPN at all."""
    url, ca = h2site.http1_base + "/x", h2site.ca_file
    if which == "no-alpn":
        assert site.https_base is not None and site.ca_file is not None
        url, ca = site.https_base + "/data.json", site.ca_file
    ex = _perform(url, ca)
    assert ex.http2 is None and ex.response is not None and ex.error is None
    assert ex.response.status_line == "HTTP/1.1 200 OK"
    records = _records(_write(tmp_path, ex))
    assert [r["type"] for r in records[:2]] == ["response", "request"]
    assert records[0]["protocols"] == ["http/1.1", "tls/1.3"]
    assert not any(r["type"] == "metadata" and "doc" in r for r in records)


@pytest.mark.parametrize(
    ("path", "how", "code", "goaway"),
    [
        ("/reset-mid-body", "rst_stream", "INTERNAL_ERROR", None),
        ("/goaway-mid-body", "closed", None, {"error_code": "INTERNAL_ERROR", "last_stream_id": 1}),
    ],
    ids=["rst-stream", "goaway-then-close"],
)
def test_stream_ended_mid_body_is_recorded_cut_short(
    tmp_path: Path, h2site: H2Site, path: str, how: str, code: str | None, goaway: Any
) -> None:
    start = time.monotonic()
    ex = _perform(h2site.base + path, h2site.ca_file)
    assert time.monotonic() - start < 5  # not a hang: the end is seen at once
    assert ex.response is not None and ex.response.truncated == "disconnect"
    assert ex.response.body == PARTIAL
    records = _records(_write(tmp_path, ex))
    got = _exchange_records(records, h2site.base + path)
    assert got["response"]["truncated"] == "disconnect" and got["response"]["body"] == PARTIAL
    doc = got["http2"]["doc"]
    assert (doc["end"]["how"], doc["end"]["error_code"], doc["goaway"]) == (how, code, goaway)


def test_h2_through_a_connect_proxy(
    tmp_path: Path, h2site: H2Site, proxy: test_capture_proxy.ConnectProxy
) -> None:
    """TLS runs end to end inside the tunnel, so ALPN chooses h2 there too; the address
    connected is the proxy's, so no WARC-IP-Address."""
    request = OutgoingRequest("GET", h2site.base + "/data.json", (("User-Agent", "test"),))
    via = Proxy.parse(test_capture_proxy._url(proxy))
    ex = guard.perform(request, ANY, Limits(), Stopper(), _context(h2site.ca_file), via)
    assert ex.http2 is not None and ex.response is not None and ex.ip is None
    assert ex.response.body == H2_DATA and proxy.tunnels == [h2site.base[8:]]
    response = _records(_write(tmp_path, ex))[0]
    assert response["protocols"] == ["h2", "tls/1.3"] and response["body"] == H2_DATA


def test_refused_stream_gives_no_response_but_is_recorded(tmp_path: Path, h2site: H2Site) -> None:
    ex = _perform(h2site.base + "/refused", h2site.ca_file)
    assert ex.sent and ex.response is None and ex.error is not None
    assert "REFUSED_STREAM" in ex.error
    records = _records(_write(tmp_path, ex))
    assert [r["type"] for r in records] == ["request", "metadata"]
    assert records[1]["refers"] == records[0]["id"] and records[1]["doc"]["response"] is None


def test_graceful_goaway_lets_the_stream_finish(tmp_path: Path, h2site: H2Site) -> None:
    """RFC 9113 6.8: a GOAWAY whose last stream id covers the stream lets it complete."""
    ex = _perform(h2site.base + "/goaway-graceful", h2site.ca_file)
    assert ex.response is not None and ex.response.truncated is None
    assert ex.response.body == PARTIAL + REST == h2site.sent["/goaway-graceful"]
    assert ex.http2 is not None and ex.http2.goaway == ("NO_ERROR", 1)
    _write(tmp_path, ex)


def test_h2_bodies_beyond_the_windows_and_over_the_cap(tmp_path: Path, h2site: H2Site) -> None:
    """A body larger than the receive windows arrives whole (flow control works); one over
    max_resource_bytes is cut there, the stream reset, and recorded WARC-Truncated."""
    big = f"/big?{8 << 20}"
    whole = _perform(h2site.base + big, h2site.ca_file)
    assert whole.response is not None and whole.response.truncated is None
    assert whole.response.body == h2site.sent[big]
    over = f"/big?{1 << 20}"
    cut = _perform(h2site.base + over, h2site.ca_file, max_resource_bytes=100_000)
    assert cut.response is not None and cut.response.truncated == "length"
    assert cut.response.body == h2site.sent[over][:100_000]
    assert cut.http2 is not None and cut.http2.end == "length"
    records = _records(_write(tmp_path, cut))
    assert records[0]["truncated"] == "length" and len(records[0]["body"]) == 100_000


def test_request_body_is_sent_under_flow_control(h2site: H2Site) -> None:
    body = bytes(range(256)) * 800  # more than the server's initial 64 KiB window
    ex = _perform(h2site.base + "/echo", h2site.ca_file, method="POST", body=body)
    assert ex.response is not None and ex.response.body == body == h2site.bodies["/echo"]
    assert ("content-length", str(len(body))) in ex.sent_headers


@pytest.mark.parametrize("protocol", ["h2", "http/1.1"])
def test_stopper_cuts_a_stalled_tls_body(h2site: H2Site, site: Site, protocol: str) -> None:
    """The capture's Stopper ends a TLS connection at once, whatever the protocol (the
    TLS socket that took the connection over is the one shut down)."""
    url, ca, partial = h2site.base + "/stall", h2site.ca_file, PARTIAL
    if protocol == "http/1.1":
        assert site.https_base is not None and site.ca_file is not None
        url, ca, partial = site.https_base + "/never", site.ca_file, b"\x89PNG"
    stopper = Stopper()
    timer = threading.Timer(0.5, stopper.cut)
    timer.start()
    start = time.monotonic()
    try:
        ex = guard.perform(OutgoingRequest("GET", url, ()), ANY, Limits(), stopper, _context(ca))
    finally:
        timer.cancel()
    assert time.monotonic() - start < 5  # not the 30 s read timeout
    assert ex.response is not None and ex.response.truncated == "time"
    assert ex.response.body == partial
    assert (ex.http2.end if ex.http2 else "time") == "time"


def test_read_timeout_mid_h2_body(h2site: H2Site) -> None:
    ex = _perform(h2site.base + "/stall", h2site.ca_file, read_timeout=0.3)
    assert ex.response is not None and ex.response.truncated == "time"
    assert ex.http2 is not None and ex.http2.end == "time"
    assert ex.http2.detail is not None and "TimeoutError" in ex.http2.detail


def test_status_without_a_standard_phrase_and_scrubbed_requests(
    tmp_path: Path, h2site: H2Site
) -> None:
    """599 has no standard reason phrase: the status line ends after the code and its
    space. A logged-in capture's credentials are scrubbed from the request record, and
    the metadata record names the header without its value."""
    secret = "session=H2-SECRET-VALUE"  # noqa: S105  # a test value that must not be recorded
    request = OutgoingRequest("GET", h2site.base + "/odd-status", (("Cookie", secret),))
    ex = guard.perform(request, ANY, Limits(), Stopper(), _context(h2site.ca_file))
    assert ex.response is not None and ex.response.status_line == "HTTP/1.1 599 "
    assert http2.status_line(404) == "HTTP/1.1 404 Not Found"
    assert ("cookie", secret) in h2site.received["/odd-status"][-1]  # really sent
    path = _write(tmp_path, Scrubber().apply(ex))
    assert secret.encode() not in gzip.decompress(path.read_bytes())
    got = _exchange_records(_records(path), h2site.base + "/odd-status")
    assert got["response"]["line"].rstrip() == "HTTP/1.1 599"
    assert ("cookie", PLACEHOLDER) in got["request"]["fields"]
    assert "cookie" in got["http2"]["doc"]["request"]["header_names"]
    assert got["http2"]["doc"]["response"]["header_block"][0] == [":status", "599"]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d.pop("stream_id"), id="no-stream-id"),
        pytest.param(lambda d: d.update(protocol="h3"), id="not-h2"),
        pytest.param(lambda d: d["end"].update(how="finished"), id="unknown-end"),
        pytest.param(lambda d: d["request"]["pseudo_headers"].pop(), id="three-pseudo-headers"),
        pytest.param(
            lambda d: d["request"]["pseudo_headers"][0].__setitem__(0, "method"),
            id="pseudo-without-colon",
        ),
        pytest.param(lambda d: d.update(extra=1), id="unknown-member"),
    ],
)
def test_metadata_schema_refuses_damaged_documents(damage: Any, h2site: H2Site) -> None:
    ex = _perform(h2site.base + "/data.json", h2site.ca_file)
    assert ex.http2 is not None
    raw = ex.http2.json_bytes()  # stored as json.dumps(indent=2, sort_keys=True) gives it
    doc = json.loads(raw)
    assert raw == (json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    assert list(VALIDATOR.iter_errors(doc)) == []
    damage(doc)
    assert list(VALIDATOR.iter_errors(doc)) != []
