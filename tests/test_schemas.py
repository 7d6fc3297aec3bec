"""schemas/: every schema is a valid JSON Schema, and a real case's files and every --json
output validate against them (and damaged ones do not)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from custody import store
from custody.case import open_case

from .conftest import ROOT, Runner, make_case

SCHEMAS = ROOT / "schemas"
ID_BASE = "https://custody.invalid/schemas/"
PHOTO = ROOT / "examples" / "photo-with-gps.jpg"
DETAILS_KINDS = {"file-details", "case-details"}  # disclosure kind = schema name

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
        "cli-output/keys-join", "cli-output/keys-rotate",
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
        if kind in DETAILS_KINDS:
            sha256 = disclosure["sha256"]
            record = case / "objects" / "sha256" / sha256[:2] / sha256
            produced.append((kind, f"{case.name} {kind} {sha256}", _load(record)))


def _home_files(home: Path, produced: Produced) -> None:
    produced.append(("identity", f"{home.name}/identity.json", _load(home / "identity.json")))
    for path in sorted((home / "keys").glob("*.key")):
        produced.append(("private-key", f"{home.name}/keys/{path.name}", _load(path)))


def _load(path: Path) -> Any:
    return json.loads(path.read_bytes())


@pytest.fixture
def produced(tmp_path: Path, home: Path, cli: Runner, monkeypatch: pytest.MonkeyPatch) -> Produced:
    """Every JSON document a real case's life produces: init, add (an image with EXIF and
    GPS), an examiner's join, a rotation, a torn tail, loose files and a recover."""
    out: Produced = []
    case = make_case(tmp_path, cli, files=1)
    other = tmp_path / "other"
    out.append(("cli-output/init", "init", _json(cli, "init", str(other), "--name", "Other")))
    added = _json(cli, "add", str(PHOTO), "--case", str(case), "--source", "phone", "--sensitive")
    out.append(("cli-output/add", "add", added))
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
    # The scenario reached every shape the schemas describe.
    assert {name for name, _, _ in produced} == {_name(p) for p in _schema_files()}
    bodies = [doc["entry"] for name, _, doc in produced if name == "log-entry"]
    assert {b["type"] for b in bodies} == {"init", "add", "key", "recover"}
    assert {b["subject"].get("action") for b in bodies if b["type"] == "key"} == {"join", "rotate"}
    kinds = {doc["kind"] for name, _, doc in produced if name == "disclosure"}
    assert kinds == {"file", "file-details", "case-details", "torn-tail", "adopted"}
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

    accepted = [f"{name}: {why}" for name, why, doc in bad if not _errors(name, doc)]
    assert not accepted, "damaged documents were accepted:\n" + "\n".join(accepted)

    # Reserved entry types have no subject shape yet: any object passes.
    doc = entry("add")
    doc["entry"]["type"] = "transfer"
    doc["entry"]["subject"] = {"to": "court", "items": [1, 2]}
    assert not _errors("log-entry", doc)
