"""DiscordChatExporter JSON exports (``--format Json``, one channel per file).

The file is parsed strictly (:func:`custody.strictjson.loads_strict`): duplicate keys,
``NaN``, a byte order mark are refused with the line and column. Every ``timestamp`` is
ISO 8601 with the exporting computer's offset; it is kept as written and the instant is
derived from it. A timestamp that is missing or not such a time refuses the whole file:
DiscordChatExporter always writes one, so it means the file was altered or damaged.
Attachments are relative paths when the export was made with ``--media``, else Discord
CDN URLs (which expire). See docs/formats/chat/discord.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, BinaryIO
from urllib.parse import unquote

from custody import strictjson
from custody.chat import timeparse
from custody.chat.base import (
    Attachment,
    FileInfo,
    Flag,
    Kind,
    Message,
    ParseContext,
    Status,
    TimeBasis,
    When,
)
from custody.errors import InputError, StrictJSONError

MAX_JSON_BYTES = 512 * 1024 * 1024
DISCORD_EPOCH_MS = 1420070400000
"""Milliseconds from the Unix epoch to Discord's (2015-01-01): snowflake ids count from it."""
ID_TIME_TOLERANCE_MS = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_USER_TYPES = frozenset({"Default", "Reply"})
_SYSTEM_TYPES = frozenset(
    {
        "RecipientAdd",
        "RecipientRemove",
        "Call",
        "ChannelNameChange",
        "ChannelIconChange",
        "ChannelPinnedMessage",
        "GuildMemberJoin",
        "ThreadCreated",
    }
)
_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,7}))?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")
_SNIFF = re.compile(rb'[ \t\r\n]*\{[ \t\r\n]*"guild"[ \t\r\n]*:')
_CHANNEL = re.compile(rb'"channel"[ \t\r\n]*:')
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_ABSOLUTE = re.compile(r"(?:[A-Za-z]:)?[\\/]")
_MEDIA = {
    **dict.fromkeys(("jpg", "jpeg", "png", "gif", "webp", "bmp", "heic", "avif"), "image"),
    **dict.fromkeys(("mp4", "webm", "mov", "mkv", "avi", "m4v"), "video"),
    **dict.fromkeys(("mp3", "ogg", "opus", "wav", "m4a", "flac", "aac"), "audio"),
}


def parse_time(text: str) -> tuple[When, datetime, str] | None:
    """An ISO 8601 time with offset: its explicit :class:`When`, its instant, and the offset
    (``+HH:MM``). None when ``text`` is not such a time or names no real instant."""
    found = _TIME.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])  # a 7th digit (100 ns) is dropped
    shown = "+00:00" if offset == "Z" else offset
    delta = timedelta(hours=int(shown[1:3]), minutes=int(shown[4:]))
    try:
        local = datetime(  # noqa: DTZ001 - naive on purpose: the offset is applied below
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro
        )
        zone = timezone(-delta if shown[0] == "-" else delta)
        moment = local.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    utc = timeparse.utc_text(moment)
    when = When(text, timeparse.local_text(local), utc, "UTC", TimeBasis.EXPLICIT)
    return when, moment, shown


def _media(name: str | None) -> str:
    ext = (name or "").rpartition(".")[2].lower()
    return _MEDIA.get(ext, "document")


class DiscordImporter:
    """DiscordChatExporter JSON exports."""

    name = "discord"

    def sniff(self, head: bytes) -> bool:
        """True if ``head`` starts a JSON object whose first key is ``guild`` (as
        DiscordChatExporter writes it) and that has a ``channel`` key."""
        return _SNIFF.match(head) is not None and _CHANNEL.search(head) is not None

    def parse(self, source: BinaryIO, ctx: ParseContext) -> Iterator[Message]:
        """Yield every message of the channel, in file order.

        Raises:
            InputError: not strict JSON, too large, not a DiscordChatExporter export, no
                messages, or a message without a readable timestamp.
        """
        name = ctx.chat_file
        data = source.read(MAX_JSON_BYTES + 1)
        try:
            doc = strictjson.loads_strict(data, max_bytes=MAX_JSON_BYTES)
        except StrictJSONError as exc:
            raise InputError(f"{name}: {exc.message}") from None
        del data
        if not (
            isinstance(doc, dict)
            and isinstance(doc.get("messages"), list)
            and isinstance(doc.get("guild"), dict)
            and isinstance(doc.get("channel"), dict)
        ):
            raise InputError(
                f"{name}: JSON without guild, channel and a messages list; "
                "not a DiscordChatExporter export"
            )
        items = doc["messages"]
        if not items:
            raise InputError(f"{name}: empty export (no messages)")
        _facts(doc, ctx)
        parser = _Parser(ctx)
        for i, item in enumerate(items):
            yield parser.message(item, f"/messages/{i}")
        ctx.report.facts["authors"] = list(parser.authors.values())
        ctx.report.facts["offsets"] = sorted(parser.offsets)
        ctx.report.facts["attachments"] = dict(sorted(parser.where.items()))


def _facts(doc: dict[str, Any], ctx: ParseContext) -> None:
    guild, channel = doc["guild"], doc["channel"]
    facts = ctx.report.facts
    facts["guild"] = {k: guild.get(k) for k in ("id", "name")}
    facts["channel"] = {k: channel.get(k) for k in ("id", "type", "name", "category", "topic")}
    for key, out in (("exportedAt", "exported_at"), ("dateRange", "date_range")):
        if key in doc:
            facts[out] = doc[key]
    declared = doc.get("messageCount")
    if isinstance(declared, int) and declared != len(doc["messages"]):
        ctx.report.add(
            "count-mismatch",
            f"messageCount says {declared} but the file holds {len(doc['messages'])} messages",
            file=ctx.chat_file,
            pointer="/messageCount",
        )


class _Parser:
    def __init__(self, ctx: ParseContext) -> None:
        self.ctx = ctx
        self.seq = 0
        self.authors: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.offsets: set[str] = set()
        self.where: dict[str, int] = {}  # attachments by status: local, missing, remote

    def _report(self, code: str, message: str, pointer: str, severity: str = "warning") -> None:
        self.ctx.report.add(
            code, message, severity=severity, file=self.ctx.chat_file, pointer=pointer
        )

    def _str(self, m: dict[str, Any], key: str, pointer: str) -> str | None:
        value = m.get(key)
        if value is None or isinstance(value, str):
            return value
        self._report("malformed-field", f"{pointer}/{key} is not a string; left out", pointer)
        return None

    def _time(self, value: Any, pointer: str) -> tuple[When, datetime, str]:
        parsed = parse_time(value) if isinstance(value, str) else None
        if parsed is None:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise InputError(
                f"{self.ctx.chat_file}: {pointer} is not an ISO 8601 time with an offset: {shown}",
                hint="DiscordChatExporter writes every timestamp this way; the file was "
                "altered or damaged, and custody does not guess a time",
            )
        return parsed

    def message(self, m: Any, pointer: str) -> Message:
        seq, self.seq = self.seq, self.seq + 1
        if not isinstance(m, dict):
            raise InputError(f"{self.ctx.chat_file}: {pointer} is not a JSON object")
        source = {"file": self.ctx.chat_file, "pointer": pointer}
        when, moment, offset = self._time(m.get("timestamp"), f"{pointer}/timestamp")
        self.offsets.add(offset)
        native_id = self._str(m, "id", pointer)  # DCE writes ids as strings
        extra: dict[str, Any] = {"native_id": native_id, "local_offset": offset}
        self._check_id(native_id, moment, pointer)
        flags: set[Flag] = set()
        if m.get("timestampEdited") is not None:
            edited, _, _ = self._time(m["timestampEdited"], f"{pointer}/timestampEdited")
            flags.add(Flag.EDITED)
            extra["edited_at"] = edited.utc
        sender, sender_id = self._author(m.get("author"), pointer)
        text = self._str(m, "content", pointer) or ""
        attachments = self._files(m, pointer)
        reference: dict[str, Any] = m["reference"] if isinstance(m.get("reference"), dict) else {}
        referenced = self._str(reference, "messageId", f"{pointer}/reference")
        forwarded = m.get("forwardedMessage")
        if reference.get("type") == "Forward" or isinstance(forwarded, dict):
            flags.add(Flag.FORWARDED)
            if isinstance(forwarded, dict):
                text = text or self._str(forwarded, "content", f"{pointer}/forwardedMessage") or ""
                attachments += self._files(forwarded, f"{pointer}/forwardedMessage")
        mtype = m.get("type")
        system = self._is_system(mtype, pointer)
        if system:
            extra["action"] = mtype
            if referenced is not None:
                extra["action_details"] = {"message_id": referenced}
            kind = Kind.CALL if mtype == "Call" else Kind.SYSTEM
        else:
            if referenced is not None and Flag.FORWARDED not in flags:
                extra["reply_to"] = referenced
            kind = Kind.MEDIA if attachments else Kind.TEXT
        return Message(
            seq, when, sender, sender_id, text, kind, source, frozenset(flags), attachments,
            system=system, extra=extra,
        )  # fmt: skip

    def _is_system(self, mtype: Any, pointer: str) -> bool:
        if mtype in _USER_TYPES:
            return False
        if mtype in _SYSTEM_TYPES:
            return True
        if isinstance(mtype, str) and re.fullmatch("[0-9]{1,2}", mtype) and 1 <= int(mtype) <= 18:
            return True  # DiscordChatExporter's range of system notifications
        self._report(
            "unknown-type",
            f"{pointer}/type {mtype!r} is not a type custody knows; read as a user message",
            pointer,
            "info",
        )
        return False

    def _check_id(self, native_id: str | None, moment: datetime, pointer: str) -> None:
        if native_id is None or not _SNOWFLAKE.fullmatch(native_id):
            return
        created = _EPOCH + timedelta(milliseconds=(int(native_id) >> 22) + DISCORD_EPOCH_MS)
        if abs(created - moment) > timedelta(milliseconds=ID_TIME_TOLERANCE_MS):
            self._report(
                "id-time-mismatch",
                f"{pointer}: the id says the message was created at "
                f"{timeparse.utc_text(created)}, the timestamp {timeparse.utc_text(moment)}",
                pointer,
            )

    def _author(self, author: Any, pointer: str) -> tuple[str | None, str | None]:
        if not isinstance(author, dict):
            self._report("malformed-field", f"{pointer}/author is not an object", pointer)
            return None, None
        where = f"{pointer}/author"
        author_id, handle = self._str(author, "id", where), self._str(author, "name", where)
        nickname = self._str(author, "nickname", where)
        entry = {"id": author_id, "name": handle, "nickname": nickname}
        entry |= {k: author[k] for k in ("discriminator", "isBot") if k in author}
        self.authors.setdefault(tuple(entry.values()), entry)
        return nickname or handle, author_id

    def _files(self, m: dict[str, Any], pointer: str) -> tuple[Attachment, ...]:
        found = []
        for key, url_key, name_key in (
            ("attachments", "url", "fileName"),
            ("stickers", "sourceUrl", "name"),
        ):
            items = m.get(key)
            if items is None:
                continue
            if not isinstance(items, list):
                self._report("malformed-field", f"{pointer}/{key} is not a list", pointer)
                continue
            for i, item in enumerate(items):
                where = f"{pointer}/{key}/{i}"
                if not isinstance(item, dict):
                    self._report("malformed-field", f"{where} is not an object", pointer)
                    continue
                title = self._str(item, name_key, where)
                media = "sticker" if key == "stickers" else _media(title)
                found.append(self._file(item, url_key, title, media, where, pointer))
        return tuple(found)

    def _file(
        self, item: dict[str, Any], url_key: str, title: str | None, media: str, where: str,
        pointer: str,
    ) -> Attachment:  # fmt: skip
        url = self._str(item, url_key, where)
        if not url:
            self._report("malformed-field", f"{where} names no file", pointer)
            return Attachment(title, Status.FAILED, media=media)
        if _URL.match(url):
            self.where["remote"] = self.where.get("remote", 0) + 1
            self._report(
                "remote-media",
                f"{where}: {title or url[:80]!r} is only a URL (exported without --media, or "
                "its download failed); Discord's links expire and the file is not preserved",
                pointer,
            )
            return Attachment(url, Status.REMOTE, media=media, title=title)
        info = None if _ABSOLUTE.match(url) else self._lookup(url, where, pointer)
        if info is None:
            self.where["missing"] = self.where.get("missing", 0) + 1
            outside = " (an absolute path outside the export)" if _ABSOLUTE.match(url) else ""
            self._report(
                "missing-media",
                f"{where} names {url!r}, which is not in the package{outside}",
                pointer,
            )
            return Attachment(url, Status.REFERENCED, present=False, media=media, title=title)
        self.where["local"] = self.where.get("local", 0) + 1
        size = item.get("fileSizeBytes")
        if isinstance(size, int) and not isinstance(size, bool) and size != info.size:
            self._report(
                "size-mismatch",
                f"{where}: the export says {size} bytes, the file has {info.size}",
                pointer,
            )
        return Attachment(url, Status.REFERENCED, info.sha256, info.size, True, media, title)

    def _lookup(self, url: str, where: str, pointer: str) -> FileInfo | None:
        """The package file a relative path names: as written, with Windows separators
        turned into ``/``, or percent-decoded (older versions); the last is reported."""
        slashed = url.replace("\\", "/")
        for candidate in dict.fromkeys((url, slashed)):
            info = self.ctx.lookup(candidate)
            if info is not None:
                return info
        decoded = unquote(slashed)
        info = self.ctx.lookup(decoded) if decoded != slashed else None
        if info is not None:
            self._report(
                "attachment-matched-decoded",
                f"{where}: {url!r} matched the file {info.name!r} once percent-decoded",
                pointer,
                "info",
            )
        return info
