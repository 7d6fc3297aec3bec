"""RFC 8785 canonical JSON against cyberphone's vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from custody import canonical
from custody.errors import StrictJSONError

from .conftest import VECTORS

JCS = VECTORS / "jcs" / "testdata"


def _names() -> list[str]:
    return sorted(p.name for p in (JCS / "input").glob("*.json")) if JCS.exists() else []


@pytest.mark.parametrize("name", _names())
def test_jcs_vectors(name: str) -> None:
    value = json.loads((JCS / "input" / name).read_text(encoding="utf-8"))
    expected = (JCS / "output" / name).read_bytes()
    assert canonical.dumps(value) == expected
    hexed = (JCS / "outhex" / Path(name).with_suffix(".txt").name).read_text().split()
    assert canonical.dumps(value) == bytes(int(h, 16) for h in hexed)


def test_vector_count() -> None:
    if not JCS.exists():
        pytest.skip("peer vectors not present")
    assert len(_names()) == 6


def test_nan_has_no_canonical_form() -> None:
    with pytest.raises(StrictJSONError):
        canonical.dumps({"a": float("nan")})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@given(json_values)
def test_round_trip_is_stable(value: object) -> None:
    once = canonical.dumps(value)
    assert canonical.dumps(json.loads(once)) == once


@given(
    st.from_regex(r"[a-z0-9][a-z0-9-]{0,20}", fullmatch=True),
    st.integers(min_value=0, max_value=2**53 - 1),
    st.booleans(),
)
def test_fast_disclosure_encoding_is_rfc8785(kind: str, size: int, with_sha512: bool) -> None:
    from custody import commitments
    from custody.hashing import Digests

    digests = Digests("ab" * 32, "cd" * 64 if with_sha512 else None, size)
    d = commitments.make_disclosure(kind, digests)
    assert d.raw == canonical.dumps(json.loads(d.raw))
    assert commitments.parse_disclosure(d.raw) == d
