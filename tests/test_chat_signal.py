"""Signal as signal-export (carderne/signal-export) writes it: ``chat.md`` and ``data.json``
built here exactly as its ``models.Message.to_md``/``dict_str`` and ``create_message`` write
them (two trailing spaces, backticks removed, "Me", quotes, reactions, stickers, ``media/``
paths with ``%20``); naive local times (``sent_at`` null without ``--timezone``); the
cross-check of the two outputs; detection next to WhatsApp; bad input; the Instagram alias
of the Messenger importer; and the real ``custody import`` and ``custody verify --deep``."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import pytest
from jsonschema import Draft202012Validator

from custody import canonical
from custody.chat import detect
from custody.chat.base import FileInfo, ImportReport, ParseContext
from custody.chat.messenger import InstagramImporter, platform_of
from custody.chat.package import Entry
from custody.chat.signal import SignalImporter, preferred
from custody.chat.units import encode_message
from custody.errors import InputError

from .conftest import ROOT, Runner

SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "message.schema.json").read_text()))
OUTPUT = Draft202012Validator(
    json.loads((ROOT / "schemas/cli-output/import.schema.json").read_text())
)
DETAILS = Draft202012Validator(
    json.loads((ROOT / "schemas/import-details.schema.json").read_text())
)
PHOTO = b"\x89PNG\r\n\x1a\n not really a png"
PDF = b"%PDF-1.4 not really a pdf"
STICKER = b"RIFF\x00\x00\x00\x00WEBP not really a sticker"
T0 = datetime(2024, 1, 15, 21, 3, 4, 123000)  # noqa: DTZ001 - signal-export's naive local time


# --- signal-export's writers, reproduced from its source (models.py, create.py, files.py) ---


@dataclass(frozen=True)
class Sent:
    """One message as signal-export's ``create_message`` builds it, from what was typed."""

    date: datetime
    sender: str
    typed: str = ""
    quote: str | None = None  # the quoted message's text
    reactions: tuple[tuple[str, str], ...] = ()
    sticker: dict[str, Any] | str | None = None  # newer: a Sticker; older: the emoji
    files: tuple[str, ...] = ()  # names files.copy_attachments gave the copies
    deleted: bool = False
    call: bool = False
    missed: bool = False

    def body(self) -> str:
        return self.typed.replace("`", "") + "  "  # "stop md code sections forming"

    def quoted(self) -> str:
        if not self.quote:
            return ""
        return "\n\n> " + self.quote.rstrip("\n").replace("\n", "\n> ") + "\n\n"


def path(name: str) -> str:
    return "media/" + re.sub(r"\s", "%20", name)


def to_md(m: Sent) -> str:
    stamp = m.date.strftime("%Y-%m-%d %H:%M:%S")
    if m.deleted:
        return f"[{stamp}] {m.sender}: (This message was deleted)\n"
    body = m.body()
    if m.reactions:
        body += "\n(- " + ", ".join(f"{who}: {emoji}" for who, emoji in m.reactions) + " -)"
    if isinstance(m.sticker, dict):
        label = m.sticker["emoji"] or "sticker"
        if m.sticker.get("extension"):
            pack, sid, ext = m.sticker["packId"], m.sticker["id"], m.sticker["extension"]
            body += f"[{label}](../exported_stickers/{pack}/{sid}.{ext})  "
        else:
            body += f"\n(( {label} ))"
    elif m.sticker:
        body += f"\n(( {m.sticker} ))"
    for name in m.files:
        if name.rpartition(".")[2] in ("png", "jpg", "jpeg", "gif", "webp"):
            body += "!"
        body += f"[{name}](./{path(name)})  "
    return f"[{stamp}] {m.sender}: {m.quoted()}{body}\n"


def to_json(m: Sent, *, newer: bool = True) -> str:
    doc: dict[str, Any] = {
        "date": m.date.isoformat(),
        "sender": m.sender,
        "body": m.body(),
        "quote": m.quoted(),
        "sticker": m.sticker if newer or m.sticker else "",
        "reactions": [list(r) for r in m.reactions],
        "attachments": [{"name": n, "path": path(n)} for n in m.files],
    }
    if newer:
        doc |= {"deleted": m.deleted, "call": m.call, "missed": m.missed}
    return json.dumps(doc, ensure_ascii=False)


def chat_md(*messages: Sent) -> bytes:
    return "".join(to_md(m) + "\n" for m in messages).encode()  # print() adds the "\n"


def data_json(*messages: Sent, newer: bool = True) -> bytes:
    return "".join(to_json(m, newer=newer) + "\n" for m in messages).encode()


WOLF = {"id": "102", "packId": "a1b2", "packKey": "k3y", "emoji": "🐺", "extension": "webp"}
CHAT = (
    Sent(T0, "\u202bZoë\u202c", "I know where you live.\nDon't `test` me"),
    Sent(T0.replace(second=30), "Me", "who is this?", quote="I know where you live.\nDon't"),
    Sent(
        T0.replace(minute=4),
        "\u202bZoë\u202c",
        "look",
        reactions=(("Me", "😡"),),
        files=(
            "2024-01-15T21-04-04.123_00_IMG_0001.png",
            "2024-01-15T21-04-04.123_01_a\u00a0b.pdf",
        ),
    ),
    Sent(T0.replace(minute=5), "\u202bZoë\u202c", deleted=True),
    Sent(T0.replace(minute=6), "\u202bZoë\u202c", sticker=WOLF),
    Sent(T0.replace(minute=7), "Me", "Outgoing voice call (accepted, 1m 5s)", call=True),
    Sent(T0.replace(minute=8), "No-Sender"),  # a group notice signal-export writes empty
)
FOLDER = "Zoe"
MEDIA = {
    f"{FOLDER}/media/2024-01-15T21-04-04.123_00_IMG_0001.png": PHOTO,
    f"{FOLDER}/media/2024-01-15T21-04-04.123_01_a\u00a0b.pdf": PDF,
    "exported_stickers/a1b2/102.webp": STICKER,
}


def info(name: str, data: bytes) -> FileInfo:
    return FileInfo(name, len(data), hashlib.sha256(data).hexdigest(), "0" * 128)


def parse(
    chat: str,
    files: Mapping[str, bytes],
    zone: str | None = None,
) -> tuple[list[dict[str, Any]], ImportReport, ParseContext]:
    """Parse the package file ``chat`` as custody import would (other files readable)."""

    def open_file(name: str) -> BinaryIO:
        return io.BytesIO(files[name])

    ctx = ParseContext(
        chat,
        {n: info(n, d) for n, d in files.items()},
        ZoneInfo(zone) if zone else None,
        open_file=open_file,
    )
    messages = [
        m.to_dict("0123456789ab") for m in SignalImporter().parse(io.BytesIO(files[chat]), ctx)
    ]
    for doc in messages:
        errors = [e.message for e in SCHEMA.iter_errors(doc)]
        assert not errors, (doc, errors)
        assert encode_message(doc) == canonical.dumps(doc)
    return messages, ctx.report, ctx


def essentials(doc: dict[str, Any]) -> tuple[Any, ...]:
    """What both outputs must agree on (not the time as written, nor where it is)."""
    attachments = [{k: v for k, v in a.items() if k != "unit"} for a in doc["attachments"]]
    keep = ("sender", "sender_raw", "sent_at_local", "text", "kind", "flags", "call", "deleted_by")
    return tuple(doc.get(k) for k in keep), attachments


def test_markdown_is_read_as_signal_export_writes_it() -> None:
    md = chat_md(*CHAT)
    messages, report, ctx = parse(f"{FOLDER}/chat.md", {f"{FOLDER}/chat.md": md, **MEDIA})
    text, quoted, media, deleted, sticker, call, notice = messages
    assert text["text"] == "I know where you live.\nDon't test me"  # backticks: the exporter's
    assert (text["sender"], text["sender_raw"]) == ("Zoë", "\u202bZoë\u202c")
    assert (text["sent_at_raw"], text["sent_at_local"]) == (
        "2024-01-15 21:03:04",
        "2024-01-15T21:03:04",
    )
    assert (text["sent_at"], text["time_basis"], text["time_zone"]) == (None, "missing", None)
    assert text["sender_id"] is None and "native_id" not in text
    assert (quoted["sender"], quoted["text"], quoted["kind"]) == ("Me", "who is this?", "text")
    assert media["text"] == "look" and media["kind"] == "media"
    png, pdf = media["attachments"]
    assert png == {
        "name": path("2024-01-15T21-04-04.123_00_IMG_0001.png"),
        "status": "referenced",
        "sha256": hashlib.sha256(PHOTO).hexdigest(),
        "size": len(PHOTO),
        "present": True,
        "media": "image",
    }
    assert pdf["name"].endswith("_a%20b.pdf") and pdf["present"] is True  # %20 was U+00A0
    assert pdf["sha256"] == hashlib.sha256(PDF).hexdigest() and pdf["media"] == "document"
    assert (deleted["kind"], deleted["flags"], deleted["text"]) == ("deleted", ["deleted"], "")
    assert deleted["deleted_by"] == "sender"
    assert sticker["kind"] == "media" and sticker["attachments"] == [
        {
            "name": "../exported_stickers/a1b2/102.webp",
            "status": "referenced",
            "sha256": hashlib.sha256(STICKER).hexdigest(),
            "size": len(STICKER),
            "present": True,
            "media": "sticker",
            "title": "🐺",
        }
    ]
    assert (call["kind"], call["call"], call["text"]) == (
        "call",
        {"missed": False, "media": "voice"},
        "Outgoing voice call (accepted, 1m 5s)",
    )
    assert (notice["kind"], notice["text"], notice["sender_raw"]) == (
        "unsupported",
        "",
        "No-Sender",
    )
    assert ctx.referenced == set(MEDIA)
    # nothing dropped: the messages' byte ranges tile the file exactly
    spans = [(m["source"]["offset"], m["source"]["length"]) for m in messages]
    assert spans[0][0] == 0 and sum(n for _, n in spans) == len(md)
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(spans))
    assert md[spans[1][0] : sum(spans[1])].decode() == to_md(CHAT[1]) + "\n"
    assert report.counts == {
        "time-zone-missing": 1,
        "call-inferred": 1,
        "empty-message": 1,
    }
    assert report.facts["variant"] == "markdown" and report.facts["time_zone"] is None
    assert report.facts["senders"] == {"Me": 2, "No-Sender": 1, "\u202bZoë\u202c": 4}
    assert report.facts["kept_only_in_original"] == {
        "edits": 0,
        "quotes": 1,
        "reactions": 1,
        "stickers": 1,
    }


def test_json_lines_say_the_same_and_are_checked_against_chat_md() -> None:
    files = {f"{FOLDER}/chat.md": chat_md(*CHAT), f"{FOLDER}/data.json": data_json(*CHAT), **MEDIA}
    from_md, _, _ = parse(f"{FOLDER}/chat.md", files)
    from_json, report, ctx = parse(f"{FOLDER}/data.json", files)
    assert [essentials(m) for m in from_json] == [essentials(m) for m in from_md]
    assert from_json[0]["sent_at_raw"] == "2024-01-15T21:03:04.123000"  # isoformat()
    assert from_json[0]["source"] == {
        "file": f"{FOLDER}/data.json",
        "line": 1,
        "end_line": 1,
        "offset": 0,
        "length": len(to_json(CHAT[0]).encode()) + 1,
    }
    assert report.counts == {"time-zone-missing": 1, "empty-message": 1}  # the call is said
    assert report.facts["variant"] == "json"
    assert report.facts["cross_check"] == {
        "file": f"{FOLDER}/chat.md",
        "compared": len(CHAT),
        "differing": 0,
        "only_in_data_json": 0,
        "only_in_chat_md": 0,
        "chat_md_findings": {},
    }
    assert f"{FOLDER}/chat.md" in ctx.referenced


def test_cross_check_reports_a_changed_message_and_messages_only_in_chat_md() -> None:
    older = Sent(T0.replace(hour=9), "Me", "from an earlier export merged with --old")
    md = chat_md(older, *CHAT[:2]).replace(b"who is this?", b"who is THIS?")
    files = {"chat.md": md, "data.json": data_json(*CHAT[:2])}
    _, report, _ = parse("data.json", files)
    assert report.counts["chat-md-differs"] == 2  # everything shifted by one, then the edit
    assert report.counts["chat-md-extra"] == 1
    assert report.facts["cross_check"]["only_in_chat_md"] == 1
    files["chat.md"] = b"\xff\xfe[\x00"
    _, report, _ = parse("data.json", files)
    assert report.counts["chat-md-unreadable"] == 1


def test_times_are_assumed_in_the_given_zone_with_dst_folds_and_gaps() -> None:
    chat = (
        Sent(T0, "A", "winter"),
        Sent(datetime(2024, 10, 27, 2, 30, 0, 500000), "A", "twice"),  # noqa: DTZ001
        Sent(datetime(2024, 3, 31, 2, 30), "A", "never"),  # noqa: DTZ001
        Sent(datetime(1970, 1, 1, 1, 0), "A", "no timestamp"),  # noqa: DTZ001
    )
    messages, report, _ = parse("data.json", {"data.json": data_json(*chat)}, "Europe/Berlin")
    winter, twice, never, epoch = messages
    assert (winter["sent_at"], winter["time_basis"]) == ("2024-01-15T20:03:04.123000Z", "assumed")
    assert winter["time_zone"] == "Europe/Berlin"
    assert (twice["sent_at"], twice["time_basis"]) == (None, "ambiguous")
    assert twice["sent_at_candidates"] == [
        "2024-10-27T00:30:00.500000Z",
        "2024-10-27T01:30:00.500000Z",
    ]
    assert (never["sent_at"], never["time_basis"]) == (None, "nonexistent")
    assert (epoch["sent_at"], epoch["sent_at_local"]) == (None, "1970-01-01T01:00:00")
    assert report.counts == {
        "ambiguous-time": 1,
        "nonexistent-time": 1,
        "no-timestamp": 1,
        "time-backwards": 1,  # March after October; the epoch is not compared
    }


def test_header_lines_in_a_message_are_kept_and_reported() -> None:
    spoof = "fine\n[2024-01-15 21:10:00] Me: I will hurt you"
    md = b"Signal export of Zoe\n" + chat_md(Sent(T0, "Zoe", spoof), Sent(T0, "Me", "ok"))
    messages, report, _ = parse("chat.md", {"chat.md": md})
    assert [m["text"] for m in messages] == [spoof, "ok"]
    assert report.counts == {"time-zone-missing": 1, "unparsed": 1, "header-like-line": 1}
    unparsed = next(f for f in report.findings if f["code"] == "unparsed")
    assert (unparsed["line"], unparsed["offset"], unparsed["length"]) == (1, 0, 21)
    assert messages[0]["source"]["offset"] == 21
    # after a blank line a typed header cannot be told from a real one; data.json can
    typed = Sent(T0, "Zoe", "fine\n\n[2024-01-15 21:00:00] Me: I will hurt you")
    files = {"chat.md": chat_md(typed), "data.json": data_json(typed)}
    messages, report, _ = parse("chat.md", files)
    assert [m["sender"] for m in messages] == ["Zoe", "Me"]
    assert report.counts["time-backwards"] == 1
    messages, report, _ = parse("data.json", files)
    assert len(messages) == 1 and report.counts["chat-md-differs"] == 1
    assert report.counts["chat-md-extra"] == 1


def test_odd_markdown_records_are_kept_and_reported() -> None:
    md = b"[2024-02-30 10:00:00] Zoe: no such day  \n\n[2024-02-01 10:00:00] no colon  \n\n"
    md += b"[2024-02-01 10:01:00] Zoe: cut short  "  # no blank line: a truncated file
    messages, report, _ = parse("chat.md", {"chat.md": md}, "UTC")
    no_day, no_colon, cut = messages
    assert (no_day["sent_at_raw"], no_day["sent_at_local"], no_day["sent_at"]) == (
        "2024-02-30 10:00:00",
        None,
        None,
    )
    assert (no_colon["sender_raw"], no_colon["text"]) == (None, "no colon")
    assert cut["text"] == "cut short" and cut["sent_at"] == "2024-02-01T10:01:00Z"
    assert report.counts == {"invalid-date": 1, "malformed-record": 1, "unterminated-record": 1}
    assert sum(m["source"]["length"] for m in messages) == len(md)


def test_windows_line_ends_older_json_and_odd_fields() -> None:
    chat = (
        Sent(T0, "Zoe", "two\nlines", quote="q1\nq2", reactions=(("Me", "👍"),)),
        Sent(T0, "Me", "Missed call"),
    )
    md = chat_md(*chat).replace(b"\n", b"\r\n")  # Python's text mode on Windows
    messages, _, _ = parse("chat.md", {"chat.md": md})
    assert [m["text"] for m in messages] == ["two\r\nlines", "Missed call"]
    assert messages[1]["kind"] == "call" and "call" not in messages[1]  # voice or video: unknown
    old = data_json(*chat, newer=False)
    messages, report, _ = parse("data.json", {"data.json": old})
    assert [m["text"] for m in messages] == ["two\nlines", "Missed call"]
    assert report.counts["call-inferred"] == 1  # older versions do not say "call"
    odd = data_json(Sent(T0, "Zoe", "x")).replace(b'"sender": "Zoe"', b'"sender": 7, "new": 1')
    messages, report, _ = parse("data.json", {"data.json": odd.replace(b'x  "', b'x"')})
    assert (messages[0]["sender"], messages[0]["text"]) == (None, "x")
    assert report.counts == {"time-zone-missing": 1, "malformed-field": 1, "unknown-field": 1,
                             "unexpected-layout": 1}  # fmt: skip


def test_links_typed_in_the_text_stay_text_and_odd_file_names_are_read_whole() -> None:
    typed = "see [notes](./media/x) and (this)"
    odd = "2024-01-15T21-03-04.123_00_photo_(1)[2].jpg"
    md = chat_md(Sent(T0, "Zoe", typed), Sent(T0, "Zoe", "a [b](c)", files=(odd,)))
    messages, report, _ = parse("chat.md", {"chat.md": md, f"media/{odd}": PHOTO})
    assert (messages[0]["text"], messages[0]["attachments"]) == (typed, [])
    assert messages[1]["text"] == "a [b](c)"
    (photo,) = messages[1]["attachments"]
    assert (photo["name"], photo["present"]) == (f"media/{odd}", True)
    assert "unexpected-layout" not in report.counts


def test_missing_and_omitted_files() -> None:
    gone = Sent(T0, "Zoe", files=("gone.jpg",), sticker={**WOLF, "extension": None})
    line = to_json(gone)[:-1] + ', "edits": [{"date": "x", "body": "old"}]}\n'
    line = line.replace(
        '"attachments": [', '"attachments": [{"name": "v.mp4", "missing_kind": "media"}, '
    )
    messages, report, ctx = parse("data.json", {"data.json": line.encode()})
    (m,) = messages
    omitted, missing, sticker = m["attachments"]
    assert omitted == {"name": "v.mp4", "status": "omitted", "media": "video",
                       "note": "signal-export did not export it (media)"}  # fmt: skip
    assert missing == {
        "name": "media/gone.jpg",
        "status": "referenced",
        "present": False,
        "media": "image",
    }
    assert (sticker["status"], sticker["title"]) == ("omitted", "🐺")
    assert m["flags"] == ["edited"]
    assert report.counts["missing-media"] == 1 and not ctx.referenced


def test_sniff_tells_signal_from_whatsapp() -> None:
    md = chat_md(*CHAT[:2])
    assert SignalImporter().sniff(md) and detect.sniff(md) == {"signal"}
    assert detect.sniff(chat_md(CHAT[0])) == {"signal"}  # one message: the file ends blank
    assert detect.sniff(data_json(*CHAT)) == {"signal"}
    ios = b"[2024-01-15 21:03:04] Zoe: hi\n[2024-01-15 21:04:04] Me: ho\n"
    assert detect.sniff(ios) == {"whatsapp"}  # an ISO-dated WhatsApp iOS export
    pack = b'{"id": "a1b2", "title": "Wolves", "author": "x", "stickers": []}\n'
    assert detect.sniff(pack) == frozenset()  # exported_stickers/<pack>/data.json
    names = ["Zoe/chat.md", "Zoe/data.json"]
    assert preferred(names) == "Zoe/data.json" and preferred([*names, "Bob/data.json"]) is None
    sniffed = {Entry(n, 1): frozenset({"signal"}) for n in names} | {
        Entry("Zoe/index.html", 1): frozenset(),
        Entry("exported_stickers/a1b2/data.json", 1): frozenset(),
    }
    assert detect.choose(sniffed, "auto").entry.name == "Zoe/data.json"
    sniffed |= {Entry(f"Bob/{n}", 1): frozenset({"signal"}) for n in ("chat.md", "data.json")}
    with pytest.raises(InputError, match="several files look like a signal chat"):
        detect.choose(sniffed, "auto")


def _bad(kind: str) -> bytes:
    good = data_json(*CHAT[:2])
    match kind:
        case "empty":
            return b""
        case "broken-line":
            return good + b'{"date": "2024-01-15T21:05:00", "sender": "Zoe", "body": \n'
        case "duplicate-key":
            return good.replace(b'"sender": "Me"', b'"sender": "Me", "sender": "Zoe"')
        case "nan":
            return good.replace(b'"quote": ""', b'"quote": NaN')
        case "not-an-object":
            return good + b'["date", "sender"]\n'
        case "bad-date":
            return good.replace(b"2024-01-15T21:03:04.123000", b"15/01/2024 21:03")
        case "bom":
            return b"\xef\xbb\xbf" + chat_md(*CHAT[:2])
        case "latin-1":
            return chat_md(Sent(T0, "Zoë", "café")).decode().encode("latin-1")
        case "utf-16":
            return chat_md(*CHAT[:2]).decode().encode("utf-16")
        case "no-header":
            return b"just some notes\n"
    raise AssertionError(kind)


REFUSED = {
    "empty": "empty export",
    "broken-line": r"line 3: invalid JSON: Expecting value at line 3 column",
    "duplicate-key": "line 2: duplicate key 'sender'",
    "nan": "line 1: JSON constant NaN",
    "not-an-object": "line 3 is not a JSON object",
    "bad-date": "line 1: 'date' is not a time as signal-export writes it: '15/01/2024 21:03'",
    "bom": "byte order mark",
    "latin-1": r"not UTF-8 at byte 24 \(line 1\)",
    "utf-16": "UTF-16",
    "no-header": "no signal-export message header",
}


@pytest.mark.parametrize("kind", REFUSED)
def test_bad_input_is_refused_with_a_precise_error(kind: str) -> None:
    with pytest.raises(InputError, match=REFUSED[kind]) as err:
        parse("chat", {"chat": _bad(kind)})
    assert err.value.message.startswith("chat: ") and "\n" not in err.value.message


# --- Instagram: Messenger's importer under its own name -------------------------------


def test_instagram_is_chosen_from_the_package_names_never_sniffed() -> None:
    meta = (
        b'{"participants": [{"name": "A"}], "messages": [{"sender_name": "A", "timestamp_ms": 1}]}'
    )
    assert detect.sniff(meta) == {"messenger"}  # one format, never two
    assert InstagramImporter().name == "instagram"

    def chosen(*names: str, fmt: str = "auto") -> str:
        sniffed = {
            Entry(n, 1): frozenset({"messenger"} if n.endswith("message_1.json") else ())
            for n in names
        }
        return detect.choose(sniffed, fmt).importer.name

    insta = "your_instagram_activity/messages/inbox/zoe_17/message_1.json"
    assert chosen(insta) == "instagram"
    assert (
        chosen(
            "messages/inbox/zoe_17/message_1.json",
            "personal_information/instagram_profile_information.json",
        )
        == "instagram"
    )
    assert chosen("your_facebook_activity/messages/inbox/zoe_17/message_1.json") == "messenger"
    assert chosen("messages/inbox/zoe_17/message_1.json") == "messenger"  # cannot tell
    assert chosen(insta, "your_facebook_activity/x.json") == "messenger"  # both: cannot tell
    assert chosen(insta, fmt="messenger") == "messenger"  # what the user asked for
    assert chosen("messages/inbox/zoe_17/message_1.json", fmt="instagram") == "instagram"
    assert platform_of(["inbox/instagram_photo.jpg"]) is None  # a media file's name says nothing
    fan = "your_facebook_activity/messages/inbox/instagramfan_17/message_1.json"
    assert platform_of([fan]) == "facebook"  # a thread named after a person says nothing


# --- the real command line -------------------------------------------------------------


@pytest.fixture
def case(tmp_path: Path, home: Path, cli: Runner) -> Path:
    path = tmp_path / "case"
    code, _, err = cli("init", str(path), "--name", "Signal case", "--operator", "Ana")
    assert code == 0, err
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def export_folder(tmp_path: Path) -> Path:
    """signal-export's output for one chat (``--chats Zoe``), with one media file lost."""
    top = tmp_path / "signal-export"
    files = {
        f"{FOLDER}/chat.md": chat_md(*CHAT),
        f"{FOLDER}/data.json": data_json(*CHAT),
        f"{FOLDER}/index.html": b"<html></html>\n",
        "style.css": b"body {}\n",
        **MEDIA,
    }
    del files[f"{FOLDER}/media/2024-01-15T21-04-04.123_01_a\u00a0b.pdf"]
    for name, data in files.items():
        (top / name).parent.mkdir(parents=True, exist_ok=True)
        (top / name).write_bytes(data)
    return top


def test_import_an_export_folder_then_verify_deep(tmp_path: Path, case: Path, cli: Runner) -> None:
    top = export_folder(tmp_path)
    before = snapshot(top)
    code, out, err = cli(
        "import", str(top), "--case", str(case), "--timezone", "Europe/Berlin", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    OUTPUT.validate(result)
    assert (result["format"], result["chat_file"], result["messages"]) == (
        "signal",
        f"{FOLDER}/data.json",
        7,
    )
    assert result["units"]["count"] == 7 + 2  # the messages, the picture and the sticker
    report = result["report"]
    assert report["counts"] == {"missing-media": 1, "unreferenced-file": 2, "empty-message": 1}
    assert report["facts"]["cross_check"]["differing"] == 0
    unreferenced = {f["file"] for f in report["findings"] if f["code"] == "unreferenced-file"}
    assert unreferenced == {f"{FOLDER}/index.html", "style.css"}
    lines = (case / result["artifacts"]["messages"]["path"]).read_bytes().splitlines()
    docs = [json.loads(line) for line in lines]
    assert (
        docs[0]["sent_at"] == "2024-01-15T20:03:04.123000Z" and docs[0]["time_basis"] == "assumed"
    )
    assert docs[2]["attachments"][0]["unit"] == f"{result['import_id']}:2:0"
    details = json.loads((case / result["artifacts"]["details"]["path"]).read_bytes())
    DETAILS.validate(details)
    roles = {f["name"]: f["role"] for f in details["files"]}
    assert roles[f"{FOLDER}/data.json"] == "chat" and roles[f"{FOLDER}/chat.md"] == "attachment"
    assert roles["exported_stickers/a1b2/102.webp"] == "attachment"
    assert snapshot(top) == before  # the originals are untouched
    code, out, err = cli("verify", str(case), "--deep")
    assert code == 0, out + err
    code, out, err = cli("messages", "--case", str(case), "--sender", "zoë", "--json")
    assert code == 0 and len(json.loads(out)["messages"]) == 4, err


def test_import_a_zipped_chat_md_without_a_zone(tmp_path: Path, case: Path, cli: Runner) -> None:
    zpath = tmp_path / "zoe.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("Zoe/chat.md", chat_md(*CHAT[:3]))
        z.writestr("Zoe/media/2024-01-15T21-04-04.123_00_IMG_0001.png", PHOTO)
    code, out, err = cli("import", str(zpath), "--case", str(case), "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["format"], result["chat_file"]) == ("signal", "Zoe/chat.md")
    assert result["report"]["counts"] == {"time-zone-missing": 1, "missing-media": 1}
    code, out, err = cli("messages", "--case", str(case), "--json", "--from", "2024-01-01")
    assert code == 0 and json.loads(out)["without_utc"] == 3, err
    code, out, err = cli("verify", str(case), "--deep")
    assert code == 0, out + err


@pytest.mark.parametrize("kind", ["empty", "broken-line", "latin-1", "bom"])
def test_bad_exports_exit_4_with_one_line_and_leave_the_case_untouched(
    tmp_path: Path, case: Path, cli: Runner, kind: str
) -> None:
    path = tmp_path / ("chat.md" if kind in ("latin-1", "bom") else "data.json")
    path.write_bytes(_bad(kind))
    before = snapshot(case)
    code, out, err = cli("import", str(path), "--case", str(case), "--format", "signal")
    assert code == 4, err
    assert err.startswith(f"custody: error: {path.name}: ") and err.count("\n") == 1
    assert out == "" and snapshot(case) == before


def test_instagram_on_the_command_line(tmp_path: Path, case: Path, cli: Runner) -> None:
    thread = {
        "participants": [{"name": "zoe"}],
        "messages": [{"sender_name": "zoe", "timestamp_ms": 1705309200001, "content": "hi"}],
        "title": "zoe",
        "thread_path": "inbox/zoe_17",
    }
    folder = tmp_path / "ig" / "your_instagram_activity" / "messages" / "inbox" / "zoe_17"
    folder.mkdir(parents=True)
    (folder / "message_1.json").write_text(json.dumps(thread))
    code, out, err = cli("import", str(tmp_path / "ig"), "--case", str(case), "--json")
    assert code == 0, err
    OUTPUT.validate(json.loads(out))
    assert json.loads(out)["format"] == "instagram"
    assert json.loads(out)["report"]["facts"]["platform"] == "instagram"
    code, out, err = cli("import", str(folder / "message_1.json"), "--case", str(case), "--json")
    assert code == 0 and json.loads(out)["format"] == "messenger", err  # the file alone: unknown
    code, out, err = cli(
        "import",
        str(folder / "message_1.json"),
        "--case",
        str(case),
        "--format",
        "instagram",
        "--json",
    )
    assert code == 0 and json.loads(out)["format"] == "instagram", err
    code, out, err = cli("verify", str(case), "--deep")
    assert code == 0, out + err
