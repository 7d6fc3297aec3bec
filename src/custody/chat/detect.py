"""Which format an export is, and which of its files is the chat: from content, not names.

Every file's first 64 KiB is offered to every importer's ``sniff``. The chat file is the
one file that sniffs as a format (the shallowest, when a file of the same format is also
nested deeper, such as a chat sent as a document). A chat split over several files of one
folder (Messenger's ``message_N.json``) is chosen by its first file, ``message_1.json``.
Anything less clear is refused with the candidates named, so the user can say
``--format``; nothing is guessed silently.

Telegram's sniff (a JSON object naming ``"messages"``) also matches Discord and Messenger
exports; a file that sniffs as one of those is not offered as Telegram. A signal-export
``chat.md`` header (``[2024-01-15 10:00:00] Name: ``) is also an ISO-dated WhatsApp iOS
header; a file that sniffs as Signal (its messages end in a blank line, WhatsApp's never
do) is not offered as WhatsApp. A signal-export chat folder holds ``chat.md`` and
``data.json``: the chat is ``data.json`` (:func:`custody.chat.signal.preferred`).

``instagram`` is an alias of ``messenger`` (the same importer and format): it is never
sniffed; auto-detection reports it when the package's names say Instagram and not
Facebook (:func:`custody.chat.messenger.platform_of`), so one package never reports two
formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from custody.chat import messenger
from custody.chat.base import ChatImporter
from custody.chat.discord import DiscordImporter
from custody.chat.package import Entry
from custody.chat.signal import SignalImporter, preferred
from custody.chat.telegram import TelegramImporter
from custody.chat.whatsapp import WhatsAppImporter
from custody.errors import InputError, UsageError

IMPORTERS: Mapping[str, ChatImporter] = {
    "whatsapp": WhatsAppImporter(),
    "telegram": TelegramImporter(),
    "discord": DiscordImporter(),
    "messenger": messenger.MessengerImporter(),
    "instagram": messenger.InstagramImporter(),
    "signal": SignalImporter(),
}
FORMATS = ("auto", *IMPORTERS)
_SHADOWS = {
    "discord": ("telegram",),
    "messenger": ("telegram",),
    "signal": ("whatsapp", "telegram"),
}
"""A format whose sniff implies another's: the other's match is a false positive."""
_ALIASES = {"instagram": "messenger"}
"""A format read by another's importer: never sniffed, chosen from the package's names."""


@dataclass(frozen=True, slots=True)
class Choice:
    """The importer to use and the file it reads."""

    importer: ChatImporter
    entry: Entry


def sniff(head: bytes) -> frozenset[str]:
    """The formats whose importer says ``head`` could start its main file."""
    found = {name for name, imp in IMPORTERS.items() if name not in _ALIASES and imp.sniff(head)}
    return frozenset(found.difference(*(_SHADOWS.get(name, ()) for name in found)))


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
    auto = fmt == "auto"
    if auto:
        found = sorted({f for formats in sniffed.values() for f in formats})
        if not found:
            raise InputError(
                "unknown format: no file looks like a WhatsApp .txt, a Telegram result.json, "
                "a DiscordChatExporter .json, a Messenger/Instagram message_1.json or a "
                "signal-export chat.md/data.json export",
                hint="if you know the format, give --format whatsapp, telegram, discord, "
                "messenger, instagram or signal",
            )
        if len(found) > 1:
            raise InputError(
                f"the package holds files of several formats ({', '.join(found)})",
                hint="give --format to say which one to import",
            )
        fmt = found[0]
    base = _ALIASES.get(fmt, fmt)
    candidates = [e for e in entries if base in sniffed[e]]
    if not candidates and len(entries) == 1:
        candidates = entries  # --format given for a single file: let the parser judge it
    if not candidates:
        raise InputError(f"no file of the package looks like a {fmt} export")
    depth = min(e.name.count("/") for e in candidates)
    top = [e for e in candidates if e.name.count("/") == depth]
    if len(top) > 1 and base == "messenger":
        first = messenger.first_part([e.name for e in top])
        top = [e for e in top if e.name == first] or top
    if len(top) > 1 and base == "signal":
        chosen = preferred([e.name for e in top])
        top = [e for e in top if e.name == chosen] or top
    if len(top) > 1:
        raise InputError(
            f"several files look like a {fmt} chat: {_shown(top)}",
            hint="import a package that holds one chat",
        )
    if (
        auto
        and fmt == "messenger"
        and messenger.platform_of(e.name for e in entries) == "instagram"
    ):
        fmt = "instagram"
    return Choice(IMPORTERS[fmt], top[0])
