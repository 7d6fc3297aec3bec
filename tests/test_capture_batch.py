"""Batch capture: several URLs, bounded concurrency, failures that do not stop the rest,
the summary, --json rows, and the live progress display."""

from __future__ import annotations

import io
import ipaddress
import json
import threading
import time
from pathlib import Path

import pytest
from rich.console import Console

from custody import log
from custody import verify as case_verify
from custody.capture import batch, guard
from custody.capture.batch import BatchItem, batch_exit_code, capture_batch, read_url_list
from custody.capture.browser import BrowserNotFoundError, BrowserSession
from custody.capture.progress import Phase, Progress
from custody.capture.web import BadUrlError, CaptureOptions
from custody.case import open_case
from custody.cli import capture_cmds
from custody.errors import ExitCode, NetworkError, UsageError

from . import capture_server
from .capture_server import MARKER, Site
from .conftest import Runner, make_case
from .test_capture import Borrowed, _signer


class NotTwo(guard.AddressPolicy):
    """Everything allowed but 127.0.0.2."""

    def problem(self, ip: guard.IPAddress) -> str | None:
        return "test-refused" if ip == ipaddress.ip_address("127.0.0.2") else None


site = capture_server.site
browser = capture_server.browser

REFUSED = "http://127.0.0.1:1/"  # nothing listens on port 1: no response at all


# --- URL lists -----------------------------------------------------------------------------


def test_url_list_skips_comments_and_keeps_fragments() -> None:
    lines = [
        "# reported on 3 May",
        "",
        "https://example.org/a#comment-17",
        "   https://example.org/b   # the second post",
        "\thttps://example.org/c\t",
        "#https://example.org/commented-out",
    ]
    assert read_url_list(lines) == [
        "https://example.org/a#comment-17",
        "https://example.org/b",
        "https://example.org/c",
    ]


def test_url_list_refuses_two_urls_on_a_line(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="line 2: one URL per line"):
        read_url_list(["https://a.example/", "https://b.example/ https://c.example/"])
    with pytest.raises(UsageError, match="cannot read the URL list"):
        batch.load_url_file(tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes(b"http://example.org/\xe9\n")
    with pytest.raises(UsageError, match="cannot read the URL list"):
        batch.load_url_file(tmp_path / "latin1.txt")


def test_batch_items_and_exit_code() -> None:
    failed = BatchItem(0, "ftp://x/", error=BadUrlError("only http and https"))
    assert failed.status == "FAILED" and failed.exit_code == ExitCode.USAGE
    assert failed.to_dict(Path()) == {
        "url": "ftp://x/",
        "status": "FAILED",
        "reasons": ["only http and https"],
        "entry": None,
        "exit_code": 2,
    }
    assert batch_exit_code([failed]) == ExitCode.PARTIAL and batch_exit_code([]) == ExitCode.OK
    with pytest.raises(ValueError, match="either"):
        BatchItem(0, "x")


# --- real batches ------------------------------------------------------------------------


@pytest.mark.slow
def test_batch_runs_jobs_in_their_own_browsers(
    tmp_path: Path, home: Path, cli: Runner, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    launched: list[BrowserSession] = []

    def launch() -> BrowserSession:
        session = BrowserSession()
        launched.append(session)
        return session

    events: list[tuple[float, int, Progress]] = []
    lock = threading.Lock()

    def progress(index: int, report: Progress) -> None:
        with lock:
            events.append((time.monotonic(), index, report))

    case = open_case(make_case(tmp_path, cli, files=0))
    # /slow answers after 2 s; /blocked-image is PARTIAL at once (an image on 127.0.0.2)
    urls = [site.base + "/slow", site.base + "/blocked-image", REFUSED, "ftp://example.org/"]
    options = CaptureOptions(allow_private=True, timeout=20.0)
    items = capture_batch(
        case, urls, options, signer=_signer(home), home=home, jobs=2, progress=progress,
        launch=launch, policy=NotTwo(allow_private=True),
    )  # fmt: skip
    assert [i.url for i in items] == urls
    assert [i.status for i in items] == ["COMPLETE", "PARTIAL", "FAILED", "FAILED"]
    assert isinstance(items[2].error, NetworkError) and isinstance(items[3].error, BadUrlError)
    assert batch_exit_code(items) == ExitCode.PARTIAL
    # two browsers, both closed; the two first captures ran at the same time
    assert len(launched) == 2 and all(s._loop.is_closed() for s in launched)

    def span(index: int) -> tuple[float, float]:
        times = [t for t, i, _ in events if i == index]
        return min(times), max(times)

    (start0, end0), (start1, end1) = span(0), span(1)
    assert start1 < end0 and start0 < end1
    # each capture reported its phases, its resources and bytes, and how it ended
    phases = [r.phase for _, i, r in events if i == 1]
    for phase in (Phase.STARTING, Phase.LOADING, Phase.SETTLING, Phase.SNAPSHOTS, Phase.SEALING):
        assert phase in phases
    last = [r for _, i, r in events if i == 1][-1]
    assert last.phase is Phase.DONE and last.resources >= 1 and last.bytes > 0
    assert last.blocked == 1
    assert [r.phase for _, i, r in events if i == 3] == [Phase.FAILED]
    # two sealed captures in the log, in no particular order; nothing for the failures
    entries = [log.decode_entry(line) for line in case.entries.read_bytes().splitlines()]
    captures = [e for e in entries if e.type == "capture"]
    assert sorted(e.seq for e in captures) == sorted(i.result.seq for i in items[:2] if i.result)
    assert case_verify.verify_case(case).ok


def test_batch_stops_on_errors_that_are_not_about_one_url(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    def launch() -> BrowserSession:
        raise BrowserNotFoundError("no Chromium found for web capture")

    case = open_case(make_case(tmp_path, cli, files=0))
    with pytest.raises(BrowserNotFoundError):
        capture_batch(
            case, ["http://example.org/"] * 3, CaptureOptions(), signer=_signer(home),
            home=home, launch=launch,
        )  # fmt: skip
    for jobs in (0, 9):
        with pytest.raises(UsageError, match="--jobs"):
            capture_batch(case, ["x"], CaptureOptions(), signer=_signer(home), home=home, jobs=jobs)


# --- the command line ------------------------------------------------------------------------


def _terminal(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """Make the CLI's stderr console a terminal writing into the returned buffer."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=200)
    monkeypatch.setattr(capture_cmds, "err_console", lambda: console)
    return buffer


@pytest.mark.slow
def test_cli_batch_summary_json_and_progress(
    tmp_path: Path,
    home: Path,
    cli: Runner,
    browser: BrowserSession,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "BrowserSession", lambda: Borrowed(browser))
    case = make_case(tmp_path, cli, files=0)
    listing = tmp_path / "urls.txt"
    listing.write_text("# reported posts\n\nftp://example.org/  # not a web page\n")
    common = ("--batch", str(listing), "--allow-private", "--case", str(case), "--jobs", "1")
    # on a terminal: a live display on stderr, then the summary table on stdout
    stderr = _terminal(monkeypatch)
    code, out, _ = cli("capture", site.base + "/data.json", *common)
    assert code == ExitCode.PARTIAL
    lines = out.splitlines()
    assert lines[0].split() == ["STATUS", "ENTRY", "URL"]
    assert lines[1].split()[0] == "COMPLETE" and lines[1].endswith(site.base + "/data.json")
    assert lines[2].split()[:2] == ["FAILED", "-"] and lines[2].endswith("ftp://example.org/")
    assert "only http and https" in lines[3] and len(lines) == 5
    assert lines[-1] == "1 COMPLETE, 0 PARTIAL, 1 FAILED"
    shown = stderr.getvalue()
    assert "resources" in shown and "captures finished" in shown
    # --json: one row per URL, in order; nothing on the terminal but the result
    stderr = _terminal(monkeypatch)
    code, out, _ = cli("capture", REFUSED, site.base + "/data.json", *common, "--json")
    assert code == ExitCode.PARTIAL and stderr.getvalue() == ""
    doc = json.loads(out)
    rows = doc["captures"]
    assert [r["url"] for r in rows] == [REFUSED, site.base + "/data.json", "ftp://example.org/"]
    assert [r["status"] for r in rows] == ["FAILED", "COMPLETE", "FAILED"]
    assert [r["exit_code"] for r in rows] == [6, 0, 2]
    assert rows[0]["entry"] is None and "cannot load" in rows[0]["reasons"][0]
    assert rows[1]["entry"] > 0 and rows[1]["artifacts"]["warc"]["path"].startswith("objects/")


@pytest.mark.slow
def test_cli_single_url_keeps_its_own_exit_code(
    tmp_path: Path,
    home: Path,
    cli: Runner,
    browser: BrowserSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(batch, "BrowserSession", lambda: Borrowed(browser))
    case = make_case(tmp_path, cli, files=0)
    code, out, err = cli("capture", REFUSED, "--allow-private", "--case", str(case))
    assert code == ExitCode.NETWORK and out == "" and "cannot load" in err
    assert "resources" not in err  # no live display when stderr is not a terminal
    code, _, err = cli("capture", "--case", str(case))
    assert code == ExitCode.USAGE and "no URL to capture" in err


def test_live_display_shows_phase_resources_and_bytes() -> None:
    display = capture_cmds.CaptureDisplay(["https://a.example/", "https://b.example/post"])
    display.update(1, Progress("https://b.example/post", Phase.SCROLLING, 12, 345_000, 2))
    display.update(0, Progress("https://a.example/", Phase.DONE, 3, 10))
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    console.print(display)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "scrolling" in shown and "12 resources, 345.0 kB, 2 blocked" in shown
    assert "https://b.example/post" in shown and "https://a.example/" not in shown
    assert "1 of 2 captures finished" in shown
    single = capture_cmds.CaptureDisplay([MARKER])
    console = Console(file=io.StringIO(), force_terminal=True, width=200)
    console.print(single)
    assert "captures finished" not in console.file.getvalue()  # type: ignore[attr-defined]


def test_capture_by_a_non_member_is_refused(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path, cli, files=0)
    before = sorted(p.name for p in case.rglob("*"))
    monkeypatch.setenv("CUSTODY_HOME", str(tmp_path / "stranger"))
    assert cli("init", str(tmp_path / "theirs"), "--name", "theirs", "--operator", "Eve")[0] == 0
    code, _, err = cli("capture", "https://example.org/", "--case", str(case))
    assert code == 8 and "not a member" in err
    assert sorted(p.name for p in case.rglob("*")) == before
