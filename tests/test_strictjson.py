"""The strict evidence JSON parser against JSONTestSuite and the stdlib's known dangers."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.errors import InputError, StrictJSONError
from custody.strictjson import (
    DEFAULT_MAX_DEPTH,
    MAX_INT_DIGITS,
    load_strict_file,
    loads_strict,
)

SUITE = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "vectors" / "jsontestsuite"
).resolve() / "test_parsing"
needs_suite = pytest.mark.skipif(
    not SUITE.is_dir(), reason=f"JSONTestSuite vectors not present at {SUITE}"
)


def suite_files(prefix: str) -> list[str]:
    if not SUITE.is_dir():
        return []
    return sorted(p.name for p in SUITE.iterdir() if p.name.startswith(prefix))


def outcome(data: bytes) -> tuple[bool, str]:
    """(accepted, refusal message) for one document."""
    try:
        loads_strict(data)
    except StrictJSONError as e:
        return False, e.message
    return True, ""


# y_ files (RFC 8259 valid) that our policy refuses on purpose, with the reason.
Y_REFUSED_BY_POLICY = {
    "y_object_duplicated_key.json": "duplicate key",  # {"a":"b","a":"c"}
    "y_object_duplicated_key_and_value.json": "duplicate key",  # {"a":"b","a":"b"}
}

# Every i_ (implementation-defined) file, pinned: None = accepted, else the refusal reason.
I_EXPECTED: dict[str, str | None] = {
    # numbers: big integers are exact; floats that overflow a double are refused (they would
    # become Infinity); underflow to 0.0 is ordinary rounding and accepted
    "i_number_double_huge_neg_exp.json": None,  # [123.456e-789] -> 0.0
    "i_number_huge_exp.json": "overflows a double",
    "i_number_neg_int_huge_exp.json": "overflows a double",  # [-1e+9999]
    "i_number_pos_double_huge_exp.json": "overflows a double",  # [1.5e+9999]
    "i_number_real_neg_overflow.json": "overflows a double",
    "i_number_real_pos_overflow.json": "overflows a double",
    "i_number_real_underflow.json": None,  # [123e-10000000] -> 0.0
    "i_number_too_big_neg_int.json": None,  # exact int
    "i_number_too_big_pos_int.json": None,
    "i_number_very_big_negative_int.json": None,
    # lone surrogates, escaped, in keys and strings
    "i_object_key_lone_2nd_surrogate.json": "lone surrogate",
    "i_string_1st_surrogate_but_2nd_missing.json": "lone surrogate",
    "i_string_1st_valid_surrogate_2nd_invalid.json": "lone surrogate",
    "i_string_incomplete_surrogate_and_escape_valid.json": "lone surrogate",
    "i_string_incomplete_surrogate_pair.json": "lone surrogate",
    "i_string_incomplete_surrogates_escape_valid.json": "lone surrogate",
    "i_string_invalid_lonely_surrogate.json": "lone surrogate",
    "i_string_invalid_surrogate.json": "lone surrogate",
    "i_string_inverted_surrogates_U+1D11E.json": "lone surrogate",
    "i_string_lone_second_surrogate.json": "lone surrogate",
    # anything that is not UTF-8, including UTF-16 and encoded surrogates
    "i_string_UTF-16LE_with_BOM.json": "not valid UTF-8",
    "i_string_UTF-8_invalid_sequence.json": "not valid UTF-8",
    "i_string_UTF8_surrogate_U+D800.json": "not valid UTF-8",
    "i_string_invalid_utf-8.json": "not valid UTF-8",
    "i_string_iso_latin_1.json": "not valid UTF-8",
    "i_string_lone_utf8_continuation_byte.json": "not valid UTF-8",
    "i_string_not_in_unicode_range.json": "not valid UTF-8",
    "i_string_overlong_sequence_2_bytes.json": "not valid UTF-8",
    "i_string_overlong_sequence_6_bytes.json": "not valid UTF-8",
    "i_string_overlong_sequence_6_bytes_null.json": "not valid UTF-8",
    "i_string_truncated-utf-8.json": "not valid UTF-8",
    "i_string_utf16BE_no_BOM.json": "not valid UTF-8",
    "i_string_utf16LE_no_BOM.json": "not valid UTF-8",
    # structure: deeper than DEFAULT_MAX_DEPTH (128); a BOM is refused, not stripped
    "i_structure_500_nested_arrays.json": "nesting deeper than 128",
    "i_structure_UTF-8_BOM_empty_object.json": "byte order mark",
}


@needs_suite
@pytest.mark.parametrize("name", suite_files("n_"))
def test_every_n_file_is_refused(name: str) -> None:
    accepted, message = outcome((SUITE / name).read_bytes())
    assert not accepted
    assert message and "\n" not in message


@needs_suite
@pytest.mark.parametrize("name", suite_files("y_"))
def test_every_y_file_is_accepted_unless_policy_refuses_it(name: str) -> None:
    data = (SUITE / name).read_bytes()
    accepted, message = outcome(data)
    if name in Y_REFUSED_BY_POLICY:
        assert not accepted and Y_REFUSED_BY_POLICY[name] in message
    else:
        assert accepted, message
        assert loads_strict(data) == json.loads(data)


@needs_suite
@pytest.mark.parametrize("name", suite_files("i_"))
def test_every_i_file_has_its_pinned_outcome(name: str) -> None:
    assert name in I_EXPECTED, f"pin the outcome of new vector {name}"
    accepted, message = outcome((SUITE / name).read_bytes())
    expected = I_EXPECTED[name]
    if expected is None:
        assert accepted, message
    else:
        assert not accepted and expected in message


@needs_suite
def test_pinned_tables_name_existing_files() -> None:
    assert set(I_EXPECTED) == set(suite_files("i_"))
    assert set(Y_REFUSED_BY_POLICY) <= set(suite_files("y_"))


DEEP = 10_000
DANGERS = [
    # all of these are accepted by json.loads
    pytest.param(b'{"a":1,"a":2}', "duplicate key 'a'", id="duplicate-key"),
    pytest.param(b'{"a":1,"\\u0061":2}', "duplicate key 'a'", id="duplicate-key-via-escape"),
    pytest.param(b'[{"x":{"k":1,"k":1}}]', "duplicate key 'k'", id="nested-duplicate-key"),
    pytest.param(b"NaN", "NaN is not allowed", id="nan"),
    pytest.param(b"[Infinity]", "Infinity is not allowed", id="infinity"),
    pytest.param(b'{"x":-Infinity}', "-Infinity is not allowed", id="minus-infinity"),
    pytest.param(
        b'"\\ud800"', "lone surrogate \\ud800 in JSON string at line 1", id="lone-high-surrogate"
    ),
    pytest.param(b'["\\uDC00"]', "lone surrogate \\uDC00", id="lone-low-surrogate"),
    pytest.param(b'{"\\ud800":1}', "lone surrogate", id="lone-surrogate-key"),
    pytest.param(b'"\\\\\\ud800"', "lone surrogate", id="surrogate-after-escaped-backslash"),
    pytest.param(b'"\\udc00\\ud800"', "lone surrogate \\udc00", id="reversed-pair"),
    pytest.param(b'\xef\xbb\xbf{"a":1}', "byte order mark", id="utf8-bom"),
    pytest.param(
        b"[" * DEEP + b"]" * DEEP,
        "nesting deeper than 128 levels at line 1 column 129",
        id="deep-arrays",
    ),
    pytest.param(
        b'{"a":' * DEEP + b"1" + b"}" * DEEP, "nesting deeper than 128", id="deep-objects"
    ),
    pytest.param(b"[" * DEEP, "nesting deeper than 128", id="deep-unclosed"),
    pytest.param(b"1" * (MAX_INT_DIGITS + 1), f"more than {MAX_INT_DIGITS} digits", id="huge-int"),
    pytest.param(b"-" + b"9" * 5000, f"more than {MAX_INT_DIGITS} digits", id="huge-negative-int"),
    pytest.param(b"[1e400]", "overflows a double: 1e400", id="float-overflow"),
    # refused by json.loads too, but must be StrictJSONError
    pytest.param(b'{"a":1} x', "Extra data at line 1 column 9", id="trailing-garbage"),
    pytest.param(b"1 2", "Extra data", id="two-values"),
    pytest.param(b'"\xff"', "not valid UTF-8", id="invalid-utf8"),
    pytest.param(b'"\xed\xa0\x80"', "not valid UTF-8", id="encoded-surrogate"),
    pytest.param(b"{'a':1}", "invalid JSON", id="single-quotes"),
    pytest.param(b"", "invalid JSON", id="empty"),
    pytest.param(b'"a\x01b"', "Invalid control character", id="control-char-in-string"),
]


@pytest.mark.parametrize(("data", "problem"), DANGERS)
def test_dangers_are_refused_with_a_one_line_message(data: bytes, problem: str) -> None:
    with pytest.raises(StrictJSONError) as refused:
        loads_strict(data)
    message = str(refused.value)
    assert problem in message
    assert "\n" not in message and len(message) < 200


ACCEPTED = [
    pytest.param(b'"\\ud83d\\ude00"', "\U0001f600", id="surrogate-pair"),
    pytest.param(b'"\\\\ud800"', "\\ud800", id="escaped-backslash-then-u"),
    pytest.param(b'"\\u0000"', "\x00", id="nul-escape"),
    pytest.param(b'"\\uffff"', "\uffff", id="noncharacter"),
    pytest.param(b"9" * MAX_INT_DIGITS, int("9" * MAX_INT_DIGITS), id="max-int-digits"),
    pytest.param(b"1e-400", 0.0, id="underflow"),
    pytest.param(
        b"123456789012345678901234567890", 123456789012345678901234567890, id="big-int-exact"
    ),
    pytest.param(
        b'["[[[[", "{{{{", "]]", "\\"["]', ["[[[[", "{{{{", "]]", '"['], id="brackets-in-strings"
    ),
    pytest.param(
        b' \t\r\n{"a" : [1, 2.5, true, false, null]}\n',
        {"a": [1, 2.5, True, False, None]},
        id="whitespace",
    ),
]


@pytest.mark.parametrize(("data", "expected"), ACCEPTED)
def test_valid_edge_cases_are_accepted(data: bytes, expected: Any) -> None:
    assert loads_strict(data) == expected


def test_depth_limit_is_exact() -> None:
    at_limit = b"[" * DEFAULT_MAX_DEPTH + b"]" * DEFAULT_MAX_DEPTH
    assert loads_strict(at_limit) is not None
    with pytest.raises(StrictJSONError, match="deeper than 128"):
        loads_strict(b"[" + at_limit + b"]")
    assert loads_strict(b"[[[1]]]", max_depth=3) == [[[1]]]
    with pytest.raises(StrictJSONError, match="deeper than 2"):
        loads_strict(b"[[[1]]]", max_depth=2)


def test_large_max_depth_never_raises_recursion_error() -> None:
    with pytest.raises(StrictJSONError, match="nesting too deep to parse"):
        loads_strict(b"[" * 50_000 + b"]" * 50_000, max_depth=100_000)


def test_size_limit_is_checked_first() -> None:
    assert loads_strict(b"[1]", max_bytes=3) == [1]
    with pytest.raises(StrictJSONError, match="4 bytes, over the limit of 3 bytes"):
        loads_strict(b"[1 ]", max_bytes=3)


def test_refusals_are_input_errors() -> None:
    with pytest.raises(InputError):
        loads_strict(b"NaN")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=json_values, ensure_ascii=st.booleans())
def test_what_json_dumps_writes_round_trips(value: Any, ensure_ascii: bool) -> None:
    data = json.dumps(value, ensure_ascii=ensure_ascii).encode()
    assert loads_strict(data) == value


def test_load_strict_file(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(b'{"messages": [1, 2]}')
    assert load_strict_file(good) == {"messages": [1, 2]}

    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"1," * 100 + b"1]")
    with pytest.raises(StrictJSONError, match=r"big\.json: JSON input is 203 bytes"):
        load_strict_file(big, max_bytes=100)

    dup = tmp_path / "dup.json"
    dup.write_bytes(b'{"a":1,"a":2}')
    with pytest.raises(StrictJSONError, match=r"dup\.json: duplicate key 'a'"):
        load_strict_file(dup)


def test_load_strict_file_refuses_missing_and_special_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read JSON file"):
        load_strict_file(tmp_path / "missing.json")
    with pytest.raises(InputError, match="not a regular file"):
        load_strict_file(tmp_path)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "fifo.json"
        os.mkfifo(fifo)
        with pytest.raises(InputError, match="not a regular file"):
            load_strict_file(fifo)  # must not block waiting for a writer


def test_numbers_keep_their_types() -> None:
    doc = loads_strict(b"[1, 1.0, -0, -0.0, 1e2]")
    assert [type(x) for x in doc] == [int, float, int, float, float]
    assert math.copysign(1.0, doc[3]) == -1.0


def test_stdlib_json_accepts_what_we_refuse() -> None:
    """Why this module exists (reliability research, finding 3)."""
    assert json.loads(b'{"a":1,"a":2}') == {"a": 2}
    assert math.isnan(json.loads(b"NaN"))
    assert json.loads(b'"\\ud800"') == "\ud800"
    assert json.loads(b'\xef\xbb\xbf{"a":1}') == {"a": 1}
    with pytest.raises(RecursionError):
        json.loads(b"[" * DEEP + b"]" * DEEP)


@pytest.mark.parametrize("limit", [0, 640], ids=["unlimited", "lowered"])
def test_int_digit_limit_holds_whatever_the_interpreter_limit(limit: int) -> None:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        with pytest.raises(StrictJSONError, match="digits"):
            loads_strict(b"7" * (MAX_INT_DIGITS + 1))
        if limit:
            with pytest.raises(StrictJSONError, match="JSON number refused"):
                loads_strict(b"7" * 1000)
    finally:
        sys.set_int_max_str_digits(before)
