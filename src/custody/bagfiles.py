"""The text files of a BagIt 1.0 bag (RFC 8493): declaration, bag-info, manifests.

Written exactly and read strictly: a manifest line is ``<hex digest> 1*WSP <path>``, the
path relative to the bag, ``/``-separated, with ``%``, CR and LF percent-encoded (section
2.1.3). Lines end in LF, CR or CRLF and nothing else (not ``str.splitlines``' form feed,
NEL or U+2028). A path that is absolute, holds ``.`` or ``..`` segments, a backslash or a
drive letter, or leaves the bag is refused: that is a hostile bag, not an altered one.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Iterable, Mapping

DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
ALGORITHMS = ("sha256", "sha512")
DIGEST_LENGTH = {"sha256": 64, "sha512": 128}
_SAFE_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_LINE = re.compile(r"([0-9a-fA-F]+)[ \t]+(.+)")
_EOL = re.compile(r"\r\n|\r|\n")
_DECLARATION = re.compile(
    r"BagIt-Version: 1\.0(?:\r\n|\r|\n)Tag-File-Character-Encoding: ([^\r\n]*)(?:\r\n|\r|\n)?"
)
_CHARSET = re.compile(r"[A-Za-z0-9!#$%&'+^_`{}~-]+")  # an RFC 2978 charset name
_NOT_CHARSETS = {"unicode-escape", "raw-unicode-escape", "undefined", "idna", "punycode"}


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


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


def split_lines(text: str) -> list[str]:
    """The lines of a tag file: ended by LF, CR or CRLF, the last one optionally."""
    lines = _EOL.split(text)
    if lines[-1] == "":
        lines.pop()
    return lines


def parse_declaration(data: bytes) -> str:
    """The tag file encoding a ``bagit.txt`` declares, as a Python codec name.

    Any form RFC 8493 section 2.1.1 allows: exactly the two lines in order, each ended by
    LF, CR or CRLF (the last one optionally), UTF-8 without a byte order mark, version 1.0,
    and an encoding name that Python decodes (case-insensitive, as charset names are).

    Raises:
        BagFormatError: anything else, such as whitespace around a label or a value.
    """
    if data.startswith(codecs.BOM_UTF8):
        raise BagFormatError("bagit.txt starts with a byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BagFormatError("bagit.txt is not UTF-8") from None
    m = _DECLARATION.fullmatch(text)
    if m is None:
        raise BagFormatError("bagit.txt is not a BagIt 1.0 declaration")
    encoding = m.group(1)
    try:
        if not _CHARSET.fullmatch(encoding):
            raise LookupError(encoding)
        codec = codecs.lookup(encoding).name
        "a".encode(codec)  # LookupError for codecs that are not text encodings (rot13)
    except (LookupError, UnicodeError):
        raise BagFormatError(f"bagit.txt names an unknown encoding {encoding!a}") from None
    if codec in _NOT_CHARSETS:
        raise BagFormatError(f"bagit.txt names an unknown encoding {encoding!a}")
    return codec


def _decode_text(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        raise BagFormatError(f"{name} is not {encoding.upper()}") from None


def check_path(path: str) -> str:
    """``path`` if a bag may name it.

    Stricter than RFC 8493 on purpose: a name with a control character (CR and LF
    included, even percent-encoded as RFC 8493 allows) could forge lines of a report or
    a terminal, so it is refused too.

    Raises:
        HostileBagError: absolute, a ``.``/``..`` segment, a backslash, a drive letter,
            empty segments or control characters.
    """
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(p in ("", ".", "..") for p in parts)
        or re.match(r"[A-Za-z]:", path)
    ):
        raise HostileBagError(f"a manifest names a path outside the bag: {path!a}")
    if _CONTROL.search(path):  # C0, DEL and C1 (NEL): Unicode category Cc
        raise HostileBagError(f"a manifest names a path with a control character: {path!a}")
    return path


@functools.lru_cache(maxsize=16)  # a verifier reads each manifest more than once
def parse_manifest(
    data: bytes, algorithm: str, name: str, *, encoding: str = "utf-8"
) -> dict[str, str]:
    """``{path: lower-case hex digest}`` from a manifest's bytes.

    A path listed twice is malformed even with the same digest (the BagIt conformance
    suite's ``same-filename-listed-twice-with-the-same-hash`` is invalid).

    Raises:
        HostileBagError: a path leaves the bag.
        BagFormatError: not in ``encoding``, a line is malformed, a digest has the wrong
            length, or a path is listed twice.
    """
    text = _decode_text(data, encoding, name)
    found: dict[str, str] = {}
    for number, line in enumerate(split_lines(text), 1):
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


def parse_bag_info(data: bytes, *, encoding: str = "utf-8") -> dict[str, list[str]]:
    """Labels and their values (continuation lines joined).

    Raises:
        BagFormatError: not in ``encoding``, or a line is neither ``Label: value`` nor a
            continuation of one.
    """
    text = _decode_text(data, encoding, "bag-info.txt")
    fields: dict[str, list[str]] = {}
    last: tuple[str, int] | None = None
    for line in split_lines(text):
        if line[:1] in (" ", "\t"):
            if last is None:
                raise BagFormatError("bag-info.txt starts with a continuation line")
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
