"""The chat import's fast paths, byte for byte against their slow references.

Each shortcut taken to import a million messages in under a minute is compared with the
generic code it replaces: disclosures written directly against rfc8785, salts drawn in
bulk against one draw per salt, message lines written directly against ``json.dumps``
of ``to_dict``, cached header, date and time-zone readings against the uncached
originals (kept here as references) across DST changes, and pre-checks of the marker
patterns against the patterns. Last, whole imports of generated exports (every marker,
spoofed headers, DST gaps and folds, three zones) must hash to the values the code gave
before any of this (golden digests, with the salts drawn from a fixed stream).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from custody import canonical, commitments
from custody.chat import whatsapp_body as wb
from custody.chat import whatsapp_grammar as wg
from custody.chat import whatsapp_markers as wm
from custody.chat.base import (
    Attachment,
    FileInfo,
    Flag,
    Kind,
    Message,
    ParseContext,
    Status,
    TimeBasis,
    When,
)
from custody.chat.timeparse import load_zone, resolve_local
from custody.chat.units import UnitWriter, encode_message
from custody.chat.whatsapp import WhatsAppImporter
from custody.errors import StrictJSONError, UsageError
from custody.hashing import Digests
from custody.unitindex import IndexRecorder
from custody.units import UnitLists

HEX = "0123456789abcdef"


class _Stream:
    """A fixed byte stream standing in for ``secrets.token_bytes``: the same bytes in the
    same order however they are asked for (32 at a time, or 32 KiB)."""

    def __init__(self, seed: bytes) -> None:
        self.seed, self.counter, self.buffer = seed, 0, b""
        self.asked: list[int] = []
        self.lock = threading.Lock()  # thread-safe, as the system CSPRNG is

    def token_bytes(self, n: int | None = None) -> bytes:
        n = 32 if n is None else n
        with self.lock:
            self.asked.append(n)
            blocks, have = [self.buffer], len(self.buffer)
            while have < n:
                block = self.seed + self.counter.to_bytes(8, "big")
                blocks.append(hashlib.sha256(block).digest())
                self.counter, have = self.counter + 1, have + 32
            data = b"".join(blocks)
            self.buffer = data[n:]
            return data[:n]


@pytest.fixture
def fixed_salts(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Stream]:
    stream = _Stream(b"golden")
    commitments._salts.clear()
    monkeypatch.setattr(secrets, "token_bytes", stream.token_bytes)  # as commitments calls it
    yield stream
    commitments._salts.clear()  # no fixed salt may outlive the test


# ----------------------------------------------------------------- disclosures and salts

_b64url = st.from_regex(r"[A-Za-z0-9_-]{43}", fullmatch=True)  # what _next_salt gives
_hexes = st.text(alphabet=HEX + "ABCDEF", max_size=130)


@given(
    kind=st.one_of(st.from_regex(r"[a-z0-9][a-z0-9-]{0,63}", fullmatch=True), st.text()),
    salt=_b64url,
    sha256=st.one_of(_hexes, st.text()),
    sha512=st.one_of(st.none(), st.just(""), _hexes, st.text()),
    size=st.one_of(st.integers(-3, 2**53 + 3), st.sampled_from([True, 2**64, 0])),
)
def test_disclosure_bytes_are_rfc8785(
    kind: str, salt: str, sha256: str, sha512: str | None, size: int
) -> None:
    doc: dict[str, Any] = {"v": 1, "kind": kind, "salt": salt, "sha256": sha256, "size": size}
    if sha512:
        doc["sha512"] = sha512
    try:
        want = rfc8785.dumps(doc)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError):
        with pytest.raises(StrictJSONError):
            commitments._fresh_bytes(kind, salt, Digests(sha256, sha512, size))
        return
    assert commitments._fresh_bytes(kind, salt, Digests(sha256, sha512, size)) == want


def test_salts_are_the_csprng_bytes_in_order(fixed_salts: _Stream) -> None:
    digests = Digests("ab" * 32, "cd" * 64, 5)
    got = [commitments.make_disclosure("chat-message", digests).salt for _ in range(1500)]
    got += [json.loads(commitments.fresh_disclosure_bytes("x", digests))["salt"]]
    again = _Stream(b"golden")  # what one 32-byte draw per salt gave
    want = [base64.urlsafe_b64encode(again.token_bytes(32)).decode().rstrip("=") for _ in got]
    assert got == want
    assert fixed_salts.asked == [32 * 64] * 24  # in bulk
    disclosure = commitments.make_disclosure("chat-message", digests)
    assert commitments.parse_disclosure(disclosure.raw) == disclosure


def test_no_two_threads_get_the_same_salt(fixed_salts: _Stream) -> None:
    drawn: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        out.extend(commitments._next_salt() for _ in range(3000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in drawn]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [s for out in drawn for s in out]
    assert len(set(every)) == len(every) == 12000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_a_forked_child_does_not_reuse_its_parents_salts() -> None:
    commitments._next_salt()  # the pool now holds unused salts
    assert commitments._salts
    pid = os.fork()
    if pid == 0:  # pragma: no cover  # the child
        os._exit(0 if not commitments._salts else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


_no_surrogates = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


@given(units=st.lists(st.tuples(_no_surrogates, st.integers(0, 10**6)), max_size=8))
def test_unit_lists_write_what_the_generic_encoder_writes(units: list[tuple[str, int]]) -> None:
    commitments._salts.clear()
    listing, disclosures, index = io.BytesIO(), io.BytesIO(), IndexRecorder()
    lists = UnitLists(listing, disclosures, index)
    want_list = b""
    for unit, size in units:
        digests = Digests(hashlib.sha256(unit.encode()).hexdigest(), None, size)
        commitment = lists.commit("chat-message", unit, digests)
        raw = disclosures.getvalue().splitlines()[-1]
        salt = json.loads(raw)["salt"]
        doc = {"v": 1, "kind": "chat-message", "salt": salt, "sha256": digests.sha256}
        assert raw == canonical.dumps(doc | {"size": size})
        assert commitment == "sha256:" + hashlib.sha256(raw).hexdigest()
        want_list += canonical.dumps({"commitment": commitment, "unit": unit}) + b"\n"
    assert listing.getvalue() == want_list
    assert index.listing[-1] == len(want_list)
    assert index.disclosures[-1] == len(disclosures.getvalue())


# ----------------------------------------------------------------- message lines

_texts = st.text(max_size=30)
_maybe = st.one_of(st.none(), _texts)
_whens = st.builds(
    When,
    _maybe,
    _maybe,
    _maybe,
    _maybe,
    st.sampled_from(list(TimeBasis)),
    st.lists(_texts, max_size=2).map(tuple),
)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(), _texts, st.floats())
_messages = st.builds(
    Message,
    st.integers(0, 10**12),
    _whens,
    _maybe,
    _maybe,
    _texts,
    st.sampled_from(list(Kind)),
    st.dictionaries(_texts, _scalars, max_size=5),
    st.frozensets(st.sampled_from(list(Flag))),
    st.sampled_from([(), (Attachment(None, Status.OMITTED),)]),
    st.booleans(),
    st.sampled_from([{}, {"deleted_by": "sender"}]),
)


@settings(max_examples=300)
@given(message=_messages)
def test_json_line_is_encode_message_of_to_dict(message: Message) -> None:
    try:
        want = encode_message(message.to_dict("0123456789ab"), floats=False)
    except UnicodeEncodeError:  # a lone surrogate: no line either way
        with pytest.raises(UnicodeEncodeError):
            message.json_line("0123456789ab")
        return
    got = message.json_line("0123456789ab")
    assert got == (None if message.attachments or message.extra else want)


def test_json_line_with_keys_json_writes_its_own_way() -> None:
    source: Any = {2: 1, 1: None}  # not str: json writes the keys as strings
    message = Message(0, When(None), None, None, "", Kind.TEXT, source)
    assert message.json_line("i") == encode_message(message.to_dict("i"), floats=False)


# ----------------------------------------------------------------- time zones


def _reference_resolve_local(local: datetime, zone: ZoneInfo | None, raw: str) -> When:
    """resolve_local as it was: both folds made aware, then compared in UTC."""
    text = local.isoformat(timespec="seconds")
    if zone is None:
        return When(raw, text, None, None, TimeBasis.MISSING)
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)

    def utc(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")

    if first == second:
        return When(raw, text, utc(first), zone.key, TimeBasis.ASSUMED)
    if all(u.astimezone(zone).replace(tzinfo=None) == local for u in (first, second)):
        earlier, later = sorted((first, second))
        return When(raw, text, None, zone.key, TimeBasis.AMBIGUOUS, (utc(earlier), utc(later)))
    return When(raw, text, None, zone.key, TimeBasis.NONEXISTENT)


def _changes(zone: ZoneInfo, start: int, end: int) -> Iterator[datetime]:
    """Naive local times just before each change of the zone's offset (day by day)."""
    day = datetime(start, 1, 1, 12, tzinfo=UTC)
    offset = day.astimezone(zone).utcoffset()
    while day.year < end:
        later = day + timedelta(days=1)
        if later.astimezone(zone).utcoffset() != offset:
            moment = day
            while moment.astimezone(zone).utcoffset() == offset:
                moment += timedelta(minutes=15)
            yield (moment - timedelta(minutes=15)).astimezone(zone).replace(tzinfo=None)
            offset = later.astimezone(zone).utcoffset()
        day = later


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("Europe/Berlin", 1940, 1950),  # war time and double summer time
        ("Europe/Berlin", 2015, 2031),
        ("America/Sao_Paulo", 2010, 2022),  # DST at midnight, until 2019
        ("Australia/Lord_Howe", 2015, 2031),  # half an hour
    ],
)
def test_resolve_local_matches_the_reference_across_dst(name: str, start: int, end: int) -> None:
    zone = ZoneInfo(name)
    changes = list(_changes(zone, start, end))
    assert changes
    for change in changes:
        for minutes in range(-150, 151, 5):
            local = change + timedelta(minutes=minutes, seconds=minutes % 3 * 20)
            for variant in (local, local.replace(fold=1), local.replace(microsecond=250)):
                want = _reference_resolve_local(variant, zone, "raw")
                assert resolve_local(variant, zone, "raw") == want, variant
    aware = datetime(2021, 3, 28, 2, 30, tzinfo=UTC)
    assert resolve_local(aware, zone, "r") == _reference_resolve_local(aware, zone, "r")
    assert resolve_local(changes[0], None, "r") == _reference_resolve_local(changes[0], None, "r")


# ----------------------------------------------------------------- header grammar


def _reference_header(line: str) -> tuple[Any, ...] | None:
    """match_header as it was, by group name and without caches, as a plain tuple."""
    m = wg.HEADER.match(line)
    if m is None:
        return None
    ap = m["ap"]
    shape = wg.Shape(
        m["open"] is not None, m["ds"], len(m["d1"]) == 4, len(m["d3"]), m["dt"] == ", ",
        m["tsep"], m["s"] is not None,
        wg._LETTER.sub(lambda c: "X" if c[0].isupper() else "x", ap) if ap else None,
        m["sp"] if ap else None,
    )  # fmt: skip
    fields = (int(m["d1"]), int(m["d2"]), int(m["d3"]))
    widths = (len(m["d1"]), len(m["d2"]), len(m["d3"]))
    pm = ap[0] in "Pp" if ap else None
    return (shape, fields, widths, int(m["h"]), int(m["mi"]), int(m["s"] or 0), pm, m["ts"],
            m.end())  # fmt: skip


def _reference_date(header: wg.Header, order: str) -> tuple[int, int, int] | None:
    a, b, c = header.fields
    year, month, day, width = {
        "YMD": (a, b, c, header.widths[0]),
        "DMY": (c, b, a, header.widths[2]),
        "MDY": (c, a, b, header.widths[2]),
    }[order]
    if width not in (2, 4):
        return None
    year += 2000 if width == 2 else 0
    try:
        datetime(year, month, day)  # noqa: DTZ001
    except ValueError:
        return None
    return year, month, day


def _header_line(opener: str, d1: str, sep: str, d2: str, d3: str, rest: list[str]) -> str:
    return f"{opener}{d1}{sep}{d2}{sep}{d3}{''.join(rest)}"


_numbers = st.integers(0, 2100).flatmap(lambda n: st.sampled_from([str(n), f"{n:02d}"]))
_header_lines = st.builds(
    _header_line,
    st.sampled_from(["", "\u200e", "[", "\u200e[\u200f"]),
    _numbers,
    st.sampled_from("/.-"),
    st.integers(0, 13).flatmap(lambda n: st.sampled_from([str(n), f"{n:02d}"])),
    _numbers,
    st.tuples(
        st.sampled_from([", ", " ", ",  ", ",\u200e "]),
        st.sampled_from(["9:03", "12:07:59", "23.59", "24:00", "0:61", "7:05:60", "12.00.01"]),
        st.sampled_from(["", " PM", "\u202fa.\u00a0m.", " am", "\u2009P.M.", "pm"]),
        st.sampled_from([" - Alice: hi", "] Bob: x", " - ", "]", "\u200e - x"]),
    ).map(list),
)


@settings(max_examples=400)
@given(line=_header_lines)
def test_cached_headers_dates_and_times_match_the_reference(line: str) -> None:
    want = _reference_header(line)
    for _ in range(2):  # built, then from the cache
        header = wg.match_header(line)
        assert (None if header is None else tuple(header)) == want
    wg._recent.clear()
    assert (None if (h := wg.match_header(line)) is None else tuple(h)) == want
    if header is not None:
        for order in wg.ORDERS:
            date = _reference_date(header, order)
            assert wg.to_date(header, order) == date
            local = wg.to_local(header, order)
            clock = wg._clock(header)
            assert local == (None if date is None or clock is None else datetime(*date, *clock))  # noqa: DTZ001


@settings(max_examples=150)
@given(dates=st.lists(st.tuples(st.integers(1, 14), st.integers(1, 13), st.integers(0, 23)),
                      min_size=1, max_size=40))  # fmt: skip
def test_date_order_is_decided_as_the_reference_decides(dates: list[tuple[int, int, int]]) -> None:
    headers = [wg.match_header(f"{a}/{b}/21, {h}:00 - A: x") for a, b, h in dates]
    stats = wg.ShapeStats()
    ref_count, ref_back = 0, dict.fromkeys(wg.ORDERS, 0)  # the former counting
    ref_last: dict[str, datetime] = {}
    for line, header in enumerate(headers, start=1):
        assert header is not None
        stats.add(header, line)
        ref_count += 1
        for order in wg.ORDERS:
            local = wg.to_local(header, order)
            if local is not None:
                if order in ref_last and local < ref_last[order]:
                    ref_back[order] += 1
                ref_last[order] = local
    assert stats.count == ref_count
    reference = wg.ShapeStats(ref_count, stats.first_line, stats.first_over_12,
                              stats.second_over_12, ref_back)  # fmt: skip
    shape = headers[0].shape  # type: ignore[union-attr]
    for option in (None, "DMY", "MDY"):
        try:
            want = wg.decide_order(shape, reference, option)
        except UsageError as exc:  # the same refusal either way
            with pytest.raises(type(exc)):
                wg.decide_order(shape, stats, option)
            continue
        assert wg.decide_order(shape, stats, option) == want


# ----------------------------------------------------------------- marker pre-checks

_labels = [p for row in wm.TABLE for p in row.omitted["document"]]


@settings(max_examples=300)
@given(
    title=st.text(max_size=8),
    label=st.sampled_from(_labels),
    flips=st.lists(st.booleans(), min_size=25, max_size=25),
    odd=st.sampled_from(["", "\u017f", "\u212a", "\u0130", "\u0131"]),  # case oddities
    tail=st.sampled_from(["", ")", ">", " ", "."]),
)
def test_marker_pre_checks_never_reject_a_match(
    title: str, label: str, flips: list[bool], odd: str, tail: str
) -> None:
    cased = "".join(c.swapcase() if f else c for c, f in zip(label, flips, strict=False))
    for line in (f"{title} {cased}{tail}", f"{title} {cased.replace('s', odd)}{tail}", title):
        if wm.DOCUMENT_OMITTED.match(line):
            assert wb._may_be_document_omitted(line)
        if wm.FILE_ATTACHED.match(line):
            assert line.endswith(")")
        if wm.ATTACHED.match(line):
            assert line.endswith(">")


def test_polls_are_looked_up_as_the_table_reads() -> None:
    first: dict[str, tuple[str, str]] = {}
    for label, option, lang in wm.POLLS:
        first.setdefault(label, (option, lang))
    assert first == wb._POLL_BY_LABEL


# ----------------------------------------------------------------- whole imports

NNBSP, NBSP, LRM, RLM = "\u202f", "\u00a0", "\u200e", "\u200f"
GOLDEN = {  # digests of what the import wrote before the fast paths (see _import_digest)
    "Europe/Berlin": "db3e2e9a0adca1b240fd75d621ac6059d9de1af2e8cae59268a75192159ca2be",
    "America/Sao_Paulo": "489adbb164aff176c8476c32eaf4ed4f099990b9448f1a35c054d9b79cd5e99d",
    "Australia/Lord_Howe": "2215cec1abdb3a499fdf3b4d2240709aa713b072c6e3287db35cddff2f45f461",
    "undecided": "15690864b11877626a2d13a254fa114ce32b124a5ba035f0c1b63ff193447c05",
}
_FILES = {"IMG-20240101-WA0001.jpg": FileInfo("IMG-20240101-WA0001.jpg", 3, "a" * 64, "b" * 128)}


def _header(local: datetime, layout: int) -> str:
    d, m, y, hh, mm, ss = local.day, local.month, local.year, local.hour, local.minute, local.second
    h12, ap = hh % 12 or 12, "PM" if hh >= 12 else "AM"
    return (
        f"{d:02d}/{m:02d}/{y}, {hh:02d}:{mm:02d} - ",
        f"{m}/{d}/{y % 100:02d}, {h12}:{mm:02d}{NNBSP}{ap} - ",
        f"[{d:02d}.{m:02d}.{y % 100:02d}, {hh:02d}:{mm:02d}:{ss:02d}] ",
        f"{LRM}[{m}/{d}/{y % 100:02d}, {h12}:{mm:02d}:{ss:02d}{NNBSP}{ap}] ",
    )[layout]


def _bodies() -> list[str]:
    out = ["plain text", "null", "<Something unknown>", f"{LRM}odd", "a: b", "", '\\ " \x01']
    for row in wm.TABLE:
        out += [*row.media_omitted, *row.deleted, *row.deleted_self, *row.live_location]
        out += [*row.missed_voice, *row.missed_video, *row.waiting, *row.encrypted]
        out += [p for names in row.omitted.values() for p in names]
        out += [f"IMG-20240101-WA0001.jpg ({p})" for p in row.file_attached]
        out += [f"doc.pdf ({p})\ncaption" for p in row.file_attached]
        out += [f"<{p}: 00000012-PHOTO-2024-01-01.jpg>" for p in row.attached]
        out += [f"Title {p.upper()}" for p in row.omitted["document"]]
        out += [f"{p}: https://maps.google.com/?q=1.5,2.5" for p in row.location]
        out += [f"Place\nStreet 1\n{p}: https://maps.google.com/?q=1,2" for p in row.location]
        out += [f"fixed {p}" for p in row.edited] + [f"fixed{LRM} {p}" for p in row.edited]
        if row.poll:
            out.append(f"{row.poll[0]}\nWhat?\n{row.poll[1]} yes (2 votes)\n{row.poll[1]} no")
    return out


def golden_export(zone: str, layout: int, count: int, seed: int) -> bytes:
    """A WhatsApp export with every marker, spoofed headers, DST edges, odd senders."""
    rng = random.Random(seed)
    tz = ZoneInfo(zone)
    edges, bodies = list(_changes(tz, 2017, 2024)), _bodies()
    senders = ["Alice", f"{LRM}Bob{RLM}", f"Zoë{NBSP}X", f"\u202aMum\u202c{NNBSP}❤️", 'Dr "Q" O']
    nl = "\r\n" if layout >= 2 else "\n"
    lines = [f"junk before the first header{nl}"]
    moment = datetime(2018, 1, 1, tzinfo=UTC)
    for _ in range(count):
        moment += timedelta(seconds=rng.expovariate(1 / 3000))
        local = moment.astimezone(tz).replace(tzinfo=None)
        if rng.random() < 0.1:  # a wall time next to a DST change: in a gap or a fold
            local = rng.choice(edges) + timedelta(minutes=rng.randint(-150, 150))
        if rng.random() < 0.05:
            local = local.replace(second=rng.randint(0, 59), microsecond=0)
        header = _header(local, layout if rng.random() > 0.01 else (layout + 1) % 4)
        body = rng.choice(bodies) if rng.random() < 0.6 else "ok 😂 Straße \u2028 é"
        if rng.random() < 0.1:  # a header-like line of another layout inside a message
            body += f"{nl}{_header(local, (layout + 2) % 4)}Mallory: spoof{nl}tail"
        sender = f"{rng.choice(senders)}: " if rng.random() > 0.05 else ""
        lines.append(f"{header}{sender}{body}{nl}")
    return "".join(lines).encode()


def undecided_export(seed: int) -> bytes:
    """Dates whose day and month are both at most 12 (the order cannot be told), some
    out of order: the report gives how often time goes backwards in each reading."""
    rng = random.Random(seed)
    lines = []
    for _ in range(300):
        a, b, hh, mm = (
            rng.randint(1, 12),
            rng.randint(1, 12),
            rng.randint(0, 23),
            rng.randint(0, 59),
        )
        lines.append(f"{a:02d}/{b:02d}/2023, {hh:02d}:{mm:02d} - Alice: {rng.choice(_bodies())}\n")
    return "".join(lines).encode()


def _import_digest(
    data: bytes, zone: str | None, order: str | None, monkeypatch: pytest.MonkeyPatch
) -> str:
    """SHA-256 over the SHA-256 of the messages, commitment list, disclosures and report
    of one import (salts from a fresh fixed stream)."""
    commitments._salts.clear()
    monkeypatch.setattr(secrets, "token_bytes", _Stream(b"golden").token_bytes)
    ctx = ParseContext("_chat.txt", _FILES, load_zone(zone), order)
    outputs = messages, listing, disclosures = io.BytesIO(), io.BytesIO(), io.BytesIO()
    by_sha = {f.sha256: f for f in _FILES.values()}
    writer = UnitWriter("0123456789ab", messages, listing, disclosures, by_sha)
    for message in WhatsAppImporter().parse(io.BytesIO(data), ctx):
        writer.add(message)
    report = json.dumps(ctx.report.to_dict(), sort_keys=True, ensure_ascii=False).encode()
    parts = [o.getvalue() for o in outputs] + [report]
    return hashlib.sha256(b"".join(hashlib.sha256(p).digest() for p in parts)).hexdigest()


@pytest.mark.parametrize("case", list(GOLDEN))
def test_imports_write_the_bytes_they_wrote_before(
    case: str, fixed_salts: _Stream, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[tuple[bytes, str | None, str | None]] = []
    if case == "undecided":
        orders = ((None, None), ("Europe/Berlin", None), ("Europe/Berlin", "DMY"))
        runs += [(undecided_export(7), z, o) for z, o in (*orders, ("Europe/Berlin", "MDY"))]
    else:
        k = list(GOLDEN).index(case)
        for layout in range(4):
            data = golden_export(case, layout, 400, seed=10 * k + layout)
            order = "MDY" if layout in (1, 3) else None
            runs += [(data, zone, order) for zone in (case, None)]
    digests = [_import_digest(data, zone, order, monkeypatch) for data, zone, order in runs]
    assert hashlib.sha256("".join(digests).encode()).hexdigest() == GOLDEN[case]
