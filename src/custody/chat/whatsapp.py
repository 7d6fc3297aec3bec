"""WhatsApp "Export chat" text files (Android and iOS), read in two passes.

Pass 1 decodes every line (strict UTF-8) and collects the shape of every header-like
line; the file's grammar is then locked and its day/month order decided once. Pass 2
cuts the file into records: a record is a header line of the locked grammar and every
line up to the next one, so each byte of the file belongs to exactly one message, or
to the unparsed lines before the first header, or to a byte order mark (both reported
with their location). Header-like lines of another shape stay inside their message and
are reported as possible spoofs. See docs/formats/chat/whatsapp.md.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from custody.chat import timeparse
from custody.chat import whatsapp_markers as wm
from custody.chat.base import Attachment, Kind, Message, ParseContext, TimeBasis, When
from custody.chat.whatsapp_body import classify
from custody.chat.whatsapp_grammar import (
    Header,
    OrderDecision,
    Shape,
    ShapeStats,
    decide_order,
    lock,
    match_header,
    to_local,
)
from custody.errors import InputError

_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = (b"\xff\xfe", b"\xfe\xff")
_QUOTES = re.compile('["“”„«»]')
_SNIFF_LINES = 50


@dataclass(slots=True)
class _Record:
    header: Header
    line: int
    offset: int
    parts: list[tuple[str, str]] = field(default_factory=list)  # (content, terminator)


def _lines(source: BinaryIO, name: str) -> Iterator[tuple[int, int, int, str, str]]:
    """(line number, start, end, content, terminator) of every line, strictly decoded.

    ``start`` and ``end`` are byte offsets; a byte order mark is not part of line 1.
    """
    source.seek(0)
    end = 0
    for number, raw in enumerate(source, start=1):
        start, end = end, end + len(raw)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
            start += len(_BOM)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{name}: not UTF-8 at byte {start + exc.start} (line {number}): {exc.reason}",
                hint="WhatsApp writes UTF-8; a file converted to another encoding was altered",
            ) from None
        if text.endswith("\r\n"):
            yield number, start, end, text[:-2], "\r\n"
        elif text.endswith("\n"):
            yield number, start, end, text[:-1], "\n"
        else:
            yield number, start, end, text, ""


class WhatsAppImporter:
    """WhatsApp ``.txt`` exports: ``_chat.txt`` (iOS), ``WhatsApp Chat with ….txt``."""

    name = "whatsapp"

    def sniff(self, head: bytes) -> bool:
        """True if one of the first lines is a WhatsApp message header."""
        text = head.removeprefix(_BOM).decode("utf-8", "replace")
        lines = text.split("\n")[:_SNIFF_LINES]
        return any(match_header(line.removesuffix("\r")) for line in lines)

    def parse(self, source: BinaryIO, ctx: ParseContext) -> Iterator[Message]:
        """Yield every message; see the module docstring.

        Raises:
            InputError: empty, UTF-16, not UTF-8, or no header line at all.
        """
        name = ctx.chat_file
        head = source.read(4)
        if head.startswith(_WIDE_BOMS):
            raise InputError(f"{name}: UTF-16 text, not UTF-8 as WhatsApp writes it")
        stats: dict[Shape, ShapeStats] = {}
        nonblank = False
        for number, _, _, text, _ in _lines(source, name):
            nonblank = nonblank or bool(text.strip())
            header = match_header(text)
            if header is not None:
                shape_stats = stats.get(header.shape)
                if shape_stats is None:
                    shape_stats = stats[header.shape] = ShapeStats()
                shape_stats.add(header, number)
        if not nonblank:
            raise InputError(f"{name}: empty export (no text)")
        if not stats:
            raise InputError(f"{name}: no WhatsApp message header found; not a WhatsApp export")
        shape = lock(stats)
        decision = decide_order(shape, stats[shape], ctx.date_order)
        self._facts(ctx, shape, stats, decision)
        yield from _Segmenter(ctx, shape, decision).run(source)

    @staticmethod
    def _facts(
        ctx: ParseContext, shape: Shape, stats: dict[Shape, ShapeStats], order: OrderDecision
    ) -> None:
        report = ctx.report
        others = sum(st.count for s, st in stats.items() if s != shape)
        report.facts["platform"] = "ios" if shape.bracket else "android"
        report.facts["grammar"] = shape.describe()
        report.facts["header_lines"] = stats[shape].count
        report.facts["other_header_like_lines"] = others
        report.facts["date_order"] = {
            "order": order.order,
            "decided_by": order.decided_by,
            "evidence": order.evidence,
        }
        if order.order is None:
            report.add(
                "date-order-undecided",
                f"day/month order unknown: {order.evidence}; sent_at and sent_at_local are "
                "null for every message (give --date-order DMY or MDY)",
                file=ctx.chat_file,
            )
        if ctx.zone is None:
            report.add(
                "time-zone-missing",
                "WhatsApp writes local times without a zone; without --timezone sent_at is "
                "null for every message (never read as UTC)",
                file=ctx.chat_file,
            )
        report.facts["time_zone"] = ctx.zone.key if ctx.zone else None


class _Segmenter:
    """Pass 2: records, then messages."""

    def __init__(self, ctx: ParseContext, shape: Shape, order: OrderDecision) -> None:
        self.ctx = ctx
        self.shape = shape
        self.order = order.order
        self.seq = 0
        self.previous: tuple[int, datetime] | None = None  # line and local time of the last header
        self.resolved: tuple[Header, datetime, When] | None = None  # the last header read
        self.langs: Counter[str] = Counter()

    def run(self, source: BinaryIO) -> Iterator[Message]:
        ctx, name = self.ctx, self.ctx.chat_file
        source.seek(0)
        if source.read(3) == b"\xef\xbb\xbf":
            ctx.report.add(
                "bom",
                "the file starts with a UTF-8 byte order mark (3 bytes, part of no message): "
                "WhatsApp does not write one; was the file re-saved?",
                file=name,
                offset=0,
                length=3,
            )
        record: _Record | None = None
        unparsed: tuple[int, int, int, int] | None = None  # first and last line, start, end
        end = 0
        for number, offset, end, text, term in _lines(source, name):
            header = match_header(text)
            # ``is``: match_header gives the same Shape object for the same shape (fast)
            if header is not None and (header.shape is self.shape or header.shape == self.shape):
                if record is not None:
                    yield self._message(record, offset)
                elif unparsed is not None:
                    self._unparsed(*unparsed)
                record = _Record(header, number, offset, [(text[header.rest_at :], term)])
            elif record is None:
                first, start = (unparsed[0], unparsed[2]) if unparsed else (number, offset)
                unparsed = (first, number, start, end)
            else:
                if header is not None:
                    ctx.report.add(
                        "header-like-line",
                        f"line {number} looks like a message header "
                        f"({header.shape.describe()!r}) but not like this file's "
                        f"({self.shape.describe()!r}): kept as text of the message starting "
                        f"at line {record.line}; a spoofing attempt?",
                        file=name,
                        line=number,
                        offset=offset,
                    )
                record.parts.append((text, term))
        if record is not None:
            yield self._message(record, end)
        elif unparsed is not None:
            self._unparsed(*unparsed)
        self.ctx.report.facts["marker_languages"] = dict(sorted(self.langs.items()))

    def _unparsed(self, first: int, last: int, offset: int, end: int) -> None:
        self.ctx.report.add(
            "unparsed",
            f"lines {first}-{last} come before the first message header; kept in the WARC, "
            "part of no message",
            file=self.ctx.chat_file,
            line=first,
            end_line=last,
            offset=offset,
            length=end - offset,
        )

    def _when(self, record: _Record) -> When:
        header = record.header
        if self.order is None:
            return When(header.raw)
        if self.resolved is not None and self.resolved[0] is header:
            _, local, when = self.resolved  # the same header text as before: the same time
        else:
            found = to_local(header, self.order)
            if found is None:
                self.ctx.report.add(
                    "invalid-date",
                    f"line {record.line}: {header.raw!r} is not a real date and time when "
                    f"read as {self.order}",
                    file=self.ctx.chat_file,
                    line=record.line,
                )
                return When(header.raw)
            local = found
            when = timeparse.resolve_local(local, self.ctx.zone, header.raw)
            self.resolved = (header, local, when)
        if self.previous is not None and local < self.previous[1]:
            self.ctx.report.add(
                "time-backwards",
                f"the header at line {record.line} is earlier than the one at line "
                f"{self.previous[0]}: messages out of order, or a line typed to look like a "
                "header",
                severity="info",
                file=self.ctx.chat_file,
                line=record.line,
            )
        self.previous = (record.line, local)
        if when.basis is TimeBasis.AMBIGUOUS or when.basis is TimeBasis.NONEXISTENT:
            what = "happens twice" if when.basis.value == "ambiguous" else "never happens"
            self.ctx.report.add(
                f"{when.basis.value}-time",
                f"line {record.line}: {when.local} {what} in {when.zone} (a daylight saving "
                "change); sent_at is null",
                file=self.ctx.chat_file,
                line=record.line,
            )
        return when

    def _message(self, record: _Record, end: int) -> Message:
        ctx = self.ctx
        first = record.parts[0][0]
        sender_raw: str | None = None
        candidate, colon, rest = first.partition(": ")
        # a system line has no "Sender: "; one that holds ": " has it inside a quoted subject
        system = first.startswith("\u200e") or not colon
        if not system and _QUOTES.search(candidate):
            system = wm.SYSTEM.fullmatch(first) is not None
            if not system:
                ctx.report.add(
                    "sender-uncertain",
                    f"line {record.line}: the sender {candidate!r} holds a quotation mark; "
                    "the line may be a system message whose text holds ': '",
                    severity="info",
                    file=ctx.chat_file,
                    line=record.line,
                )
        if not system:
            sender_raw, first = candidate, rest
        if len(record.parts) == 1:  # most messages: one line
            text = first
        else:  # every line but the first whole, with its terminator; the last without it
            rest_lines = (c + t for c, t in record.parts[1:-1])
            text = "".join((first, record.parts[0][1], *rest_lines, record.parts[-1][0]))
        found = classify(text, has_sender=sender_raw is not None)
        if found.langs:
            self.langs.update(found.langs)
        if found.unknown_marker is not None:
            ctx.report.add(
                "unknown-marker",
                f"line {record.line}: {found.unknown_marker[:120]!r} looks like a platform "
                "marker no marker table knows; kept in the text",
                file=ctx.chat_file,
                line=record.line,
            )
        if found.maybe_view_once:
            ctx.report.add(
                "maybe-view-once",
                f"line {record.line}: the text is 'null', which Android writes for a "
                "view-once photo; kept as text",
                severity="info",
                file=ctx.chat_file,
                line=record.line,
            )
        source = {
            "file": ctx.chat_file,
            "line": record.line,
            "end_line": record.line + len(record.parts) - 1,
            "offset": record.offset,
            "length": end - record.offset,
        }
        message = Message(  # by position (faster); the fields in their order:
            self.seq,  # seq
            self._when(record),  # when
            sender_raw,  # sender_raw
            None,  # sender_id
            found.text,  # text
            Kind.SYSTEM if system and found.kind is Kind.TEXT else found.kind,  # kind
            source,  # source
            found.flags,  # flags
            tuple(self._resolve(a, record.line) for a in found.attachments)
            if found.attachments
            else (),  # attachments
            system or found.system,  # system
            found.extra or {},  # extra (a dict of its own, as ever)
        )
        self.seq += 1
        return message

    def _resolve(self, attachment: Attachment, line: int) -> Attachment:
        """Look a referenced file up in the package; report it when it is missing."""
        if attachment.name is None or attachment.status.value != "referenced":
            return attachment
        found = self.ctx.lookup(attachment.name)
        if found is None and attachment.name.endswith("."):  # Android's "AUD-…-WA0000." quirk
            folder = self.ctx.folder()
            stem = f"{folder}/{attachment.name}" if folder else attachment.name
            matches = [n for n in self.ctx.files if n.startswith(stem)]
            if len(matches) == 1:
                found = self.ctx.lookup(matches[0].removeprefix(f"{folder}/" if folder else ""))
                self.ctx.report.add(
                    "attachment-matched-by-prefix",
                    f"line {line}: {attachment.name!r} has no extension; matched {matches[0]!r}",
                    severity="info",
                    file=self.ctx.chat_file,
                    line=line,
                )
        if found is None:
            self.ctx.report.add(
                "missing-media",
                f"line {line}: the message names {attachment.name!r}, which is not in the package",
                file=self.ctx.chat_file,
                line=line,
            )
            return Attachment(
                attachment.name,
                attachment.status,
                present=False,
                media=attachment.media,
                title=attachment.title,
            )
        return Attachment(
            attachment.name,
            attachment.status,
            sha256=found.sha256,
            size=found.size,
            present=True,
            media=attachment.media,
            title=attachment.title,
        )
