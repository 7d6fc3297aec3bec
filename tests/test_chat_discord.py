"""DiscordChatExporter JSON: times with offsets kept and read as UTC, snowflake cross-check,
system messages, replies, forwards, attachments present, missing and remote, strict JSON
and timestamp refusals; and the real ``custody import`` and ``custody verify --deep``."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from custody import canonical
from custody.chat import detect
from custody.chat.base import FileInfo, ImportReport, ParseContext
from custody.chat.discord import DISCORD_EPOCH_MS, DiscordImporter
from custody.chat.units import encode_message
from custody.errors import InputError

from .conftest import ROOT, Runner

SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "message.schema.json").read_text()))
NAME = "Guild - general [1100].json"
FILES_DIR = f"{NAME}_Files"
PICTURE = b"\x89PNG\r\n\x1a\n not really a png"
CDN = "https://cdn.discordapp.com/attachments/1100/1200/evidence.pdf?ex=66&is=65&hm=ab"


def snowflake(timestamp: str, low: int = 7) -> str:
    ms = int(datetime.fromisoformat(timestamp).timestamp() * 1000)
    return str(((ms - DISCORD_EPOCH_MS) << 22) | low)


def msg(timestamp: str = "2024-03-09T22:15:04.123-05:00", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": snowflake(timestamp),
        "type": "Default",
        "timestamp": timestamp,
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": "hello",
        "author": {
            "id": "4242",
            "name": "mallory_99",
            "discriminator": "0000",
            "nickname": "Mallory",
            "color": None,
            "isBot": False,
            "avatarUrl": "https://cdn.discordapp.com/avatars/4242/a.png",
        },
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": [],
        "inlineEmojis": [],
    }
    return base | fields


def export(*messages: dict[str, Any], **root: Any) -> dict[str, Any]:
    return {
        "guild": {"id": "1000", "name": "Guild", "iconUrl": "https://cdn.discordapp.com/i.png"},
        "channel": {
            "id": "1100",
            "type": "GuildTextChat",
            "categoryId": "1050",
            "category": "Text",
            "name": "general",
            "topic": None,
        },
        "dateRange": {"after": None, "before": None},
        "exportedAt": "2024-03-10T12:00:01.234567-04:00",
        "messages": list(messages),
        "messageCount": len(messages),
    } | root


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()


def parse(
    data: bytes | dict[str, Any], files: dict[str, FileInfo] | None = None
) -> tuple[list[dict[str, Any]], ImportReport, ParseContext]:
    raw = data if isinstance(data, bytes) else encode(data)
    ctx = ParseContext(NAME, files or {NAME: FileInfo(NAME, len(raw), "0" * 64, "0" * 128)})
    messages = [m.to_dict("0123456789ab") for m in DiscordImporter().parse(io.BytesIO(raw), ctx)]
    for doc in messages:
        errors = [e.message for e in SCHEMA.iter_errors(doc)]
        assert not errors, (doc, errors)
        assert encode_message(doc) == canonical.dumps(doc)
    return messages, ctx.report, ctx


def test_times_keep_the_offset_as_written_and_derive_utc() -> None:
    messages, report, _ = parse(
        export(
            msg(),
            msg("2024-03-10T04:00:00+01:00"),
            msg("2024-07-01T10:00:00.1234567+00:00"),
            msg("2024-07-01T10:00:01Z"),
        )
    )
    first, whole, seven, zulu = messages
    assert first["sent_at_raw"] == "2024-03-09T22:15:04.123-05:00"
    assert first["sent_at_local"] == "2024-03-09T22:15:04"
    assert first["sent_at"] == "2024-03-10T03:15:04.123000Z"
    assert (first["time_zone"], first["time_basis"]) == ("UTC", "explicit")
    assert first["local_offset"] == "-05:00"
    assert whole["sent_at"] == "2024-03-10T03:00:00Z" and whole["local_offset"] == "+01:00"
    assert seven["sent_at"] == "2024-07-01T10:00:00.123456Z"  # the 100 ns digit is dropped
    assert zulu["local_offset"] == "+00:00"
    assert report.facts["offsets"] == ["+00:00", "+01:00", "-05:00"]
    assert report.counts == {}  # every id matches its timestamp


def test_sender_is_the_nickname_with_the_author_id_and_the_handle_in_the_facts() -> None:
    messages, report, _ = parse(export(msg(), msg(content="again")))
    assert (messages[0]["sender"], messages[0]["sender_id"]) == ("Mallory", "4242")
    assert report.facts["authors"] == [
        {
            "id": "4242",
            "name": "mallory_99",
            "nickname": "Mallory",
            "discriminator": "0000",
            "isBot": False,
        }
    ]
    assert report.facts["guild"] == {"id": "1000", "name": "Guild"}
    assert report.facts["channel"]["name"] == "general"


def test_edited_reply_forward_system_and_call() -> None:
    original = msg()
    messages, _, _ = parse(
        export(
            original,
            msg(
                "2024-03-09T22:16:00-05:00",
                type="Reply",
                content="answer",
                timestampEdited="2024-03-09T22:17:30.5-05:00",
                reference={"messageId": original["id"], "channelId": "1100", "guildId": "1000"},
            ),
            msg(
                "2024-03-09T22:18:00-05:00",
                content="",
                reference={"type": "Forward", "messageId": "1", "channelId": "9", "guildId": None},
                forwardedMessage={
                    "timestamp": "2024-01-01T00:00:00+00:00",
                    "timestampEdited": None,
                    "content": "forwarded words",
                    "attachments": [],
                    "embeds": [],
                    "stickers": [],
                },
            ),
            msg(
                "2024-03-09T22:19:00-05:00",
                type="ChannelPinnedMessage",
                content="Pinned a message.",
                reference={"messageId": original["id"], "channelId": "1100", "guildId": "1000"},
            ),
            msg("2024-03-09T22:20:00-05:00", type="Call", content="Started a call."),
            msg("2024-03-09T22:21:00-05:00", type="20", content="?"),
        )
    )
    _, reply, forward, pinned, call, unknown = messages
    assert reply["flags"] == ["edited"] and reply["edited_at"] == "2024-03-10T03:17:30.500000Z"
    assert reply["reply_to"] == original["id"] and reply["native_id"] != original["id"]
    assert forward["flags"] == ["forwarded"] and forward["text"] == "forwarded words"
    assert "reply_to" not in forward
    assert (pinned["kind"], pinned["sender"], pinned["sender_raw"]) == ("system", None, "Mallory")
    assert pinned["action"] == "ChannelPinnedMessage"
    assert pinned["action_details"] == {"message_id": original["id"]}
    assert call["kind"] == "call" and call["flags"] == ["system"]
    assert unknown["kind"] == "text" and unknown["sender"] == "Mallory"


def test_attachments_present_missing_remote_and_from_windows() -> None:
    present = FileInfo(f"{FILES_DIR}/photo-1A2B.png", len(PICTURE), "c" * 64, "d" * 128)
    chat = FileInfo(NAME, 1, "0" * 64, "0" * 128)
    doc = export(
        msg(
            content="",
            attachments=[
                {
                    "id": "1",
                    "url": f"{FILES_DIR}\\photo-1A2B.png",
                    "fileName": "photo.png",
                    "fileSizeBytes": len(PICTURE),
                },
                {
                    "id": "2",
                    "url": f"{FILES_DIR}/gone-3C4D.mp4",
                    "fileName": "gone.mp4",
                    "fileSizeBytes": 10,
                },
                {"id": "3", "url": CDN, "fileName": "evidence.pdf", "fileSizeBytes": 99},
                {
                    "id": "4",
                    "url": "C:\\Users\\me\\media\\x.png",
                    "fileName": "x.png",
                    "fileSizeBytes": 1,
                },
            ],
            stickers=[
                {
                    "id": "5",
                    "name": "wave",
                    "format": "Png",
                    "sourceUrl": f"{FILES_DIR}/photo-1A2B.png",
                }
            ],
        )
    )
    messages, report, ctx = parse(doc, {NAME: chat, present.name: present})
    (m,) = messages
    local, gone, remote, absolute, sticker = m["attachments"]
    assert m["kind"] == "media"
    assert local == {
        "name": f"{FILES_DIR}\\photo-1A2B.png",
        "status": "referenced",
        "sha256": "c" * 64,
        "size": len(PICTURE),
        "present": True,
        "media": "image",
        "title": "photo.png",
    }
    assert (gone["present"], gone["media"]) == (False, "video")
    assert remote == {"name": CDN, "status": "remote", "media": "document", "title": "evidence.pdf"}
    assert absolute["present"] is False
    assert (sticker["media"], sticker["title"], sticker["present"]) == ("sticker", "wave", True)
    assert report.counts == {"missing-media": 2, "remote-media": 1}
    assert report.facts["attachments"] == {"local": 2, "missing": 2, "remote": 1}
    assert ctx.referenced == {present.name}


def test_size_mismatch_and_id_time_mismatch_are_reported() -> None:
    present = FileInfo(f"{FILES_DIR}/a.png", 5, "c" * 64, "d" * 128)
    forged = msg("2024-03-09T22:15:04-05:00", id=snowflake("2024-03-01T00:00:00+00:00"))
    forged["attachments"] = [
        {"id": "1", "url": present.name, "fileName": "a.png", "fileSizeBytes": 6}
    ]
    _, report, _ = parse(
        export(forged), {NAME: FileInfo(NAME, 1, "0" * 64, ""), present.name: present}
    )
    assert report.counts == {"id-time-mismatch": 1, "size-mismatch": 1}
    finding = next(f for f in report.findings if f["code"] == "id-time-mismatch")
    assert "2024-03-01T00:00:00Z" in finding["message"] and finding["pointer"] == "/messages/0"


def test_message_count_mismatch_and_malformed_fields_are_reported() -> None:
    _, report, _ = parse(export(msg(), messageCount=3))
    assert report.counts == {"count-mismatch": 1}
    odd = msg(id=2**80, content=["not", "a string"], reference={"messageId": 5})
    messages, report, _ = parse(export(odd))
    assert (messages[0]["native_id"], messages[0]["text"]) == (None, "")
    assert "reply_to" not in messages[0]
    assert report.counts == {"malformed-field": 3}


def _bad(kind: str) -> bytes:
    good = encode(export(msg()))
    match kind:
        case "duplicate-key":
            return good.replace(b'"content": "hello"', b'"content": "hello", "content": "bye"')
        case "nan":
            return good.replace(b'"messageCount": 1', b'"messageCount": NaN')
        case "bom":
            return b"\xef\xbb\xbf" + good
        case "timestamp":
            return good.replace(b"2024-03-09T22:15:04.123-05:00", b"09/03/2024 22:15")
        case "no-offset":
            return good.replace(b"2024-03-09T22:15:04.123-05:00", b"2024-03-09T22:15:04.123")
        case "offset-out-of-range":
            return good.replace(b"-05:00", b"+25:00")
        case "no-such-day":
            return good.replace(b"2024-03-09T", b"2023-02-29T")
        case "edited-timestamp":
            return good.replace(b'"timestampEdited": null', b'"timestampEdited": 1710040504')
        case "no-timestamp":
            doc = export(msg())
            del doc["messages"][0]["timestamp"]
            return encode(doc)
        case "not-an-object":
            return encode(export(msg(), "text"))  # type: ignore[arg-type]
        case "no-guild":
            return encode({"channel": {}, "messages": [msg()]})
        case "empty":
            return encode(export())
    raise AssertionError(kind)


REFUSED = {
    "duplicate-key": "duplicate key 'content'",
    "nan": "NaN",
    "bom": "byte order mark",
    "timestamp": "/messages/0/timestamp is not an ISO 8601 time with an offset: '09/03",
    "no-offset": "/messages/0/timestamp is not an ISO 8601 time with an offset",
    "offset-out-of-range": "/messages/0/timestamp is not",
    "no-such-day": "/messages/0/timestamp is not",
    "edited-timestamp": "/messages/0/timestampEdited is not .* 1710040504",
    "no-timestamp": "/messages/0/timestamp is not .*: None",
    "not-an-object": "/messages/1 is not a JSON object",
    "no-guild": "not a DiscordChatExporter export",
    "empty": "empty export",
}


@pytest.mark.parametrize("kind", REFUSED)
def test_bad_input_is_refused_with_a_precise_error(kind: str) -> None:
    with pytest.raises(InputError, match=REFUSED[kind]) as info:
        parse(_bad(kind))
    assert info.value.message.startswith(f"{NAME}: ")
    assert "\n" not in info.value.message


def test_sniff_and_detection_prefer_discord_over_telegram() -> None:
    head = encode(export(msg()))[:200]
    assert DiscordImporter().sniff(head)
    assert detect.sniff(head) == {"discord"}
    assert not DiscordImporter().sniff(b'{"name": "x", "type": "personal_chat", "messages": []}')
    assert detect.sniff(b'{"name": "x", "type": "personal_chat", "messages": []}') == {"telegram"}
    assert not DiscordImporter().sniff(b"05.01.24, 21:03 - A: guild channel\n")
    telegram = b'{"name": "x", "messages": [{"text": "guild"}, {"text": "channel"}]}'
    assert detect.sniff(telegram) == {"telegram"}  # the words alone are not keys


# --- the real command line -------------------------------------------------------------


@pytest.fixture
def case(tmp_path: Path, home: Path, cli: Runner) -> Path:
    path = tmp_path / "case"
    code, _, err = cli("init", str(path), "--name", "Discord case", "--operator", "Ana")
    assert code == 0, err
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_import_a_media_export_then_verify_deep(tmp_path: Path, case: Path, cli: Runner) -> None:
    folder = tmp_path / "discord-export"
    (folder / FILES_DIR).mkdir(parents=True)
    (folder / FILES_DIR / "photo-1A2B.png").write_bytes(PICTURE)
    doc = export(
        msg(content="I know where you live"),
        msg(
            "2024-03-09T22:16:00-05:00",
            content="",
            attachments=[
                {
                    "id": "1",
                    "url": f"{FILES_DIR}/photo-1A2B.png",
                    "fileName": "photo.png",
                    "fileSizeBytes": len(PICTURE),
                },
                {
                    "id": "2",
                    "url": f"{FILES_DIR}/gone-3C4D.mp4",
                    "fileName": "gone.mp4",
                    "fileSizeBytes": 10,
                },
            ],
        ),
    )
    chat = encode(doc)
    (folder / NAME).write_bytes(chat)
    code, out, err = cli("import", str(folder), "--case", str(case), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["format"], result["chat_file"], result["messages"]) == ("discord", NAME, 2)
    assert result["units"]["count"] == 3  # two messages and the one picture present
    assert result["report"]["counts"] == {"missing-media": 1}
    lines = (case / result["artifacts"]["messages"]["path"]).read_bytes().splitlines()
    docs = [json.loads(line) for line in lines]
    assert docs[0]["text"] == "I know where you live"
    assert docs[0]["sent_at"] == "2024-03-10T03:15:04.123000Z"
    assert docs[1]["attachments"][0]["unit"] == f"{result['import_id']}:1:0"
    details = json.loads((case / result["artifacts"]["details"]["path"]).read_bytes())
    assert {f["name"]: f["role"] for f in details["files"]} == {
        NAME: "chat",
        f"{FILES_DIR}/photo-1A2B.png": "attachment",
    }
    assert (folder / NAME).read_bytes() == chat  # the original is untouched
    code, out, err = cli("verify", str(case), "--deep")
    assert code == 0, out + err
    code, out, err = cli("messages", "--case", str(case), "--sender", "mallory", "--json")
    assert code == 0 and len(json.loads(out)["messages"]) == 2, err


@pytest.mark.parametrize("kind", ["timestamp", "duplicate-key", "no-offset"])
def test_bad_exports_exit_4_with_one_line_and_leave_the_case_untouched(
    tmp_path: Path, case: Path, cli: Runner, kind: str
) -> None:
    path = tmp_path / NAME
    path.write_bytes(_bad(kind))
    before = snapshot(case)
    code, out, err = cli("import", str(path), "--case", str(case))
    assert code == 4, err
    assert err.startswith(f"custody: error: {NAME}: ") and err.count("\n") == 1
    assert out == "" and snapshot(case) == before


def test_format_option_and_the_unknown_format_message(
    tmp_path: Path, case: Path, cli: Runner
) -> None:
    path = tmp_path / "notes.json"
    path.write_bytes(b'{"hello": "world"}')
    code, _, err = cli("import", str(path), "--case", str(case))
    assert code == 4 and "DiscordChatExporter" in err and "--format" in err
    code, _, err = cli("import", str(path), "--case", str(case), "--format", "discord")
    assert code == 4 and "not a DiscordChatExporter export" in err
