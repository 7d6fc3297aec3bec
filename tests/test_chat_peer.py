"""Peer fixtures: joweich/chat-miner's WhatsApp and Telegram exports and their target.json
(../shared/vectors/chat/chat-miner, read in place). Senders, times and texts must match
the target, except where custody differs on purpose:

| chat-miner (target.json)            | custody                                | why              |
|-------------------------------------|----------------------------------------|------------------|
| newest message first                | source order (seq), never re-sorted    | order is evidence |
| drops system lines and "John Doe:." | keeps them: kind system, sender null   | nothing dropped  |
| joins a message's lines with " "    | keeps the line breaks as written       | text byte-exact  |
| WhatsApp times naive, no zone asked | sent_at_local; sent_at null without    | local time is    |
|                                     | --timezone                             | never UTC        |
| Telegram: entity texts joined by " "| concatenated as Telegram shows them    | text byte-exact  |
| Telegram: naive UTC                 | sent_at with Z, time_basis explicit    | say the zone     |

The table's rules are applied to our output below (reverse, drop system messages, join
lines with a space, drop the Z) and the result must equal the target exactly.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from custody.chat.base import ParseContext
from custody.chat.telegram import TelegramImporter
from custody.chat.whatsapp import WhatsAppImporter

from .conftest import vectors

WHATSAPP = [
    ("test_ddmmyy_24hrs.txt", "DMY", "android"),
    ("test_mmddyy_24hrs.txt", "MDY", "android"),
    ("test_mmddyyyy_12hrs.txt", "MDY", "android"),
    ("test_yyyymmdd_24hrs.txt", "YMD", "android"),
    ("test_[mmddyy]_24hrs.txt", "MDY", "ios"),
]


def _parse(importer: Any, path: Path) -> tuple[list[dict[str, Any]], ParseContext]:
    ctx = ParseContext(path.name, {})
    with path.open("rb") as fh:
        data = io.BytesIO(fh.read())
    return [m.to_dict("0123456789ab") for m in importer.parse(data, ctx)], ctx


@pytest.mark.parametrize(("name", "order", "platform"), WHATSAPP, ids=[w[0] for w in WHATSAPP])
def test_whatsapp_matches_chat_miner(name: str, order: str, platform: str) -> None:
    folder = vectors("chat", "chat-miner", "whatsapp")
    target = json.loads((folder / "target.json").read_text("utf-8"))
    messages, ctx = _parse(WhatsAppImporter(), folder / name)
    assert len(messages) == 9  # every line of the file is in a message
    assert ctx.report.facts["date_order"]["order"] == order
    assert ctx.report.facts["platform"] == platform
    system = [m for m in messages if m["sender"] is None]
    assert [m["text"] for m in system] == [
        "John Doe:.",
        '+12 345 578 created group "Groupname"',
        "You were added",
    ]
    assert all(m["sent_at"] is None and m["sent_at_local"] for m in messages)
    ours = [
        {
            "timestamp": m["sent_at_local"],
            "author": m["sender"],
            "message": m["text"].replace("\n", " "),
        }
        for m in reversed(messages)
        if m["sender"] is not None
    ]
    assert ours == target
    assert "\n" in messages[2]["text"]  # the difference the table names


@pytest.mark.parametrize("name", ["test_single_export.json", "test_batch_export.json"])
def test_telegram_matches_chat_miner(name: str) -> None:
    folder = vectors("chat", "chat-miner", "telegram")
    target = json.loads((folder / "target.json").read_text("utf-8"))
    messages, _ = _parse(TelegramImporter(), folder / name)
    assert [m["text"] for m in messages] == ["Minimal Message", "Link:https://telegram.org/"]
    assert messages[1]["entities"] == [
        {"type": "bold", "offset": 0, "length": 5},
        {"type": "link", "offset": 5, "length": 21},
    ]
    ours = [
        {
            "timestamp": m["sent_at"].removesuffix("Z"),
            "author": m["sender"],
            "message": " ".join(
                m["text"][e["offset"] : e["offset"] + e["length"]] for e in m.get("entities", [])
            )
            or m["text"],
        }
        for m in messages
    ]
    assert ours == target
    assert all(m["time_basis"] == "explicit" for m in messages)
