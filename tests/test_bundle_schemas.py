"""The bundle's files and --json outputs validate against their JSON Schemas (schemas/)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.conftest import Runner, make_case

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _errors(name: str, doc: Any) -> list[str]:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def _json(cli: Runner, *argv: str) -> Any:
    code, out, err = cli(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def bundle(tmp_path: Path, home: Path, cli: Runner) -> tuple[Path, dict[str, Any], Path]:
    case = make_case(tmp_path, cli, files=1)
    assert cli("import", str(EXAMPLES / "whatsapp-chat.txt"), "--case", str(case))[0] == 0
    messages = _json(cli, "messages", "--case", str(case))["messages"]
    select = tmp_path / "select.json"
    choice = {
        "artifacts": [1],
        "messages": [messages[1]["id"], messages[3]["id"]],
        "redact_text": ["email", "re:work"],
        "recipient": "Court of Example",
    }
    assert _errors("bundle-select", choice) == []
    select.write_text(json.dumps(choice))
    out = tmp_path / "b.zip"
    created = _json(cli, "bundle", "create", str(out), "--case", str(case), "--select", str(select))
    return out, created, case


def test_bundle_outputs_validate(bundle: tuple[Path, dict[str, Any], Path], cli: Runner) -> None:
    out, created, _ = bundle
    assert _errors("cli-output/bundle-create", created) == []
    assert created["units"]["redacted"] == 1  # the message that says "work"
    with zipfile.ZipFile(out) as zf:
        description = json.loads(zf.read("data/bundle.json"))
    assert _errors("bundle-description", description) == []
    assert _errors("cli-output/bundle-inspect", _json(cli, "bundle", "inspect", str(out))) == []
    report = _json(cli, "bundle", "verify", str(out))
    assert report["verified"] is True
    assert _errors("verify-report", report) == []


def test_damaged_description_fails_its_schema(bundle: tuple[Path, dict[str, Any], Path]) -> None:
    out, _, _ = bundle
    with zipfile.ZipFile(out) as zf:
        description = json.loads(zf.read("data/bundle.json"))
    description["exhibits"][0]["items"][0]["status"] = "shown"
    del description["signer"]
    assert len(_errors("bundle-description", description)) == 2


def test_bundle_entries_validate(bundle: tuple[Path, dict[str, Any], Path]) -> None:
    _, _, case = bundle
    lines = (case / "log" / "entries.jsonl").read_bytes().splitlines()
    types = []
    for line in lines:
        doc = json.loads(line)
        assert _errors("log-entry", doc) == [], doc["entry"]["type"]
        types.append(doc["entry"]["type"])
    assert types[-2:] == ["derive", "export"]
