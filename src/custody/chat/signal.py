"""Signal chats as written by signal-export (github.com/carderne/signal-export, ``sigexport``).

signal-export reads Signal Desktop's database and writes, per chat, a folder holding
``chat.md`` (:mod:`.signal_md`), ``data.json`` (JSON Lines, :mod:`.signal_json`),
``index.html`` and ``media/``; stickers go to ``exported_stickers/`` at the export's top.
Which of the two it is comes from the content. When a folder holds both, ``data.json`` is
the chat (exact fields, no segmentation) and ``chat.md`` is read as a cross-check.

It is lossy, and custody says so rather than guess: times are naive local times of the
exporting computer (``datetime.fromtimestamp``), so ``sent_at`` is null without
``--timezone`` and ``assumed`` with it; there are no message ids and no sender ids; the
account owner is ``Me``; backticks were removed from every text. See
docs/formats/chat/signal.md.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from custody.chat import signal_json, signal_md, timeparse
from custody.chat.base import (
    Attachment,
    FileInfo,
    Flag,
    ImportReport,
    Kind,
    Message,
    ParseContext,
    Status,
    When,
)
from custody.chat.signal_md import Record
from custody.errors import InputError

MAX_MD_BYTES = 512 * 1024 * 1024
CALL = re.compile(r"(Incoming|Outgoing|Missed) (?:(voice|video) )?call(?: \([^()\n]*\))?")
_STAMP = rb"\[[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\] "
_MD_START = re.compile(_STAMP + rb"[^\r\n]*: ")
_MD_NEXT = re.compile(rb"\n\r?\n" + _STAMP)
_JSON_START = re.compile(
    rb'\{"date": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?", '
    rb'"sender": '
)
_EPOCH_LOCAL = datetime(1970, 1, 1)  # noqa: DTZ001 - compared with naive local times
_MEDIA = {
    **dict.fromkeys(sorted(signal_md.IMAGE), "image"),
    **dict.fromkeys(("mp4", "mov", "mkv", "mpeg", "webm", "qt"), "video"),
    **dict.fromkeys(("m4a", "aac", "mp3", "ogg", "opus", "wav", "flac"), "audio"),
}


def preferred(names: list[str]) -> str | None:
    """The ``data.json`` when ``names`` are one folder's ``chat.md`` and ``data.json``."""
    folders = {n.rpartition("/")[0] for n in names}
    bases = sorted(n.rpartition("/")[2] for n in names)
    if len(folders) == 1 and bases == ["chat.md", "data.json"]:
        return next(n for n in names if n.endswith("data.json"))
    return None


class SignalImporter:
    """signal-export's ``chat.md`` and ``data.json``."""

    name = "signal"

    def sniff(self, head: bytes) -> bool:
        """True if ``head`` starts a ``data.json`` line (``{"date": "<ISO time>", "sender":``)
        or a ``chat.md``: a ``[YYYY-MM-DD HH:MM:SS] Sender: `` header whose message ends in
        a blank line, as signal-export writes every message (WhatsApp never does)."""
        if _JSON_START.match(head):
            return True
        ends = head.endswith((b"\n\n", b"\r\n\r\n"))
        return _MD_START.match(head) is not None and (ends or _MD_NEXT.search(head) is not None)

    def parse(self, source: BinaryIO, ctx: ParseContext) -> Iterator[Message]:
        """Yield every message of the chat file, in file order.

        Raises:
            InputError: empty, not UTF-8, a byte order mark, a broken JSON line, or not a
                signal-export output at all.
        """
        first = source.read(1)
        source.seek(0)
        facts = ctx.report.facts
        facts["producer"] = "signal-export"
        facts["variant"] = "json" if first == b"{" else "markdown"
        facts["time_zone"] = ctx.zone.key if ctx.zone else None
        if ctx.zone is None:
            ctx.report.add(
                "time-zone-missing",
                "signal-export writes local times of the exporting computer without a zone; "
                "without --timezone sent_at is null for every message (never read as UTC)",
                file=ctx.chat_file,
            )
        builder = _Builder(ctx)
        if first == b"{":
            check = _CrossCheck(ctx)
            for record in signal_json.records(source, ctx.chat_file, ctx.report):
                check.compare(record)
                yield builder.message(record)
            check.finish()
        else:
            for record in signal_md.records(source, ctx.chat_file, ctx.report):
                yield builder.message(record)
        builder.finish()


class _Builder:
    """Records to messages: times, kinds, attachments; the facts about the whole chat."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.seq = 0
        self.previous: tuple[int, datetime] | None = None
        self.senders: Counter[str] = Counter()
        self.kept: Counter[str] = Counter()  # what only the original keeps
        self.encoded: dict[str, FileInfo] | None = None

    def _report(self, code: str, message: str, r: Record, severity: str = "warning") -> None:
        where = {k: r.source[k] for k in ("file", "line", "end_line", "offset", "length")}
        self.ctx.report.add(code, f"line {r.source['line']}: {message}", severity=severity, **where)

    def finish(self) -> None:
        facts = self.ctx.report.facts
        facts["senders"] = dict(sorted(self.senders.items()))
        facts["kept_only_in_original"] = dict(sorted(self.kept.items()))

    def when(self, r: Record) -> When:
        local = r.local
        if local is None:
            self._report("invalid-date", f"{r.raw_time!r} is not a real date and time", r)
            return When(r.raw_time)
        if abs(local - _EPOCH_LOCAL) <= timedelta(hours=15):
            self._report(
                "no-timestamp",
                f"{r.raw_time!r} is the epoch: signal-export writes "
                "1970 when a message has no time; sent_at is null",
                r,
            )
            return When(r.raw_time, timeparse.local_text(local))
        if self.previous is not None and local < self.previous[1]:
            self._report(
                "time-backwards",
                f"earlier than the message at line {self.previous[0]}: signal-export orders "
                "by the sender's clock and shows the earlier of it and the server's (in "
                "chat.md it can also be a typed header)",
                r,
                "info",
            )
        self.previous = (r.source["line"], local)
        when = timeparse.resolve_local(local, self.ctx.zone, r.raw_time)
        if when.basis.value in ("ambiguous", "nonexistent"):
            what = "happens twice" if when.basis.value == "ambiguous" else "never happens"
            self._report(
                f"{when.basis.value}-time",
                f"{when.local} {what} in {when.zone} (a daylight saving change); sent_at is null",
                r,
            )
        return when

    def message(self, r: Record) -> Message:
        seq, self.seq = self.seq, self.seq + 1
        when = self.when(r)
        if r.sender is not None:
            self.senders[r.sender] += 1
        self.kept.update(
            {"quotes": r.quote is not None, "reactions": len(r.reactions), "edits": r.edits}
        )
        attachments = tuple(self._file(f, r) for f in r.files)
        if r.sticker is not None:
            attachments += (self._sticker(r),)
        flags = {Flag.EDITED} if r.edits else set()
        extra: dict[str, Any] = {}
        call = CALL.fullmatch(r.body) if r.call is not False else None
        if r.deleted:
            kind, extra["deleted_by"] = Kind.DELETED, "sender"
            flags.add(Flag.DELETED)
        elif r.call or (r.call is None and call and not attachments and r.quote is None):
            kind = Kind.CALL
            if r.call is None:
                said = "the text is one signal-export writes for a call; read as a call"
                self._report("call-inferred", f"{said} (it could be typed text)", r, "info")
            if call is not None and call.group(2):
                missed = call.group(1) == "Missed" if r.missed is None else r.missed
                extra["call"] = {"missed": missed, "media": call.group(2)}
        elif attachments:
            kind = Kind.MEDIA
        elif not r.body and r.quote is None:
            kind = Kind.UNSUPPORTED
            said = "no text, file or sticker: signal-export writes Signal's notices this way"
            self._report("empty-message", f"{said} (group changes, timers)", r, "info")
        else:
            kind = Kind.TEXT
        return Message(
            seq, when, r.sender, None, r.body, kind, r.source, frozenset(flags), attachments,
            extra=extra,
        )  # fmt: skip

    def _sticker(self, r: Record) -> Attachment:
        self.kept["stickers"] += 1
        if r.sticker_path is None:
            note = "signal-export did not export the sticker's file"
            return Attachment(None, Status.OMITTED, media="sticker", title=r.sticker, note=note)
        found = self._find(r.sticker_path)
        if found is None:
            self._report(
                "missing-media",
                f"the sticker {r.sticker_path!r} is not in the package "
                "(stickers are at the export's top: import the export folder made "
                "with --chats)",
                r,
            )
            return Attachment(
                r.sticker_path, Status.REFERENCED, present=False, media="sticker", title=r.sticker
            )
        return Attachment(
            r.sticker_path, Status.REFERENCED, found.sha256, found.size, True, "sticker", r.sticker
        )

    def _file(self, f: signal_md.File, r: Record) -> Attachment:
        media = _MEDIA.get((f.path or f.name or "").rpartition(".")[2].lower(), "document")
        if f.missing is not None:
            return Attachment(
                f.name or None,
                Status.OMITTED,
                media=media,
                note=f"signal-export did not export it ({f.missing})",
            )
        if not f.path:
            self._report("malformed-field", "an attachment names no path", r)
            return Attachment(f.name, Status.FAILED, media=media)
        found = self._find(f.path) or self._by_name(f)
        if found is None:
            self._report("missing-media", f"{f.path!r} is not in the package", r)
            return Attachment(f.path, Status.REFERENCED, present=False, media=media)
        return Attachment(f.path, Status.REFERENCED, found.sha256, found.size, True, media)

    def _find(self, path: str) -> FileInfo | None:
        """The package file ``path`` names, relative to the chat's folder: as written (``\\``
        read as ``/``), or with each ``%20`` standing for the whitespace it replaced."""
        joined = posixpath.normpath(posixpath.join(self.ctx.folder(), path.replace("\\", "/")))
        if joined.startswith(("../", "/")) or joined == "..":
            return None  # outside the package
        found = self.ctx.files.get(joined)
        if found is None:
            if self.encoded is None:
                self.encoded = {
                    posixpath.join(posixpath.dirname(n), signal_md.encode_spaces(b)): i
                    for n, i in self.ctx.files.items()
                    if (b := posixpath.basename(n))
                }
            found = self.encoded.get(joined)
        if found is not None:
            self.ctx.referenced.add(found.name)
        return found

    def _by_name(self, f: signal_md.File) -> FileInfo | None:
        folder = posixpath.dirname((f.path or "").replace("\\", "/"))
        return self._find(posixpath.join(folder, f.name)) if f.name and folder else None


class _CrossCheck:
    """``data.json`` read next to its folder's ``chat.md``: both must say the same."""

    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.report = ImportReport()
        folder = ctx.folder()
        name = f"{folder}/chat.md" if folder else "chat.md"
        self.name = name if name in ctx.files and ctx.open_file is not None else None
        self.records: Iterator[Record] | None = None
        self.compared = self.differing = self.only_json = 0
        if self.name is not None:
            assert ctx.open_file is not None  # noqa: S101 - checked above
            ctx.referenced.add(self.name)
            if ctx.files[self.name].size > MAX_MD_BYTES:
                ctx.report.add("chat-md-unreadable", f"over {MAX_MD_BYTES} bytes; not compared",
                               file=self.name)  # fmt: skip
                return
            with ctx.open_file(self.name) as stream:
                data = stream.read(MAX_MD_BYTES + 1)
            if hashlib.sha256(data).hexdigest() != ctx.files[self.name].sha256:
                raise InputError(f"{self.name} changed while it was imported")
            self.records = signal_md.records(io.BytesIO(data), self.name, self.report)

    def _next(self) -> Record | None:
        if self.records is None:
            return None
        try:
            return next(self.records, None)
        except InputError as exc:
            self.ctx.report.add(
                "chat-md-unreadable", f"{exc.message}; not compared", file=self.name
            )
            self.records = None
            return None

    def compare(self, record: Record) -> None:
        other = self._next()
        if other is None:
            if self.records is not None:  # chat.md ended first
                self.only_json += 1
            return
        self.compared += 1
        if other.key() != record.key():
            self.differing += 1
            self.ctx.report.add(
                "chat-md-differs",
                f"line {record.source['line']} of {self.ctx.chat_file} and line "
                f"{other.source['line']} of {self.name} are not the same message",
                file=self.ctx.chat_file,
                line=record.source["line"],
            )

    def finish(self) -> None:
        if self.name is None:
            return
        extra = 0
        while self._next() is not None:
            extra += 1
        if self.only_json:
            self.ctx.report.add(
                "chat-md-missing",
                f"{self.ctx.chat_file} holds {self.only_json} more messages than {self.name}",
                file=self.name,
            )
        if extra:
            self.ctx.report.add(
                "chat-md-extra",
                f"{self.name} holds {extra} more messages than {self.ctx.chat_file} (an export "
                "merged with --old writes them only to chat.md); they are not imported",
                file=self.name,
            )
        self.ctx.report.facts["cross_check"] = {
            "file": self.name,
            "compared": self.compared,
            "differing": self.differing,
            "only_in_data_json": self.only_json,
            "only_in_chat_md": extra,
            "chat_md_findings": dict(sorted(self.report.counts.items())),
        }
