"""Telegram Desktop "Export chat history" in machine-readable JSON (``result.json``).

The file is parsed strictly (:func:`custody.strictjson.loads_strict`): Telegram's invalid
``\\x`` escapes, duplicate keys or a byte order mark are refused with the line and column,
never repaired silently. A single-chat export (``{"name", "type", "id", "messages"}``) and
an account export (``{"chats": {"list": [...]}, "left_chats": …}``) are both read; each
message keeps its JSON Pointer. See docs/formats/chat/telegram.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from custody import strictjson
from custody.chat import timeparse
from custody.chat.base import Attachment, Flag, Kind, Message, ParseContext, Status, When
from custody.errors import InputError, StrictJSONError

MAX_JSON_BYTES = 512 * 1024 * 1024
_SNIFF_KEYS = (b'"messages"', b'"chats"', b'"personal_information"')
_OMITTED = ("(File not included", "(File exceeds maximum size")
_FAILED = ("(File unavailable",)
_CALLS = {"phone_call", "group_call"}
_SERVICE_DETAILS = ("title", "members", "duration_seconds", "discard_reason", "message_id")
_ENTITY_EXTRAS = ("href", "user_id", "language", "document_id", "collapsed")
_DIGITS = re.compile(r"-?[0-9]{1,12}")


def _chats(doc: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """(JSON Pointer, chat object) of every chat, or None when this is no Telegram export."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("messages"), list):
        return [("", doc)]
    found = []
    for section in ("chats", "left_chats"):
        part = doc.get(section)
        chats = part.get("list") if isinstance(part, dict) else None
        if isinstance(chats, list):
            for i, chat in enumerate(chats):
                if isinstance(chat, dict) and isinstance(chat.get("messages"), list):
                    found.append((f"/{section}/list/{i}", chat))
    return found or None


class TelegramImporter:
    """Telegram Desktop JSON exports."""

    name = "telegram"

    def sniff(self, head: bytes) -> bool:
        """True if ``head`` starts a JSON object naming messages or chats."""
        return head.lstrip(b" \t\r\n").startswith(b"{") and any(k in head for k in _SNIFF_KEYS)

    def parse(self, source: BinaryIO, ctx: ParseContext) -> Iterator[Message]:
        """Yield every message of every chat, in file order.

        Raises:
            InputError: not strict JSON, too large, or not a Telegram export.
        """
        name = ctx.chat_file
        data = source.read(MAX_JSON_BYTES + 1)
        try:
            doc = strictjson.loads_strict(data, max_bytes=MAX_JSON_BYTES)
        except StrictJSONError as exc:
            hint = None
            if "escape" in exc.message:
                hint = (
                    "Telegram Desktop writes control characters as invalid \\x escapes "
                    "(tdesktop #27571); custody refuses rather than guess a repair"
                )
            raise InputError(f"{name}: {exc.message}", hint=hint) from None
        del data
        chats = _chats(doc)
        if chats is None:
            raise InputError(f"{name}: JSON without a messages list; not a Telegram export")
        if not any(chat["messages"] for _, chat in chats):
            raise InputError(f"{name}: empty export (no messages)")
        ctx.report.facts["chats"] = [
            {"pointer": p or "/", "name": c.get("name"), "type": c.get("type"), "id": c.get("id")}
            | {"messages": len(c["messages"])}
            for p, c in chats
        ]
        ctx.report.facts["time_zone"] = ctx.zone.key if ctx.zone else None
        parser = _Parser(ctx, several=len(chats) > 1)
        for prefix, chat in chats:
            for i, item in enumerate(chat["messages"]):
                yield parser.message(item, f"{prefix}/messages/{i}", chat)


class _Parser:
    def __init__(self, ctx: ParseContext, *, several: bool) -> None:
        self.ctx = ctx
        self.several = several
        self.seq = 0
        self.naive_reported = False

    def _report(self, code: str, message: str, pointer: str, severity: str = "warning") -> None:
        self.ctx.report.add(
            code, message, severity=severity, file=self.ctx.chat_file, pointer=pointer
        )

    def _str(self, m: dict[str, Any], key: str, pointer: str) -> str | None:
        value = m.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        self._report("malformed-field", f"{pointer}/{key} is not a string; left out", pointer)
        return None

    def message(self, m: Any, pointer: str, chat: dict[str, Any]) -> Message:
        seq, self.seq = self.seq, self.seq + 1
        source = {"file": self.ctx.chat_file, "pointer": pointer}
        if not isinstance(m, dict):
            self._report("malformed-message", f"{pointer} is not a JSON object", pointer)
            return Message(seq, When(None), None, None, "", Kind.UNSUPPORTED, source, system=True)
        extra: dict[str, Any] = {}
        if "id" in m:
            extra["native_id"] = m["id"] if isinstance(m["id"], int | str) else None
        if self.several:
            extra["chat"] = {"name": chat.get("name"), "id": chat.get("id")}
        when = self._when(m, pointer, extra)
        mtype = m.get("type")
        text, entities = self._text(m.get("text", ""), pointer)
        if entities:
            extra["entities"] = entities
        if mtype == "service":
            action = self._str(m, "action", pointer)
            extra["action"] = action
            details = {k: m[k] for k in _SERVICE_DETAILS if k in m}
            if details:
                extra["action_details"] = details
            kind = Kind.CALL if action in _CALLS else Kind.SYSTEM
            actor, actor_id = self._str(m, "actor", pointer), self._str(m, "actor_id", pointer)
            return Message(seq, when, actor, actor_id, text, kind, source, system=True, extra=extra)
        if mtype != "message":
            what = "unsupported" if mtype == "unsupported" else f"of unknown type {mtype!r}"
            self._report(
                "unsupported-message",
                f"{pointer}: a message {what}: Telegram exported no content for it",
                pointer,
                "info",
            )
            return Message(seq, when, None, None, text, Kind.UNSUPPORTED, source, extra=extra)
        flags = set()
        if "edited" in m or "edited_unixtime" in m:
            flags.add(Flag.EDITED)
            edited = m.get("edited_unixtime")
            if isinstance(edited, str) and _DIGITS.fullmatch(edited):
                extra["edited_at"] = timeparse.from_epoch(int(edited), edited).utc
        if "forwarded_from" in m:
            flags.add(Flag.FORWARDED)
            extra["forwarded_from"] = self._str(m, "forwarded_from", pointer)
        for key, out in (("reply_to_message_id", "reply_to"), ("via_bot", "via_bot")):
            if key in m:
                extra[out] = m[key]
        attachments = self._attachments(m, pointer)
        kind = Kind.TEXT
        if any(a.role is None for a in attachments):
            kind = Kind.MEDIA
        elif isinstance(m.get("poll"), dict):
            kind, extra["poll"] = Kind.POLL, m["poll"]
        elif isinstance(m.get("location_information"), dict):
            kind = Kind.LOCATION
            extra["location"] = {k: m[k] for k in ("place_name", "address") if k in m}
            extra["location"] |= m["location_information"]
        elif isinstance(m.get("contact_information"), dict):
            kind, extra["contact"] = Kind.CONTACT, m["contact_information"]
        sender, sender_id = self._str(m, "from", pointer), self._str(m, "from_id", pointer)
        return Message(
            seq, when, sender, sender_id, text, kind, source, frozenset(flags), attachments,
            extra=extra,
        )  # fmt: skip

    def _when(self, m: dict[str, Any], pointer: str, extra: dict[str, Any]) -> When:
        unix, date = m.get("date_unixtime"), m.get("date")
        local = date if isinstance(date, str) else None
        if isinstance(unix, str) and _DIGITS.fullmatch(unix):
            when = timeparse.from_epoch(int(unix), unix, local)
            parsed = _naive(local)
            if parsed is not None and when.utc is not None:
                utc = datetime.fromisoformat(when.utc.replace("Z", "+00:00")).astimezone(UTC)
                extra["local_offset"] = timeparse.offset_text(parsed, utc)
            return when
        parsed = _naive(local)
        if parsed is None:
            if m.get("type") != "unsupported":
                self._report("missing-time", f"{pointer}: no readable date", pointer)
            return When(local)
        if not self.naive_reported:
            self.naive_reported = True
            self._report(
                "local-times",
                "messages without date_unixtime (exports before 2022): their date is the "
                "exporting computer's local time, read in --timezone or left without UTC",
                pointer,
            )
        return timeparse.resolve_local(parsed, self.ctx.zone, local or "")

    def _text(self, value: Any, pointer: str) -> tuple[str, list[dict[str, Any]]]:
        if isinstance(value, str):
            return value, []
        if not isinstance(value, list):
            self._report(
                "malformed-text", f"{pointer}/text is neither a string nor a list", pointer
            )
            return "", []
        out: list[str] = []
        entities: list[dict[str, Any]] = []
        at = 0
        for i, part in enumerate(value):
            if isinstance(part, str):
                piece = part
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                piece = part["text"]
                kind = part.get("type")
                if kind != "plain":
                    entity: dict[str, Any] = {"type": kind, "offset": at, "length": len(piece)}
                    entity |= {k: part[k] for k in _ENTITY_EXTRAS if k in part}
                    entities.append(entity)
            else:
                self._report("malformed-text", f"{pointer}/text/{i} has no text; left out", pointer)
                continue
            out.append(piece)
            at += len(piece)
        return "".join(out), entities

    def _attachments(self, m: dict[str, Any], pointer: str) -> tuple[Attachment, ...]:
        found = []
        for key, role in (("photo", None), ("file", None), ("thumbnail", "thumbnail")):
            value = m.get(key)
            if value is None:
                continue
            if not isinstance(value, str):
                self._report("malformed-field", f"{pointer}/{key} is not a string", pointer)
                continue
            media = "image" if key != "file" else str(m.get("media_type") or "document")
            media = "image" if role else media
            named = self._str(m, "file_name", pointer) if key == "file" else None
            if value.startswith(_OMITTED + _FAILED) or (
                value.startswith("(") and value.endswith(")")
            ):
                status = Status.OMITTED if value.startswith(_OMITTED) else Status.FAILED
                if not value.startswith(_OMITTED + _FAILED):
                    self._report("unknown-marker", f"{pointer}/{key}: {value[:120]!r}", pointer)
                found.append(Attachment(named, status, media=media, note=value, role=role))
                continue
            info = self.ctx.lookup(value)
            if info is None:
                self._report(
                    "missing-media",
                    f"{pointer}/{key} names {value!r}, which is not in the package",
                    pointer,
                )
                found.append(
                    Attachment(value, Status.REFERENCED, present=False, media=media, role=role)
                )
            else:
                found.append(
                    Attachment(
                        value, Status.REFERENCED, info.sha256, info.size, True, media, role=role
                    )
                )
        return tuple(found)


def _naive(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is None else None
