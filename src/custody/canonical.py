"""RFC 8785 (JCS) canonical JSON: the only bytes custody ever signs or hashes as JSON.

Most values custody writes are *plain*: objects with ASCII member names, strings,
integers within ±(2**53 - 1), booleans and null; no floats. For those, the standard
library's compact output with sorted keys is already JCS: ASCII names sort the same by
UTF-16 code units as by code points, integers print as JCS prints them, and strings are
escaped exactly as JCS escapes them (``\\b \\f \\n \\r \\t``, ``\\u00xx`` in lower-case hex
for other control characters, ``\\"`` and ``\\\\``, everything else as UTF-8). So plain
values take that path (C code, ~20x faster); anything else (floats, non-ASCII names, big
integers) goes through the ``rfc8785`` package. tests/test_canonical.py checks both paths
against each other over random values and against the cyberphone vectors.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from custody.errors import StrictJSONError

_SAFE = 2**53 - 1
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


def is_plain(value: Any) -> bool:
    """Whether ``value`` is plain (see the module docstring): the fast path gives JCS."""
    stack = [value]
    while stack:
        v = stack.pop()
        t = type(v)
        if t is str or t is bool or v is None:
            continue
        if t is int:
            if -_SAFE <= v <= _SAFE:
                continue
            return False
        if t is dict:
            for k, x in v.items():
                if type(k) is not str or not k.isascii():
                    return False
                stack.append(x)
        elif t is list:
            stack.extend(v)
        else:
            return False
    return True


def dumps(value: Any) -> bytes:
    """Serialize ``value`` to RFC 8785 canonical UTF-8 bytes.

    Raises:
        StrictJSONError: the value has no canonical form (NaN, lone surrogates, huge ints).
    """
    if is_plain(value):
        try:
            return _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate
            raise StrictJSONError(f"value has no canonical JSON form: {exc}") from exc
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError) as exc:
        raise StrictJSONError(f"value has no canonical JSON form: {exc}") from exc


def dumps_reference(value: Any) -> bytes:
    """:func:`dumps` through the ``rfc8785`` package only (for tests and comparison).

    Raises:
        StrictJSONError: the value has no canonical form.
    """
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError, TypeError) as exc:
        raise StrictJSONError(f"value has no canonical JSON form: {exc}") from exc
