"""Facebook Messenger / Instagram "Download your information" JSON: Meta's mojibake repaired
only when it round-trips (and recorded), unsent messages, message_N.json merged oldest
first, attachments found from the export's top or the thread folder, strict JSON and
timestamp refusals; and the real ``custody import`` and ``custody verify --deep``."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from jsonschema import Draft202012Validator

from custody import canonical
from custody.chat import detect
from custody.chat.base import FileInfo, ImportReport, ParseContext
from custody.chat.messenger import MessengerImporter, first_part, repair
from custody.chat.package import Entry
from custody.chat.units import encode_message
from custody.errors import InputError

from .conftest import ROOT, Runner

SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "message.schema.json").read_text()))
THREAD = "inbox/alice_1234567890"
TOP = f"your_facebook_activity/messages/{THREAD}"
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"
T0 = 1705309200001  # 2024-01-15T09:00:00.001Z


def meta(text: str) -> str:
    """``text`` as Meta writes it: each UTF-8 byte as a code point (json.dumps escapes them)."""
    return text.encode("utf-8").decode("latin-1")


def msg(
    ms: int, content: str | None = "hi", sender: str = "Alice", **fields: Any
) -> dict[str, Any]:
    base: dict[str, Any] = {"sender_name": sender, "timestamp_ms": ms}
    if content is not None:
        base["content"] = content
    return base | {"is_geoblocked_for_viewer": False} | fields


def thread(*messages: dict[str, Any], **root: Any) -> dict[str, Any]:
    """One message_N.json: messages are given newest first, as Meta writes them."""
    return {
        "participants": [{"name": meta("Zoë")}, {"name": "Alice"}],
        "messages": list(messages),
        "title": "Alice",
        "is_still_participant": True,
        "thread_path": THREAD,
        "magic_words": [],
    } | root


def encode(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, indent=2).encode()  # ASCII with \u00XX escapes, like Meta


def info(name: str, data: bytes) -> FileInfo:
    return FileInfo(name, len(data), hashlib.sha256(data).hexdigest(), "0" * 128)


def parse(
    parts: Mapping[str, bytes | dict[str, Any]],
    *,
    chat: str | None = None,
    extra: dict[str, bytes] | None = None,
    reader: bool = True,
    changed: dict[str, bytes] | None = None,
) -> tuple[list[dict[str, Any]], ImportReport, ParseContext]:
    """Parse the chat whose files are ``parts`` (by package name), with ``extra`` files in
    the package too, as custody import would; ``changed`` files read other bytes than hashed."""
    raw = {n: d if isinstance(d, bytes) else encode(d) for n, d in parts.items()}
    everything = raw | (extra or {})
    files = {n: info(n, d) for n, d in everything.items()}
    chat = chat or next(iter(raw))

    def open_file(name: str) -> BinaryIO:
        return io.BytesIO((changed or {}).get(name, everything[name]))

    ctx = ParseContext(chat, files, open_file=open_file if reader else None)
    source = io.BytesIO(raw[chat])
    messages = [m.to_dict("0123456789ab") for m in MessengerImporter().parse(source, ctx)]
    for doc in messages:
        errors = [e.message for e in SCHEMA.iter_errors(doc)]
        assert not errors, (doc, errors)
        assert encode_message(doc) == canonical.dumps(doc)
    return messages, ctx.report, ctx


def test_mojibake_is_repaired_and_recorded_per_message() -> None:
    doc = thread(
        msg(T0 + 2000, meta("Łódź 👍 café"), sender=meta("Zoë")),
        msg(T0 + 1000, "plain ascii"),
        title=meta("Zoë & Alice"),
    )
    raw = encode(doc)
    assert b"\\u00f0\\u009f\\u0091\\u008d" in raw  # the thumbs-up as Meta escapes it
    messages, report, _ = parse({f"{TOP}/message_1.json": raw})
    plain, repaired = messages
    assert repaired["text"] == "Łódź 👍 café" and repaired["sender"] == "Zoë"
    assert plain["text"] == "plain ascii"
    assert report.facts["title"] == "Zoë & Alice"
    assert report.facts["participants"] == ["Zoë", "Alice"]
    assert report.facts["mojibake"]["applied"] is True
    assert report.facts["mojibake"]["repaired_strings"] == 4  # title, a participant, 2 fields
    assert report.counts == {"mojibake-repaired": 1}
    (finding,) = report.findings
    assert finding["pointer"] == "/messages/0" and finding["severity"] == "info"
    assert "sender_name, content" in finding["message"]


def test_repair_only_when_it_round_trips() -> None:
    assert repair(meta("ñ 😀")) == "ñ 😀"
    assert repair("plain") is None  # nothing to repair
    assert repair("caf\u00e9") is None  # é alone is not the bytes of UTF-8
    assert repair("😀") is None  # above U+00FF: not escaped bytes
    messages, report, _ = parse(
        {"message_1.json": thread(msg(T0 + 1, "caf\u00e9"), msg(T0, meta("Ünïcode")))}
    )
    assert [m["text"] for m in messages] == ["Ünïcode", "café"]
    assert report.counts["mojibake-unrepaired"] == 1
    assert report.facts["mojibake"]["unrepaired_strings"] == 1


def test_proper_utf8_is_left_alone() -> None:
    messages, report, _ = parse(
        {"message_1.json": thread(msg(T0, "Ã© stays 😀"), participants=[{"name": "Zoë"}])}
    )
    assert messages[0]["text"] == "Ã© stays 😀"  # would become "é" if it were repaired
    assert report.facts["mojibake"] == {
        "applied": False,
        "repaired_strings": 0,
        "unrepaired_strings": 0,
        "rule": "latin-1 code points re-read as UTF-8 bytes, only when that round-trips",
    }
    assert report.counts == {"mojibake-not-detected": 1}


def test_unsent_call_system_and_share() -> None:
    messages, _, _ = parse(
        {
            "message_1.json": thread(
                msg(T0 + 4, "https://example.org", type="Share", share={"link": "x"}),
                msg(T0 + 3, "Alice added Bob to the group.", type="Subscribe"),
                msg(T0 + 2, "Alice called you.", type="Call", call_duration=0),
                msg(T0 + 1, None, is_unsent=True, reactions=[{"reaction": "x", "actor": "B"}]),
                msg(T0, "first"),
            )
        }
    )
    first, unsent, call, added, share = messages
    assert first["sent_at"] == "2024-01-15T09:00:00.001000Z" and first["sent_at_raw"] == str(T0)
    assert (first["time_basis"], first["time_zone"], first["sender_id"]) == (
        "explicit",
        "UTC",
        None,
    )
    assert (unsent["kind"], unsent["flags"], unsent["text"]) == ("deleted", ["deleted"], "")
    assert unsent["deleted_by"] == "sender" and unsent["sender"] == "Alice"
    assert call["kind"] == "call" and call["text"] == "Alice called you."
    assert (added["kind"], added["sender"], added["sender_raw"]) == ("system", None, "Alice")
    assert share["kind"] == "text"


def test_parts_are_merged_oldest_first() -> None:
    folder = f"{TOP}/"
    parts = {
        f"{folder}message_1.json": thread(msg(T0 + 6, "six"), msg(T0 + 5, "five")),
        f"{folder}message_2.json": thread(msg(T0 + 4, "four"), msg(T0 + 3, "three")),
        f"{folder}message_10.json": thread(msg(T0 + 2, "two"), msg(T0 + 1, "one")),
    }
    messages, report, ctx = parse(parts)
    assert [m["text"] for m in messages] == ["one", "two", "three", "four", "five", "six"]
    assert [m["seq"] for m in messages] == list(range(6))
    assert [(m["source"]["file"].rpartition("/")[2], m["source"]["pointer"]) for m in messages] == [
        ("message_10.json", "/messages/1"),
        ("message_10.json", "/messages/0"),
        ("message_2.json", "/messages/1"),
        ("message_2.json", "/messages/0"),
        ("message_1.json", "/messages/1"),
        ("message_1.json", "/messages/0"),
    ]
    assert [p["file"].rpartition("/")[2] for p in report.facts["parts"]] == [
        "message_10.json",
        "message_2.json",
        "message_1.json",
    ]
    assert report.counts["part-missing"] == 7  # message_3.json … message_9.json
    assert ctx.referenced == {f"{folder}message_2.json", f"{folder}message_10.json"}


def test_merge_order_problems_and_differing_parts_are_reported() -> None:
    messages, report, _ = parse(
        {
            "message_1.json": thread(msg(T0 + 2, "newest"), msg(T0 + 5, "clock skew")),
            "message_2.json": thread(msg(T0 + 9, "should be older"), title="Old name"),
        }
    )
    assert [m["text"] for m in messages] == ["should be older", "clock skew", "newest"]
    assert report.counts == {"order-unexpected": 2, "parts-differ": 1}
    assert report.facts["title"] == "Alice"  # the newest file's


def test_a_part_that_changed_while_read_is_refused() -> None:
    with pytest.raises(InputError, match=r"message_2\.json changed while it was imported"):
        parse(
            {"message_1.json": thread(msg(T0 + 1)), "message_2.json": thread(msg(T0))},
            changed={"message_2.json": encode(thread(msg(T0, "edited")))},
        )


def test_without_a_reader_a_split_chat_is_refused_and_a_lone_part_is_reported() -> None:
    with pytest.raises(InputError, match=r"split over 2 files \(message_1.json, message_2.json\)"):
        parse(
            {"message_1.json": thread(msg(T0 + 1)), "message_2.json": thread(msg(T0))},
            reader=False,
        )
    messages, report, _ = parse({"message_2.json": thread(msg(T0))}, reader=False)
    assert len(messages) == 1 and report.counts == {"part-missing": 1}
    assert "newer than every message imported" in report.findings[0]["message"]


def test_attachments_from_the_top_the_thread_folder_missing_and_remote() -> None:
    media = [
        msg(
            T0,
            None,
            photos=[{"uri": f"{TOP}/photos/1.jpg", "creation_timestamp": 1705309200}],
            videos=[{"uri": f"{TOP}/videos/gone.mp4"}],
            sticker={"uri": "https://scontent.example/sticker.png"},
        )
    ]
    whole = {f"{TOP}/photos/1.jpg": PHOTO}
    messages, report, ctx = parse({f"{TOP}/message_1.json": thread(*media)}, extra=whole)
    photo, video, sticker = messages[0]["attachments"]
    assert messages[0]["kind"] == "media"
    assert photo == {
        "name": f"{TOP}/photos/1.jpg",
        "status": "referenced",
        "sha256": hashlib.sha256(PHOTO).hexdigest(),
        "size": len(PHOTO),
        "present": True,
        "media": "image",
    }
    assert (video["present"], video["media"]) == (False, "video")
    assert sticker == {"name": "https://scontent.example/sticker.png", "status": "remote",
                       "media": "sticker"}  # fmt: skip
    assert report.counts == {"missing-media": 1}
    assert ctx.referenced == {f"{TOP}/photos/1.jpg"}
    # only the thread's folder was given: the uri is matched after thread_path
    messages, report, _ = parse(
        {"alice_1234567890/message_1.json": thread(*media)},
        extra={"alice_1234567890/photos/1.jpg": PHOTO},
    )
    assert messages[0]["attachments"][0]["present"] is True


def test_choosing_the_first_part() -> None:
    assert first_part(["a/message_2.json", "a/message_1.json", "a/message_10.json"]) == (
        "a/message_1.json"
    )
    assert first_part(["a/message_1.json", "b/message_1.json"]) is None
    assert first_part(["a/message_1.json", "a/other.json"]) is None
    sniffed = {Entry(f"t/message_{n}.json", 1): frozenset({"messenger"}) for n in (3, 1, 2)}
    assert detect.choose(sniffed, "auto").entry.name == "t/message_1.json"
    two = {Entry(f"{t}/message_1.json", 1): frozenset({"messenger"}) for t in "ab"}
    with pytest.raises(InputError, match="several files look like a messenger chat"):
        detect.choose(two, "auto")


def test_sniff_prefers_messenger_over_telegram() -> None:
    head = encode(thread(msg(T0)))
    assert MessengerImporter().sniff(head) and detect.sniff(head) == {"messenger"}
    e2ee = b'{"participants": ["A"], "threadName": "A", "messages": [{"senderName": "A"}]}'
    assert detect.sniff(e2ee) == {"messenger"}
    assert not MessengerImporter().sniff(b'{"name": "x", "type": "personal_chat", "messages": []}')
    telegram = b'{"name": "x", "messages": [{"text": "participants"}, {"text": "sender_name"}]}'
    assert detect.sniff(telegram) == {"telegram"}  # the words alone are not keys


def _bad(kind: str) -> bytes:
    good = encode(thread(msg(T0, "hello")))
    match kind:
        case "duplicate-key":
            return good.replace(b'"content": "hello"', b'"content": "hello", "content": "bye"')
        case "nan":
            return good.replace(b'"is_geoblocked_for_viewer": false', b'"x": NaN')
        case "string-time":
            return encode(thread(msg(T0, timestamp_ms="2024-01-15 09:00")))
        case "float-time":
            return encode(thread(msg(T0, timestamp_ms=1705309200.5)))
        case "negative-time":
            return encode(thread(msg(-1)))
        case "no-time":
            return encode(thread({"sender_name": "A", "content": "x"}))
        case "e2ee":
            return b'{"participants": ["A"], "threadName": "A", "messages": [{"senderName": "A"}]}'
        case "not-messenger":
            return b'{"participants": [], "title": "x"}'
        case "empty":
            return encode(thread())
    raise AssertionError(kind)


REFUSED = {
    "duplicate-key": "duplicate key 'content'",
    "nan": "NaN",
    "string-time": r"/messages/0/timestamp_ms is not a time in milliseconds: '2024-01-15 09:00'",
    "float-time": r"/messages/0/timestamp_ms is not a time in milliseconds: 1705309200.5",
    "negative-time": "/messages/0/timestamp_ms is not a time in milliseconds: -1",
    "no-time": "/messages/0/timestamp_ms is not a time in milliseconds: None",
    "e2ee": "end-to-end encrypted",
    "not-messenger": "not a Messenger export",
    "empty": "empty export",
}


@pytest.mark.parametrize("kind", REFUSED)
def test_bad_input_is_refused_with_a_precise_error(kind: str) -> None:
    with pytest.raises(InputError, match=REFUSED[kind]) as err:
        parse({"message_1.json": _bad(kind)})
    assert err.value.message.startswith("message_1.json: ") and "\n" not in err.value.message


# --- the real command line -------------------------------------------------------------


@pytest.fixture
def case(tmp_path: Path, home: Path, cli: Runner) -> Path:
    path = tmp_path / "case"
    code, _, err = cli("init", str(path), "--name", "Messenger case", "--operator", "Ana")
    assert code == 0, err
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_import_a_dyi_zip_then_verify_deep(tmp_path: Path, case: Path, cli: Runner) -> None:
    chat = encode(
        thread(
            msg(T0 + 3000, meta("Ich weiß, wo du wohnst 🔪"), sender=meta("Zoë")),
            msg(T0 + 2000, None, is_unsent=True),
            msg(T0 + 1000, None, photos=[{"uri": f"{TOP}/photos/1.jpg"}]),
            msg(T0, "hello", videos=[{"uri": f"{TOP}/videos/missing.mp4"}]),
        )
    )
    zpath = tmp_path / "facebook-ana-2024.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(f"{TOP}/message_1.json", chat)
        z.writestr(f"{TOP}/photos/1.jpg", PHOTO)
    code, out, err = cli("import", str(zpath), "--case", str(case), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["format"], result["chat_file"], result["messages"]) == (
        "messenger",
        f"{TOP}/message_1.json",
        4,
    )
    report = result["report"]
    assert report["facts"]["platform"] == "facebook"
    assert report["counts"] == {"missing-media": 1, "mojibake-repaired": 1}
    assert result["units"]["count"] == 5  # four messages and the photo
    lines = (case / result["artifacts"]["messages"]["path"]).read_bytes().splitlines()
    docs = [json.loads(line) for line in lines]
    assert [d["kind"] for d in docs] == ["media", "media", "deleted", "text"]
    assert docs[3]["text"] == "Ich weiß, wo du wohnst 🔪" and docs[3]["sender"] == "Zoë"
    assert docs[1]["attachments"][0]["unit"] == f"{result['import_id']}:1:0"
    code, out, err = cli("verify", str(case), "--deep")
    assert code == 0, out + err
    code, out, err = cli("messages", "--case", str(case), "--grep", "WOHNST", "--json")
    assert code == 0 and [m["seq"] for m in json.loads(out)["messages"]] == [3], err


def test_a_split_chat_merges_and_a_lone_part_is_reported(
    tmp_path: Path, case: Path, cli: Runner
) -> None:
    folder = tmp_path / "alice_1234567890"
    folder.mkdir()
    (folder / "message_1.json").write_bytes(encode(thread(msg(T0 + 1, "newer"))))
    (folder / "message_2.json").write_bytes(encode(thread(msg(T0, "older"))))
    code, out, err = cli("import", str(folder), "--case", str(case), "--json")
    assert code == 0, err
    code, out, err = cli("messages", "--case", str(case), "--json")
    assert [m["text"] for m in json.loads(out)["messages"]] == ["older", "newer"]
    code, out, err = cli("import", str(folder / "message_2.json"), "--case", str(case), "--json")
    assert code == 0, err
    assert json.loads(out)["report"]["counts"] == {"part-missing": 1}
    code, out, err = cli("verify", str(case), "--deep")
    assert code == 0, out + err


@pytest.mark.parametrize("kind", ["string-time", "duplicate-key", "e2ee"])
def test_bad_exports_exit_4_with_one_line_and_leave_the_case_untouched(
    tmp_path: Path, case: Path, cli: Runner, kind: str
) -> None:
    path = tmp_path / "message_1.json"
    path.write_bytes(_bad(kind))
    before = snapshot(case)
    code, out, err = cli("import", str(path), "--case", str(case))
    assert code == 4, err
    assert err.startswith("custody: error: message_1.json: ") and err.count("\n") == 1
    assert out == "" and snapshot(case) == before
