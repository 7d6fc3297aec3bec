"""Crash injection: the process dies at each write/fsync/link/rename of ``custody add``.

Afterwards ``custody verify`` explains the state without crashing, ``custody log recover``
gets back to a clean log, and nothing preserved earlier is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Runner, make_case


def _custody(*args: str, crash_at: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CUSTODY_UNSAFE_CRASH_AT", None)
    if crash_at is not None:
        env["CUSTODY_UNSAFE_CRASH_AT"] = str(crash_at)
    return subprocess.run(
        [sys.executable, "-m", "custody", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_crash_at_every_durable_step_of_add(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=1)
    _code, out, _ = cli("verify", str(case), "--json")
    before = {a["path"]: a["sha256"] for a in json.loads(out)["artifacts"]}
    crashes = 0
    for n in range(1, 80):
        new = tmp_path / f"new-{n}.bin"
        new.write_bytes(os.urandom(3000) + n.to_bytes(2, "big"))
        proc = _custody("add", str(new), "--case", str(case), crash_at=n)
        if proc.returncode == 0:
            break  # past the last durable step: the add completed
        assert proc.returncode == 137, proc.stderr
        crashes += 1
        check = _custody("verify", str(case), "--json")
        assert check.returncode in (0, 3), check.stderr  # explained, never a crash
        report = json.loads(check.stdout)
        assert all(f["message"] for f in report["findings"])
        rec = _custody("log", "recover", "--case", str(case), "--json")
        assert rec.returncode == 0, rec.stderr
        again = _custody("verify", str(case), "--json")
        assert again.returncode == 0, again.stdout
        after = {a["path"]: a["sha256"] for a in json.loads(again.stdout)["artifacts"]}
        assert before.items() <= after.items(), "an earlier artifact was lost"
        before = after
    else:
        pytest.fail("add never completed")
    assert crashes >= 10  # every write, fsync, link and rename of add was a crash point


def test_torn_tail_blocks_appends_until_recovered(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=1)
    entries = case / "log" / "entries.jsonl"
    good = entries.read_bytes()
    with entries.open("ab") as fh:
        fh.write(b'{"entry":{"case":"half a reco')
    f = tmp_path / "more.txt"
    f.write_text("more")
    code, _, err = cli("add", str(f), "--case", str(case))
    assert code == 3 and f"torn last record at byte {len(good)}" in err
    code, out, _ = cli("verify", str(case))
    assert code == 3 and "torn-tail" in out
    code, out, _ = cli("log", "recover", "--case", str(case), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["torn_offset"] == len(good) and result["torn_size"] == 29
    assert entries.read_bytes().startswith(good)
    assert cli("verify", str(case))[0] == 0
    # the torn bytes were kept as an artifact, not thrown away
    code, out, _ = cli("verify", str(case), "--json")
    kinds = [a["kind"] for a in json.loads(out)["artifacts"]]
    assert "torn-tail" in kinds
    assert cli("add", str(f), "--case", str(case))[0] == 0


def _damage(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF  # same size, wrong bytes
    path.write_bytes(bytes(data))


def test_damaged_tree_is_never_signed(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=3)  # 4 entries: tree levels 0, 1, 2
    _damage(case / "log" / "tree" / "2", 5)  # a node the next root is built from
    f = tmp_path / "more.txt"
    f.write_text("more")
    assert cli("add", str(f), "--case", str(case))[0] == 0
    assert cli("verify", str(case))[0] == 0  # rebuilt from the entries before signing


def test_damaged_unused_tree_node_is_reported_then_rebuilt(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    case = make_case(tmp_path, cli, files=3)
    _damage(case / "log" / "tree" / "0", 5)  # leaf 0: not needed for the next root
    f = tmp_path / "more.txt"
    f.write_text("more")
    assert cli("add", str(f), "--case", str(case))[0] == 0
    code, out, _ = cli("verify", str(case), "--json")
    codes = {x["code"] for x in json.loads(out)["findings"] if x["severity"] == "error"}
    assert code == 3 and codes == {"tree-altered"}  # the signed checkpoints are right
    code, out, _ = cli("log", "recover", "--case", str(case), "--json")
    assert code == 0 and json.loads(out)["rebuilt_tree"] is True
    assert cli("verify", str(case))[0] == 0


def test_recover_refuses_a_case_without_init(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    (case / "log" / "entries.jsonl").write_bytes(b"")
    code, _, err = cli("log", "recover", "--case", str(case))
    assert code == 3 and "no init entry" in err
    assert (case / "log" / "entries.jsonl").read_bytes() == b""


def test_crash_between_checkpoint_files_is_not_an_error(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    case = make_case(tmp_path, cli, files=1)
    f = tmp_path / "more.txt"
    f.write_text("more")
    assert cli("add", str(f), "--case", str(case))[0] == 0
    latest = case / "log" / "checkpoints" / "3"
    latest.chmod(0o644)
    latest.unlink()  # as if the process died after replacing log/checkpoint
    code, out, _ = cli("verify", str(case))
    assert code == 0, out
