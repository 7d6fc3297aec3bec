"""Shared fixtures: peer vectors by relative path, isolated custody homes and cases."""

from __future__ import annotations

from collections.abc import Iterator
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
def asset() -> Iterator[object]:
    def _asset(name: str) -> Path:
        path = ASSETS / name
        assert path.exists(), f"missing test asset {name}"
        return path

    yield _asset
