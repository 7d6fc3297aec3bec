"""signal-export's Markdown output (``chat.md``), and the record both of its outputs share.

signal-export (github.com/carderne/signal-export, ``sigexport/models.py`` ``Message.to_md``)
writes each message as ``[YYYY-MM-DD HH:MM:SS] <sender>: <quote><body><reactions><sticker>
<attachments>`` and a newline, then ``print`` adds another: every message ends in a blank
line. ``<body>`` always ends in two spaces the exporter adds (a Markdown line break);
``<quote>`` is ``\\n\\n> line\\n> line\\n\\n``; ``<reactions>`` ``\\n(- Name: 👍, … -)``;
``<sticker>`` ``\\n(( 🐺 ))``, or a link ``[🐺](../exported_stickers/<pack>/<id>.<ext>)``
followed by two spaces; each attachment ``[name](./media/<name>)`` (``![…](…)`` for an
image) followed by two spaces. A deleted message is ``(This message was deleted)`` alone.

A record starts at a header line that opens the file or follows a blank line, and runs to
the next one, so every byte belongs to one message or to reported unparsed lines. A
header-like line that does not follow a blank line stays in its message and is reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from custody.chat.base import ImportReport
from custody.errors import InputError

MAX_LINE_BYTES = 64 * 1024 * 1024
HEADER = re.compile(r"\[([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})\] ")
DELETED = "(This message was deleted)"
BOM = b"\xef\xbb\xbf"
WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")
IMAGE = frozenset({"png", "jpg", "jpeg", "gif", "tif", "tiff", "webp", "apng", "svg"})
_MEDIA_DIRS = ("./media/", "./media\\")  # Windows exports write the path with a backslash
_STICKER = re.compile(r"\.\./exported_stickers/[^/\\()\s]+/[^/\\()\s]+")


@dataclass(frozen=True, slots=True)
class File:
    """An attachment as signal-export names it."""

    name: str | None  # the file name (JSON ``name``; the link text in Markdown)
    path: str | None  # relative to the chat's folder, as written: ``media/…`` (%20 for spaces)
    missing: str | None = None  # JSON ``missing_kind``: the exporter did not export it


@dataclass(frozen=True, slots=True)
class Record:
    """One message as signal-export wrote it (its ``models.Message``), before resolution."""

    raw_time: str
    local: datetime | None
    sender: str | None
    body: str  # the exporter's two trailing spaces removed
    source: Mapping[str, Any]
    quote: str | None = None  # the quoted text, without the "> " markup
    reactions: tuple[tuple[str, str], ...] = ()
    sticker: str | None = None  # its label: the emoji, or "sticker"
    sticker_path: str | None = None  # relative to the chat's folder ("../exported_stickers/…")
    files: tuple[File, ...] = ()
    deleted: bool = False
    call: bool | None = None  # None: the output does not say (Markdown, older JSON)
    missed: bool | None = None
    edits: int = 0  # earlier versions of the text (newer JSON only)

    def key(self) -> tuple[Any, ...]:
        """What both outputs of one export must agree on, for the cross-check."""
        fix = str.maketrans({"\r": None})
        return (
            self.raw_time[:19].replace("T", " "),
            self.sender,
            self.body.translate(fix),
            (self.quote or "").translate(fix) or None,
            tuple((f.path or "").replace("\\", "/") for f in self.files if f.missing is None),
            self.deleted,
        )


def local_time(*parts: str) -> datetime | None:
    """The naive wall time of year, month, day, hour, minute, second (and microseconds)."""
    year, month, day, hour, minute, second, *micro = (int(p) for p in parts)
    try:  # naive on purpose: a wall time of an unknown zone
        return datetime(year, month, day, hour, minute, second, sum(micro))  # noqa: DTZ001
    except ValueError:
        return None


def raw_lines(source: BinaryIO, name: str) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, bytes with terminator) of every line.

    Raises:
        InputError: a byte order mark, UTF-16, or a line over :data:`MAX_LINE_BYTES`.
    """
    source.seek(0)
    offset = 0
    for number, raw in enumerate(iter(lambda: source.readline(MAX_LINE_BYTES + 1), b""), 1):
        if number == 1 and raw.startswith(BOM):
            raise InputError(
                f"{name}: starts with a UTF-8 byte order mark, which signal-export does not "
                "write: the file was re-saved by another program",
                hint="import the export as signal-export wrote it",
            )
        if number == 1 and raw.startswith(WIDE_BOMS):
            raise InputError(f"{name}: UTF-16 text, not UTF-8 as signal-export writes it")
        if len(raw) > MAX_LINE_BYTES:
            raise InputError(f"{name}: line {number} is longer than {MAX_LINE_BYTES} bytes")
        yield number, offset, raw
        offset += len(raw)


def _decode(raw: bytes, number: int, offset: int, name: str) -> tuple[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{name}: not UTF-8 at byte {offset + exc.start} (line {number}): {exc.reason}",
            hint="signal-export writes UTF-8; a file converted to another encoding was altered",
        ) from None
    for term in ("\r\n", "\n"):
        if text.endswith(term):
            return text[: -len(term)], term
    return text, ""


def records(source: BinaryIO, name: str, report: ImportReport) -> Iterator[Record]:
    """Every record of a ``chat.md``, in file order.

    Raises:
        InputError: empty, not UTF-8, a byte order mark, or no message header at all.
    """
    parts: list[tuple[int, int, str, str]] = []  # (line, offset, text, terminator)
    unparsed: tuple[int, int, int, int] | None = None  # first line, last line, offset, end
    blank_before, end = True, 0
    for number, offset, raw in raw_lines(source, name):
        text, term = _decode(raw, number, offset, name)
        end = offset + len(raw)
        header = HEADER.match(text)
        if header is not None and (blank_before or not parts):
            if parts:
                yield _record(parts, offset, name, report)
            elif unparsed is not None:
                _unparsed(unparsed, name, report)
            parts = [(number, offset, text, term)]
        elif parts:
            if header is not None:
                report.add(
                    "header-like-line",
                    f"line {number} looks like a message header but does not follow a blank "
                    f"line: kept as text of the message starting at line {parts[0][0]}; a "
                    "spoofing attempt?",
                    file=name,
                    line=number,
                    offset=offset,
                )
            parts.append((number, offset, text, term))
        else:
            first, start = (unparsed[0], unparsed[2]) if unparsed else (number, offset)
            unparsed = (first, number, start, end)
        blank_before = text == ""
    if parts:
        yield _record(parts, end, name, report)
    elif end == 0:
        raise InputError(f"{name}: empty export (no text)")
    else:
        raise InputError(f"{name}: no signal-export message header found; not a chat.md")


def _unparsed(span: tuple[int, int, int, int], name: str, report: ImportReport) -> None:
    first, last, offset, end = span
    report.add(
        "unparsed",
        f"lines {first}-{last} come before the first message header; kept in the WARC, part "
        "of no message",
        file=name,
        line=first,
        end_line=last,
        offset=offset,
        length=end - offset,
    )


def _record(
    parts: list[tuple[int, int, str, str]], end: int, name: str, report: ImportReport
) -> Record:
    number, offset, first, term = parts[0]
    header = HEADER.match(first)
    assert header is not None  # noqa: S101 - a record starts at a header
    source = {
        "file": name,
        "line": number,
        "end_line": parts[-1][0],
        "offset": offset,
        "length": end - offset,
    }
    local = local_time(*header.groups())
    sender: str | None
    sender, colon, rest = first[header.end() :].partition(": ")
    if not colon:
        report.add(
            "malformed-record", f"line {number}: no ': ' after the sender", file=name, line=number
        )
        sender, rest = None, first[header.end() :]
    lines = [(rest, term)] + [(text, t) for _, _, text, t in parts[1:]]
    if len(lines) > 1 and lines[-1][0] == "":
        lines.pop()  # the blank line print() adds after every message
    else:
        report.add(
            "unterminated-record",
            f"line {number}: the message does not end with a blank line (a truncated file?)",
            severity="info",
            file=name,
            line=number,
        )
    content = "".join(text + t for text, t in lines[:-1]) + lines[-1][0]
    return split(content, term or "\n", first[1:20], local, sender, source, report)


def split(
    content: str,
    nl: str,
    raw: str,
    local: datetime | None,
    sender: str | None,
    source: Mapping[str, Any],
    report: ImportReport,
) -> Record:
    """A record from what follows ``<sender>: `` up to the blank line; see the module doc."""
    if content == DELETED:
        return Record(raw, local, sender, "", source, deleted=True)
    files: list[File] = []
    sticker = sticker_path = None
    reactions: tuple[tuple[str, str], ...] = ()
    while content.endswith(")  ") and (link := _last_link(content)) is not None:
        start, label, target = link
        if target.startswith("../"):
            sticker, sticker_path = label, target
        else:
            files.insert(0, File(label, target[2:]))
        content = content[:start]
    for opening, closing in (("(( ", " ))"), ("(- ", " -)")):  # a sticker, then reactions
        cut = content.rfind(nl)
        last = content[cut + len(nl) :]
        if cut >= 0 and last.startswith(opening) and last.endswith(closing):
            if opening == "(( ":
                sticker = last[3:-3]
            else:
                reactions = _reactions(last[3:-3])
            content = content[:cut]
    quote = None
    if content.startswith(nl + nl + "> ") and (stop := content.find(nl + nl, 2 * len(nl))) > 0:
        block = content[2 * len(nl) : stop]
        quote = "\n".join(line.removeprefix("> ") for line in block.split(nl))
        content = content[stop + 2 * len(nl) :]
    if content.endswith("  "):
        content = content[:-2]
    else:
        report.add(
            "unexpected-layout",
            "the message text does not end with the two spaces signal-export adds; read as is",
            severity="info",
            **source,
        )
    return Record(
        raw, local, sender, content, source, quote, reactions, sticker, sticker_path, tuple(files)
    )


def _reactions(inner: str) -> tuple[tuple[str, str], ...]:
    found = []
    for item in inner.split(", "):
        who, _, emoji = item.rpartition(": ")
        found.append((who, emoji))
    return tuple(found)


def encode_spaces(name: str) -> str:
    """A file name as signal-export writes it in a path: each whitespace as ``%20``."""
    return re.sub(r"\s", "%20", name)


def _last_link(content: str) -> tuple[int, str, str] | None:
    """(start, text, target) of the ``[text](target)  `` that ends ``content``, if it is one
    signal-export writes: a sticker (``../exported_stickers/<pack>/<file>``) or a file
    ``[name](./media/<name, whitespace as %20>)``, whose ``[`` is the nearest one whose text
    matches the target (so names holding brackets or parentheses are read whole). Any other
    link is the sender's text.
    """
    end = len(content) - 3
    mid = max(content.rfind("](./", 0, end), content.rfind("](../", 0, end))
    target = content[mid + 2 : end]
    if mid < 0:
        return None
    opening = content.rfind("[", 0, mid)
    if _STICKER.fullmatch(target):
        if opening < 0 or "\n" in content[opening:mid]:
            return None
    elif target.startswith(_MEDIA_DIRS) and "\n" not in target:
        want = target[len(_MEDIA_DIRS[0]) :]
        while opening >= 0 and encode_spaces(content[opening + 1 : mid]) != want:
            opening = content.rfind("[", 0, opening)
        if opening < 0:
            return None
        image = target.rpartition(".")[2].lower() in IMAGE
        if image and content[opening - 1 : opening] == "!":
            return opening - 1, content[opening + 1 : mid], target
    else:
        return None
    return opening, content[opening + 1 : mid], target
