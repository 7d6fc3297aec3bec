"""Keys: sealed at rest with scrypt, joined and rotated through signed key entries."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from custody import keys, signing
from custody.errors import ExitCode, KeyMaterialError

from .conftest import Runner, make_case


def test_key_file_is_sealed_with_memory_hard_kdf(tmp_path: Path) -> None:
    os.environ.pop("CUSTODY_UNSAFE_FAST_KDF", None)
    signer = keys.generate_key(tmp_path, "pass phrase")
    path = next((tmp_path / "keys").glob("*.key"))
    doc = json.loads(path.read_text())
    assert doc["kdf"] == doc["kdf"] | {"name": "scrypt", "n": 2**17, "r": 8, "p": 1}
    assert doc["cipher"]["name"] == "aes-256-gcm"
    assert path.stat().st_mode & 0o077 == 0
    assert (tmp_path / "keys").stat().st_mode & 0o077 == 0
    seed_hex = signer.private.private_bytes_raw().hex()
    assert seed_hex not in path.read_text()
    assert keys.load_key(tmp_path, signer.key_id, "pass phrase").public_key == signer.public_key
    with pytest.raises(KeyMaterialError, match="wrong passphrase"):
        keys.load_key(tmp_path, signer.key_id, "guess")


def test_group_readable_key_is_refused(tmp_path: Path, home: Path) -> None:
    signer = keys.generate_key(home, "pw")
    path = next((home / "keys").glob("*.key"))
    path.chmod(0o640)
    with pytest.raises(KeyMaterialError, match="readable by others"):
        keys.load_key(home, signer.key_id, "pw")


def test_examiner_joins_and_investigator_rotates(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path, cli, files=1)
    examiner_home = tmp_path / "examiner"
    monkeypatch.setenv("CUSTODY_HOME", str(examiner_home))
    code, out, err = cli(
        "keys",
        "join",
        "--case",
        str(case),
        "--operator",
        "Dr. Osei",
        "--role",
        "examiner",
        "--json",
    )
    assert code == 0, err
    note = tmp_path / "exam.txt"
    note.write_text("examination notes")
    assert cli("add", str(note), "--case", str(case))[0] == 0
    monkeypatch.setenv("CUSTODY_HOME", str(home))
    code, out, _ = cli("keys", "rotate", "--case", str(case), "--json")
    assert code == 0
    rotated = json.loads(out)
    more = tmp_path / "more.txt"
    more.write_text("after rotation")
    assert cli("add", str(more), "--case", str(case))[0] == 0
    code, out, _ = cli("log", "--case", str(case), "--json")
    entries = json.loads(out)["entries"]
    assert [e["type"] for e in entries] == ["init", "add", "key", "add", "key", "add"]
    assert entries[-1]["actor"] == rotated["key_id"]
    assert cli("verify", str(case))[0] == 0
    # The retired key can no longer sign in this case.
    identity = keys.read_identity(home)
    assert identity is not None and identity.key_id == rotated["key_id"]
    keys.write_identity(home, keys.Identity(identity.operator, rotated["old_key_id"]))
    late = tmp_path / "late.txt"
    late.write_text("signed by a retired key")
    code, _, err = cli("add", str(late), "--case", str(case))
    assert code == ExitCode.KEY and "not a member of this case" in err
    assert cli("verify", str(case))[0] == 0


def test_non_member_cannot_append(
    tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = make_case(tmp_path, cli, files=1)
    before = sorted(p.name for p in case.rglob("*"))
    stranger = tmp_path / "stranger"
    monkeypatch.setenv("CUSTODY_HOME", str(stranger))
    other = tmp_path / "other-case"
    assert cli("init", str(other), "--name", "their own case", "--operator", "Eve")[0] == 0
    f = tmp_path / "f.txt"
    f.write_text("x")
    code, _, err = cli("add", str(f), "--case", str(case))
    assert code == ExitCode.KEY and "not a member" in err
    assert sorted(p.name for p in case.rglob("*")) == before
    assert cli("keys", "join", "--case", str(case))[0] == 0
    code, _, err = cli("keys", "join", "--case", str(case))
    assert code == ExitCode.USAGE and "already a member" in err
    assert cli("add", str(f), "--case", str(case))[0] == 0
    assert cli("verify", str(case))[0] == 0


def test_missing_key_is_exit_8(tmp_path: Path, home: Path, cli: Runner) -> None:
    case = make_case(tmp_path, cli, files=0)
    for p in (home / "keys").glob("*.key"):
        p.unlink()
    f = tmp_path / "f.txt"
    f.write_text("x")
    code, _, err = cli("add", str(f), "--case", str(case))
    assert code == ExitCode.KEY and "missing private key" in err


def test_key_id_and_exports(tmp_path: Path, home: Path, cli: Runner) -> None:
    make_case(tmp_path, cli, files=0)
    code, out, _ = cli("keys", "export", "--format", "note", "--case", str(tmp_path / "case"))
    assert code == 0 and out.startswith("custody.case/")
    identity = keys.read_identity(home)
    assert identity is not None
    public = keys.public_key_of(home, identity.key_id)
    assert signing.key_id(public) == identity.key_id


def test_keys_export_json_gives_every_format(tmp_path: Path, home: Path, cli: Runner) -> None:
    make_case(tmp_path, cli, files=0)
    code, out, _ = cli("keys", "export", "--json")
    data = json.loads(out)
    assert code == 0 and set(data["formats"]) == {"openssh", "allowed-signers", "pem", "note"}
    assert data["formats"]["pem"].startswith("-----BEGIN PUBLIC KEY-----")
