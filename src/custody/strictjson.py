"""Strict JSON parsing for evidence (chat exports, bundles, manifests, log entries).

The stdlib :mod:`json` module is not a safe evidence parser: it accepts ``NaN``, lets the
last of several duplicate keys win, returns lone surrogates, and fails on deep nesting with
``RecursionError``. Two parsers that disagree on such input can see two different documents
behind one signature, so evidence JSON goes through :func:`loads_strict`, which accepts only
what RFC 8259 allows *and* what reads the same way everywhere.

Policy (every refusal raises :class:`~custody.errors.StrictJSONError` with a one-line
message naming the problem, and the line and column when known):

- **Size**: more than ``max_bytes`` bytes (default :data:`DEFAULT_MAX_BYTES`, 64 MiB) is
  refused before any parsing.
- **Encoding**: the input must be UTF-8 (RFC 8259 section 8.1). Invalid UTF-8, including
  overlong forms, encoded surrogates and code points above U+10FFFF, is refused; so are
  UTF-16 and UTF-32. A leading UTF-8 byte order mark is **refused**, not stripped: RFC 8259
  forbids adding one, and stripping it would make the parsed bytes differ from the stored,
  hashed bytes. A caller that wants to accept a BOM must strip it itself and record that.
- **Constants**: ``NaN``, ``Infinity`` and ``-Infinity`` are refused (they are not JSON).
- **Duplicate keys**: refused in every object, at any depth. Keys are compared after escape
  decoding (``"a"`` and ``"\\u0061"`` are the same key) but without Unicode normalization.
- **Lone surrogates**: a ``\\uD800``-``\\uDFFF`` escape that is not part of a high-low pair
  is refused, in strings and in keys.
- **Nesting**: more than ``max_depth`` nested arrays/objects (default
  :data:`DEFAULT_MAX_DEPTH`, 128) is refused. Depth is checked by a scan before parsing,
  so deep input never reaches the recursive parser.
- **Integers**: more than :data:`MAX_INT_DIGITS` (4300) digits is refused, whatever
  ``sys.set_int_max_str_digits`` says. Smaller integers of any size are exact ``int``.
- **Floats**: numbers with a fraction or exponent become ``float``. A number whose
  magnitude overflows a double (``1e400``) is refused, since it would silently become
  infinity. Underflow to zero or a subnormal (``1e-400``) is accepted as ordinary
  rounding.
- **Trailing data**: anything but JSON whitespace after the value is refused.
- Anything else that is not RFC 8259 JSON is refused. Any JSON value may be at the top
  level. ``\\u0000`` escapes and noncharacters such as U+FFFF are valid JSON and accepted.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from itertools import accumulate
from pathlib import Path
from typing import Any

from custody.errors import InputError, StrictJSONError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "MAX_INT_DIGITS",
    "load_strict_file",
    "loads_strict",
]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
"""Default size limit for one JSON document: 64 MiB."""
DEFAULT_MAX_DEPTH = 128
"""Default limit on nested arrays/objects (``[]`` is depth 1)."""
MAX_INT_DIGITS = 4300
"""Most digits an integer may have (CPython's default ``int`` string-conversion limit)."""

_BOM = b"\xef\xbb\xbf"
# A string (closing quote optional, so an unterminated string swallows the rest).
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_TOKEN = re.compile(_STRING.pattern + r"|[\[\]{}]", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# A backslash run (the look-behind makes the match start at its first backslash) ending
# in a ``\u`` surrogate escape: a high surrogate with the low one that may follow it, or a
# low surrogate. The escape is real only if the run has odd length.
_SURROGATE = re.compile(
    r"\\(?<!\\\\)(\\*+)u(?:[dD][89abAB][0-9a-fA-F]{2}(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
    r"|[dD][c-fC-F][0-9a-fA-F]{2})"
)
_SHOWN = 40  # characters of a refused number shown in a message


def loads_strict(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Parse one JSON document from UTF-8 bytes under the strict evidence policy.

    Args:
        data: the complete document.
        max_bytes: refuse a document longer than this many bytes.
        max_depth: refuse more than this many nested arrays/objects.

    Returns:
        The value: ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` or ``None``.

    Raises:
        StrictJSONError: the input breaks the policy in the module docstring.
    """
    if len(data) > max_bytes:
        raise StrictJSONError(
            f"JSON input is {len(data)} bytes, over the limit of {max_bytes} bytes"
        )
    if data.startswith(_BOM):
        raise StrictJSONError("JSON input starts with a UTF-8 byte order mark (BOM)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise StrictJSONError(f"JSON input is not valid UTF-8: {e.reason} at byte {e.start}") from e
    _prescan(text, max_depth)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise StrictJSONError(f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}") from e
    except RecursionError as e:  # only reachable with a max_depth near the recursion limit
        raise StrictJSONError(f"JSON nesting too deep to parse (max_depth={max_depth})") from e
    except ValueError as e:  # int conversion limits lowered below MAX_INT_DIGITS
        raise StrictJSONError(f"JSON number refused: {e}") from e


def load_strict_file(
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Read a regular file and parse it with :func:`loads_strict`.

    The size limit is checked against the file's size before reading, and at most
    ``max_bytes + 1`` bytes are read. Messages are prefixed with the path.

    Args:
        path: the JSON file (symlinks are followed; FIFOs and devices are refused).
        max_bytes: refuse a file longer than this many bytes.
        max_depth: refuse more than this many nested arrays/objects.

    Returns:
        The parsed value.

    Raises:
        InputError: the file cannot be opened or read, or is not a regular file.
        StrictJSONError: the content breaks the strict policy.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: a FIFO must not hang the open
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"{path}: not a regular file")
            if st.st_size > max_bytes:
                raise StrictJSONError(
                    f"{path}: JSON input is {st.st_size} bytes, over the limit of {max_bytes} bytes"
                )
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read(max_bytes + 1)
        finally:
            os.close(fd)
    except OSError as e:
        raise InputError(f"{path}: cannot read JSON file: {e.strerror or e}") from e
    try:
        return loads_strict(data, max_bytes=max_bytes, max_depth=max_depth)
    except StrictJSONError as e:
        raise StrictJSONError(f"{path}: {e.message}", hint=e.hint) from e


def _prescan(text: str, max_depth: int) -> None:
    """Check nesting depth and surrogate escapes without recursion or per-character Python.

    Text outside strings that is not JSON is left for the parser to refuse.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if brackets and max(accumulate(map(_STEP.__getitem__, brackets))) > max_depth:
        raise StrictJSONError(
            f"JSON nesting deeper than {max_depth} levels"
            f" at {_where(text, _too_deep_at(text, max_depth))}"
        )
    found = _SURROGATE.search(text)
    while found is not None:
        escape_at = found.end(1) - 1
        if len(found.group(1)) % 2:  # an escaped backslash, then a literal "u": look on
            found = _SURROGATE.search(text, escape_at + 2)
        elif found.group(2) is None:  # a high surrogate alone, or a low one
            raise StrictJSONError(
                f"lone surrogate {text[escape_at : escape_at + 6]} in JSON string"
                f" at {_where(text, escape_at)}"
            )
        else:
            found = _SURROGATE.search(text, found.end())


def _too_deep_at(text: str, max_depth: int) -> int:
    """Return where nesting first exceeds ``max_depth`` (known to happen)."""
    depth = 0
    for token in _TOKEN.finditer(text):
        first = token.group()[0]
        if first in "[{":
            depth += 1
            if depth > max_depth:
                return token.start()
        elif first in "]}":
            depth -= 1
    return 0  # pragma: no cover - the caller checked that nesting is too deep


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    return f"line {line} column {column}"


def _shown(number: str) -> str:
    return number if len(number) <= _SHOWN else f"{number[:_SHOWN]}... ({len(number)} chars)"


def _parse_int(literal: str) -> int:
    if len(literal) - literal.startswith("-") > MAX_INT_DIGITS:
        raise StrictJSONError(
            f"JSON integer has more than {MAX_INT_DIGITS} digits: {_shown(literal)}"
        )
    return int(literal)


def _parse_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise StrictJSONError(f"JSON number overflows a double: {_shown(literal)}")
    return value


def _refuse_constant(name: str) -> Any:
    raise StrictJSONError(f"JSON constant {name} is not allowed (not valid JSON)")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJSONError(f"duplicate key {_shown(ascii(key))} in JSON object")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(
    parse_int=_parse_int,
    parse_float=_parse_float,
    parse_constant=_refuse_constant,
    object_pairs_hook=_unique_object,
    strict=True,
)
