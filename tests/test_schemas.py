"""schemas/: every schema is a valid JSON Schema, and a real case's files and every --json
output validate against them (and damaged ones do not). Web capture's documents come from
real captures with Chromium (slow)."""

from __future__ import annotations

import copy
import json
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from warcio.archiveiterator import ArchiveIterator

from custody import keys, store
from custody.capture import batch
from custody.capture.browser import BrowserSession
from custody.capture.proxy import Proxy
from custody.capture.units import read_record
from custody.capture.web import CaptureOptions, capture_page
from custody.case import open_case
from custody.chat import detect, messages

from . import capture_server
from .capture_server import Site
from .conftest import ROOT, Runner, make_case

# The capture tests' session fixtures: the local web site and one shared Chromium.
site = capture_server.site
browser = capture_server.browser

SCHEMAS = ROOT / "schemas"
ID_BASE = "https://custody.invalid/schemas/"
PHOTO = ROOT / "examples" / "photo-with-gps.jpg"
CHAT = ROOT / "examples" / "whatsapp-chat.txt"
# Disclosure kinds whose artifacts are JSON records; each kind is also its schema's name.
RECORD_KINDS = {"file-details", "case-details", "capture-details", "import-details"}
# Disclosure kinds whose artifacts are JSON Lines, and the schema of each line.
LINES_KINDS = {
    "chat-messages": "message",
    "chat-disclosures": "disclosure",  # the units' disclosures: salts, never shipped whole
    "capture-disclosures": "disclosure",
}
# Only a real capture produces these (test_real_capture_validates).
CAPTURE_SCHEMAS = {
    "capture-details", "capture-provenance", "cli-output/capture", "cli-output/export-wacz",
}  # fmt: skip
# HTTP/2 exchange records: validated by tests/test_capture_h2.py (the test site is HTTP/1.1).
H2_SCHEMAS = {"capture-http2"}
# Court bundles' files and outputs: validated by tests/test_bundle_schemas.py.
BUNDLE_SCHEMAS = {
    "bundle-description", "bundle-select", "cli-output/bundle-create", "cli-output/bundle-inspect",
}  # fmt: skip

Produced = list[tuple[str, str, Any]]  # (schema name, where it came from, document)


def _schema_files() -> list[Path]:
    return sorted(SCHEMAS.rglob("*.schema.json"))


def _name(path: Path) -> str:
    return str(path.relative_to(SCHEMAS)).removesuffix(".schema.json")


@cache
def _schema(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    return doc


def _errors(name: str, doc: Any) -> list[str]:
    validator = Draft202012Validator(
        _schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_schemas_exist() -> None:
    names = {_name(p) for p in _schema_files()}
    assert names >= {
        "case-marker", "log-entry", "disclosure", "file-details", "case-details",
        "private-key", "identity", "verify-report", "cli-output/init", "cli-output/add",
        "cli-output/log", "cli-output/keys-fingerprint", "cli-output/keys-export",
        "cli-output/log-recover",
        "cli-output/keys-join", "cli-output/keys-rotate", "capture-details",
        "capture-provenance", "cli-output/capture", "message", "import-details",
        "cli-output/import", "cli-output/messages", "cli-output/export-wacz",
    }  # fmt: skip


@pytest.mark.parametrize("path", _schema_files(), ids=_name)
def test_schema_is_valid(path: Path) -> None:
    schema = json.loads(path.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == ID_BASE + str(path.relative_to(SCHEMAS))
    assert schema["title"] and schema["description"]
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert f"({path.relative_to(SCHEMAS)})" in (SCHEMAS / "README.md").read_text("utf-8")


def test_shared_definitions_are_identical() -> None:
    """Schemas stay self-contained by copying shared $defs; the copies must not drift."""
    seen: dict[str, tuple[str, Any]] = {}
    for path in _schema_files():
        for key, definition in json.loads(path.read_text("utf-8")).get("$defs", {}).items():
            first = seen.setdefault(key, (_name(path), definition))
            assert definition == first[1], f"$defs/{key} differs in {_name(path)} and {first[0]}"


def test_messages_output_copies_the_message_schema() -> None:
    """custody messages --json lists message lines as they are, so its $defs/message is the
    message schema itself; a withheld message keeps exactly its non-content members."""
    message = _schema("message")
    listing = _schema("cli-output/messages")["$defs"]
    copied = {k: v for k, v in listing["message"].items() if k != "description"}
    assert copied == {
        k: v for k, v in message.items() if k not in ("$schema", "$id", "$defs", "description")
    }
    assert set(message["$defs"]) <= set(listing)  # and equal: test_shared_definitions_...
    withheld = listing["withheldMessage"]
    kept = set(withheld["properties"]) - {"withheld"}
    assert kept == set(messages.withhold(dict.fromkeys(message["properties"]))) - {"withheld"}
    assert all(withheld["properties"][k] == message["properties"][k] for k in kept)
    assert set(withheld["required"]) == (set(message["required"]) & kept) | {"withheld"}
    assert withheld["allOf"] == message["allOf"]


def test_import_formats_are_the_importers() -> None:
    """A new chat importer needs its name in the import schemas' format enums."""
    formats = set(detect.IMPORTERS)
    for name in ("import-details", "cli-output/import"):
        schema = _schema(name)
        facts = schema["$defs"]["importReport"]["properties"]["facts"]
        assert set(schema["properties"]["format"]["enum"]) == formats, name
        assert set(facts["properties"]["format"]["enum"]) == formats, name
    options = _schema("import-details")["properties"]["options"]["properties"]
    assert set(options["format"]["enum"]) == set(detect.FORMATS)


def _json(run: Runner, *argv: str, code: int = 0) -> Any:
    got, out, err = run(*argv, "--json")
    assert got == code, err
    return json.loads(out)


def _case_files(case: Path, produced: Produced) -> None:
    produced.append(
        ("case-marker", f"{case.name}/custody-case.json", _load(case / "custody-case.json"))
    )
    lines = (case / "log" / "entries.jsonl").read_bytes().splitlines()
    produced += [
        ("log-entry", f"{case.name} entry {i}", json.loads(x)) for i, x in enumerate(lines)
    ]
    for path in sorted((case / "disclosures").glob("*.json")):
        disclosure = _load(path)
        produced.append(("disclosure", f"{case.name}/disclosures/{path.name}", disclosure))
        kind = disclosure["kind"]
        sha256 = disclosure["sha256"]
        stored = case / "objects" / "sha256" / sha256[:2] / sha256
        if kind in RECORD_KINDS:
            produced.append((kind, f"{case.name} {kind} {sha256}", _load(stored)))
        elif kind in LINES_KINDS:
            lines = stored.read_bytes().splitlines()
            produced += [
                (LINES_KINDS[kind], f"{case.name} {kind} {sha256} line {i + 1}", json.loads(x))
                for i, x in enumerate(lines)
            ]


def _provenances(case: Path, produced: Produced) -> None:
    """The provenance record of every capture in the case: the last record of its WARC."""
    opened = open_case(case)
    for i, line in enumerate((case / "log" / "entries.jsonl").read_bytes().splitlines()):
        entry = json.loads(line)["entry"]
        if entry["type"] != "capture":
            continue
        disclosure = store.read_disclosure(opened, entry["subject"]["artifact"])
        warc = opened.object_path(disclosure.sha256)
        with warc.open("rb") as fh:
            records = ArchiveIterator(fh)
            for rec in records:
                records.read_to_end(rec)
                offset = records.get_record_offset()
        headers, block = read_record(warc, offset)
        assert headers["WARC-Target-URI"].startswith("urn:custody:provenance:")
        produced.append(
            ("capture-provenance", f"{case.name} entry {i} provenance", _load_bytes(block))
        )


def _load_bytes(data: bytes) -> Any:
    return json.loads(data)


def _home_files(home: Path, produced: Produced) -> None:
    produced.append(("identity", f"{home.name}/identity.json", _load(home / "identity.json")))
    for path in sorted((home / "keys").glob("*.key")):
        produced.append(("private-key", f"{home.name}/keys/{path.name}", _load(path)))


def _load(path: Path) -> Any:
    return json.loads(path.read_bytes())


def _chat(tmp_path: Path, case: Path, cli: Runner) -> Produced:
    """custody import of the example WhatsApp chat (sensitive, with a zone and a note) and
    of a zip of it with a photo no message names, then custody messages with and without
    --show-sensitive."""
    out: Produced = []
    args = ("--case", str(case), "--sensitive", "--timezone", "Europe/Berlin", "--note", "from A.")
    first = _json(cli, "import", str(CHAT), *args)
    out.append(("cli-output/import", "import (sensitive)", first))
    package = tmp_path / "WhatsApp Chat with B.zip"
    with zipfile.ZipFile(package, "w") as z:
        z.write(CHAT, "WhatsApp Chat with B..txt")
        z.write(PHOTO, "IMG-20261120-WA0001.jpg")
    second = _json(cli, "import", str(package), "--case", str(case))
    assert second["report"]["counts"]["unreferenced-file"] == 1
    out.append(("cli-output/import", "import (zip)", second))
    listed = _json(cli, "messages", "--case", str(case))
    withheld = [m for m in listed["messages"] if "withheld" in m]
    assert listed["withheld_sensitive"] == len(withheld) == first["messages"] > 0
    assert {m["id"].split(":")[0] for m in withheld} == {first["import_id"]}
    out.append(("cli-output/messages", "messages", listed))
    shown = _json(cli, "messages", "--case", str(case), "--show-sensitive", "--from", "2026-11-21")
    assert shown["withheld_sensitive"] == 0 and shown["without_utc"] == second["messages"]
    out.append(("cli-output/messages", "messages --show-sensitive --from", shown))
    return out


@pytest.fixture
def produced(tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch) -> Produced:
    """Every JSON document a real case's life produces: init, add (an image with EXIF and
    GPS), two chat imports (a sensitive one, and a zip) and their messages listed, an
    examiner's join, a rotation, a torn tail, loose files and a recover."""
    out: Produced = []
    case = make_case(tmp_path, cli, files=1)
    other = tmp_path / "other"
    out.append(("cli-output/init", "init", _json(cli, "init", str(other), "--name", "Other")))
    added = _json(cli, "add", str(PHOTO), "--case", str(case), "--source", "phone", "--sensitive")
    out.append(("cli-output/add", "add", added))
    out += _chat(tmp_path, case, cli)
    out.append(("cli-output/keys-fingerprint", "fingerprint", _json(cli, "keys", "fingerprint")))
    out.append(("cli-output/keys-export", "export", _json(cli, "keys", "export")))

    examiner = tmp_path / "examiner"
    monkeypatch.setenv("CUSTODY_HOME", str(examiner))
    joined = _json(cli, "keys", "join", "--case", str(case), "--operator", "Dr. K. Osei",
                   "--org", "Lab", "--role", "examiner")  # fmt: skip
    out.append(("cli-output/keys-join", "keys join", joined))
    fingerprint = _json(cli, "keys", "fingerprint")
    out.append(("cli-output/keys-fingerprint", "examiner fingerprint", fingerprint))
    monkeypatch.setenv("CUSTODY_HOME", str(home))
    out.append(
        ("cli-output/keys-rotate", "rotate", _json(cli, "keys", "rotate", "--case", str(case)))
    )

    # A crash mid-append, a loose artifact and a leftover temporary file.
    with (case / "log" / "entries.jsonl").open("ab") as fh:
        fh.write(b'{"entry":{"actor":"ed25519:0')
    store.store_bytes(open_case(case), b"bytes an interrupted add left behind\n")
    (case / "objects" / ".tmp-0123456789abcdef").write_bytes(b"half")
    out.append(("cli-output/log", "log (torn)", _json(cli, "log", "--case", str(case))))
    out.append(("verify-report", "verify (torn)", _json(cli, "verify", str(case), code=3)))
    recovered = _json(cli, "log", "recover", "--case", str(case))
    assert recovered["entry"] is not None and recovered["removed_temporary_files"]
    out.append(("cli-output/log-recover", "log recover", recovered))
    again = _json(cli, "log", "recover", "--case", str(case))
    assert again["entry"] is None
    out.append(("cli-output/log-recover", "log recover (nothing to do)", again))
    out.append(("cli-output/log", "log", _json(cli, "log", "--case", str(case))))
    out.append(("verify-report", "verify", _json(cli, "verify", str(case), "--deep")))
    out.append(("verify-report", "log verify", _json(cli, "log", "verify", "--case", str(case))))

    for folder in (case, other):
        _case_files(folder, out)
    for h in (home, examiner):
        _home_files(h, out)
    return out


def test_real_case_files_and_outputs_validate(produced: Produced) -> None:
    failures = [
        f"{where} ({name}): {e}" for name, where, doc in produced for e in _errors(name, doc)
    ]
    assert not failures, "\n".join(failures)
    # The scenario reached every shape the schemas describe (capture's: see below).
    all_names = {_name(p) for p in _schema_files()}
    elsewhere = CAPTURE_SCHEMAS | BUNDLE_SCHEMAS | H2_SCHEMAS
    assert {name for name, _, _ in produced} == all_names - elsewhere
    bodies = [doc["entry"] for name, _, doc in produced if name == "log-entry"]
    assert {b["type"] for b in bodies} == {"init", "add", "key", "recover", "import"}
    assert {b["subject"].get("action") for b in bodies if b["type"] == "key"} == {"join", "rotate"}
    kinds = {doc["kind"] for name, _, doc in produced if name == "disclosure"}
    assert kinds == {
        "file", "file-details", "case-details", "torn-tail", "adopted", "chat-warc",
        "chat-messages", "chat-commitments", "chat-disclosures", "import-details",
        "chat-message",  # a line of chat-disclosures
    }  # fmt: skip
    imports = [doc for name, _, doc in produced if name == "import-details"]
    assert {(d["sensitive"], d["source"]["kind"], d.get("note")) for d in imports} == {
        (True, "file", "from A."),
        (False, "zip", None),
    }
    listed = [
        m for name, _, doc in produced if name == "cli-output/messages" for m in doc["messages"]
    ]
    assert any("withheld" in m for m in listed) and any("text" in m for m in listed)
    details = [doc for name, _, doc in produced if name == "file-details"]
    assert any("exif" in d and d["gps"]["present"] for d in details)
    assert any("exif" not in d for d in details)
    reports = [doc for name, _, doc in produced if name == "verify-report"]
    assert any(not r["verified"] and any("offset" in f for f in r["findings"]) for r in reports)


def _first(produced: Produced, name: str, test: Callable[[Any], bool] = lambda _: True) -> Any:
    doc = next(doc for n, _, doc in produced if n == name and test(doc))
    return copy.deepcopy(doc)


def test_damaged_documents_fail(produced: Produced) -> None:
    """Each damage is caught by the schema itself (not only by custody verify)."""

    def entry(entry_type: str, action: str | None = None) -> Any:
        return _first(
            produced,
            "log-entry",
            lambda d: (
                d["entry"]["type"] == entry_type and d["entry"]["subject"].get("action") == action
            ),
        )

    bad: list[tuple[str, str, Any]] = []

    doc = entry("add")
    doc["entry"]["comment"] = "an extra field"
    bad.append(("log-entry", "extra body field", doc))
    doc = entry("add")
    doc["extra"] = 1
    bad.append(("log-entry", "extra top-level field", doc))
    doc = entry("add")
    doc["entry"]["subject"]["original_name"] = "photo.jpg"
    bad.append(("log-entry", "a name in an add subject", doc))
    doc = entry("add")
    doc["entry"]["type"] = "delete"
    bad.append(("log-entry", "unknown type", doc))
    doc = entry("add")
    doc["sig"] = doc["sig"][:-4] + "===="
    bad.append(("log-entry", "malformed signature", doc))
    doc = entry("init")
    del doc["entry"]["subject"]["details"]
    bad.append(("log-entry", "init without details", doc))
    doc = entry("key", "rotate")
    del doc["entry"]["subject"]["possession"]
    bad.append(("log-entry", "rotation without possession proof", doc))
    doc = entry("recover")
    doc["entry"]["subject"] = {"adopted": []}
    bad.append(("log-entry", "recover that recovers nothing", doc))

    doc = _first(produced, "disclosure")
    doc["salt"] = "c2hvcnQ"
    bad.append(("disclosure", "short salt", doc))
    doc = _first(produced, "disclosure")
    doc["name"] = "photo.jpg"
    bad.append(("disclosure", "extra field", doc))
    doc = _first(produced, "disclosure")
    doc["sha256"] = doc["sha256"].upper()
    bad.append(("disclosure", "upper-case hex", doc))

    doc = _first(produced, "file-details", lambda d: "exif" in d)
    del doc["exif"]
    bad.append(("file-details", "gps without exif", doc))
    doc = _first(produced, "file-details", lambda d: "exif" in d)
    doc["gps"] = {"present": True}
    bad.append(("file-details", "a GPS position not flagged sensitive", doc))
    doc = _first(produced, "private-key")
    doc["seed"] = "AAAA"
    bad.append(("private-key", "an unsealed seed", doc))
    doc = _first(produced, "identity")
    doc["operator"]["name"] = ""
    bad.append(("identity", "empty operator name", doc))
    doc = _first(produced, "verify-report", lambda d: not d["verified"])
    doc["verified"] = True
    bad.append(("verify-report", "verified despite an error", doc))
    doc = _first(produced, "cli-output/log-recover", lambda d: d["torn_offset"] is not None)
    doc["torn_artifact"] = None
    bad.append(("cli-output/log-recover", "torn bytes without an artifact", doc))

    doc = _first(produced, "import-details")
    doc["files"] = [f for f in doc["files"] if f["role"] != "chat"]
    bad.append(("import-details", "no chat file", doc))
    doc = _first(produced, "import-details", lambda d: d["sensitive"])
    doc["sensitive"] = "yes"
    bad.append(("import-details", "sensitive not a boolean", doc))
    doc = _first(produced, "import-details", lambda d: d["source"]["kind"] == "zip")
    del doc["source"]["sha256"]
    bad.append(("import-details", "a zip without its hash", doc))
    doc = _first(produced, "import-details")
    doc["report"]["findings"].append({"code": "bom", "severity": "error", "message": "x"})
    bad.append(("import-details", "a finding of unknown severity", doc))
    doc = _first(produced, "cli-output/import")
    doc["artifacts"]["details"]["commitment"] = doc["artifacts"]["details"]["sha256"]
    bad.append(("cli-output/import", "a bare hash as commitment", doc))
    doc = _first(produced, "cli-output/import")
    del doc["artifacts"]["disclosures"]
    bad.append(("cli-output/import", "an import without its disclosures", doc))
    doc = _first(produced, "cli-output/messages", lambda d: d["withheld_sensitive"])
    next(m for m in doc["messages"] if "withheld" in m)["text"] = "shown after all"
    bad.append(("cli-output/messages", "a withheld message with its text", doc))
    doc = _first(produced, "cli-output/messages", lambda d: d["withheld_sensitive"])
    next(m for m in doc["messages"] if "withheld" in m)["attachments"] = []
    bad.append(("cli-output/messages", "a withheld message with attachments", doc))
    doc = _first(produced, "cli-output/messages")
    doc["messages"][0]["seq"] = -1
    bad.append(("cli-output/messages", "a negative seq", doc))

    accepted = [f"{name}: {why}" for name, why, doc in bad if not _errors(name, doc)]
    assert not accepted, "damaged documents were accepted:\n" + "\n".join(accepted)

    # Reserved entry types have no subject shape yet: any object passes.
    doc = entry("add")
    doc["entry"]["type"] = "transfer"
    doc["entry"]["subject"] = {"to": "court", "items": [1, 2]}
    assert not _errors("log-entry", doc)


# --- web capture --------------------------------------------------------------------------


@pytest.fixture
def captured(
    tmp_path: Path,
    home: Path,
    cli: Runner,
    browser: BrowserSession,
    site: Site,
    monkeypatch: pytest.MonkeyPatch,
) -> Produced:
    """Every JSON document web capture produces: a COMPLETE capture over HTTPS (a redirect,
    a TLS session, a logged-in session, a note, --sensitive) and a PARTIAL one through the
    CLI (a page that never finishes loading, a response cut short: exit 7), then the log
    and verify outputs."""

    class Borrowed:  # the CLI closes its browser; this one is shared
        def __getattr__(self, name: str) -> Any:
            return getattr(browser, name)

        def close(self) -> None:
            pass

    assert site.https_base is not None
    out: Produced = []
    case = make_case(tmp_path, cli, files=0)
    identity = keys.read_identity(home)
    assert identity is not None
    signer = keys.load_key(home, identity.key_id, "correct horse battery staple")
    cookie: dict[str, Any] = {"name": "sid", "value": "s3cret", "domain": "localhost", "path": "/"}
    cookie |= {"expires": -1, "httpOnly": True, "secure": True, "sameSite": "Lax"}
    session = tmp_path / "session.json"
    session.write_text(json.dumps({"cookies": [cookie], "origins": []}), "utf-8")
    options = CaptureOptions(
        allow_private=True,
        timeout=20.0,
        note="reported by A.",
        sensitive=True,
        extra_ca_file=site.ca_file,
        storage_state=session,
    )
    result = capture_page(
        open_case(case), site.https_base + "/start", options, signer=signer, home=home,
        browser=browser,
    )  # fmt: skip
    assert result.status == "COMPLETE", result.reasons
    # A server whose certificate does not validate: recorded, PARTIAL.
    assert site.selfsigned_base is not None
    options = CaptureOptions(allow_private=True, timeout=20.0)
    unverified = capture_page(
        open_case(case), site.selfsigned_base + "/data.json", options, signer=signer, home=home,
        browser=browser,
    )  # fmt: skip
    assert unverified.status == "PARTIAL", unverified.reasons
    # What a proxied capture records about its proxy (the one place a proxy shows).
    warc = result.artifacts["warc"].path
    proxied = json.loads(read_record(warc, result.records["provenance"].offset)[1])
    proxy = Proxy.parse("http://ana:pw@[2001:db8::1]:3128")
    proxied["proxy"] = proxy.describe(address_check=True)
    proxied["options"]["proxy"] = proxy.public_url
    out.append(("capture-provenance", "provenance with a proxy (edited)", proxied))

    monkeypatch.setattr(batch, "BrowserSession", Borrowed)
    urls = (site.base + "/hang", "ftp://example.org/")
    args = ("capture", *urls, "--allow-private", "--timeout", "2", "--jobs", "1")
    partial = _json(cli, *args, "--note", "", "--case", str(case), code=7)
    assert [c["status"] for c in partial["captures"]] == ["PARTIAL", "FAILED"]
    out.append(("cli-output/capture", "capture --json (PARTIAL, FAILED)", partial))
    exported = _json(cli, "export-wacz", str(result.seq), str(tmp_path / "a.wacz"),
                     "--record", "--case", str(case))  # fmt: skip
    assert exported["sensitive"] and exported["recorded_as_entry"] > result.seq
    out.append(("cli-output/export-wacz", "export-wacz --record (sensitive)", exported))
    exported = _json(cli, "export-wacz", "last", str(tmp_path / "b.wacz"), "--case", str(case))
    assert not exported["sensitive"] and "recorded_as_entry" not in exported
    out.append(("cli-output/export-wacz", "export-wacz last", exported))
    out.append(("cli-output/log", "log", _json(cli, "log", "--case", str(case))))
    out.append(("verify-report", "verify", _json(cli, "verify", str(case), "--deep")))
    _case_files(case, out)
    _provenances(case, out)
    return out


@pytest.mark.slow
def test_real_capture_validates(captured: Produced) -> None:
    failures = [
        f"{where} ({name}): {e}" for name, where, doc in captured for e in _errors(name, doc)
    ]
    assert not failures, "\n".join(failures)
    assert {name for name, _, _ in captured} >= CAPTURE_SCHEMAS
    subjects = [d["entry"]["subject"] for n, _, d in captured if n == "log-entry"]
    assert {s["status"] for s in subjects if "status" in s} == {"COMPLETE", "PARTIAL"}
    provenance = [doc for name, _, doc in captured if name == "capture-provenance"]
    assert any(p["tls"] and p["redirects"] and p["credentials"] for p in provenance)
    assert any(p["credentials"] and p["credentials"]["scrubbed_headers"] for p in provenance)
    assert any(p["proxy"] for p in provenance) and any(not p["credentials"] for p in provenance)
    assert any(p["truncated"] for p in provenance)
    assert all(p["records"] > 0 for p in provenance)
    assert any(not s["verified"] for p in provenance for s in p["tls"].values())
    kinds = {doc["kind"] for name, _, doc in captured if name == "disclosure"}
    assert kinds >= {"capture-warc", "capture-commitments", "capture-disclosures"}
    details = [doc for name, _, doc in captured if name == "capture-details"]
    assert {d.get("note") for d in details} == {"reported by A.", None}
    assert all(doc["verified"] for name, _, doc in captured if name == "verify-report")

    def capture_entry(status: str) -> Any:
        return _first(
            captured,
            "log-entry",
            lambda d: d["entry"]["type"] == "capture" and d["entry"]["subject"]["status"] == status,
        )

    bad: list[tuple[str, str, Any]] = []
    doc = capture_entry("COMPLETE")
    doc["entry"]["subject"]["url"] = "https://example.org/"
    bad.append(("log-entry", "a URL in a capture subject", doc))
    doc = capture_entry("COMPLETE")
    del doc["entry"]["subject"]["units"]
    bad.append(("log-entry", "a capture without per-record units", doc))
    doc = capture_entry("COMPLETE")
    doc["entry"]["subject"]["units"]["count"] = 1
    bad.append(("log-entry", "a WARC of one record", doc))
    doc = capture_entry("PARTIAL")
    del doc["entry"]["subject"]["artifacts"]["disclosures"]
    bad.append(("log-entry", "capture without its disclosures", doc))
    doc = capture_entry("PARTIAL")
    doc["entry"]["subject"]["artifacts"]["har"] = doc["entry"]["subject"]["artifact"]
    bad.append(("log-entry", "unknown artifact role", doc))
    doc = capture_entry("PARTIAL")
    doc["entry"]["subject"]["status"] = "FAILED"
    bad.append(("log-entry", "unknown status", doc))

    doc = _first(captured, "capture-provenance", lambda d: d["status"] == "PARTIAL")
    doc["status"] = "COMPLETE"
    bad.append(("capture-provenance", "COMPLETE with reasons", doc))
    doc = _first(captured, "capture-provenance", lambda d: d["status"] == "COMPLETE")
    doc["status"] = "PARTIAL"
    bad.append(("capture-provenance", "PARTIAL without a reason", doc))
    doc = _first(captured, "capture-provenance")
    doc["options"]["note"] = "reported by A."
    bad.append(("capture-provenance", "the note in the provenance", doc))
    doc = _first(captured, "capture-provenance", lambda d: d["status"] == "COMPLETE" and d["tls"])
    next(iter(doc["tls"].values()))["verified"] = False
    bad.append(("capture-provenance", "COMPLETE with an unverified TLS session", doc))
    doc = _first(captured, "capture-provenance", lambda d: d["status"] == "COMPLETE")
    del doc["snapshots"]["screenshot"]
    bad.append(("capture-provenance", "COMPLETE without a screenshot", doc))
    doc = _first(captured, "capture-provenance")
    doc["artifacts"] = {}
    bad.append(("capture-provenance", "an unknown member", doc))
    doc = _first(captured, "capture-details")
    doc["url"] = "file:///etc/passwd"
    bad.append(("capture-details", "a non-http URL", doc))
    doc = _first(captured, "capture-details", lambda d: "note" in d)
    doc["note"] = ""
    bad.append(("capture-details", "an empty note", doc))
    doc = _first(captured, "cli-output/capture")
    doc["captures"][0]["reasons"] = []
    bad.append(("cli-output/capture", "PARTIAL without a reason", doc))
    doc = _first(captured, "cli-output/capture")
    doc["captures"][0]["exit_code"] = 0
    bad.append(("cli-output/capture", "PARTIAL with exit code 0", doc))
    doc = _first(captured, "cli-output/capture")
    warc = doc["captures"][0]["artifacts"]["warc"]
    warc["commitment"] = warc["sha256"]
    bad.append(("cli-output/capture", "a bare hash as commitment", doc))
    doc = _first(captured, "cli-output/capture")
    doc["captures"][1]["entry"] = 3
    bad.append(("cli-output/capture", "a FAILED URL with an entry", doc))
    doc = _first(captured, "cli-output/capture")
    del doc["captures"][0]["records"]["provenance"]
    bad.append(("cli-output/capture", "a capture without its provenance record", doc))
    doc = _first(captured, "cli-output/export-wacz")
    doc["datapackage_hash"] = doc["datapackage_hash"].removeprefix("sha256:")
    bad.append(("cli-output/export-wacz", "a datapackage hash without its algorithm", doc))
    doc = _first(captured, "cli-output/export-wacz")
    del doc["sensitive"]
    bad.append(("cli-output/export-wacz", "no word on sensitivity", doc))

    accepted = [f"{name}: {why}" for name, why, doc in bad if not _errors(name, doc)]
    assert not accepted, "damaged documents were accepted:\n" + "\n".join(accepted)
