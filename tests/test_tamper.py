"""Tamper sweeps: every alteration of a case is reported, nothing crashes, nothing is written.

In-process (no subprocess per mutation) with seeded random positions plus every record
boundary, so the sweep stays fast.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from custody import case as case_mod
from custody import log
from custody.errors import IntegrityError
from custody.verify import verify_case

from .conftest import Runner, make_case

SEED = 20261121


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _verify(root: Path, **kw: object) -> list[str]:
    """Verify; assert it did not write; return the error codes found."""
    before = _snapshot(root)
    try:
        report = verify_case(case_mod.open_case(root), **kw)  # type: ignore[arg-type]
    except IntegrityError:
        return ["case-unopenable"]  # the CLI maps this to exit 3 as well
    finally:
        assert _snapshot(root) == before, "verify modified the case"
    return [f.code for f in report.findings if f.severity == "error"]


@pytest.fixture
def sealed(tmp_path: Path, home: Path, cli: Runner) -> Path:
    case = make_case(tmp_path, cli, files=3)
    assert _verify(case) == []
    return case


def _mutated_copy(src: Path, dst: Path) -> Path:
    if dst.exists():
        for p in dst.rglob("*"):
            p.chmod(0o755 if p.is_dir() else 0o644)
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    return dst


def _flip(path: Path, offset: int) -> None:
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_byte_in_every_file_is_found(sealed: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    work = tmp_path / "work"
    files = [p.relative_to(sealed) for p in sorted(sealed.rglob("*")) if p.is_file()]
    tried = 0
    for rel in files:
        size = (sealed / rel).stat().st_size
        if size == 0:  # the empty lock file holds nothing to alter
            continue
        for offset in sorted({0, size - 1, *(rng.randrange(size) for _ in range(4))}):
            _mutated_copy(sealed, work)
            _flip(work / rel, offset)
            errors = _verify(work, deep=True)
            assert errors, f"flip at {rel}:{offset} went unnoticed"
            tried += 1
    assert tried > 60


def test_log_truncated_at_every_record_boundary(sealed: Path, tmp_path: Path) -> None:
    raw = log.read_raw_log(case_mod.open_case(sealed).entries)
    work = tmp_path / "work"
    for offset, _ in raw.lines:
        _mutated_copy(sealed, work)
        entries = work / "log" / "entries.jsonl"
        entries.write_bytes(entries.read_bytes()[:offset])
        errors = _verify(work)
        assert "log-truncated" in errors or "log-empty" in errors, offset


def test_log_truncated_inside_records(sealed: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    entries = sealed / "log" / "entries.jsonl"
    data = entries.read_bytes()
    newlines = {i + 1 for i, b in enumerate(data) if b == 0x0A}
    cuts = {c for c in (rng.randrange(1, len(data)) for _ in range(30)) if c not in newlines}
    work = tmp_path / "work"
    for cut in sorted(cuts):
        _mutated_copy(sealed, work)
        (work / "log" / "entries.jsonl").write_bytes(data[:cut])
        errors = _verify(work)
        assert "torn-tail" in errors, cut


def test_reordered_entries(sealed: Path, tmp_path: Path) -> None:
    work = _mutated_copy(sealed, tmp_path / "work")
    entries = work / "log" / "entries.jsonl"
    lines = entries.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    entries.write_bytes(b"".join(lines))
    errors = _verify(work)
    assert "entry-out-of-place" in errors and "chain-broken" in errors
    assert "log-rewritten" in errors


def test_deleted_entry(sealed: Path, tmp_path: Path) -> None:
    work = _mutated_copy(sealed, tmp_path / "work")
    entries = work / "log" / "entries.jsonl"
    lines = entries.read_bytes().splitlines(keepends=True)
    del lines[2]
    entries.write_bytes(b"".join(lines))
    errors = _verify(work)
    assert {"entry-out-of-place", "chain-broken", "unlogged-file"} <= set(errors)


def test_missing_and_extra_files(sealed: Path, tmp_path: Path) -> None:
    work = _mutated_copy(sealed, tmp_path / "work")
    victim = next(p for p in (work / "objects" / "sha256").rglob("*") if p.is_file())
    victim.unlink()
    (work / "objects" / "sha256" / "planted.txt").write_text("not evidence")
    (work / "notes.txt").write_text("stray")
    errors = _verify(work)
    assert {"artifact-missing", "unlogged-file", "extra-file"} <= set(errors)


def test_whole_case_rolled_back_is_caught_by_remembered_checkpoint(
    sealed: Path, tmp_path: Path, home: Path, cli: Runner
) -> None:
    old = _mutated_copy(sealed, tmp_path / "old-copy")
    extra = tmp_path / "later.txt"
    extra.write_text("added after the checkpoint was given out")
    assert cli("add", str(extra), "--case", str(sealed))[0] == 0
    code, given_out, _ = cli("log", "checkpoint", "--case", str(sealed))
    (tmp_path / "given-out.txt").write_text(given_out)
    # Replace the whole case by the older copy: internally consistent, but rolled back.
    for p in sealed.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    shutil.rmtree(sealed)
    shutil.copytree(old, sealed)
    assert _verify(sealed) == []  # alone, the old copy is self-consistent
    code, out, _ = cli("verify", str(sealed))  # this machine remembers the newer checkpoint
    assert code == 3 and "log-truncated" in out
    # A recipient elsewhere (no memory) catches it with the checkpoint they hold.
    home2 = tmp_path / "elsewhere"
    import os

    os.environ["CUSTODY_HOME"] = str(home2)
    code, out, _ = cli("verify", str(sealed), "--checkpoint", str(tmp_path / "given-out.txt"))
    assert code == 3 and "log-truncated" in out


def test_forked_log_is_caught_by_checkpoint(
    sealed: Path, tmp_path: Path, home: Path, cli: Runner
) -> None:
    fork = _mutated_copy(sealed, tmp_path / "fork")
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("branch a")
    b.write_text("branch b")
    assert cli("add", str(a), "--case", str(sealed))[0] == 0
    cp = tmp_path / "cp-a.txt"
    cp.write_text(cli("log", "checkpoint", "--case", str(sealed))[1])
    assert cli("add", str(b), "--case", str(fork))[0] == 0
    errors = _verify(fork, checkpoints=[("held", cp.read_bytes())])
    assert "log-rewritten" in errors
