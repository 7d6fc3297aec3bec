"""Artifacts: one streaming read for both digests, EXIF details, failures mid-read."""

from __future__ import annotations

import errno
import hashlib
import io
import json
from pathlib import Path

import pytest

from custody import case as case_mod
from custody import hashing, store
from custody.errors import ExitCode, StorageError

from .conftest import ROOT, Runner, make_case


@pytest.mark.parametrize("size", [0, 1, hashing.CHUNK - 1, hashing.CHUNK, 3 * hashing.CHUNK + 7])
def test_hash_stream_matches_hashlib(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    got = hashing.hash_stream(io.BytesIO(data))
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert got.sha512 == hashlib.sha512(data).hexdigest()
    assert got.size == size


class _FailsMidway(io.RawIOBase):
    """A source whose disk fails after some bytes (as a bad sector would)."""

    name = "failing-disk.bin"

    def __init__(self, good: int) -> None:
        self.left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
        if self.left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        n = min(len(buf), self.left, 4096)
        buf[:n] = b"x" * n
        self.left -= n
        return n


def test_unreadable_midway_leaves_nothing(tmp_path: Path, home: Path, cli: Runner) -> None:
    root = make_case(tmp_path, cli, files=1)
    case = case_mod.open_case(root)
    before = sorted(p for p in root.rglob("*"))
    with pytest.raises(StorageError, match="Input/output error") as info:
        store.store_stream(case, _FailsMidway(100_000))  # type: ignore[arg-type]
    assert info.value.exit_code == ExitCode.IO
    assert sorted(p for p in root.rglob("*")) == before  # no temp file, no partial object


def test_failed_fsync_stops_the_command(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_case(tmp_path, cli, files=1)
    entries = (root / "log" / "entries.jsonl").read_bytes()
    f = tmp_path / "new.txt"
    f.write_text("new evidence")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr("os.fsync", broken_fsync)
    code, _, err = cli("add", str(f), "--case", str(root))
    assert code == ExitCode.IO and "fsync" in err
    monkeypatch.undo()
    assert (root / "log" / "entries.jsonl").read_bytes() == entries


def test_photo_exif_goes_into_details_with_gps_flagged(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    root = make_case(tmp_path, cli, files=0)
    photo = ROOT / "examples" / "photo-with-gps.jpg"
    code, out, _ = cli("add", str(photo), "--case", str(root), "--note", "from A.", "--json")
    assert code == 0
    code, out, _ = cli("verify", str(root), "--json")
    details = [a for a in json.loads(out)["artifacts"] if a["kind"] == "file-details"]
    record = json.loads((root / details[0]["path"]).read_text())
    assert record["original_name"] == "photo-with-gps.jpg"
    assert record["note"] == "from A."
    assert record["exif"]["Image Make"] == "ExampleCam"
    assert record["gps"] == {"present": True, "sensitive": True}
    # The log itself holds no name, note, EXIF or unsalted digest of the photo.
    log_text = (root / "log" / "entries.jsonl").read_text()
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()
    for secret in ("photo-with-gps", "from A.", "ExampleCam", sha):
        assert secret not in log_text


def test_same_bytes_added_twice_are_stored_once_and_logged_twice(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    root = make_case(tmp_path, cli, files=0)
    f = tmp_path / "dup.txt"
    f.write_text("same")
    assert cli("add", str(f), "--case", str(root))[0] == 0
    assert cli("add", str(f), "--case", str(root))[0] == 0
    objects = [p for p in (root / "objects").rglob("*") if p.is_file()]
    _code, out, _ = cli("log", "--case", str(root), "--json")
    assert [e["type"] for e in json.loads(out)["entries"]].count("add") == 2
    assert cli("verify", str(root))[0] == 0
    assert len(objects) == 3  # case details, the file, one (identical) details record


def test_read_commands_do_not_write(tmp_path: Path, home: Path, cli: Runner) -> None:
    root = make_case(tmp_path, cli, files=2)

    def state() -> dict[str, tuple[bytes, int]]:
        return {
            str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()
        }

    before = state()
    reads = [
        ["verify", str(root), "--deep"],
        ["log", "--case", str(root)],
        ["log", "verify", "--case", str(root)],
        ["log", "checkpoint", "--case", str(root)],
    ]
    for args in reads:
        assert cli(*args)[0] == 0
    assert state() == before


def test_derived_tree_is_rebuilt_when_missing(tmp_path: Path, home: Path, cli: Runner) -> None:
    root = make_case(tmp_path, cli, files=3)
    for p in (root / "log" / "tree").iterdir():
        p.unlink()
    assert cli("verify", str(root))[0] == 0  # derived data is optional
    f = tmp_path / "more.txt"
    f.write_text("more")
    assert cli("add", str(f), "--case", str(root))[0] == 0
    assert len(list((root / "log" / "tree").iterdir())) >= 3
    assert cli("verify", str(root))[0] == 0
