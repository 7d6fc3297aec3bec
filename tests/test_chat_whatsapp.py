"""WhatsApp .txt parsing: every header layout, day/month order, time zones and DST edges,
markers in six languages, spoofed header lines, byte coverage and bad input. Fixtures are
written here, byte for byte (invisible characters as escapes)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from custody import canonical
from custody.chat.base import FileInfo, ImportReport, ParseContext
from custody.chat.timeparse import load_zone
from custody.chat.units import encode_message
from custody.chat.whatsapp import WhatsAppImporter
from custody.errors import InputError, UsageError

from .conftest import ROOT

NNBSP, NBSP, LRM = "\u202f", "\u00a0", "\u200e"
IMPORT_ID = "0123456789ab"
SCHEMA = Draft202012Validator(json.loads((ROOT / "schemas" / "message.schema.json").read_text()))


def parse(
    data: bytes | str,
    *,
    files: dict[str, FileInfo] | None = None,
    tz: str | None = None,
    order: str | None = None,
    name: str = "_chat.txt",
) -> tuple[list[dict[str, Any]], ImportReport]:
    raw = data.encode() if isinstance(data, str) else data
    ctx = ParseContext(name, files or {}, load_zone(tz), order)
    messages = [m.to_dict(IMPORT_ID) for m in WhatsAppImporter().parse(io.BytesIO(raw), ctx)]
    for doc in messages:
        errors = [e.message for e in SCHEMA.iter_errors(doc)]
        assert not errors, (doc, errors)
        assert encode_message(doc) == canonical.dumps(doc)
    return messages, ctx.report


def codes(report: ImportReport) -> dict[str, int]:
    return dict(report.counts)


# (id, three header lines' text, platform, sent_at_local of the 2nd message, order)
LAYOUTS = [
    (
        "android-en_US-12h-nnbsp",
        [
            f"1/5/24, 9:03{NNBSP}PM - Alice: hi\n",
            f"1/15/24, 12:07{NNBSP}AM - Bob: late\n",
            f"1/15/24, 12:30{NNBSP}PM - Alice: noon\n",
        ],
        "android",
        "2024-01-15T00:07:00",
        "MDY",
    ),
    (
        "android-en_IN-lowercase",
        [
            f"05/01/24, 9:03{NNBSP}pm - Alice: hi\n",
            f"15/01/24, 10:07{NNBSP}am - Bob: late\n",
            f"15/01/24, 12:30{NNBSP}pm - Alice: noon\n",
        ],
        "android",
        "2024-01-15T10:07:00",
        "DMY",
    ),
    (
        "android-en_GB-24h",
        [
            "05/01/2024, 21:03 - Alice: hi\n",
            "15/01/2024, 00:07 - Bob: late\n",
            "15/01/2024, 12:30 - Alice: noon\n",
        ],
        "android",
        "2024-01-15T00:07:00",
        "DMY",
    ),
    (
        "android-de-dots",
        [
            "05.01.24, 21:03 - Alice: hi\n",
            "15.01.24, 00:07 - Bob: spät\n",
            "15.01.24, 12:30 - Alice: mittag\n",
        ],
        "android",
        "2024-01-15T00:07:00",
        "DMY",
    ),
    (
        "android-es-p.m.-nbsp",
        [
            f"5/1/2024 9:03 p.{NBSP}m. - Alice: hola\n",
            f"15/1/2024 10:07 a.{NBSP}m. - Bob: tarde\n",
            f"15/1/2024 12:30 p.{NBSP}m. - Alice: mediodía\n",
        ],
        "android",
        "2024-01-15T10:07:00",
        "DMY",
    ),
    (
        "android-iso-dashes",
        [
            "2024-01-05, 21:03 - Alice: hi\n",
            "2024-01-15, 00:07 - Bob: late\n",
            "2024-01-15, 12:30 - Alice: noon\n",
        ],
        "android",
        "2024-01-15T00:07:00",
        "YMD",
    ),
    (
        "android-zh-slashes-no-comma",
        [
            "2024/01/05 21:03 - Alice: hi\n",
            "2024/01/15 00:07 - Bob: late\n",
            "2024/01/15 12:30 - Alice: noon\n",
        ],
        "android",
        "2024-01-15T00:07:00",
        "YMD",
    ),
    (
        "ios-en_US-seconds-nnbsp",
        [
            f"[1/5/24, 9:03:07{NNBSP}PM] Alice: hi\r\n",
            f"[1/15/24, 12:07:59{NNBSP}AM] Bob: late\r\n",
            f"[1/15/24, 12:30:00{NNBSP}PM] Alice: noon\r\n",
        ],
        "ios",
        "2024-01-15T00:07:59",
        "MDY",
    ),
    (
        "ios-de-dots",
        [
            "[05.01.24, 21:03:07] Alice: hi\r\n",
            "[15.01.24, 00:07:59] Bob: spät\r\n",
            "[15.01.24, 12:30:00] Alice: mittag\r\n",
        ],
        "ios",
        "2024-01-15T00:07:59",
        "DMY",
    ),
    (
        "ios-fr-lang-us-region-no-comma",
        [
            "[1/5/22 21:41:35] Alice: salut\r\n",
            "[1/27/22 00:07:59] Bob: tard\r\n",
            "[1/27/22 12:30:00] Alice: midi\r\n",
        ],
        "ios",
        "2022-01-27T00:07:59",
        "MDY",
    ),
    (
        "ios-lrm-before-bracket",
        [
            f"{LRM}[05/01/2024, 21:03:07] Alice: hi\r\n",
            "[15/01/2024, 00:07:59] Bob: late\r\n",
            "[15/01/2024, 12:30:00] Alice: noon\r\n",
        ],
        "ios",
        "2024-01-15T00:07:59",
        "DMY",
    ),
]


@pytest.mark.parametrize(
    ("lines", "platform", "local", "order"), [x[1:] for x in LAYOUTS], ids=[x[0] for x in LAYOUTS]
)
def test_header_layouts(lines: list[str], platform: str, local: str, order: str) -> None:
    messages, report = parse("".join(lines))
    assert [m["sender"] for m in messages] == ["Alice", "Bob", "Alice"]
    assert messages[1]["sent_at_local"] == local
    assert messages[1]["sent_at_raw"] in lines[1]
    assert report.facts["platform"] == platform
    assert report.facts["date_order"]["order"] == order
    assert all(m["sent_at"] is None and m["time_basis"] == "missing" for m in messages)
    assert codes(report) == {"time-zone-missing": 1}


def test_twelve_hour_clock_edges() -> None:
    text = (
        f"1/15/24, 12:00{NNBSP}AM - A: midnight\n"
        f"1/15/24, 12:59{NNBSP}PM - A: noon\n"
        f"1/15/24, 11:59{NNBSP}PM - A: last\n"
        f"1/15/24, 13:00{NNBSP}PM - A: impossible\n"
    )
    messages, report = parse(text)
    assert [m["sent_at_local"] for m in messages] == [
        "2024-01-15T00:00:00",
        "2024-01-15T12:59:00",
        "2024-01-15T23:59:00",
        None,
    ]
    assert report.counts["invalid-date"] == 1


def test_undecidable_date_order_is_not_guessed() -> None:
    text = "01/02/24, 10:00 - A: one\n03/04/24, 10:00 - B: two\n"
    messages, report = parse(text, tz="Europe/Berlin")
    assert report.facts["date_order"]["order"] is None
    assert report.counts["date-order-undecided"] == 1
    assert all(m["sent_at_local"] is None and m["sent_at"] is None for m in messages)
    assert [m["sent_at_raw"] for m in messages] == ["01/02/24, 10:00", "03/04/24, 10:00"]
    # the user decides: applied to the whole file, recorded as the option's decision
    messages, report = parse(text, tz="Europe/Berlin", order="MDY")
    assert report.facts["date_order"] == {
        "order": "MDY",
        "decided_by": "option",
        "evidence": report.facts["date_order"]["evidence"],
    }
    assert [m["sent_at"] for m in messages] == ["2024-01-02T09:00:00Z", "2024-03-04T09:00:00Z"]


def test_date_order_option_must_not_contradict_the_file() -> None:
    with pytest.raises(UsageError, match="contradicts the file"):
        parse("20/01/24, 10:00 - A: x\n", order="MDY")


def test_day_month_order_is_decided_once_for_the_whole_file() -> None:
    # the first line alone could be either order; line 3 decides for every line
    text = "01/02/24, 10:00 - A: one\n05/02/24, 10:00 - A: two\n13/02/24, 10:00 - A: three\n"
    messages, report = parse(text)
    assert report.facts["date_order"]["evidence"] == "line 3: first field over 12"
    assert [m["sent_at_local"][:10] for m in messages] == ["2024-02-01", "2024-02-05", "2024-02-13"]


BERLIN = "Europe/Berlin"


@pytest.mark.parametrize(
    ("clock", "basis", "sent_at", "candidates"),
    [
        ("01:59", "assumed", "2024-03-31T00:59:00Z", None),
        ("02:30", "nonexistent", None, None),  # clocks jump from 02:00 to 03:00
        ("03:00", "assumed", "2024-03-31T01:00:00Z", None),
    ],
    ids=["before-gap", "in-gap", "after-gap"],
)
def test_spring_forward_gap(clock: str, basis: str, sent_at: str | None, candidates: Any) -> None:
    messages, report = parse(f"31.03.24, {clock} - A: x\n13.03.24, 10:00 - A: y\n", tz=BERLIN)
    assert messages[0]["time_basis"] == basis
    assert messages[0]["sent_at"] == sent_at
    assert messages[0]["time_zone"] == BERLIN
    assert ("nonexistent-time" in report.counts) == (basis == "nonexistent")


@pytest.mark.parametrize(
    ("clock", "basis", "sent_at", "candidates"),
    [
        ("01:59", "assumed", "2024-10-26T23:59:00Z", None),
        ("02:30", "ambiguous", None, ["2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"]),
        ("03:00", "assumed", "2024-10-27T02:00:00Z", None),
    ],
    ids=["before-fold", "in-fold", "after-fold"],
)
def test_fall_back_fold(clock: str, basis: str, sent_at: str | None, candidates: Any) -> None:
    messages, report = parse(f"27.10.24, {clock} - A: x\n13.10.24, 10:00 - A: y\n", tz=BERLIN)
    assert messages[0]["time_basis"] == basis
    assert messages[0]["sent_at"] == sent_at
    assert messages[0].get("sent_at_candidates") == candidates
    assert ("ambiguous-time" in report.counts) == (basis == "ambiguous")


def test_unknown_time_zone_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown time zone"):
        load_zone("Mars/Olympus_Mons")
    with pytest.raises(UsageError):
        load_zone("../../etc/passwd")


def test_multiline_text_is_byte_exact_with_ios_line_endings() -> None:
    # iOS: records end in CRLF, breaks inside a message are bare LF
    text = (
        "[15/01/2024, 21:03:07] Alice: first\nsecond\n\n  indented  \r\n"
        "[15/01/2024, 21:04:00] Bob: x\r\n"
    )
    messages, _ = parse(text)
    assert messages[0]["text"] == "first\nsecond\n\n  indented  "
    assert messages[0]["source"]["line"] == 1 and messages[0]["source"]["end_line"] == 4
    assert messages[1]["text"] == "x"


def test_every_byte_belongs_to_a_message_or_to_a_reported_range() -> None:
    lines = [
        "\ufeffpreface a user typed\n",
        "another stray line\n",
        "15/01/2024, 21:03 - Alice: one\n",
        "two\n",
        "15/01/2024, 21:04 - Bob: three",  # no final newline
    ]
    data = "".join(lines).encode()
    messages, report = parse(data)
    spans = [(0, 3)]  # the byte order mark
    spans += [(f["offset"], f["length"]) for f in report.findings if f["code"] == "unparsed"]
    spans += [(m["source"]["offset"], m["source"]["length"]) for m in messages]
    spans.sort()
    at = 0
    for offset, length in spans:
        assert offset == at
        at += length
    assert at == len(data)
    assert report.counts["bom"] == 1 and report.counts["unparsed"] == 1
    unparsed = next(f for f in report.findings if f["code"] == "unparsed")
    assert (unparsed["line"], unparsed["end_line"]) == (1, 2)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", "empty export"),
        (b"\n \n", "empty export"),
        (b"just some notes\nno headers\n", "no WhatsApp message header"),
        ("15/01/2024, 21:03 - A: hi\n".encode("utf-16"), "UTF-16"),
        (b"15/01/2024, 21:03 - A: caf\xe9\n", r"not UTF-8 at byte 26 \(line 1\)"),
    ],
    ids=["empty", "blank", "no-header", "utf-16", "latin-1"],
)
def test_bad_input(data: bytes, error: str) -> None:
    with pytest.raises(InputError, match=error):
        parse(data)


def test_sniff() -> None:
    imp = WhatsAppImporter()
    assert imp.sniff("\ufeff[1/5/24, 9:03:07\u202fPM] A: b".encode())
    assert imp.sniff(b"05.01.24, 21:03 - A: b\n")
    assert not imp.sniff(b'{"messages": []}')
    assert not imp.sniff(b"\x89PNG\r\n\x1a\n")
