"""The command line: flows, JSON output, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from custody.errors import ExitCode

from .conftest import ROOT, Runner, make_case


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_init_add_log_verify(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli)
    code, out, _ = cli("log", "--case", str(case), "--json")
    assert code == 0
    entries = json.loads(out)["entries"]
    assert [e["type"] for e in entries] == ["init", "add", "add", "add"]
    assert entries[1]["operator"] == "Ana"
    code, out, _ = cli("verify", str(case), "--json")
    report = json.loads(out)
    assert code == 0 and report["verified"] is True
    files = [a for a in report["artifacts"] if a["kind"] == "file"]
    assert len(files) == 3
    for a in files:
        assert (case / a["path"]).is_file()
        assert len(a["sha512"]) == 128


def test_add_json_reports_paths_and_digests(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    photo = tmp_path / "photo.bin"
    photo.write_bytes(b"\x00" * 5000)
    code, out, _ = cli("add", str(photo), "--case", str(case), "--json", "--sensitive")
    assert code == 0
    row = json.loads(out)["added"][0]
    stored = case / row["path"]
    assert stored.read_bytes() == photo.read_bytes()
    assert row["sha256"] == stored.name
    assert not os.access(stored, os.W_OK) or os.geteuid() == 0
    assert stored.stat().st_mode & 0o222 == 0


def test_case_from_environment_and_cwd(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path, cli, files=0)
    monkeypatch.setenv("CUSTODY_CASE", str(case))
    assert cli("verify")[0] == 0
    monkeypatch.delenv("CUSTODY_CASE")
    monkeypatch.chdir(case / "log")
    assert cli("verify")[0] == 0


def test_help_shows_examples(cli: Runner) -> None:
    for cmd in (
        ["init"],
        ["add"],
        ["verify"],
        ["log", "recover"],
        ["keys", "export"],
        ["capture"],
        ["export-wacz"],
    ):
        code, out, _ = cli(*cmd, "--help")
        assert code == 0
        assert "Example: custody" in out


@pytest.mark.parametrize(
    ("setup", "expected", "message"),
    [
        pytest.param("missing", ExitCode.USAGE, "no such file", id="missing-file"),
        pytest.param("directory", ExitCode.USAGE, "is a directory", id="directory"),
        pytest.param("symlink", ExitCode.USAGE, "symbolic link", id="symlink"),
        pytest.param("fifo", ExitCode.USAGE, "not a regular file", id="fifo"),
    ],
)
def test_add_refuses_bad_paths(
    tmp_path: Path, home: Path, cli: Runner, setup: str, expected: int, message: str
) -> None:
    case = make_case(tmp_path, cli, files=1)
    before = _files(case)
    target = tmp_path / "bad"
    if setup == "directory":
        target.mkdir()
    elif setup == "symlink":
        (tmp_path / "real.txt").write_text("x")
        target.symlink_to(tmp_path / "real.txt")
    elif setup == "fifo":
        os.mkfifo(target)
    good = tmp_path / "good.txt"
    good.write_text("fine")
    code, _out, err = cli("add", str(good), str(target), "--case", str(case))
    assert code == expected
    assert message in err and err.count("\n") == 1
    assert _files(case) == before  # nothing written, not even the good file


def test_not_a_case(tmp_path: Path, home: Path, cli: Runner) -> None:
    code, _, err = cli("verify", str(tmp_path))
    assert code == ExitCode.INVALID_INPUT
    assert "not a case folder" in err and err.count("\n") == 1


def test_wrong_passphrase(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path, cli, files=0)
    before = _files(case)
    monkeypatch.setenv("CUSTODY_PASSPHRASE", "wrong")
    f = tmp_path / "x.txt"
    f.write_text("x")
    code, _, err = cli("add", str(f), "--case", str(case))
    assert code == ExitCode.KEY
    assert "wrong passphrase" in err
    assert _files(case) == before


def test_passphrase_file(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path, cli, files=0)
    monkeypatch.delenv("CUSTODY_PASSPHRASE")
    pf = tmp_path / "pass"
    pf.write_text("correct horse battery staple\n")
    f = tmp_path / "x.txt"
    f.write_text("x")
    assert cli("add", str(f), "--case", str(case), "--passphrase-file", str(pf))[0] == 0


def test_no_passphrase_and_no_terminal_fails_fast(tmp_path: Path, home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CUSTODY_PASSPHRASE"}
    proc = subprocess.run(
        [sys.executable, "-m", "custody", "init", str(tmp_path / "c"), "--name", "x"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == ExitCode.KEY
    assert "no passphrase" in proc.stderr and proc.stderr.count("\n") == 1


def test_init_refuses_existing_folder(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    code, _, err = cli("init", str(case), "--name", "again")
    assert code == ExitCode.USAGE and "non-empty" in err


def test_usage_error_exit_code(cli: Runner) -> None:
    assert cli("add")[0] == ExitCode.USAGE
    assert cli("no-such-command")[0] == ExitCode.USAGE


def test_console_script_runs(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "custody"
    proc = subprocess.run(
        [str(exe), "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0 and "verify" in proc.stdout
    assert (ROOT / "src" / "custody").is_dir()


def test_verify_record_logs_an_access_entry(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=1)
    code, out, _ = cli("verify", str(case), "--record", "--json")
    assert code == 0
    assert json.loads(out)["checked"]["recorded_as_entry"] == 2
    code, out, _ = cli("log", "--case", str(case), "--json")
    last = json.loads(out)["entries"][-1]
    assert last["type"] == "access"
    assert cli("verify", str(case))[0] == 0


def test_checkpoint_json(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=2)
    code, out, _ = cli("log", "checkpoint", "--case", str(case), "--json")
    data = json.loads(out)
    assert code == 0 and data["size"] == 3 and data["origin"].startswith("custody.case/")
    assert data["note"] == (case / "log" / "checkpoint").read_text()


def test_non_utf8_file_name_is_refused_before_storing(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    case = make_case(tmp_path, cli, files=0)
    before = _files(case)
    bad = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.txt"))
    bad.write_text("latin-1 name")
    code, _, err = cli("add", str(bad), "--case", str(case))
    assert code == ExitCode.USAGE and "not valid UTF-8" in err
    assert _files(case) == before


def test_markup_in_names_is_shown_literally(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    f = tmp_path / "[bold]x\u202e.txt"
    f.write_text("x")
    assert cli("add", str(f), "--case", str(case), "--sensitive")[0] == 0
    _code, out, _ = cli("log", "--case", str(case))
    assert "[bold]x\\u202e.txt" in out.replace("\n", "").replace(" ", "").replace("│", "")
    assert "[sensitive]" in out
