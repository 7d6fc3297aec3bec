"""Which format an export is, and which of its files is the chat: from content, not names.

Every file's first 64 KiB is offered to every importer's ``sniff``. The chat file is the
one file that sniffs as a format (the shallowest, when a file of the same format is also
nested deeper, such as a chat sent as a document). A chat split over several files of one
folder (Messenger's ``message_N.json``) is chosen by its first file, ``message_1.json``.
Anything less clear is refused with the candidates named, so the user can say
``--format``; nothing is guessed silently.

Telegram's sniff (a JSON object naming ``"messages"``) also matches Discord and Messenger
exports; a file that sniffs as one of those is not offered as Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from custody.chat import messenger
from custody.chat.base import ChatImporter
from custody.chat.discord import DiscordImporter
from custody.chat.package import Entry
from custody.chat.telegram import TelegramImporter
from custody.chat.whatsapp import WhatsAppImporter
from custody.errors import InputError, UsageError

IMPORTERS: Mapping[str, ChatImporter] = {
    "whatsapp": WhatsAppImporter(),
    "telegram": TelegramImporter(),
    "discord": DiscordImporter(),
    "messenger": messenger.MessengerImporter(),
}
FORMATS = ("auto", *IMPORTERS)
_SHADOWS = {"discord": "telegram", "messenger": "telegram"}
"""A format whose sniff implies another's: the other's match is a false positive."""


@dataclass(frozen=True, slots=True)
class Choice:
    """The importer to use and the file it reads."""

    importer: ChatImporter
    entry: Entry


def sniff(head: bytes) -> frozenset[str]:
    """The formats whose importer says ``head`` could start its main file."""
    found = {name for name, imp in IMPORTERS.items() if imp.sniff(head)}
    return frozenset(found - {_SHADOWS[name] for name in found if name in _SHADOWS})


def _shown(entries: list[Entry]) -> str:
    return ", ".join(repr(e.name) for e in entries[:5]) + (" …" if len(entries) > 5 else "")


def choose(sniffed: Mapping[Entry, frozenset[str]], fmt: str) -> Choice:
    """Pick the format and the chat file from every file's sniff result.

    Raises:
        UsageError: ``fmt`` is not a known format.
        InputError: no file, or more than one file or format, fits.
    """
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!a}")
    entries = list(sniffed)
    if fmt == "auto":
        found = sorted({f for formats in sniffed.values() for f in formats})
        if not found:
            raise InputError(
                "unknown format: no file looks like a WhatsApp .txt, a Telegram result.json, "
                "a DiscordChatExporter .json or a Messenger/Instagram message_1.json export",
                hint="if you know the format, give --format whatsapp, telegram, discord or "
                "messenger",
            )
        if len(found) > 1:
            raise InputError(
                f"the package holds files of several formats ({', '.join(found)})",
                hint="give --format to say which one to import",
            )
        fmt = found[0]
    candidates = [e for e in entries if fmt in sniffed[e]]
    if not candidates and len(entries) == 1:
        candidates = entries  # --format given for a single file: let the parser judge it
    if not candidates:
        raise InputError(f"no file of the package looks like a {fmt} export")
    depth = min(e.name.count("/") for e in candidates)
    top = [e for e in candidates if e.name.count("/") == depth]
    if len(top) > 1 and fmt == "messenger":
        first = messenger.first_part([e.name for e in top])
        top = [e for e in top if e.name == first] or top
    if len(top) > 1:
        raise InputError(
            f"several files look like a {fmt} chat: {_shown(top)}",
            hint="import a package that holds one chat",
        )
    return Choice(IMPORTERS[fmt], top[0])
