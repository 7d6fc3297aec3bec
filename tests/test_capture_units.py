"""A capture's per-record units: one salted commitment per WARC record, and their
re-check (custody.capture.units.check_capture, run by custody verify --deep); no browser."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest

from custody import canonical, log, store
from custody import verify as case_verify
from custody.capture import seal
from custody.capture.units import check_capture
from custody.case import Case, open_case
from custody.units import list_line
from custody.warc import WarcWriter

from .conftest import Runner, make_case
from .test_capture import _signer

# --- per-record units, re-checked (no browser) ----------------------------------------------

ID = "0" * 32  # a capture id


def _synthetic_seal(
    case: Case,
    home: Path,
    *,
    drop_last: bool = False,
    rename: bool = False,
    status: str = "PARTIAL",
) -> log.Entry:
    """A small capture WARC sealed by seal_capture, optionally with its units misstated."""
    buf = io.BytesIO()
    w = WarcWriter(buf)
    records = [w.write_warcinfo({"software": "test"})]
    url = "http://www.example.test/"
    rec = w.write_response(url, status_line="HTTP/1.1 200 OK", headers=[], body=b"<h1>hi</h1>")
    records.append(rec)
    records.append(
        w.write_resource("urn:custody:dom:" + "0" * 32, b"<h1>hi</h1>", content_type="text/html")
    )
    prov = json.dumps({"kind": "capture-provenance", "status": "PARTIAL"}).encode()
    records.append(
        w.write_metadata(
            "urn:custody:provenance:" + "0" * 32, prov, content_type="application/json"
        )
    )
    if rename:  # the list names another record id than the one at that place
        records[1] = dataclasses.replace(
            records[1], record_id="<urn:uuid:" + "1" * 8 + "-1111-4111-8111-" + "1" * 12 + ">"
        )
    details = seal.details_record(url, url, sensitive=False, note=None)
    buf.seek(0)
    sealed = seal.seal_capture(
        case, buf, records[:-1] if drop_last else records, details,
        seal.CaptureStatus(status), signer=_signer(home), home=home,
    )  # fmt: skip
    return log.decode_entry(case.entries.read_bytes().splitlines()[sealed.seq])


@pytest.mark.parametrize(
    ("how", "codes"),
    [
        ({}, set()),
        ({"rename": True}, {"record-id"}),
        ({"drop_last": True}, {"records-uncovered", "capture-provenance"}),
        ({"status": "COMPLETE"}, {"capture-status"}),
    ],
    ids=["sound", "record-id", "uncovered", "status"],
)
def test_check_capture_finds_misstated_units(
    tmp_path: Path, home: Path, cli: Runner, how: dict[str, Any], codes: set[str]
) -> None:
    case = open_case(make_case(tmp_path, cli, files=0))
    entry = _synthetic_seal(case, home, **how)
    assert {p.code for p in check_capture(case, entry)} == codes
    assert case_verify.verify_case(case).ok  # the artifacts themselves are intact


def test_check_capture_finds_altered_records_and_lists(
    tmp_path: Path, home: Path, cli: Runner
) -> None:
    case = open_case(make_case(tmp_path, cli, files=0))
    entry = _synthetic_seal(case, home)
    subject = entry.subject
    disclosures = case.object_path(
        store.read_disclosure(case, subject["artifacts"]["disclosures"]).sha256
    )
    disclosures.chmod(0o644)
    lines = disclosures.read_bytes().splitlines(keepends=True)
    disclosures.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))  # two salts swapped
    problems = check_capture(case, entry)
    # the swapped lines hash to the wrong commitments and give the wrong sizes
    assert {p.code for p in problems} == {
        "unit-commitment", "record-altered", "capture-unverifiable"
    }  # fmt: skip
    assert any("disclosures artifact was altered" in p.message for p in problems)
    disclosures.write_bytes(b"".join(lines))
    warc = case.object_path(store.read_disclosure(case, subject["artifact"]).sha256)
    warc.chmod(0o644)
    data = bytearray(warc.read_bytes())
    data[-10] ^= 0x01  # in the provenance's gzip member
    warc.write_bytes(bytes(data))
    problems = check_capture(case, entry)
    assert {p.code for p in problems} == {"record-altered", "capture-provenance"}
    assert "record 3 (<urn:uuid:" in problems[0].message


@pytest.mark.parametrize(
    "unit", ["<urn:uuid:0f5e9a1c-2b1d-4c3e-8f00-123456789abc>", 'a "b"\\c', "é"]
)
def test_list_lines_are_canonical(unit: str) -> None:
    commitment = "sha256:" + "ab" * 32
    want = canonical.dumps({"commitment": commitment, "unit": unit}) + b"\n"
    assert list_line(commitment, unit) == want
