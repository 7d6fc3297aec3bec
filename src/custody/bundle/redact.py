"""Redactions that change content: masked text spans, EXIF/XMP stripped from a JPEG.

A redaction never alters evidence: it makes a *derived* artifact (new bytes, their own
commitment) and the bundle shows the original exists and was changed, how and why.

Patterns (``--redact-text``): the presets ``phone`` and ``email``, ``names`` (the sender
names of the chats in the bundle: opt-in), ``re:<regex>`` for a regular expression, and
anything else as literal text (case-insensitive). Each match is replaced by as many
``█`` (U+2588) as it has characters, so the layout of the text stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from custody import canonical
from custody.errors import UsageError

MASK = "\u2588"
MASK_METHOD = "mask-text/v1"
STRIP_METHOD = "strip-jpeg-metadata/v1"
PRESETS = {
    # international (+country) or national (trunk prefix 0) numbers, in digit groups
    # separated by a space, dot or dash, brackets allowed: "+44 20 7946 0958",
    # "(0)6 12 34 56 78", "0049-30-123456". Dates, times and IP addresses do not start
    # with + or 0 and are left alone; other forms need re:
    "phone": r"(?<![\w.+])(?:\+\d{1,3}|00\d{1,3}|\(?0\)?\d{0,4})"
    r"(?:[ .-]?\(?\d{2,4}\)?){2,6}(?!\w)",
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
}
# message members that are not text a person wrote: ids, times, digests, flags
_NOT_TEXT = frozenset(
    {
        "v",
        "id",
        "seq",
        "sent_at",
        "sent_at_raw",
        "sent_at_local",
        "sent_at_candidates",
        "time_zone",
        "time_basis",
        "kind",
        "flags",
        "local_offset",
        "edited_at",
        "native_id",
        "reply_to",
        "sha256",
        "sha512",
        "size",
        "unit",
        "media_type",
    }
)


@dataclass(frozen=True, slots=True)
class Pattern:
    """One redaction pattern: a label shown to the court, and its expression."""

    label: str
    regex: re.Pattern[str]
    public: bool  # a preset: its expression may be shown; a user's pattern is itself data


def compile_patterns(specs: Sequence[str], names: Iterable[str] = ()) -> list[Pattern]:
    """Patterns from ``--redact-text`` values (``names`` expands to the given names).

    Raises:
        UsageError: an empty pattern, a bad regular expression, or ``names`` with no names.
    """
    out = []
    for n, spec in enumerate(specs, 1):
        if spec in PRESETS:
            out.append(Pattern(spec, re.compile(PRESETS[spec]), True))
        elif spec == "names":
            found = sorted({x for x in names if x and x.strip()}, key=len, reverse=True)
            if not found:
                raise UsageError("--redact-text names: the bundle holds no sender names")
            expr = "|".join(_literal(x) for x in found)
            out.append(Pattern("names", re.compile(expr, re.IGNORECASE), False))
        elif spec.startswith("re:"):
            try:
                out.append(Pattern(f"pattern {n}", re.compile(spec[3:]), False))
            except re.error as exc:
                raise UsageError(
                    f"--redact-text {spec!a}: not a regular expression: {exc}"
                ) from None
        elif spec.strip():
            out.append(Pattern(f"pattern {n}", re.compile(_literal(spec), re.IGNORECASE), False))
        else:
            raise UsageError("--redact-text needs a non-empty pattern")
        if out[-1].regex.search("") is not None:
            raise UsageError(f"--redact-text {spec!a} matches empty text")
    return out


def _literal(text: str) -> str:
    """``text`` as a regular expression that does not match inside a longer word."""
    expr = re.escape(text)
    if re.match(r"\w", text):
        expr = r"(?<!\w)" + expr
    if re.search(r"\w$", text):
        expr += r"(?!\w)"
    return expr


def mask(text: str, patterns: Sequence[Pattern]) -> tuple[str, int]:
    """``text`` with every match masked, and how many spans were masked."""
    total = 0
    for p in patterns:
        text, n = p.regex.subn(lambda m: MASK * len(m.group(0)), text)
        total += n
    return text, total


def matches(text: str, patterns: Sequence[Pattern]) -> bool:
    return any(p.regex.search(text) for p in patterns)


def mask_message(doc: dict[str, Any], patterns: Sequence[Pattern]) -> tuple[dict[str, Any], int]:
    """A message with its written text masked (ids, times and digests kept)."""
    total = 0

    def walk(value: Any, key: str | None) -> Any:
        nonlocal total
        if key in _NOT_TEXT:
            return value
        if isinstance(value, str):
            masked, n = mask(value, patterns)
            total += n
            return masked
        if isinstance(value, list):
            return [walk(v, None) for v in value]
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        return value

    out = {k: walk(v, k) for k, v in doc.items()}
    return out, total


def params_record(method: str, patterns: Sequence[Pattern], spans: int) -> bytes:
    """The canonical record of how a derived artifact was made (disclosed with it)."""
    doc: dict[str, Any] = {"v": 1, "kind": "derive-params", "method": method}
    if method == MASK_METHOD:
        # a user's pattern or the names are the very data masked: only their label is kept
        doc["patterns"] = [
            {"label": p.label, "regex": p.regex.pattern} if p.public else {"label": p.label}
            for p in patterns
        ]
        doc["mask"] = MASK
        doc["spans"] = spans
    else:
        doc["removed"] = "APP1 (EXIF, XMP) and APP13 (IPTC) segments; image data unchanged"
    return canonical.dumps(doc)


def strip_jpeg_metadata(data: bytes) -> bytes | None:
    """The JPEG without its APP1 (EXIF/XMP, where GPS lives) and APP13 segments.

    Returns None when ``data`` is not a JPEG whose header segments can be walked.
    """
    if data[:2] != b"\xff\xd8":
        return None
    out = bytearray(data[:2])
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: the rest is image data
            out += data[pos:]
            return bytes(out)
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2 or pos + 2 + length > len(data):
            return None
        if marker not in (0xE1, 0xED):
            out += data[pos : pos + 2 + length]
        pos += 2 + length
    return None
