"""Shared fixtures: peer vectors by relative path, isolated custody homes and cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT.parent / "shared" / "vectors"
ASSETS = Path(__file__).resolve().parent / "assets"


def vectors(*parts: str) -> Path:
    """Path of a peer vector under ../shared/vectors; skips the test if it is absent."""
    path = VECTORS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"peer vectors not present: {path}")
    return path


@pytest.fixture
def asset() -> Iterator[Callable[[str], Path]]:
    def _asset(name: str) -> Path:
        path = ASSETS / name
        assert path.exists(), f"missing test asset {name}"
        return path

    yield _asset


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated custody home with a passphrase in the environment and a fast KDF."""
    h = tmp_path / "home"
    monkeypatch.setenv("CUSTODY_HOME", str(h))
    monkeypatch.setenv("CUSTODY_PASSPHRASE", "correct horse battery staple")
    monkeypatch.setenv("CUSTODY_UNSAFE_FAST_KDF", "1")
    monkeypatch.delenv("CUSTODY_CASE", raising=False)
    return h


Runner = Callable[..., tuple[int, str, str]]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Runner:
    """Run one custody command line in-process: returns (exit code, stdout, stderr)."""
    from custody.cli import run

    def _run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = run(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def make_case(tmp_path: Path, run: Runner, files: int = 3) -> Path:
    """A case with ``files`` added files."""
    case = tmp_path / "case"
    code, _, err = run("init", str(case), "--name", "Test case", "--operator", "Ana")
    assert code == 0, err
    paths = []
    for i in range(files):
        p = tmp_path / f"evidence-{i}.txt"
        p.write_bytes(f"evidence number {i}\n".encode() * (i + 1))
        paths.append(str(p))
    if paths:
        code, _, err = run("add", *paths, "--case", str(case), "--note", "from the victim")
        assert code == 0, err
    return case
