"""What a WhatsApp message body is: text, or a platform marker (media, deletion, call…).

:func:`classify` takes the body exactly as in the export (every line, inner line breaks
as written) and returns the user's text with the platform's markers taken out, and what
the markers said. Marker strings come from :mod:`custody.chat.whatsapp_markers`.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from custody.chat import whatsapp_markers as wm
from custody.chat.base import Attachment, Flag, Kind, Status

_ANGLED = re.compile(r"<[^<>\n]{1,200}>")
_OPTION = re.compile(
    r"^\u200e?(?P<label>[^:\n]{1,20}): (?P<text>.*?)(?: \((?P<votes>\d+) [^()]*\))?$"
)
_PREFIXES = (
    (("IMG-", "PHOTO"), "image"),
    (("VID-", "VIDEO"), "video"),
    (("AUD-", "PTT-", "AUDIO"), "audio"),
    (("STK-", "STICKER"), "sticker"),
    (("GIF",), "gif"),
)


class Body(NamedTuple):
    """A classified body (immutable; a named tuple rather than a frozen dataclass because
    one is built for every message, and a tuple is built several times faster)."""

    kind: Kind
    text: str
    flags: frozenset[Flag] = frozenset()
    attachments: tuple[Attachment, ...] = ()
    system: bool = False
    extra: Mapping[str, Any] = MappingProxyType({})
    langs: tuple[str, ...] = ()  # languages of the markers matched
    unknown_marker: str | None = None  # a marker-shaped text no table row knows
    maybe_view_once: bool = False  # Android writes "null" for a view-once photo


def media_of(name: str) -> str:
    """A guess of the media kind from a file name (WhatsApp's prefixes, then the suffix)."""
    base = name.rpartition("-")[2] if name[:8].isdigit() else name
    for prefixes, media in _PREFIXES:
        if name.startswith(prefixes) or base.startswith(prefixes):
            return media
    if name.lower().endswith(".vcf"):
        return "contact"
    guessed, _ = mimetypes.guess_type(name)
    major = (guessed or "").partition("/")[0]
    return major if major in ("image", "video", "audio") else "document"


_EDITED_ENDS = tuple(phrase for phrase, _ in wm.EDITED)
_ENCRYPTED_STARTS = tuple(phrase for phrase, _ in wm.ENCRYPTED)
_POLL_BY_LABEL = {  # (option label, language) by poll label: the first row wins, as in POLLS
    label: (option, lang) for label, option, lang in reversed(wm.POLLS)
}
_DOCUMENT_LABELS = [p for row in wm.TABLE for p in row.omitted["document"]]
_DOCUMENT_TAIL = re.compile(
    "(?:" + "|".join(map(re.escape, _DOCUMENT_LABELS)) + r")\Z", re.IGNORECASE
)
_DOCUMENT_LONGEST = max(map(len, _DOCUMENT_LABELS))


def _may_be_document_omitted(line: str) -> bool:
    """False when ``wm.DOCUMENT_OMITTED`` cannot match ``line``: a fast pre-check, since
    that pattern ends with one of these labels, matched the same way (one character for
    one, so within the last ``_DOCUMENT_LONGEST`` characters)."""
    return _DOCUMENT_TAIL.search(line, max(0, len(line) - _DOCUMENT_LONGEST)) is not None


def _strip_edited(body: str) -> tuple[str, str | None]:
    for phrase, lang in wm.EDITED:
        if body.endswith(phrase):
            body = body.removesuffix(phrase).removesuffix("\u200e").removesuffix(" ")
            return body, lang
    return body, None


def _poll(lines: list[str], option_label: str) -> dict[str, Any]:
    question: str | None = None
    options = []
    for line in lines:
        m = _OPTION.match(line)
        if m and m["label"] == option_label.rstrip(":"):
            votes = int(m["votes"]) if m["votes"] else None
            options.append({"text": m["text"], "votes": votes})
        elif question is None:
            question = line
    return {"question": question, "options": options}


def _whole(meaning: wm.Meaning, after: str, single: bool) -> Body | None:
    """A body that is a marker as a whole (or, for media, on its first line)."""
    langs = (meaning.lang,)
    match meaning.kind:
        case "media-omitted":  # Android; a document's title or a caption may follow
            return Body(
                Kind.MEDIA, after, attachments=(Attachment(None, Status.OMITTED),), langs=langs
            )
        case "omitted" if single:
            media = meaning.detail
            kind = Kind.CONTACT if media == "contact" else Kind.MEDIA
            attachment = Attachment(None, Status.OMITTED, media=media)
            return Body(kind, "", attachments=(attachment,), langs=langs)
        case "deleted" | "deleted-self" if single:
            by = "exporter" if meaning.kind == "deleted-self" else "sender"
            flags = frozenset({Flag.DELETED})
            return Body(Kind.DELETED, "", flags, extra={"deleted_by": by}, langs=langs)
        case "live-location" if single:
            return Body(Kind.LOCATION, "", extra={"location": {"live": True}}, langs=langs)
        case "missed-call" if single:
            call = {"missed": True, "media": meaning.detail}
            return Body(Kind.CALL, "", extra={"call": call}, langs=langs)
        case "waiting" if single:
            return Body(Kind.UNAVAILABLE, "", langs=langs)
    return None


def _markers(body: str, has_sender: bool) -> Body:
    first_raw, newline, after = body.partition("\n")
    first = first_raw.removesuffix("\r")
    probe = first.lstrip("\u200e").strip()
    single = not newline
    meaning = wm.WHOLE.get(wm.key(probe))
    if meaning is not None and (found := _whole(meaning, after, single)) is not None:
        return found
    # fast pre-checks: FILE_ATTACHED only matches a line ending in ")", ATTACHED in ">"
    if first.endswith(")") and (m := wm.FILE_ATTACHED.match(first)):
        name = m["name"]
        media = media_of(name)
        kind = Kind.CONTACT if media == "contact" else Kind.MEDIA
        attachment = Attachment(name, Status.REFERENCED, media=media)
        return Body(kind, after, attachments=(attachment,), langs=_lang_of_label(m["label"]))
    if single and first.endswith(">") and (m := wm.ATTACHED.match(first)):
        name, title = m["name"], m["title"].strip(" \u200e") or None
        media = media_of(name)
        kind = Kind.CONTACT if media == "contact" else Kind.MEDIA
        attachment = Attachment(name, Status.REFERENCED, media=media, title=title)
        return Body(kind, "", attachments=(attachment,), langs=_lang_of_label(m["label"]))
    if single and _may_be_document_omitted(first) and (m := wm.DOCUMENT_OMITTED.match(first)):
        attachment = Attachment(None, Status.OMITTED, media="document", title=m["title"])
        return Body(Kind.MEDIA, "", attachments=(attachment,))
    if body.count("\n") <= 2:  # Android: name, address, url
        last = body.rpartition("\n")[2].removesuffix("\r")
        if m := wm.LOCATION.match(last):
            lines = [line.removesuffix("\r") for line in body.split("\n")]
            label = "\n".join(lines[:-1]) or None
            return Body(Kind.LOCATION, "", extra={"location": {"url": m["url"], "label": label}})
    poll_row = None if single else _POLL_BY_LABEL.get(probe)
    if poll_row is not None:
        option_label, lang = poll_row
        lines = [line.removesuffix("\r").lstrip("\u200e") for line in body.split("\n")[1:]]
        poll = _poll(lines, option_label)
        return Body(Kind.POLL, "", extra={"poll": poll}, langs=(lang,))
    if probe.startswith(_ENCRYPTED_STARTS):
        for phrase, lang in wm.ENCRYPTED:
            if probe.startswith(phrase):
                return Body(Kind.SYSTEM, body, system=True, langs=(lang,))
    if body == "null":
        return Body(Kind.TEXT, body, maybe_view_once=True)
    if single and _ANGLED.fullmatch(probe):
        return Body(Kind.TEXT, body, unknown_marker=probe)
    if has_sender and body.startswith("\u200e"):
        return Body(Kind.TEXT, body, unknown_marker=first)
    return Body(Kind.TEXT, body)


def _lang_of_label(label: str) -> tuple[str, ...]:
    for row in wm.TABLE:
        if label in row.file_attached or label in row.attached:
            return (row.lang,)
    return ()


def classify(body: str, *, has_sender: bool) -> Body:
    """Classify a message body (``has_sender``: the line had ``Sender: ``)."""
    if not body.endswith(_EDITED_ENDS):  # one check for every language (most bodies)
        return _markers(body, has_sender)
    stripped, edited = _strip_edited(body)
    found = _markers(stripped, has_sender)
    if edited is None:
        return found
    return found._replace(flags=found.flags | {Flag.EDITED}, langs=(*found.langs, edited))
