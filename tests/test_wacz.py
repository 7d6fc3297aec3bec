"""custody export-wacz: a WACZ built on demand from a sealed capture, replayed by pywb."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from custody import keys, log, signing, store
from custody.capture import seal, wacz
from custody.capture.cdxj import surt_key
from custody.case import Case, open_case
from custody.cli import export_cmds
from custody.errors import ExitCode, IntegrityError, UsageError
from custody.warc import WarcWriter

from .capture_server import MARKER, Site, serve
from .conftest import ROOT, Runner, make_case
from .test_capture import _verify_case

PEERS = ROOT / ".venv-peers" / "bin"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
BASE = "http://www.example.test"
PAGE = f"<html><head><title>Synthetic &amp; page</title></head><body><h1>{MARKER}</h1>"
PAGE += "<script src='/gz.js'></script></body></html>"
DATA = b'{"message": "FETCHED-BY-SCRIPT"}'
GZ = gzip.compress(b"document.title = 'GZIP-DECODED-OK';\n", mtime=0)
CAPTURE_ID = "0123456789abcdef0123456789abcdef"
DOM_URI = f"urn:custody:dom:{CAPTURE_ID}"
PROVENANCE_URI = f"urn:custody:provenance:{CAPTURE_ID}"


def _signer(home: Path) -> signing.Signer:
    identity = keys.read_identity(home)
    assert identity is not None
    return keys.load_key(home, identity.key_id, "correct horse battery staple")


def _seal_synthetic_capture(case: Case, home: Path, *, sensitive: bool = False) -> int:
    """A capture sealed as custody capture seals one, over a small hand-written WARC."""
    buf = io.BytesIO()
    clock = iter(T0 + timedelta(seconds=i) for i in range(100))
    w = WarcWriter(buf, now=lambda: next(clock))
    records = [w.write_warcinfo({"software": "test", "capture-id": CAPTURE_ID})]

    def exchange(path: str, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        url = BASE + path
        rec = w.write_response(url, status_line=status, headers=headers, body=body)
        records.append(rec)
        records.append(
            w.write_request(
                url,
                request_line=f"GET {path} HTTP/1.1",
                headers=[("Host", "www.example.test")],
                concurrent_to=[rec.record_id],
            )
        )

    exchange("/start", "HTTP/1.1 302 Found", [("Location", "/")], b"")
    exchange("/", "HTTP/1.1 200 OK", [("Content-Type", "text/html; charset=utf-8")], PAGE.encode())
    exchange("/data.json?b=2&a=1", "HTTP/1.1 200 OK", [("Content-Type", "application/json")], DATA)
    gz_headers = [("Content-Type", "application/javascript"), ("Content-Encoding", "gzip")]
    exchange("/gz.js", "HTTP/1.1 200 OK", gz_headers, GZ)
    records.append(w.write_metadata(BASE + "/", b"note: about the page\r\n"))
    records.append(w.write_resource(DOM_URI, PAGE.encode(), content_type="text/html"))
    provenance = json.dumps({"kind": "capture-provenance", "status": "COMPLETE"}).encode()
    records.append(w.write_metadata(PROVENANCE_URI, provenance, content_type="application/json"))
    details = seal.details_record(BASE + "/start", BASE + "/", sensitive=sensitive, note=None)
    buf.seek(0)
    status = seal.CaptureStatus.COMPLETE
    return seal.seal_capture(
        case, buf, records, details, status, signer=_signer(home), home=home
    ).seq


@pytest.fixture
def captured(tmp_path: Path, home: Path, cli: Runner) -> tuple[Case, int]:
    case = open_case(make_case(tmp_path, cli, files=1))
    return case, _seal_synthetic_capture(case, home)


def _warc_of(case: Case, seq: int) -> Path:
    entry = wacz.find_capture(case, str(seq))
    return case.object_path(store.read_disclosure(case, entry.subject["artifact"]).sha256)


def _check_wacz(path: Path, stored_warc: Path) -> dict[str, Any]:
    """Check a WACZ's structure, hashes and index ourselves; return its parts."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        infos = zf.infolist()
        data = {i.filename: zf.read(i) for i in infos}
    names = [i.filename for i in infos]
    warc_path = names[0]
    assert warc_path.startswith("archive/capture-") and warc_path.endswith(".warc.gz")
    assert names[1:] == [
        "indexes/index.cdx",
        "pages/pages.jsonl",
        "datapackage.json",
        "datapackage-digest.json",
    ]
    for info in infos:  # stored (range-readable), fixed times
        assert info.compress_type == zipfile.ZIP_STORED and info.date_time == (1980, 1, 1, 0, 0, 0)
    assert data[warc_path] == stored_warc.read_bytes()  # the evidence, byte for byte
    package = json.loads(data["datapackage.json"])
    assert package["profile"] == "data-package" and package["wacz_version"] == "1.1.1"
    resources = {r["path"]: r for r in package["resources"]}
    assert set(resources) == set(names[:3])
    for name, res in resources.items():
        assert res["hash"] == "sha256:" + hashlib.sha256(data[name]).hexdigest()
        assert res["bytes"] == len(data[name]) and res["name"] == name.rsplit("/", 1)[1]
    digest = json.loads(data["datapackage-digest.json"])
    dp_hash = "sha256:" + hashlib.sha256(data["datapackage.json"]).hexdigest()
    assert digest == {"path": "datapackage.json", "hash": dp_hash}
    # the index: sorted, every line pointing at exactly the record it names
    lines = data["indexes/index.cdx"].decode().splitlines()
    assert lines == sorted(lines)
    warc = data[warc_path]
    indexed = set()
    for line in lines:
        key, stamp, blob = line.split(" ", 2)
        fields = json.loads(blob)
        assert fields["filename"] == warc_path.removeprefix("archive/")
        assert key == surt_key(fields["url"]) and len(stamp) == 14
        start, length = int(fields["offset"]), int(fields["length"])
        member = warc[start : start + length]
        assert member[:2] == b"\x1f\x8b"  # one gzip member per record
        records = ArchiveIterator(io.BytesIO(member))
        rec = next(records)
        h = rec.rec_headers
        assert h.get_header("WARC-Target-URI") == fields["url"]
        assert "".join(c for c in h.get_header("WARC-Date") if c.isdigit())[:14] == stamp
        assert h.get_header("WARC-Payload-Digest") == fields.get("digest")
        if rec.rec_type == "response":
            assert rec.http_headers.get_statuscode() == fields["status"]
        rec.content_stream().read()
        assert next(records, None) is None
        indexed.add((rec.rec_type, start))
    every = set()
    with stored_warc.open("rb") as fh:
        records = ArchiveIterator(fh)
        for rec in records:
            records.read_to_end(rec)
            if rec.rec_type in ("response", "resource", "revisit"):
                every.add((rec.rec_type, records.get_record_offset()))
    assert indexed == every
    pages = [json.loads(x) for x in data["pages/pages.jsonl"].splitlines()]
    assert pages[0] == {"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}
    assert len(pages) == 2 and package["mainPageUrl"] == pages[1]["url"]
    assert package["mainPageDate"] == pages[1]["ts"]
    return {"package": package, "page": pages[1], "lines": lines}


# --- the export itself (no browser) ---------------------------------------------------------


def test_export_structure_hashes_and_index(tmp_path: Path, captured: tuple[Case, int]) -> None:
    case, seq = captured
    out = tmp_path / "out.wacz"
    result = wacz.export_wacz(case, str(seq), out)
    assert result.sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    got = _check_wacz(out, _warc_of(case, seq))
    assert got["page"] == {
        "id": f"capture-{seq}",
        "url": BASE + "/",
        "ts": "2026-03-01T12:00:03Z",  # the page's response record, not the redirect's
        "title": "Synthetic & page",
    }
    urls = sorted(json.loads(line.split(" ", 2)[2])["url"] for line in got["lines"])
    assert urls == [  # responses and the DOM snapshot; no request, metadata or warcinfo
        *(BASE + p for p in ("/", "/data.json?b=2&a=1", "/gz.js", "/start")),
        DOM_URI,
    ]
    assert any(line.startswith("test,example)/data.json?a=1&b=2 ") for line in got["lines"])
    assert got["package"]["custody"] == {
        "case_id": case.case_id,
        "capture_entry": seq,
        "status": "COMPLETE",
    }
    c = result.content
    assert (c.capture_entry, c.records_indexed, c.sensitive) == (seq, 5, False)
    assert got["package"]["resources"][0]["path"] == f"archive/capture-{seq}.warc.gz"


def test_export_is_deterministic_and_reads_only(tmp_path: Path, captured: tuple[Case, int]) -> None:
    case, seq = captured

    def snapshot() -> dict[str, tuple[int, int, bytes]]:
        return {
            str(p.relative_to(case.root)): (p.stat().st_mtime_ns, p.stat().st_mode, p.read_bytes())
            for p in sorted(case.root.rglob("*"))
            if p.is_file()
        }

    before = snapshot()
    first = wacz.export_wacz(case, "last", tmp_path / "a.wacz")
    second = wacz.export_wacz(case, str(seq), tmp_path / "b.wacz")
    assert (tmp_path / "a.wacz").read_bytes() == (tmp_path / "b.wacz").read_bytes()
    assert first.sha256 == second.sha256 and first.content == second.content
    assert snapshot() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")) == []


def test_altered_warc_is_refused_with_exit_3(tmp_path: Path, captured: tuple[Case, int]) -> None:
    case, seq = captured
    warc = _warc_of(case, seq)
    warc.chmod(0o644)
    data = bytearray(warc.read_bytes())
    data[len(data) // 2] ^= 0x01
    warc.write_bytes(bytes(data))
    out = tmp_path / "out.wacz"
    app = typer.Typer()
    export_cmds.register(app)
    app.command("noop")(lambda: None)  # keep typer from collapsing to a single command
    got = CliRunner().invoke(app, ["export-wacz", str(seq), str(out), "--case", str(case.root)])
    assert isinstance(got.exception, IntegrityError), got.output
    assert got.exception.exit_code == ExitCode.NOT_VERIFIED
    assert "altered" in got.exception.message
    assert list(tmp_path.glob("*.wacz")) == [] and list(tmp_path.glob(".tmp*")) == []


def test_title_comes_from_the_dom_record_only(
    tmp_path: Path, home: Path, captured: tuple[Case, int]
) -> None:
    case, seq = captured
    assert wacz.export_wacz(case, str(seq), tmp_path / "a.wacz").content.title == (
        "Synthetic & page"
    )
    # a response that looks like a DOM is not one: only urn:custody:dom: records count
    buf = io.BytesIO()
    w = WarcWriter(buf)
    records = [w.write_warcinfo({"software": "test"})]
    fake = b"<title>Not the DOM</title>"
    records.append(
        w.write_response(BASE + "/", status_line="HTTP/1.1 200 OK", headers=[], body=fake)
    )
    records.append(w.write_metadata(PROVENANCE_URI, b"{}", content_type="application/json"))
    details = seal.details_record(BASE + "/", BASE + "/", sensitive=False, note=None)
    buf.seek(0)
    status = seal.CaptureStatus.PARTIAL
    other = seal.seal_capture(case, buf, records, details, status, signer=_signer(home), home=home)
    assert wacz.export_wacz(case, str(other.seq), tmp_path / "b.wacz").content.title is None


def test_naming_a_capture(tmp_path: Path, captured: tuple[Case, int]) -> None:
    case, seq = captured
    assert wacz.find_capture(case, "last").seq == seq == wacz.find_capture(case, str(seq)).seq
    for bad, why in [
        ("0", "'init' entry, not a capture"),
        ("99", "no entry 99"),
        ("x", "or 'last'"),
    ]:
        with pytest.raises(UsageError, match=why):
            wacz.find_capture(case, bad)
    with pytest.raises(UsageError, match="exists"):
        (tmp_path / "taken.wacz").write_bytes(b"mine")
        wacz.export_wacz(case, "last", tmp_path / "taken.wacz")
    assert (tmp_path / "taken.wacz").read_bytes() == b"mine"
    wacz.export_wacz(case, "last", tmp_path / "taken.wacz", overwrite=True)
    assert zipfile.is_zipfile(tmp_path / "taken.wacz")
    with pytest.raises(UsageError, match="outside the case"):
        wacz.export_wacz(case, "last", case.root / "inside.wacz")


def test_no_capture_in_case(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = open_case(make_case(tmp_path, cli, files=1))
    with pytest.raises(UsageError, match="no capture"):
        wacz.find_capture(case, "last")


def test_cli_json_and_record(
    tmp_path: Path, captured: tuple[Case, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    case, seq = captured
    app = typer.Typer()
    export_cmds.register(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "out.wacz"
    args = ["export-wacz", str(seq), str(out), "--case", str(case.root), "--json", "--record"]
    got = CliRunner().invoke(app, args)
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    assert doc["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert doc["capture_entry"] == seq and doc["recorded_as_entry"] == seq + 1
    assert doc["page"]["url"] == BASE + "/" and doc["records_indexed"] == 5
    last = log.decode_entry(case.entries.read_bytes().splitlines()[-1])
    capture = wacz.find_capture(case, str(seq))
    assert last.type == "export" and last.seq == seq + 1
    assert last.subject == {
        "format": "wacz/1.1.1",
        "capture_entry": seq,
        "artifact": capture.subject["artifact"],
    }
    assert doc["sha256"].encode() not in case.entries.read_bytes()  # commitments only
    report = _verify_case(case)
    assert report.ok, [f.to_dict() for f in report.findings]


def test_cli_warns_about_sensitive_captures(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = open_case(make_case(tmp_path, cli, files=0))
    seq = _seal_synthetic_capture(case, home, sensitive=True)
    app = typer.Typer()
    export_cmds.register(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "out.wacz"
    entries = case.entries.read_bytes()
    got = CliRunner().invoke(app, ["export-wacz", "last", str(out), "--case", str(case.root)])
    assert got.exit_code == 0, got.output
    assert "marked sensitive" in got.stderr
    assert f"capture entry {seq}: {BASE}/" in got.stdout and "5 records indexed" in got.stdout
    assert case.entries.read_bytes() == entries  # nothing was logged


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://127.0.0.1:8080/", "1,0,0,127:8080)/"),
        ("HTTP://WWW.Example.COM:80/A/b/?b=2&a=1#x", "com,example)/a/b?a=1&b=2"),
        ("http://example.com", "com,example)/"),
        ("https://example.com:443/x/", "com,example)/x"),
        ("http://user:pw@Ex.com/%41%2541?q=%7e", "com,ex)/aa?q=~"),
        ("http://0x7f.1/", "1,0x7f)/"),
        ("http://127.1/a/./b/../c", "1,0,0,127)/a/c"),
        ("urn:custody:Screenshot", "urn:custody:screenshot"),
        ("dns:example.com", "dns:example.com"),
    ],
)
def test_surt_keys(url: str, key: str) -> None:
    assert surt_key(url) == key


# --- peers: pywb and py-wacz, from .venv-peers (scripts/setup) -----------------------------


def _need_peers() -> None:
    if not (PEERS / "wayback").exists() or not (PEERS / "wacz").exists():
        pytest.skip(f"peer tools not installed in {PEERS.parent} (scripts/setup; CUSTODY_PEERS=0?)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str) -> tuple[int, bytes]:
    status, _, body = _fetch(url)
    return status, body


def _fetch(url: str) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of a GET (no proxy, no redirect handling needed)."""
    try:
        with _NO_PROXY.open(url, timeout=20) as resp:
            return int(resp.status), str(resp.headers.get("Content-Type", "")), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, str(exc.headers.get("Content-Type", "")), exc.read()


def _peer_env() -> dict[str, str]:
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    return {k: v for k, v in os.environ.items() if k not in drop}


@contextmanager
def _pywb(root: Path, archive: Path) -> Iterator[str]:
    """pywb serving ``archive`` (added with wb-manager) on 127.0.0.1; yields the coll URL."""
    env = _peer_env()
    for argv in (["init", "coll"], ["add", "--unpack-wacz", "coll", str(archive)]):
        done = subprocess.run(
            [str(PEERS / "wb-manager"), *argv],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    port = _free_port()
    log_file = (root / "wayback.log").open("wb")
    proc = subprocess.Popen(
        [str(PEERS / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/coll"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(base + "/")
                break
            except OSError:
                code = proc.poll()
                if code is not None or time.monotonic() > deadline:
                    why = (root / "wayback.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"pywb did not start (exit {code}): {why}")
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log_file.close()


def _validate_with_py_wacz(path: Path) -> None:
    done = subprocess.run(
        [str(PEERS / "wacz"), "validate", "-f", str(path)],
        env=_peer_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_surt_keys_match_the_surt_package() -> None:
    _need_peers()
    urls = [
        "http://127.0.0.1:8080/index.html?b=&a",
        "https://www2.Example.org:8443/A/B/../c/./d/?Q=1&jsessionid=0123456789abcdef0123456789abcdef",
        "http://example.com/%7Euser/%2541%20b",
        "http://example.com?x=1",
        "http://[::1]:99/a",
        "http://010.0.0.1/",
        "http://3232235777/x",
        "http://bücher.example/straße",
        "http://example.com//double//slash/",
        "urn:custody:Screenshot",
    ]
    code = "import json, sys, surt; print(json.dumps([surt.surt(u) for u in json.load(sys.stdin)]))"
    done = subprocess.run(
        [str(PEERS / "python"), "-c", code],
        input=json.dumps(urls),
        env=_peer_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert [surt_key(u) for u in urls] == json.loads(done.stdout)


@pytest.mark.slow
def test_peers_replay_and_validate_the_synthetic_export(
    tmp_path: Path, captured: tuple[Case, int]
) -> None:
    _need_peers()
    case, seq = captured
    out = tmp_path / "synthetic.wacz"
    wacz.export_wacz(case, str(seq), out)
    _validate_with_py_wacz(out)
    (tmp_path / "pywb").mkdir()
    with _pywb(tmp_path / "pywb", out) as coll:
        status, body = _get(f"{coll}/20260301120003mp_/{BASE}/")
        assert status == 200 and MARKER.encode() in body
        status, body = _get(f"{coll}/20260301120005id_/{BASE}/data.json?a=1&b=2")
        assert status == 200 and body == DATA  # found by its canonical key, bytes as stored
        status, body = _get(f"{coll}/20260301120007id_/{BASE}/gz.js")
        assert status == 200 and body in (GZ, gzip.decompress(GZ))  # as stored, or decoded


# --- the real thing: Chromium capture, export, pywb replay ----------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve(tmp_path_factory.mktemp("pki")) as running:
        yield running


def _real_capture(tmp_path: Path, cli: Runner, url: str) -> tuple[Case, int]:
    """``custody capture URL`` (the CLI, real Chromium) into a new case; its entry."""
    case_root = make_case(tmp_path, cli, files=0)
    code, out, err = cli("capture", url, "--allow-private", "--case", str(case_root), "--json")
    if code == ExitCode.USAGE and "Chromium" in err:
        pytest.skip(f"no Chromium to capture with: {err.strip()}")
    assert code == 0, err + out
    case = open_case(case_root)
    return case, wacz.find_capture(case, "last").seq


@pytest.mark.slow
def test_real_capture_exports_and_replays_in_pywb(
    tmp_path: Path, home: Path, cli: Runner, site: Site
) -> None:
    case, seq = _real_capture(tmp_path, cli, site.base + "/start")
    wacz_path = tmp_path / "capture.wacz"
    result = wacz.export_wacz(case, str(seq), wacz_path)
    got = _check_wacz(wacz_path, _warc_of(case, seq))
    assert got["page"]["url"] == site.base + "/" and got["page"]["title"] == "Test page"
    keys_seen = {line.split(" ", 1)[0] for line in got["lines"]}
    port = site.base.rsplit(":", 1)[1]
    for path in ("/", "/data.json", "/gz.js", "/app.js", "/lazy.png", "/start"):
        assert surt_key(site.base + path) in keys_seen, path
    assert f"1,0,0,127:{port})/data.json" in keys_seen
    assert result.content.records_indexed == len(got["lines"])
    if not (PEERS / "wayback").exists():
        pytest.skip(f"peer tools not installed in {PEERS.parent}: structure checked, no replay")
    _validate_with_py_wacz(wacz_path)
    ts = "".join(c for c in got["page"]["ts"] if c.isdigit())[:14]
    (tmp_path / "pywb").mkdir()
    with _pywb(tmp_path / "pywb", wacz_path) as coll:
        status, body = _get(f"{coll}/{ts}mp_/{site.base}/")
        assert status == 200 and MARKER.encode() in body
        status, body = _get(f"{coll}/{ts}id_/{site.base}/data.json")
        assert status == 200 and b"FETCHED-BY-SCRIPT" in body  # the script-loaded content
        status, body = _get(f"{coll}/{ts}id_/{site.base}/lazy.png")
        assert status == 200 and body.startswith(b"\x89PNG")
    shutil.rmtree(tmp_path / "pywb", ignore_errors=True)


@pytest.mark.slow
def test_real_capture_snapshots_replay_from_pywb(
    tmp_path: Path, home: Path, cli: Runner, site: Site
) -> None:
    """The snapshot ``resource`` records (``urn:custody:<role>:<capture id>``) are served
    by pywb from the exported WACZ, byte for byte with their Content-Type; the provenance
    (a ``metadata`` record, not indexed) is not."""
    _need_peers()
    case, seq = _real_capture(tmp_path, cli, site.base + "/start")
    snapshots: dict[str, tuple[str, str, str, bytes]] = {}  # role: uri, stamp, type, block
    provenance = ""
    with _warc_of(case, seq).open("rb") as fh:
        for rec in ArchiveIterator(fh):
            uri = rec.rec_headers.get_header("WARC-Target-URI") or ""
            stamp = "".join(c for c in rec.rec_headers.get_header("WARC-Date") if c.isdigit())
            if rec.rec_type == "resource" and uri.startswith("urn:custody:"):
                ctype = rec.rec_headers.get_header("Content-Type")
                snapshots[uri.split(":")[2]] = (uri, stamp[:14], ctype, rec.content_stream().read())
            elif rec.rec_type == "metadata" and uri.startswith("urn:custody:provenance:"):
                provenance = uri
    assert set(snapshots) == {"screenshot", "pdf", "dom", "text"} and provenance
    assert snapshots["screenshot"][3].startswith(b"\x89PNG\r\n\x1a\n")
    assert snapshots["pdf"][3].startswith(b"%PDF-")
    assert MARKER.encode() in snapshots["text"][3] and MARKER.encode() in snapshots["dom"][3]
    wacz_path = tmp_path / "capture.wacz"
    wacz.export_wacz(case, str(seq), wacz_path)
    (tmp_path / "pywb").mkdir()
    with _pywb(tmp_path / "pywb", wacz_path) as coll:
        for role, (uri, stamp, ctype, block) in snapshots.items():
            status, served_type, body = _fetch(f"{coll}/{stamp}id_/{uri}")
            assert status == 200 and body == block, role
            assert served_type == ctype, role
            # by URI alone (pywb picks the closest capture): each URN names one record
            assert _get(f"{coll}/id_/{uri}") == (200, block), role
        stamp = snapshots["dom"][1]
        status, _ = _get(f"{coll}/{stamp}id_/{provenance}")
        assert status == 404  # metadata records are not in the WACZ index
    shutil.rmtree(tmp_path / "pywb", ignore_errors=True)
