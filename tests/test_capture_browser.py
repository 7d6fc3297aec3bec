"""Finding and launching the Chromium a capture runs in (no browser is started here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from custody.capture.browser import BrowserNotFoundError, find_chromium, launch_args
from custody.errors import ExitCode

from .conftest import ROOT


def test_custody_chromium_must_be_executable(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFoundError, match="CUSTODY_CHROMIUM"):
        find_chromium({"CUSTODY_CHROMIUM": str(tmp_path / "nothing"), "PATH": ""})


def test_no_chromium_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFoundError) as caught:
        find_chromium({"PATH": str(tmp_path), "HOME": str(tmp_path)})
    assert caught.value.exit_code == ExitCode.USAGE and "CUSTODY_CHROMIUM" in (
        caught.value.hint or ""
    )


def test_chromium_choice_order(tmp_path: Path) -> None:
    for name in ("google-chrome", "chromium"):
        exe = tmp_path / "bin" / name
        exe.parent.mkdir(exist_ok=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    managed = tmp_path / "pw" / "chromium-1200" / "chrome-linux64" / "chrome"
    managed.parent.mkdir(parents=True)
    managed.write_text("#!/bin/sh\n")
    managed.chmod(0o755)
    env = {"PATH": str(tmp_path / "bin"), "PLAYWRIGHT_BROWSERS_PATH": str(tmp_path / "pw")}
    assert find_chromium(env).path.name == "chromium"
    assert find_chromium({**env, "PATH": ""}).source == "playwright"
    explicit = find_chromium({**env, "CUSTODY_CHROMIUM": str(managed)})
    assert explicit.source == "CUSTODY_CHROMIUM" and explicit.path == managed


def test_launch_flags() -> None:
    args = launch_args(9, root=True)
    for flag in ("--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-sync"):
        assert flag in args
    assert "--proxy-server=http://127.0.0.1:9" in args
    assert "--no-sandbox" not in launch_args(9, root=False)
    assert ROOT.is_dir()
