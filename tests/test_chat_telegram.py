"""Telegram Desktop result.json: text as a list of entities, service messages, media
present, missing and left out, explicit and local times, strict JSON refusals."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from custody import canonical
from custody.chat.base import FileInfo, ImportReport, ParseContext
from custody.chat.telegram import TelegramImporter
from custody.chat.timeparse import load_zone
from custody.chat.units import encode_message
from custody.errors import InputError

from .conftest import ROOT

SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "message.schema.json").read_text()))
PHOTO = FileInfo("ChatExport/photos/photo_1@31-03-2024_03-10-00.jpg", 3, "c" * 64, "d" * 128)


def parse(
    data: bytes | dict[str, Any],
    *,
    files: dict[str, FileInfo] | None = None,
    tz: str | None = None,
    name: str = "ChatExport/result.json",
) -> tuple[list[dict[str, Any]], ImportReport, ParseContext]:
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    ctx = ParseContext(name, files or {}, load_zone(tz))
    messages = [m.to_dict("0123456789ab") for m in TelegramImporter().parse(io.BytesIO(raw), ctx)]
    for doc in messages:
        errors = [e.message for e in SCHEMA.iter_errors(doc)]
        assert not errors, (doc, errors)
        assert encode_message(doc) == canonical.dumps(doc)
    return messages, ctx.report, ctx


def chat(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"name": "Jonas", "type": "personal_chat", "id": 100200301, "messages": list(messages)}


def msg(i: int, **fields: Any) -> dict[str, Any]:
    base = {
        "id": i,
        "type": "message",
        "date": "2024-03-31T03:10:00",
        "date_unixtime": "1711847400",
        "from": "Jonas Becker",
        "from_id": "user100200301",
        "text": "hi",
    }
    return base | fields


def test_text_as_a_list_of_entities_is_concatenated_exactly() -> None:
    text = [
        "Meet at ",
        {"type": "bold", "text": "the station"},
        " or ",
        {"type": "text_link", "text": "here", "href": "https://example.org/map"},
        {"type": "plain", "text": " 🙂"},
        {"type": "mention_name", "text": "Ana", "user_id": 42},
    ]
    messages, _, _ = parse(chat(msg(1, text=text)))
    (m,) = messages
    assert m["text"] == "Meet at the station or here 🙂Ana"
    assert m["entities"] == [
        {"type": "bold", "offset": 8, "length": 11},
        {"type": "text_link", "offset": 23, "length": 4, "href": "https://example.org/map"},
        {"type": "mention_name", "offset": 29, "length": 3, "user_id": 42},
    ]
    assert m["text"][29:32] == "Ana"


def test_times_are_explicit_and_the_local_offset_is_kept() -> None:
    messages, _, _ = parse(
        chat(msg(1), msg(2, date="2024-03-30T23:00:00", date_unixtime="1711836000"))
    )
    first, second = messages
    assert first["sent_at"] == "2024-03-31T01:10:00Z"
    assert (first["time_basis"], first["time_zone"]) == ("explicit", "UTC")
    assert (first["sent_at_raw"], first["sent_at_local"]) == ("1711847400", "2024-03-31T03:10:00")
    assert first["local_offset"] == "+02:00"  # CEST
    assert second["local_offset"] == "+01:00"  # CET: the exporter's offset changes at DST


def test_old_exports_without_unixtime_are_local_times() -> None:
    old = {k: v for k, v in msg(1).items() if k != "date_unixtime"}
    messages, report, _ = parse(chat(old))
    assert messages[0]["sent_at"] is None and messages[0]["time_basis"] == "missing"
    assert report.counts["local-times"] == 1
    messages, _, _ = parse(chat(old), tz="Europe/Berlin")
    assert messages[0]["sent_at"] == "2024-03-31T01:10:00Z"
    assert messages[0]["time_basis"] == "assumed"


def test_service_unsupported_edited_forwarded() -> None:
    messages, report, _ = parse(
        chat(
            {
                "id": 1,
                "type": "service",
                "date": "2024-03-31T03:00:00",
                "date_unixtime": "1711846800",
                "actor": "Jonas Becker",
                "actor_id": "user100200301",
                "action": "phone_call",
                "duration_seconds": 14,
                "text": "",
            },
            {"id": 2, "type": "unsupported"},
            msg(3, edited="2024-03-31T03:12:00", edited_unixtime="1711847520"),
            msg(4, forwarded_from="Someone Else", from_id="user5", **{"from": None}),
        )
    )
    call, unsupported, edited, forwarded = messages
    assert (call["kind"], call["sender"], call["sender_raw"]) == ("call", None, "Jonas Becker")
    assert call["action_details"] == {"duration_seconds": 14} and "system" in call["flags"]
    assert unsupported["kind"] == "unsupported" and unsupported["time_basis"] == "missing"
    assert report.counts["unsupported-message"] == 1
    assert edited["flags"] == ["edited"] and edited["edited_at"] == "2024-03-31T01:12:00Z"
    assert forwarded["flags"] == ["forwarded"] and forwarded["forwarded_from"] == "Someone Else"
    assert forwarded["sender"] is None and forwarded["sender_id"] == "user5"  # deleted account


def test_media_present_missing_omitted_and_failed() -> None:
    messages, report, ctx = parse(
        chat(
            msg(1, photo="photos/photo_1@31-03-2024_03-10-00.jpg", text="look"),
            msg(2, file="files/gone.pdf", file_name="gone.pdf", media_type=None),
            msg(
                3,
                file="(File not included. Change data exporting settings to download.)",
                file_name="big.mp4",
                media_type="video_file",
            ),
            msg(4, photo="(File unavailable, please try again later)"),
        ),
        files={PHOTO.name: PHOTO},
    )
    present, missing, omitted, failed = (m["attachments"][0] for m in messages)
    assert messages[0]["kind"] == "media" and messages[0]["text"] == "look"
    assert present == {
        "name": "photos/photo_1@31-03-2024_03-10-00.jpg",
        "status": "referenced",
        "sha256": "c" * 64,
        "size": 3,
        "present": True,
        "media": "image",
    }
    assert missing["present"] is False and report.counts["missing-media"] == 1
    assert (omitted["status"], omitted["name"], omitted["media"]) == (
        "omitted",
        "big.mp4",
        "video_file",
    )
    assert failed["status"] == "failed"
    assert ctx.referenced == {PHOTO.name}


def test_account_export_with_several_chats() -> None:
    doc = {
        "about": "Here is the data you requested.",
        "chats": {"about": "", "list": [chat(msg(1)), chat(msg(1), msg(2))]},
        "left_chats": {"about": "", "list": [chat(msg(9))]},
    }
    messages, report, _ = parse(doc)
    assert [m["source"]["pointer"] for m in messages] == [
        "/chats/list/0/messages/0",
        "/chats/list/1/messages/0",
        "/chats/list/1/messages/1",
        "/left_chats/list/0/messages/0",
    ]
    assert [m["seq"] for m in messages] == [0, 1, 2, 3]
    assert messages[0]["chat"] == {"name": "Jonas", "id": 100200301}
    assert len(report.facts["chats"]) == 3


def test_location_poll_contact() -> None:
    messages, _, _ = parse(
        chat(
            msg(1, text="", location_information={"latitude": 52.52, "longitude": 13.405}),
            msg(
                2,
                text="",
                poll={"question": "Where?", "closed": False, "total_voters": 1, "answers": []},
            ),
            msg(
                3,
                text="",
                contact_information={"first_name": "A", "last_name": "", "phone_number": "+49"},
            ),
        )
    )
    assert [m["kind"] for m in messages] == ["location", "poll", "contact"]
    assert messages[0]["location"] == {"latitude": 52.52, "longitude": 13.405}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b'{"messages": [{"type": "message", "text": "a\\x0b"}]}', r"Invalid \\escape"),
        (b'{"messages": [], "messages": []}', "duplicate key"),
        (b'\xef\xbb\xbf{"messages": []}', "byte order mark"),
        (b'{"messages": [{"type": "message", "text": NaN}]}', "NaN"),
        (b'{"name": "x"}', "not a Telegram export"),
        (b'{"messages": []}', "empty export"),
        (b'{"messages": [', "invalid JSON"),
    ],
    ids=["x-escape", "duplicate-key", "bom", "nan", "no-messages", "empty", "truncated"],
)
def test_bad_json_is_refused_with_a_precise_error(data: bytes, error: str) -> None:
    with pytest.raises(InputError, match=error) as info:
        parse(data)
    assert info.value.message.startswith("ChatExport/result.json: ")
    if "escape" in error:
        assert info.value.hint is not None and "tdesktop #27571" in info.value.hint


def test_sniff() -> None:
    imp = TelegramImporter()
    assert imp.sniff(b'{\n "name": "Jonas",\n "type": "personal_chat",\n "id": 1,\n "messages": [')
    assert imp.sniff(b' {"about": "x", "personal_information": {}}')
    assert not imp.sniff(b"[]")
    assert not imp.sniff(b"05.01.24, 21:03 - A: b\n")
