"""WhatsApp header grammar: recognise a header line, lock one grammar per file, read dates.

A header starts a message: ``1/5/24, 9:03 PM - `` (Android) or ``[1/5/24, 9:03:07 PM] ``
(iOS). :data:`HEADER` accepts every layout the exports use (2- or 4-digit years, ``/ . -``
separators, day/month/year in any order, 12- or 24-hour clocks with ``AM``, ``am``,
``a.m.`` or ``a. m.`` after a space, U+00A0, U+202F or U+2009, seconds or not, brackets,
and U+200E/U+200F anywhere between the parts). Each match has a :class:`Shape`; the file's
grammar is the shape most of its header lines have (:func:`lock`), and only lines of that
shape start messages. Day/month order is decided once per file from all its dates
(:func:`decide_order`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from custody.errors import UsageError

ORDERS = ("DMY", "MDY", "YMD")
_M = "[\u200e\u200f]*"
HEADER = re.compile(
    rf"{_M}(?P<open>\[)?{_M}"
    rf"(?P<ts>(?P<d1>\d{{1,4}}){_M}(?P<ds>[./-]){_M}(?P<d2>\d{{1,2}}){_M}(?P=ds){_M}"
    rf"(?P<d3>\d{{1,4}}){_M}(?P<dt>,? ){_M}"
    rf"(?P<h>\d{{1,2}})(?P<tsep>[:.])(?P<mi>\d{{2}})(?:(?P=tsep)(?P<s>\d{{2}}))?"
    rf"(?:(?P<sp>[ \u00a0\u202f\u2009]?)(?P<ap>[AaPp]\.?[ \u00a0\u202f]?[Mm]\.?))?)"
    rf"{_M}(?(open)\] | - )"
)
_LETTER = re.compile("[A-Za-z]")


@dataclass(frozen=True, slots=True)
class Shape:
    """The layout of one header line, without its numbers."""

    bracket: bool  # iOS "[…] "; Android "… - "
    date_sep: str
    year_first: bool  # the first date field has four digits
    last_len: int  # digits of the last date field
    comma: bool  # ", " (not " ") between date and time
    time_sep: str
    seconds: bool
    ampm: str | None  # the AM/PM marker's spelling, letters as x/X: "XM", "x. m."
    ampm_space: str | None  # the character before it

    def describe(self) -> str:
        """A readable template, e.g. ``[d/m/yy, h:mm:ss<U+202F>XM]``."""
        s = self.date_sep
        year = "yyyy" if self.year_first or self.last_len == 4 else "yy"
        date = f"yyyy{s}m{s}d" if self.year_first else f"a{s}b{s}{year}"
        time = f"h{self.time_sep}mm" + (f"{self.time_sep}ss" if self.seconds else "")
        if self.ampm is not None:
            space = self.ampm_space or ""
            time += (f"<U+{ord(space):04X}>" if space and space != " " else space) + self.ampm
        text = date + (", " if self.comma else " ") + time
        return f"[{text}] " if self.bracket else f"{text} - "


class Header(NamedTuple):
    """A header line's numbers and where its message text starts (immutable; a named
    tuple rather than a frozen dataclass because one is built for most lines of a chat,
    twice, and a tuple is built several times faster)."""

    shape: Shape
    fields: tuple[int, int, int]
    widths: tuple[int, int, int]
    hour: int
    minute: int
    second: int
    pm: bool | None  # None on a 24-hour clock
    raw: str  # the timestamp characters exactly as written
    rest_at: int  # index in the line where the rest (sender and text) starts


def match_header(line: str) -> Header | None:
    """The header at the start of ``line`` (no line terminator), or None."""
    m = HEADER.match(line)
    if m is None:
        return None
    text = m.group()
    header = _recent.get(text)  # messages of the same minute share their header text
    if header is None:
        if len(_recent) >= _RECENT:
            _recent.clear()
        header = _recent[text] = _header(m)
    return header


_RECENT = 256
_recent: dict[str, Header] = {}
"""Headers by their text. A Header is a function of the matched text alone (HEADER has
no look-around: what it captures depends only on the characters it consumes, and the
match starts at 0, so ``rest_at`` is the text's length)."""


def _header(m: re.Match[str]) -> Header:
    opened, ts, d1, ds, d2, d3, dt, h, tsep, mi, s, sp, ap = m.groups()
    return Header(
        _shape(opened is not None, ds, len(d1) == 4, len(d3), dt, tsep, s is not None, ap, sp),
        (int(d1), int(d2), int(d3)),
        (len(d1), len(d2), len(d3)),
        int(h),
        int(mi),
        int(s) if s is not None else 0,
        ap[0] in "Pp" if ap else None,
        ts,
        m.end(),
    )


# _header unpacks HEADER's groups by position
assert tuple(HEADER.groupindex) == (  # noqa: S101  # a check of this module's own constant
    *("open", "ts", "d1", "ds", "d2", "d3", "dt", "h", "tsep", "mi", "s", "sp", "ap"),
)


@functools.lru_cache(maxsize=1024)  # a file has one or a few shapes: built once each
def _shape(
    bracket: bool,
    date_sep: str,
    year_first: bool,
    last_len: int,
    dt: str,
    time_sep: str,
    seconds: bool,
    ap: str | None,
    sp: str | None,
) -> Shape:
    return Shape(
        bracket=bracket,
        date_sep=date_sep,
        year_first=year_first,
        last_len=last_len,
        comma=dt == ", ",
        time_sep=time_sep,
        seconds=seconds,
        ampm=_LETTER.sub(lambda c: "X" if c[0].isupper() else "x", ap) if ap else None,
        ampm_space=sp if ap else None,
    )


@dataclass
class ShapeStats:
    """What the header lines of one shape say about the date order."""

    count: int = 0
    first_line: int = 0
    first_over_12: int | None = None  # a line whose first date field is > 12
    second_over_12: int | None = None  # a line whose second date field is > 12
    # how often time goes backwards read in each order, reported only when no date decides
    # the order (so counted only until one does)
    backwards: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ORDERS, 0))
    _last: dict[str, tuple[int, ...]] = field(default_factory=dict)  # local times
    _previous: Header | None = None  # the header added last

    def add(self, header: Header, line: int) -> None:
        if header is self._previous:  # the same header text again: it changes only the count
            self.count += 1
            return
        self._previous = header
        if not self.count:
            self.first_line = line
        self.count += 1
        a, b, _ = header.fields
        if a > 12 and self.first_over_12 is None and not header.shape.year_first:
            self.first_over_12 = line
        if b > 12 and self.second_over_12 is None:
            self.second_over_12 = line
        if (
            self.first_over_12 is not None
            or self.second_over_12 is not None
            or header.shape.year_first
        ):
            return  # a date decides the order: the backward counts will not be reported
        clock = _clock(header)
        if clock is None:
            return
        for order in ORDERS:  # how often time goes backwards, read in each order
            date = to_date(header, order)
            if date is not None:  # what to_local gives, as a tuple: compared the same way
                local = (*date, *clock)
                last = self._last.get(order)
                if last is not None and local < last:
                    self.backwards[order] += 1
                self._last[order] = local


def lock(stats: dict[Shape, ShapeStats]) -> Shape:
    """The file's grammar: the shape of most header lines (the earliest on a tie)."""
    return min(stats, key=lambda s: (-stats[s].count, stats[s].first_line))


@dataclass(frozen=True, slots=True)
class OrderDecision:
    order: str | None
    decided_by: str | None  # "file", "option" or None (undecided)
    evidence: str


def decide_order(shape: Shape, st: ShapeStats, option: str | None) -> OrderDecision:
    """Day/month order for the whole file, from all its dates and ``--date-order``.

    Raises:
        UsageError: ``--date-order`` contradicts a date in the file.
    """
    if shape.year_first:
        found = OrderDecision("YMD", "file", "the first date field has four digits")
    elif st.first_over_12 is not None and st.second_over_12 is not None:
        found = OrderDecision(
            None,
            None,
            f"the dates contradict each other: line {st.first_over_12} has a first field "
            f"over 12, line {st.second_over_12} a second field over 12",
        )
    elif st.first_over_12 is not None:
        found = OrderDecision("DMY", "file", f"line {st.first_over_12}: first field over 12")
    elif st.second_over_12 is not None:
        found = OrderDecision("MDY", "file", f"line {st.second_over_12}: second field over 12")
    else:
        back = ", ".join(f"{o} {st.backwards[o]}" for o in ("DMY", "MDY"))
        found = OrderDecision(
            None,
            None,
            "no date has a field over 12, so day and month cannot be told apart "
            f"(times going backwards if read as: {back})",
        )
    if option is None:
        return found
    if option not in ORDERS:
        raise UsageError(f"--date-order must be one of {', '.join(ORDERS)}, not {option!a}")
    if found.decided_by == "file" and found.order != option:
        raise UsageError(
            f"--date-order {option} contradicts the file: it is {found.order} ({found.evidence})"
        )
    return OrderDecision(option, "option", found.evidence)


def to_date(header: Header, order: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a header read in ``order``, or None if not a real date."""
    a, b, c = header.fields
    wa, _, wc = header.widths
    return _date(a, b, c, wa, wc, order)


@functools.lru_cache(maxsize=4096)  # dates repeat for every message of a day
def _date(a: int, b: int, c: int, wa: int, wc: int, order: str) -> tuple[int, int, int] | None:
    if order == "YMD":
        year, month, day, width = a, b, c, wa
    elif order == "DMY":
        day, month, year, width = a, b, c, wc
    else:
        month, day, year, width = a, b, c, wc
    if width == 2:
        year += 2000
    elif width != 4:
        return None
    try:
        datetime(year, month, day)  # noqa: DTZ001  # a calendar check only
    except ValueError:
        return None
    return year, month, day


def _clock(header: Header) -> tuple[int, int, int] | None:
    """(hour, minute, second) on a 24-hour clock, or None if not a real time of day."""
    hour = header.hour
    if header.pm is not None:
        if hour > 12:
            return None
        if header.pm and hour != 12:
            hour += 12
        elif not header.pm and hour == 12:
            hour = 0
    if hour > 23 or header.minute > 59 or header.second > 59:
        return None
    return hour, header.minute, header.second


def to_local(header: Header, order: str) -> datetime | None:
    """The naive local time of a header read in ``order``, or None if not a real time."""
    date = to_date(header, order)
    clock = _clock(header)
    if date is None or clock is None:
        return None
    return datetime(*date, *clock)  # noqa: DTZ001  # local, no zone
