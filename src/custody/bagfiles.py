"""The text files of a BagIt 1.0 bag (RFC 8493): declaration, bag-info, manifests.

Written exactly and read strictly: a manifest line is ``<hex digest> <path>``, the path
relative to the bag, ``/``-separated, with ``%``, CR and LF percent-encoded (section
2.1.3). A path that is absolute, holds ``.`` or ``..`` segments or a backslash, or leaves
the bag is refused: that is a hostile bag, not an altered one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ALGORITHMS = ("sha256", "sha512")
DIGEST_LENGTH = {"sha256": 64, "sha512": 128}
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_LINE = re.compile(r"([0-9a-fA-F]+)[ \t]+(.+)")


class BagFormatError(ValueError):
    """A tag file is malformed (the message says where)."""


class HostileBagError(BagFormatError):
    """A manifest names a path outside the bag, or a path no bag may hold."""


def is_safe_payload_path(path: str) -> bool:
    """True for ``data/…`` paths of ASCII letters, digits, ``.``, ``_``, ``-`` segments."""
    parts = path.split("/")
    return (
        len(parts) >= 2
        and parts[0] == "data"
        and all(_SAFE_SEGMENT.fullmatch(p) and p not in (".", "..") for p in parts)
    )


def manifest(digests: Iterable[tuple[str, str]]) -> bytes:
    """Manifest bytes from ``(path, hex digest)`` pairs, in the order given."""
    return b"".join(f"{digest} {_encode(path)}\n".encode() for path, digest in digests)


def _encode(path: str) -> str:
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _decode(path: str) -> str:
    return re.sub(
        r"%(25|0[aAdD])", lambda m: {"25": "%", "0a": "\n", "0d": "\r"}[m.group(1).lower()], path
    )


def check_path(path: str) -> str:
    """``path`` if a bag may name it.

    Raises:
        HostileBagError: absolute, a ``.``/``..`` segment, a backslash, empty segments or
            control characters.
    """
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in path)
        or re.match(r"[A-Za-z]:", path)
    ):
        raise HostileBagError(f"a manifest names a path outside the bag: {path!a}")
    return path


def parse_manifest(data: bytes, algorithm: str, name: str) -> dict[str, str]:
    """``{path: lower-case hex digest}`` from a manifest's bytes.

    Raises:
        HostileBagError: a path leaves the bag.
        BagFormatError: a line is malformed, a digest has the wrong length, or a path is
            listed twice.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BagFormatError(f"{name} is not UTF-8") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        m = _LINE.fullmatch(line)
        if not m:
            raise BagFormatError(f"{name} line {number} is malformed")
        digest, path = m.group(1).lower(), check_path(_decode(m.group(2)))
        if len(digest) != DIGEST_LENGTH[algorithm]:
            raise BagFormatError(f"{name} line {number}: not a {algorithm} digest")
        if path in found:
            raise BagFormatError(f"{name} lists {path!a} twice")
        found[path] = digest
    return found


def bag_info(fields: Iterable[tuple[str, str]]) -> bytes:
    """bag-info.txt bytes: ``Label: value`` lines (values on one line, no control chars)."""
    out = []
    for label, value in fields:
        clean = "".join(c if c.isprintable() else " " for c in value)
        out.append(f"{label}: {clean}\n")
    return "".join(out).encode("utf-8")


def parse_bag_info(data: bytes) -> dict[str, list[str]]:
    """Labels and their values (continuation lines joined).

    Raises:
        BagFormatError: not UTF-8, or a line is neither ``Label: value`` nor a continuation.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BagFormatError("bag-info.txt is not UTF-8") from None
    fields: dict[str, list[str]] = {}
    last: tuple[str, int] | None = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and last is not None:
            label, i = last
            fields[label][i] += " " + line.strip()
            continue
        label, sep, value = line.partition(":")
        if not sep or not label.strip():
            raise BagFormatError(f"bag-info.txt line {line[:40]!a} is malformed")
        values = fields.setdefault(label.strip(), [])
        values.append(value.strip())
        last = (label.strip(), len(values) - 1)
    return fields


def payload_oxum(sizes: Mapping[str, int]) -> str:
    """``<octets>.<streams>`` over the payload files."""
    return f"{sum(sizes.values())}.{len(sizes)}"
