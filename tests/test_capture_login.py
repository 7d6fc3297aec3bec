"""--storage-state: capture a logged-in view; the capturer's credentials stay out of the WARC.

The test site shows the account only with the session cookie, and a script on the page
sends the token it finds in localStorage as ``Authorization: Bearer``; the server sees
the real values, the recorded requests hold the placeholder.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custody.capture.browser import BrowserSession
from custody.capture.credentials import PLACEHOLDER, Scrubber, load_storage_state
from custody.capture.recorder import Exchange, OutgoingRequest
from custody.capture.web import CaptureOptions, capture_page
from custody.case import open_case
from custody.errors import ExitCode, UsageError

from . import capture_server
from .capture_server import SESSION_COOKIE, TOKEN, Site
from .conftest import Runner, make_case
from .test_capture import _perform, _records, _signer, _snapshot

site = capture_server.site
browser = capture_server.browser


def _state_file(tmp_path: Path, site: Site) -> Path:
    state = {
        "cookies": [
            {
                "name": "session",
                "value": SESSION_COOKIE,
                "domain": "127.0.0.1",
                "path": "/",
                "expires": -1,
                "httpOnly": True,
                "secure": False,
                "sameSite": "Lax",
            }
        ],
        "origins": [{"origin": site.base, "localStorage": [{"name": "token", "value": TOKEN}]}],
    }
    path = tmp_path / "state.json"
    path.write_text(json.dumps(state))
    return path


def _all_bytes(case_root: Path) -> list[tuple[Path, bytes]]:
    """Every file of the case, gzip members unpacked (WARC records are gzip per record)."""
    out = []
    for path in sorted(p for p in case_root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        out.append((path, data))
    return out


@pytest.mark.slow
def test_logged_in_capture_scrubs_the_capturers_credentials(
    tmp_path: Path, home: Path, cli: Runner, browser: BrowserSession, site: Site
) -> None:
    assert b"Please sign in" in _perform(site.base + "/account").response.body  # logged out
    case = open_case(make_case(tmp_path, cli, files=0))
    options = CaptureOptions(
        allow_private=True, timeout=20.0, storage_state=_state_file(tmp_path, site)
    )
    url = site.base + "/account"
    result = capture_page(case, url, options, signer=_signer(home), home=home, browser=browser)
    assert result.exit_code == ExitCode.OK, result.reasons
    dom = _snapshot(result, "dom").decode("utf-8")
    assert "Signed in as Ana" in dom and "API-TOKEN-ACCEPTED" in dom  # the logged-in view
    # the server got the real values ...
    assert any(SESSION_COOKIE in h.get("Cookie", "") for h in site.received["/account"])
    assert any(h.get("Authorization") == f"Bearer {TOKEN}" for h in site.received["/api/me"])
    # ... the recorded requests hold the placeholder, and no file of the case the secrets
    records = _records(result.artifacts["warc"].path)
    requests = {r["uri"]: r for r in records if r["type"] == "request"}
    account, api = requests[url], requests[site.base + "/api/me"]
    assert account["http"].get_header("Cookie") == PLACEHOLDER
    assert api["http"].get_header("Authorization") == PLACEHOLDER
    for path, data in _all_bytes(case.root):
        assert SESSION_COOKIE.encode() not in data and TOKEN.encode() not in data, path
    prov = json.loads(_snapshot(result, "provenance"))
    creds = prov["credentials"]
    assert creds["scrubbed_headers"] == ["Authorization", "Cookie"]
    assert creds["scrubbed_requests"]["Cookie"] >= 2 and creds["scrubbed_requests"]["Authorization"]
    assert creds["scrub_rule"]["placeholder"] == PLACEHOLDER
    assert creds["storage_state"] == {
        "cookies": [{"domain": "127.0.0.1", "name": "session"}],
        "local_storage_origins": [site.base],
    }
    assert "screenshot" in creds["warning"]
    assert prov["options"]["storage_state"] is True and prov["proxy"] is None
    assert "scrubbed-request-headers: Cookie" in records[0]["body"].decode()


def test_scrubber_replaces_only_credential_header_values() -> None:
    request = OutgoingRequest("GET", "http://example.org/", ())
    now = datetime.now(UTC)
    plain = Exchange(request, now, "GET / HTTP/1.1", (("Host", "x"), ("Accept", "*/*")))
    scrubber = Scrubber()
    assert scrubber.apply(plain) is plain and scrubber.seen == {}
    sent = (("Host", "x"), ("cookie", "a=b"), ("Authorization", "Basic eA=="), ("X-A", "1"))
    mixed = Exchange(request, now, "GET / HTTP/1.1", sent)
    scrubbed = scrubber.apply(mixed).sent_headers
    assert scrubbed == (("Host", "x"), ("cookie", PLACEHOLDER), ("Authorization", PLACEHOLDER),
                        ("X-A", "1"))  # fmt: skip
    assert mixed.sent_headers == sent  # what is sent is untouched
    assert scrubber.seen == {"cookie": 1, "Authorization": 1}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"cookies": {}}', "must be lists"),
        ('{"cookies": [{"name": "a", "domain": "x", "path": "/"}]}', "cookie 0"),
        ('{"origins": [{"localStorage": []}]}', "origin 0"),
    ],
    ids=["not-json", "array", "cookies-object", "cookie-without-value", "origin-without-name"],
)
def test_bad_storage_state_is_a_usage_error(tmp_path: Path, content: str, why: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=why):
        load_storage_state(path)
    with pytest.raises(UsageError, match="cannot read"):
        load_storage_state(tmp_path / "missing.json")


def test_cli_warns_and_checks_the_storage_state_first(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from custody.capture import batch

    def no_browser() -> Any:
        raise AssertionError("no browser is launched for a bad storage state")

    monkeypatch.setattr(batch, "BrowserSession", no_browser)
    case = make_case(tmp_path, cli, files=0)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    args = ("capture", "http://127.0.0.1:1/", "--allow-private", "--case", str(case))
    code, out, err = cli(*args, "--storage-state", str(bad), "--json")
    assert code == ExitCode.USAGE and out == ""
    assert "not a JSON object" in err and "logged-in identity may still show" in err
