"""Hostile pages: each capture ends, within its bounds, COMPLETE or PARTIAL with a reason,
sealed and verifiable; none hangs or crashes the tool (real Chromium, real local site)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from custody.capture.browser import BrowserSession
from custody.capture.page import LISTED
from custody.capture.web import CaptureResult
from custody.warc import verify_warc

from . import capture_server
from .capture_server import ALERTS, MARKER, Site
from .conftest import Runner
from .test_capture import _capture, _records, _snapshot, _verify_case

site = capture_server.site
browser = capture_server.browser


@dataclass(frozen=True)
class Hostile:
    """One hostile endpoint, how to capture it, and what must come of it."""

    path: str
    status: str
    reasons: tuple[str, ...] = ()  # each must be part of some reason
    options: dict[str, Any] = field(default_factory=dict)


CASES = [
    Hostile("/loop", "PARTIAL", ("ERR_TOO_MANY_REDIRECTS",), {"timeout": 8.0}),
    Hostile("/stream", "PARTIAL", ("did not finish loading within 2 s", "cut short")),
    Hostile("/huge", "PARTIAL", ("cut short",), {"max_resource_bytes": 1 << 20}),
    Hostile("/popups", "COMPLETE", (), {"timeout": 8.0}),
    Hostile("/dialogs", "COMPLETE", (), {"timeout": 8.0}),
    Hostile("/download", "PARTIAL", ("is a download (Content-Disposition: attachment)",)),
    Hostile("/busy", "PARTIAL", ("did not finish loading", "the page stopped responding")),
]


def _check(path: str, site: Site, result: CaptureResult, prov: dict[str, Any]) -> None:
    """What each hostile endpoint must have left in the WARC and the provenance."""
    records = _records(result.artifacts["warc"].path)
    responses = [r for r in records if r["type"] == "response"]
    url = site.base + path
    if path == "/loop":  # Chromium's redirect limit bounds the loop
        loops = [r for r in responses if r["uri"] == url]
        assert 10 <= len(loops) <= 25
        assert all(r["http"].get_statuscode() == "302" for r in loops)
    elif path == "/stream":
        (page,) = responses
        assert page["truncated"] == "time" and page["body"].startswith(b"<p>more</p>")
    elif path == "/huge":
        (page,) = responses
        assert page["truncated"] == "length" and len(page["body"]) == 1 << 20
        assert page["http"].get_header("Content-Length") == str(1 << 30)
    elif path == "/popups":  # Chromium's pop-up blocker is on, as in a normal browser
        assert prov["browser"]["popup_blocker"] is True
        assert prov["page_events"]["popups"] == 0 and prov["popups"] == []
        assert not any("/popup?" in r["uri"] for r in responses)  # none reached the network
    elif path == "/dialogs":  # dismissed; a storm is counted, listed up to a bound
        assert prov["page_events"]["dialogs"] == ALERTS + 3
        assert len(prov["dialogs_dismissed"]) == LISTED
        first = prov["dialogs_dismissed"][:3]
        assert [d["type"] for d in first] == ["alert", "confirm", "prompt"]
        assert MARKER in _snapshot(result, "dom").decode()
    elif path == "/download":  # the response is recorded, the browser kept nothing
        assert prov["downloads"] == [{"url": url, "filename": "evidence.bin"}]
        (page,) = responses
        assert page["body"] == site.sent["/download"]
        assert "attachment" in page["http"].get_header("Content-Disposition")
    elif path == "/busy":  # the first snapshot times out, the others are not waited for
        assert "screenshot" not in result.records and set(result.records) == {"provenance"}


@pytest.mark.slow
@pytest.mark.parametrize("hostile", CASES, ids=[c.path.strip("/") for c in CASES])
def test_hostile_page_ends_within_bounds(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site, hostile: Hostile
) -> None:
    options = {"timeout": 2.0, "snapshot_timeout": 2.0} | hostile.options
    started = time.monotonic()
    case, result = _capture(tmp_path, cli, browser, site.base + hostile.path, **options)
    took = time.monotonic() - started
    # the bound: timeout + one snapshot timeout + a probe, plus closing and sealing
    assert took < options["timeout"] + options["snapshot_timeout"] + 8, took
    assert result.status.value == hostile.status, result.reasons
    for expected in hostile.reasons:
        assert any(expected in reason for reason in result.reasons), (expected, result.reasons)
    prov = json.loads(_snapshot(result, "provenance"))
    assert prov["status"] == hostile.status and prov["reasons"] == list(result.reasons)
    with result.artifacts["warc"].path.open("rb") as fh:
        assert verify_warc(fh, own=True).findings == ()
    _check(hostile.path, site, result, prov)
    report = _verify_case(case)
    assert report.ok, [f.to_dict() for f in report.findings]


@pytest.mark.slow
def test_browser_still_captures_after_a_busy_page(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    _capture(tmp_path / "a", cli, browser, site.base + "/busy", timeout=1.0, snapshot_timeout=1.0)
    _, result = _capture(tmp_path / "b", cli, browser, site.base + "/data.json", timeout=10.0)
    assert result.status.value == "COMPLETE", result.reasons
    assert b"FETCHED-BY-SCRIPT" in _snapshot(result, "text")


@pytest.mark.slow
def test_the_browser_does_not_reload_an_error_page_by_itself(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    """Chromium reloads an error page after 1 s unless told not to (``--disable-auto-reload``):
    a redirect loop would be requested again, and recorded, while the capture waits for the
    network to settle."""
    url = site.base + "/loop"
    _, result = _capture(tmp_path, cli, browser, url, timeout=10.0, settle_seconds=3.0)
    records = _records(result.artifacts["warc"].path)
    loops = [r for r in records if r["type"] == "response" and r["uri"] == url]
    assert 10 <= len(loops) <= 21, len(loops)  # one navigation: Chromium follows 20 redirects
