"""Facebook Messenger and Instagram "Download your information" JSON (``message_N.json``).

A chat is one folder holding ``message_1.json``, ``message_2.json``…: each file lists its
messages newest first, and ``message_1.json`` holds the newest. The messages are merged
oldest first: the files from the highest N down to 1, each read backwards; ``seq`` follows
that order and each message keeps its file and JSON Pointer. Files are parsed strictly
(:func:`custody.strictjson.loads_strict`).

Meta writes every non-ASCII character as its UTF-8 bytes, each escaped as a ``\\u00XX``
code point (mojibake). When no string of the chat holds a character above U+00FF, each
string is repaired by re-encoding it as Latin-1 and decoding that as UTF-8, only when that
succeeds (it then round-trips exactly); the report records every repaired message. The
original bytes are untouched (the import keeps them in its WARC). See
docs/formats/chat/messenger.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

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
PART = re.compile(r"message_([1-9][0-9]{0,5})\.json")
"""The name of one file of a chat; the number orders the files (1 holds the newest)."""
MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MEDIA_KEYS = (
    ("photos", "image"),
    ("videos", "video"),
    ("audio_files", "audio"),
    ("gifs", "gif"),
    ("files", "document"),
)
_SYSTEM_TYPES = frozenset({"Subscribe", "Unsubscribe"})
_KNOWN_TYPES = frozenset({"Generic", "Share", "Call", *_SYSTEM_TYPES})
_PARTICIPANTS = re.compile(rb'"participants"[ \t\r\n]*:')
_META_KEY = re.compile(rb'"(?:sender_name|timestamp_ms|thread_path|senderName)"[ \t\r\n]*:')
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_THREAD_LISTS = frozenset(
    {"inbox", "archived_threads", "message_requests", "filtered_threads", "e2ee_cutover"}
)


def first_part(names: list[str]) -> str | None:
    """The ``message_N.json`` with the smallest N, if every name is a part of one folder."""
    numbers = {}
    for name in names:
        found = PART.fullmatch(name.rpartition("/")[2])
        if found is None:
            return None
        numbers[name] = int(found.group(1))
    if len({n.rpartition("/")[0] for n in names}) != 1:
        return None
    return min(names, key=numbers.__getitem__)


def platform_of(names: Iterable[str]) -> str | None:
    """``instagram`` or ``facebook`` when the package's folders (and its ``.json`` files)
    name exactly one of the two, as Meta's downloads do (``your_instagram_activity/``,
    ``your_facebook_activity/``, ``instagram_profile_information.json``); else None.
    Names inside a thread folder (``inbox/<name>_<id>/…``: people's names) do not count."""
    seen: set[str] = set()
    for name in names:
        *folders, base = name.lower().split("/")
        for part in [*folders, base] if base.endswith(".json") else folders:
            if part in _THREAD_LISTS:
                break
            seen.update(p for p in ("instagram", "facebook") if p in part)
    return seen.pop() if len(seen) == 1 else None


def repair(text: str) -> str | None:
    """``text`` read as Meta's escaped UTF-8 bytes, or None when it is ASCII (nothing to
    repair) or when its code points are not the bytes of valid UTF-8 (it is kept as is).

    Strict UTF-8 decoding is a bijection, so a repaired string round-trips exactly: its
    UTF-8 bytes read as Latin-1 give ``text`` back.
    """
    if text.isascii():
        return None
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:  # a character above U+00FF, or bytes that are not UTF-8
        return None


def _above_latin1(value: Any) -> bool:
    if isinstance(value, str):
        return not all(c <= "\xff" for c in value)
    if isinstance(value, dict):
        return any(_above_latin1(k) or _above_latin1(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_above_latin1(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    number: int | None
    doc: dict[str, Any]


class MessengerImporter:
    """Facebook Messenger and Instagram JSON exports (Meta's "Download your information")."""

    name = "messenger"

    def sniff(self, head: bytes) -> bool:
        """True if ``head`` starts a JSON object with a ``participants`` key and one of
        Meta's message keys (``sender_name``, ``timestamp_ms``, ``thread_path``, or the
        secure-storage export's ``senderName``, refused by ``parse``)."""
        return (
            head.lstrip(b" \t\r\n").startswith(b"{")
            and _PARTICIPANTS.search(head) is not None
            and _META_KEY.search(head) is not None
        )

    def parse(self, source: BinaryIO, ctx: ParseContext) -> Iterator[Message]:
        """Yield every message of every part of the chat, oldest part and message first.

        Raises:
            InputError: a part is not strict JSON, too large, not a Messenger or Instagram
                export, changed while read, or has a message without a readable
                ``timestamp_ms``; the chat is split over several files and the caller
                offers no way to read them; the chat has no messages.
        """
        parts = _read_parts(source, ctx)
        if not any(p.doc["messages"] for p in parts):
            raise InputError(f"{ctx.chat_file}: empty export (no messages)")
        enabled = not any(_above_latin1(p.doc) for p in parts)
        parser = _Parser(ctx, parts, enabled)
        yield from parser.messages()
        ctx.report.facts["mojibake"] = {
            "applied": enabled,
            "repaired_strings": parser.repaired,
            "unrepaired_strings": parser.unrepaired,
            "rule": "latin-1 code points re-read as UTF-8 bytes, only when that round-trips",
        }


class InstagramImporter(MessengerImporter):
    """Instagram's "Download your information" JSON: Messenger's format, reported as
    ``instagram`` (``--format instagram``, or auto-detection when the package's names say
    so: :func:`platform_of`)."""

    name = "instagram"


def _load(data: bytes, name: str) -> dict[str, Any]:
    try:
        doc = strictjson.loads_strict(data, max_bytes=MAX_JSON_BYTES)
    except StrictJSONError as exc:
        raise InputError(f"{name}: {exc.message}") from None
    if not (isinstance(doc, dict) and isinstance(doc.get("messages"), list)):
        raise InputError(f"{name}: JSON without a messages list; not a Messenger export")
    first = doc["messages"][0] if doc["messages"] else None
    if "threadName" in doc or (isinstance(first, dict) and "senderName" in first):
        raise InputError(
            f"{name}: a Messenger end-to-end encrypted (secure storage) export, which custody "
            "does not read yet",
            hint="preserve it with custody add; only the classic message_N.json is read",
        )
    return doc


def _read_parts(source: BinaryIO, ctx: ParseContext) -> list[_Part]:
    """Every file of the chat, oldest (highest N) first."""
    name = ctx.chat_file
    folder, _, base = name.rpartition("/")
    own = PART.fullmatch(base)
    number = int(own.group(1)) if own else None
    first = _Part(name, number, _load(source.read(MAX_JSON_BYTES + 1), name))
    siblings: dict[str, int] = {}
    for other in ctx.files if number is not None else ():
        o_folder, _, o_base = other.rpartition("/")
        found = PART.fullmatch(o_base)
        if o_folder == folder and found and other != name:
            siblings[other] = int(found.group(1))
    if siblings and ctx.open_file is None:
        numbers = sorted([number or 1, *siblings.values()])
        shown = ", ".join(f"message_{n}.json" for n in numbers)
        raise InputError(
            f"{name}: the chat is split over {len(siblings) + 1} files ({shown}), and this "
            "import cannot read more than one of them",
            hint="import each message_N.json on its own (give the file itself)",
        )
    parts = [first]
    for other, n in siblings.items():
        parts.append(_Part(other, n, _load(_read_other(ctx, other), other)))
        ctx.referenced.add(other)
    parts.sort(key=lambda p: -(p.number or 1))
    _check_parts(parts, ctx)
    return parts


def _read_other(ctx: ParseContext, name: str) -> bytes:
    assert ctx.open_file is not None  # noqa: S101 - checked by the caller
    with ctx.open_file(name) as stream:
        data = stream.read(MAX_JSON_BYTES + 1)
    if hashlib.sha256(data).hexdigest() != ctx.files[name].sha256:
        raise InputError(f"{name} changed while it was imported")
    return data


def _check_parts(parts: list[_Part], ctx: ParseContext) -> None:
    numbers = {p.number for p in parts if p.number is not None}
    if numbers:
        for n in sorted(set(range(1, max(numbers) + 1)) - numbers):
            ctx.report.add(
                "part-missing",
                f"message_{n}.json is not in the package: the messages it held are missing"
                + (" (newer than every message imported)" if n < min(numbers) else ""),
                file=ctx.chat_file,
            )
    for key in ("title", "thread_path", "participants"):
        values = {repr(p.doc.get(key)) for p in parts}
        if len(values) > 1:
            ctx.report.add(
                "parts-differ",
                f"the files of the chat disagree on {key!r}; the newest file's is reported",
                file=ctx.chat_file,
                pointer=f"/{key}",
            )
    facts = ctx.report.facts
    facts["parts"] = [
        {"file": p.name, "messages": len(p.doc["messages"]), "sha256": ctx.files[p.name].sha256}
        for p in parts
        if p.name in ctx.files
    ]
    lowered = ctx.chat_file.lower()
    for platform in ("instagram", "facebook"):
        if f"your_{platform}_activity/" in lowered:
            facts["platform"] = platform


class _Parser:
    def __init__(self, ctx: ParseContext, parts: list[_Part], enabled: bool) -> None:
        self.ctx, self.parts, self.enabled = ctx, parts, enabled
        self.repaired = self.unrepaired = 0
        self.here: list[str] = []  # what was repaired in the current message
        self.file = ctx.chat_file
        newest = parts[-1].doc
        thread = newest.get("thread_path")
        self.thread = thread if isinstance(thread, str) and thread else None
        facts = ctx.report.facts
        facts["title"] = self.text(newest.get("title"), "/title")
        people = newest.get("participants")
        facts["participants"] = [
            self.text(p.get("name"), f"/participants/{i}/name")
            for i, p in enumerate(people if isinstance(people, list) else [])
            if isinstance(p, dict)
        ]
        facts["thread_path"] = self.thread
        if not enabled:
            ctx.report.add(
                "mojibake-not-detected",
                "some strings hold characters above U+00FF, so this is not Meta's escaped "
                "UTF-8: no string was repaired",
                severity="info",
                file=ctx.chat_file,
            )

    def _report(self, code: str, message: str, pointer: str, severity: str = "warning") -> None:
        if len(self.parts) > 1:  # say which file the pointer is in
            message = f"{self.file.rpartition('/')[2]}: {message}"
        self.ctx.report.add(code, message, severity=severity, file=self.file, pointer=pointer)

    def text(self, value: Any, pointer: str) -> str | None:
        """A string of the export, repaired when the chat is mojibake."""
        if value is None:
            return None
        if not isinstance(value, str):
            self._report("malformed-field", f"{pointer} is not a string; left out", pointer)
            return None
        if not self.enabled or value.isascii():
            return value
        fixed = repair(value)
        if fixed is None:
            self.unrepaired += 1
            self._report(
                "mojibake-unrepaired",
                f"{pointer}: not valid UTF-8 once read as bytes; kept as written",
                pointer,
            )
            return value
        self.repaired += 1
        self.here.append(pointer.rpartition("/")[2])
        return fixed

    def messages(self) -> Iterator[Message]:
        seq = 0
        previous: tuple[int, str] | None = None
        for part in self.parts:
            self.file = part.name
            items = part.doc["messages"]
            for i in reversed(range(len(items))):
                message, ms = self.message(items[i], f"/messages/{i}", seq)
                if previous is not None and ms < previous[0]:
                    self._report(
                        "order-unexpected",
                        f"/messages/{i} is older than {previous[1]}, which comes before it "
                        "in the merged order; kept in file order",
                        f"/messages/{i}",
                        "info",
                    )
                previous = (ms, f"{part.name}#/messages/{i}")
                seq += 1
                yield message

    def message(self, m: Any, pointer: str, seq: int) -> tuple[Message, int]:
        if not isinstance(m, dict):
            raise InputError(f"{self.file}: {pointer} is not a JSON object")
        ms = m.get("timestamp_ms")
        if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms <= MAX_MS:
            shown = repr(ms) if len(repr(ms)) <= 60 else repr(ms)[:57] + "..."
            raise InputError(
                f"{self.file}: {pointer}/timestamp_ms is not a time in milliseconds: {shown}",
                hint="Meta writes every message's time this way; the file was altered or "
                "damaged, and custody does not guess a time",
            )
        utc = timeparse.utc_text(_EPOCH + timedelta(milliseconds=ms))
        when = When(str(ms), None, utc, "UTC", TimeBasis.EXPLICIT)
        source = {"file": self.file, "pointer": pointer}
        self.here = []
        sender = self.text(m.get("sender_name"), f"{pointer}/sender_name")
        text = self.text(m.get("content"), f"{pointer}/content") or ""
        attachments = self._attachments(m, pointer)
        mtype = m.get("type", "Generic")
        if mtype not in _KNOWN_TYPES:
            self._report(
                "unknown-type",
                f"{pointer}/type {mtype!r} is not a type custody knows; read as a message",
                pointer,
                "info",
            )
        flags: set[Flag] = set()
        extra: dict[str, Any] = {}
        unsent = m.get("is_unsent", False)
        if not isinstance(unsent, bool):
            self._report("malformed-field", f"{pointer}/is_unsent is not a boolean", pointer)
        if unsent is True:
            kind = Kind.DELETED
            flags.add(Flag.DELETED)
            extra["deleted_by"] = "sender"
        elif attachments:
            kind = Kind.MEDIA
        elif mtype == "Call":
            kind = Kind.CALL
        else:
            kind = Kind.SYSTEM if mtype in _SYSTEM_TYPES else Kind.TEXT
        if self.here:
            self._report(
                "mojibake-repaired",
                f"{pointer}: {', '.join(dict.fromkeys(self.here))} repaired from Meta's "
                "escaped UTF-8",
                pointer,
                "info",
            )
        message = Message(
            seq, when, sender, None, text, kind, source, frozenset(flags), attachments,
            system=mtype in _SYSTEM_TYPES, extra=extra,
        )  # fmt: skip
        return message, ms

    def _attachments(self, m: dict[str, Any], pointer: str) -> tuple[Attachment, ...]:
        found = []
        items: list[tuple[str, Any, str]] = []
        for key, media in _MEDIA_KEYS:
            value = m.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                self._report("malformed-field", f"{pointer}/{key} is not a list", pointer)
                continue
            items += [(f"{pointer}/{key}/{i}", item, media) for i, item in enumerate(value)]
        if m.get("sticker") is not None:
            items.append((f"{pointer}/sticker", m["sticker"], "sticker"))
        for where, item, media in items:
            uri = self.text(item.get("uri"), f"{where}/uri") if isinstance(item, dict) else None
            if not uri:
                self._report("malformed-field", f"{where} names no file", pointer)
                found.append(Attachment(None, Status.FAILED, media=media))
            elif _URL.match(uri):
                found.append(Attachment(uri, Status.REMOTE, media=media))
            else:
                raw = item.get("uri") if isinstance(item, dict) else None
                info = self._find(uri) or (self._find(raw) if isinstance(raw, str) else None)
                if info is None:
                    self._report(
                        "missing-media", f"{where} names {uri!r}, which is not in the package",
                        pointer,
                    )  # fmt: skip
                    found.append(Attachment(uri, Status.REFERENCED, present=False, media=media))
                else:
                    self.ctx.referenced.add(info.name)
                    found.append(
                        Attachment(uri, Status.REFERENCED, info.sha256, info.size, True, media)
                    )
        return tuple(found)

    def _find(self, uri: str) -> FileInfo | None:
        """The package file a ``uri`` names: relative to the chat's folder or any folder
        above it (Meta writes paths from the export's top), else the part after the
        chat's ``thread_path`` (when only the chat's folder was given)."""
        folder = self.ctx.chat_file.rpartition("/")[0]
        steps = folder.split("/") if folder else []
        names = ["/".join([*steps[:k], uri]) for k in range(len(steps), -1, -1)]
        thread = (self.thread or "").strip("/")
        at = f"/{uri}".find(f"/{thread}/") if thread else -1
        if at >= 0:
            names.append("/".join([*steps, uri[at + len(thread) + 1 :]]))
        return next((self.ctx.files[n] for n in names if n in self.ctx.files), None)
