"""Stock tools agree with us: openssl, ssh-keygen and sha256sum."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import Runner, make_case


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path


def test_checkpoint_signature_verifies_with_openssl(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    openssl = _tool("openssl")
    case = make_case(tmp_path, cli, files=2)
    code, pem, _ = cli("keys", "export", "--format", "pem")
    assert code == 0
    (tmp_path / "key.pem").write_text(pem)
    checkpoint = (case / "log" / "checkpoint").read_bytes()
    body, _, sigs = checkpoint.partition(b"\n\n")
    (tmp_path / "body").write_bytes(body + b"\n")
    sig_b64 = sigs.decode().split()[-1]
    (tmp_path / "sig").write_bytes(base64.b64decode(sig_b64)[4:])
    args = [
        openssl,
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        str(tmp_path / "key.pem"),
        "-rawin",
        "-in",
        str(tmp_path / "body"),
        "-sigfile",
        str(tmp_path / "sig"),
    ]
    ok = subprocess.run(args, capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "Signature Verified Successfully" in ok.stdout
    lines = body.split(b"\n")
    lines[1] = b"999"  # a forged tree size
    (tmp_path / "body").write_bytes(b"\n".join(lines) + b"\n")
    bad = subprocess.run(args, capture_output=True, text=True, check=False)
    assert bad.returncode != 0


def test_documented_shell_recipe_verifies(tmp_path: Path, home: Path, cli: Runner) -> None:
    """The exact recipe in docs/formats/log.md works."""
    _tool("openssl")
    case = make_case(tmp_path, cli, files=1)
    (tmp_path / "key.pem").write_text(cli("keys", "export", "--format", "pem")[1])
    (tmp_path / "checkpoint").write_bytes((case / "log" / "checkpoint").read_bytes())
    recipe = (
        "sed '/^$/,$d' checkpoint > checkpoint.body\n"
        "grep '^— ' checkpoint | awk '{print $3}' | base64 -d | tail -c 64 > checkpoint.sig\n"
        "openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in checkpoint.body "
        "-sigfile checkpoint.sig\n"
    )
    proc = subprocess.run(
        ["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "Signature Verified Successfully" in proc.stdout


def test_ssh_fingerprint_matches_ssh_keygen(tmp_path: Path, home: Path, cli: Runner) -> None:
    keygen = _tool("ssh-keygen")
    make_case(tmp_path, cli, files=0)
    (tmp_path / "id.pub").write_text(cli("keys", "export", "--format", "openssh")[1])
    ours = cli("keys", "fingerprint", "--json")[1]
    proc = subprocess.run(
        [keygen, "-lf", str(tmp_path / "id.pub")], capture_output=True, text=True, check=True
    )
    import json

    assert json.loads(ours)["ssh_fingerprint"] in proc.stdout


def test_allowed_signers_is_read_by_ssh_keygen(tmp_path: Path, home: Path, cli: Runner) -> None:
    keygen = _tool("ssh-keygen")
    make_case(tmp_path, cli, files=0)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(cli("keys", "export", "--format", "allowed-signers")[1])
    proc = subprocess.run(
        [keygen, "-Y", "find-principals", "-f", str(allowed), "-s", "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "allowed_signers" not in proc.stderr or "line" not in proc.stderr


def test_artifacts_check_with_sha256sum(tmp_path: Path, home: Path, cli: Runner) -> None:
    sha256sum = _tool("sha256sum")
    case = make_case(tmp_path, cli, files=3)
    objects = [p for p in (case / "objects" / "sha256").rglob("*") if p.is_file()]
    listing = "".join(f"{p.name}  {p.relative_to(case)}\n" for p in objects)
    (tmp_path / "SHA256SUMS").write_text(listing)
    proc = subprocess.run(
        [sha256sum, "-c", str(tmp_path / "SHA256SUMS")],
        cwd=case,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0 and proc.stdout.count(": OK") == len(objects)
