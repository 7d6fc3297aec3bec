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
    assert d.raw == canonical.dumps_reference(json.loads(d.raw))
    assert commitments.parse_disclosure(d.raw) == d


# every string, including control characters, quotes, backslashes, DEL, non-BMP characters
plain_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children) | st.dictionaries(st.text(st.characters(max_codepoint=127)), children)
    ),
    max_leaves=30,
)


@given(plain_values)
def test_fast_path_is_rfc8785_for_plain_values(value: object) -> None:
    assert canonical.is_plain(value)
    assert canonical.dumps(value) == canonical.dumps_reference(value)


any_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children)
        | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"])), children)
    ),
    max_leaves=30,
)


@given(any_values)
def test_both_paths_agree_or_both_refuse(value: object) -> None:
    try:
        expected: bytes | None = canonical.dumps_reference(value)
    except StrictJSONError:
        expected = None
    if expected is None:
        with pytest.raises(StrictJSONError):
            canonical.dumps(value)
    else:
        assert canonical.dumps(value) == expected


@pytest.mark.parametrize(
    ("value", "plain"),
    [
        ({"\u00e9": 1}, False),  # non-ASCII names sort by UTF-16 code units in JCS
        ({"a": 2**53}, False),
        ({"a": 1.0}, False),
        ({"a": [True, None, "\u00e9\U0001f600\x7f\x00"]}, True),
    ],
)
def test_which_values_are_plain(value: object, plain: bool) -> None:
    assert canonical.is_plain(value) is plain
    try:
        expected = canonical.dumps_reference(value)
    except StrictJSONError:  # 2**53 has no exact JCS form: refused by both
        with pytest.raises(StrictJSONError):
            canonical.dumps(value)
    else:
        assert canonical.dumps(value) == expected


def test_lone_surrogate_is_refused_on_the_fast_path() -> None:
    with pytest.raises(StrictJSONError):
        canonical.dumps({"a": "\ud800"})
