"""custody import and custody messages end to end, in a real case: the WARC holds the
originals byte for byte, messages validate against their schema, the entry holds only
commitments, every unit recomputes to the logged root, and bad or hostile input (zips
built here) leaves the case untouched with exit 4."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from warcio.archiveiterator import ArchiveIterator

import custody.cli
import custody.verify
from custody import canonical, commitments, log, merkle, store, strictjson
from custody.case import Case, open_case
from custody.chat.units import check_import, encode_message
from custody.cli import case_cmds, chat_cmds, log_cmds
from custody.units import UnitLists, digests_of
from custody.verify import verify_case
from custody.warc import verify_warc

from .conftest import ROOT, Runner

SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "message.schema.json").read_text()))
ENTRY_SCHEMA = Draft202012Validator(
    json.loads((ROOT / "schemas" / "log-entry.schema.json").read_text())
)
PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg \xff\xd9"
CHAT = (
    b"15/01/2024, 21:00 - Messages and calls are end-to-end encrypted. No one outside of this "
    b"chat, not even WhatsApp, can read or listen to them. Tap to learn more.\n"
    b"15/01/2024, 21:03 - Alice: IMG-20240115-WA0003.jpg (file attached)\n"
    b"the caption\n"
    b"15/01/2024, 21:04 - Bob: VID-20240115-WA0004.mp4 (file attached)\n"
    b"15/01/2024, 21:05 - Bob: I know where you live\n"
    b"15/01/2024, 21:06 - Alice: stop\n"
    b"27/10/2024, 02:30 - Alice: the night the clocks went back\n"
)


def chat_app() -> typer.Typer:
    """The command line with the chat commands registered (as cli/__init__.py will)."""
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_show_locals=False)
    case_cmds.register(app)
    chat_cmds.register(app)
    app.add_typer(log_cmds.app, name="log")
    return app


def new_case(tmp_path: Path, cli: Runner) -> Path:
    path = tmp_path / "case"
    code, _, err = cli("init", str(path), "--name", "Chat case", "--operator", "Ana")
    assert code == 0, err
    return path


@pytest.fixture
def cli(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setattr(custody.cli, "app", chat_app())
    return cli


@pytest.fixture
def case(tmp_path: Path, home: Path, cli: Runner) -> Path:
    return new_case(tmp_path, cli)


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def android_zip(tmp_path: Path) -> Path:
    return make_zip(
        tmp_path / "WhatsApp Chat with Bob.zip",
        {
            "WhatsApp Chat with Bob.txt": CHAT,
            "IMG-20240115-WA0003.jpg": PHOTO,
            "Bob.vcf": b"BEGIN:VCARD\r\nEND:VCARD\r\n",
        },
    )


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def import_json(cli: Runner, case: Path, *args: str) -> dict[str, Any]:
    code, out, err = cli("import", *args, "--case", str(case), "--json")
    assert code == 0, err
    result: dict[str, Any] = json.loads(out)
    return result


def last_entry(case: Path) -> log.Entry:
    return log.decode_entry((case / "log" / "entries.jsonl").read_bytes().splitlines()[-1])


def lines(case: Path, rel: str) -> list[bytes]:
    return (case / rel).read_bytes().splitlines()


@pytest.fixture
def wired() -> None:
    """custody verify follows an import's units.list (custody.verify._refs)."""


def test_whatsapp_zip_end_to_end(tmp_path: Path, case: Path, cli: Runner, wired: None) -> None:
    zpath = android_zip(tmp_path)
    result = import_json(
        cli, case, str(zpath), "--timezone", "Europe/Berlin", "--note", "from A.", "--sensitive"
    )
    art = result["artifacts"]
    assert result["format"] == "whatsapp" and result["messages"] == 6
    assert result["units"]["count"] == 7  # six messages and the one photo present
    counts = result["report"]["counts"]
    assert counts == {"ambiguous-time": 1, "missing-media": 1, "unreferenced-file": 1}

    # the WARC: every file of the zip as a resource record, byte for byte
    originals = {"WhatsApp Chat with Bob.txt": CHAT, "IMG-20240115-WA0003.jpg": PHOTO}
    originals["Bob.vcf"] = b"BEGIN:VCARD\r\nEND:VCARD\r\n"
    with (case / art["warc"]["path"]).open("rb") as fh:
        assert verify_warc(fh, own=True).ok
        fh.seek(0)
        records = {
            r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
            for r in ArchiveIterator(fh)
            if r.rec_type == "resource"
        }
    assert records == {
        "file:///WhatsApp%20Chat%20with%20Bob.txt": CHAT,
        "file:///IMG-20240115-WA0003.jpg": PHOTO,
        "file:///Bob.vcf": originals["Bob.vcf"],
    }

    # the messages: schema-valid canonical lines
    docs = [strictjson.loads_strict(x) for x in lines(case, art["messages"]["path"])]
    assert all(not list(SCHEMA.iter_errors(d)) for d in docs)
    assert [d["id"] for d in docs] == [f"{result['import_id']}:{i}" for i in range(6)]
    photo = docs[1]["attachments"][0]
    assert photo["unit"] == f"{result['import_id']}:1:0" and photo["size"] == len(PHOTO)
    assert docs[3]["sent_at"] == "2024-01-15T20:05:00Z" and docs[3]["time_zone"] == "Europe/Berlin"
    assert docs[5]["time_basis"] == "ambiguous"

    # the entry: commitments only, one short line
    entry = last_entry(case)
    assert entry.type == "import" and entry.seq == result["entry"]
    assert entry.subject == {
        "artifact": art["warc"]["commitment"],
        "details": art["details"]["commitment"],
        "artifacts": {
            "messages": art["messages"]["commitment"],
            "disclosures": art["disclosures"]["commitment"],
        },
        "units": result["units"],
    }
    assert result["units"]["list"] == art["commitments"]["commitment"]
    assert len(entry.raw) < 1200 and b"Alice" not in entry.raw and b"Bob" not in entry.raw
    assert not list(ENTRY_SCHEMA.iter_errors(json.loads(entry.raw)))

    # the details record: names, note and report, withheld from the entry
    details = json.loads((case / art["details"]["path"]).read_bytes())
    assert (details["note"], details["sensitive"]) == ("from A.", True)
    assert details["source"]["kind"] == "zip"
    assert {f["name"]: f["role"] for f in details["files"]} == {
        "WhatsApp Chat with Bob.txt": "chat",
        "IMG-20240115-WA0003.jpg": "attachment",
        "Bob.vcf": "unreferenced",
    }
    assert details["report"] == result["report"]

    assert check_import(open_case(case), entry) == []
    report = verify_case(open_case(case), deep=True)
    assert report.ok, report.to_dict()["findings"]


def test_round_trip_every_unit_recomputes_to_the_logged_root(
    tmp_path: Path, case: Path, cli: Runner
) -> None:
    result = import_json(cli, case, str(android_zip(tmp_path)))
    art = result["artifacts"]
    rows = lines(case, art["commitments"]["path"])
    listed = [json.loads(x) for x in rows]
    assert all(canonical.dumps(row) == raw for row, raw in zip(listed, rows, strict=True))
    disclosures = lines(case, art["disclosures"]["path"])
    messages = {json.loads(x)["id"]: x for x in lines(case, art["messages"]["path"])}
    leaves = []
    for row, raw in zip(listed, disclosures, strict=True):
        disclosure = commitments.parse_disclosure(raw)
        assert commitments.commitment_of(raw) == row["commitment"]
        unit = row["unit"]
        if unit in messages:
            assert disclosure.kind == "chat-message"
            assert disclosure.sha256 == hashlib.sha256(messages[unit]).hexdigest()
        else:
            assert disclosure.kind == "chat-attachment"
            assert disclosure.sha256 == hashlib.sha256(PHOTO).hexdigest()
        leaves.append(merkle.leaf_hash(bytes.fromhex(row["commitment"][7:])))
    tree = merkle.LeafList(leaves)
    root = bytes.fromhex(result["units"]["root"])
    assert merkle.root(tree, len(leaves)) == root
    for i, leaf in enumerate(leaves):
        proof = merkle.inclusion_proof(tree, i, len(leaves))
        assert merkle.verify_inclusion(leaf, i, len(leaves), proof, root)


def _writable(path: Path) -> None:
    path.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_check_import_finds_tampering(tmp_path: Path, case: Path, cli: Runner) -> None:
    import_json(cli, case, str(android_zip(tmp_path)))
    c = open_case(case)
    entry = last_entry(case)
    wrong_root = dict(
        entry.body, subject=entry.subject | {"units": entry.subject["units"] | {"root": "0" * 64}}
    )
    got = check_import(c, log.Entry(entry.raw, wrong_root, entry.signature))
    assert [p.code for p in got] == ["units-root"]
    wrong_count = dict(
        entry.body, subject=entry.subject | {"units": entry.subject["units"] | {"count": 6}}
    )
    assert [
        p.code for p in check_import(c, log.Entry(entry.raw, wrong_count, entry.signature))
    ] == ["units-count"]
    # a message changed after the import: its unit no longer matches, the artifact is altered
    path = c.object_path(store.read_disclosure(c, entry.subject["artifacts"]["messages"]).sha256)
    _writable(path)
    path.write_bytes(path.read_bytes().replace(b"I know where you live", b"I know where you lived"))
    codes = [p.code for p in check_import(c, entry)]
    assert "unit-mismatch" in codes and codes[-1] == "import-unverifiable"


def test_telegram_folder(tmp_path: Path, case: Path, cli: Runner) -> None:
    folder = tmp_path / "ChatExport_2024-04-01"
    (folder / "photos").mkdir(parents=True)
    (folder / "photos" / "photo_1@31-03-2024_03-10-00.jpg").write_bytes(PHOTO)
    doc = {
        "name": "Jonas",
        "type": "personal_chat",
        "id": 1,
        "messages": [
            {
                "id": 1,
                "type": "message",
                "date": "2024-03-31T03:10:00",
                "date_unixtime": "1711847400",
                "from": "Jonas",
                "from_id": "user1",
                "photo": "photos/photo_1@31-03-2024_03-10-00.jpg",
                "text": ["see ", {"type": "bold", "text": "this"}],
            }
        ],
    }
    (folder / "result.json").write_text(json.dumps(doc, indent=1))
    result = import_json(cli, case, str(folder))
    assert (result["format"], result["chat_file"], result["messages"]) == (
        "telegram",
        "result.json",
        1,
    )
    assert result["units"]["count"] == 2 and result["report"]["counts"] == {}
    (doc_line,) = lines(case, result["artifacts"]["messages"]["path"])
    message = json.loads(doc_line)
    assert message["text"] == "see this" and message["sent_at"] == "2024-03-31T01:10:00Z"
    assert check_import(open_case(case), last_entry(case)) == []


def test_ios_single_file_and_messages_command(tmp_path: Path, case: Path, cli: Runner) -> None:
    chat = tmp_path / "_chat.txt"
    chat.write_text(
        "[15/01/2024, 21:03:07] Alice: hello Bob\r\n"
        "[15/01/2024, 21:04:00] Bob: I know your address\r\n"
        "[16/01/2024, 09:00:00] Bob: answer me\r\n",
        encoding="utf-8",
    )
    first = import_json(cli, case, str(chat), "--timezone", "Europe/Berlin")
    import_json(cli, case, str(chat))  # a second import, without a zone

    def listed(*args: str) -> list[str]:
        code, out, err = cli("messages", "--case", str(case), "--json", *args)
        assert code == 0, err
        return [m["id"] for m in json.loads(out)["messages"]]

    fid = first["import_id"]
    assert len(listed()) == 6
    assert listed("--import", fid, "--sender", "BOB") == [f"{fid}:1", f"{fid}:2"]
    assert listed("--import", fid, "--grep", "ADDRESS") == [f"{fid}:1"]
    assert listed("--from", "2024-01-16") == [f"{fid}:2"]  # the import without a zone has no UTC
    assert listed("--to", "2024-01-15") == [f"{fid}:0", f"{fid}:1"]
    assert listed("--from", "2024-01-15T20:04:00Z", "--to", "2024-01-15T20:05:00+00:00") == [
        f"{fid}:1"
    ]
    code, out, err = cli("messages", "--case", str(case), "--sender", "bob")
    assert code == 0 and f"{fid}:1" in out and "I know your address" in out
    code, _, err = cli("messages", "--case", str(case), "--import", "000000000000")
    assert code == 2 and "no import" in err
    code, _, err = cli("messages", "--case", str(case), "--from", "yesterday")
    assert code == 2 and "ISO 8601" in err


def test_ios_zip_in_a_folder_with_a_chat_sent_as_a_document(
    tmp_path: Path, case: Path, cli: Runner
) -> None:
    ios = (
        "[15/01/2024, 21:03:07] Alice: \u200e<attached: 00000002-PHOTO-2024-01-15-21-03-07.jpg>\r\n"
        "[15/01/2024, 21:04:00] Alice: \u200e<attached: 00000003-old-chat.txt>\r\n"
        "[15/01/2024, 21:05:00] Bob: \u200eaudio omitted\r\n"
    ).encode()
    zpath = make_zip(
        tmp_path / "WhatsApp Chat - Bob.zip",
        {
            "WhatsApp Chat - Bob/_chat.txt": ios,
            "WhatsApp Chat - Bob/00000002-PHOTO-2024-01-15-21-03-07.jpg": PHOTO,
            # a chat export sent as a document: it sniffs as WhatsApp too, but lies deeper
            "WhatsApp Chat - Bob/docs/00000003-old-chat.txt": CHAT,
        },
    )
    result = import_json(cli, case, str(zpath), "--date-order", "DMY")
    assert result["chat_file"] == "WhatsApp Chat - Bob/_chat.txt"
    assert result["report"]["facts"]["platform"] == "ios"
    assert result["report"]["counts"] == {
        "missing-media": 1,  # the document is not next to _chat.txt
        "time-zone-missing": 1,
        "unreferenced-file": 1,
    }
    docs = [json.loads(x) for x in lines(case, result["artifacts"]["messages"]["path"])]
    assert [d["attachments"][0].get("present") for d in docs] == [True, False, None]
    assert docs[2]["attachments"][0] == {"name": None, "status": "omitted", "media": "audio"}


@settings(max_examples=200, deadline=None)
@given(text=st.text(), sender=st.text(max_size=20))
def test_message_lines_are_rfc8785(text: str, sender: str) -> None:
    doc = {"text": text, "sender": sender, "seq": 1, "flags": ["edited"], "n": None}
    assert encode_message(doc) == canonical.dumps(doc)


def test_human_output(tmp_path: Path, case: Path, cli: Runner) -> None:
    code, out, err = cli("import", str(android_zip(tmp_path)), "--case", str(case))
    assert code == 0, err
    assert "Imported 6 messages (whatsapp, android) as import" in out
    assert "missing-media" in out and "time-zone-missing" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timezone", "Mars/Base"], "unknown time zone"),
        (["--date-order", "DDM"], "--date-order"),
        (["--format", "imessage"], "--format"),
        (["--date-order", "MDY"], "contradicts"),
    ],
    ids=["zone", "order", "format", "order-contradicts"],
)
def test_usage_errors_exit_2(
    tmp_path: Path, case: Path, cli: Runner, args: list[str], message: str
) -> None:
    before = snapshot(case)
    code, _, err = cli("import", str(android_zip(tmp_path)), *args, "--case", str(case))
    assert code == 2 and message in err
    assert snapshot(case) == before


def test_cases_keep_working_after_import(
    tmp_path: Path, case: Path, cli: Runner, wired: None
) -> None:
    import_json(cli, case, str(android_zip(tmp_path)))
    extra = tmp_path / "photo.txt"
    extra.write_text("x")
    code, _, err = cli("add", str(extra), "--case", str(case))
    assert code == 0, err
    code, out, err = cli("log", "--case", str(case))
    assert code == 0 and "import" in out, err
    assert verify_case(Case(case, open_case(case).case_id)).ok


def test_messages_of_a_sensitive_import_are_not_shown_by_default(
    tmp_path: Path, case: Path, cli: Runner
) -> None:
    """DESIGN section 4: nothing renders material marked sensitive by default. custody
    messages lists its messages by id, sender, time and kind; --show-sensitive shows them."""
    secret = import_json(cli, case, str(android_zip(tmp_path)), "--sensitive")
    chat = tmp_path / "_chat.txt"
    chat.write_text("[15/01/2024, 21:03:07] Alice: an ordinary message\r\n", encoding="utf-8")
    plain = import_json(cli, case, str(chat))
    sid, pid = secret["import_id"], plain["import_id"]
    words = ("I know where you live", "the caption", "IMG-20240115-WA0003.jpg", "VID-")

    code, out, err = cli("messages", "--case", str(case))
    assert code == 0, err
    assert not any(w in out for w in words)
    assert f"{sid}:3" in out and "Bob: [sensitive: not shown]" in out
    assert "Alice: [media, sensitive: not shown]" in out  # the photo with its caption
    assert "an ordinary message" in out  # an import not marked sensitive is shown as ever
    assert "6 messages of imports marked sensitive" in err and "--show-sensitive" in err

    code, out, err = cli("messages", "--case", str(case), "--json")
    assert code == 0, err
    assert not any(w in out for w in words)
    listed = json.loads(out)
    assert listed["withheld_sensitive"] == 6
    docs = {m["id"]: m for m in listed["messages"]}
    assert docs[f"{pid}:0"]["text"] == "an ordinary message"
    bob = docs[f"{sid}:3"]
    assert bob["withheld"] == "sensitive" and bob["sender"] == "Bob"
    assert "text" not in bob and "attachments" not in docs[f"{sid}:1"]
    assert bob["source"]["line"] == 5  # where it is in the original: enough to choose it

    # filters still look at the whole message: an id to choose, never the text
    code, out, err = cli("messages", "--case", str(case), "--grep", "WHERE YOU LIVE")
    assert code == 0 and f"{sid}:3" in out and "where you live" not in out

    code, out, err = cli("messages", "--case", str(case), "--show-sensitive")
    assert code == 0 and "I know where you live" in out and "the caption" in out
    assert "sensitive" not in err
    code, out, err = cli("messages", "--case", str(case), "--show-sensitive", "--json")
    shown = json.loads(out)
    assert shown["withheld_sensitive"] == 0
    stored = lines(case, secret["artifacts"]["messages"]["path"])
    assert shown["messages"][:6] == [json.loads(x) for x in stored]


def test_messages_refuses_an_altered_details_record(
    tmp_path: Path, case: Path, cli: Runner
) -> None:
    """The details record says whether an import is sensitive: it is hash-checked first."""
    result = import_json(cli, case, str(android_zip(tmp_path)), "--sensitive")
    path = case / result["artifacts"]["details"]["path"]
    _writable(path)
    path.write_bytes(path.read_bytes().replace(b'"sensitive":true', b'"sensitive":false'))
    code, out, err = cli("messages", "--case", str(case))
    assert code == 3 and "altered" in err and "where you live" not in out


def test_unit_lists_keep_no_list_of_commitments() -> None:
    """Memory does not grow with the units committed: each commitment is written out and
    only O(log n) subtree hashes are kept for the Merkle root (not a list of them)."""
    digests = digests_of(b"a unit")
    with Path(os.devnull).open("wb") as sink:
        small = UnitLists(sink, sink)
        committed = [small.commit("chat-message", f"u:{i}", digests) for i in range(100)]
        assert small.root() == commitments.commitments_root(committed)
        assert small.count == len(small.commitments) == 100

        lists = UnitLists(sink, sink)
        for i in range(1000):
            lists.commit("chat-message", f"u:{i}", digests)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for i in range(1000, 11000):
                lists.commit("chat-message", f"u:{i}", digests)
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert lists.count == len(lists.commitments) == 11000
    assert grown < 10_000, grown  # a list of 10,000 commitment strings holds about 1.3 MB
