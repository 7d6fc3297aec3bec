"""From a time as written to UTC, without ever treating local time as UTC silently.

A local wall time (WhatsApp, old Telegram exports) has no zone. Without ``--timezone`` its
UTC instant is unknown (basis ``missing``). With a zone it is ``assumed``, unless the zone
makes it ``ambiguous`` (it happens twice when clocks go back: both instants are given)
or ``nonexistent`` (it never happens when clocks go forward). Epoch seconds are
``explicit``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from custody.chat.base import TimeBasis, When
from custody.errors import UsageError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load_zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone named by ``--timezone`` (``None`` when not given).

    Raises:
        UsageError: the name is not a zone of the system's time-zone database.
    """
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f"unknown time zone {name!a}",
            hint="give an IANA name such as Europe/Berlin, America/New_York or UTC",
        ) from None


def utc_text(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z``; microseconds only when present."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_text(local: datetime) -> str:
    """ISO 8601 local wall time, no offset, to the second."""
    if local.microsecond:
        return local.isoformat(timespec="seconds")
    return local.isoformat()  # the same text, without parsing a keyword (fast)


def resolve_local(local: datetime, zone: ZoneInfo | None, raw: str) -> When:
    """The :class:`When` of a naive local time read in ``zone`` (or in no zone)."""
    text = local_text(local)
    if zone is None:
        return When(raw, text, None, None, TimeBasis.MISSING)
    if local.tzinfo is None:
        # The usual case, without building aware datetimes: read with fold 0 and fold 1,
        # ``local`` is one instant when both offsets agree, ``local - offset`` (what
        # ``astimezone(UTC)`` computes); else it is a DST edge, resolved below.
        offset = zone.utcoffset(local.replace(fold=0) if local.fold else local)
        if offset is not None and offset == zone.utcoffset(local.replace(fold=1)):
            return When(raw, text, _utc_of_naive(local - offset), zone.key, TimeBasis.ASSUMED)
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return When(raw, text, utc_text(first), zone.key, TimeBasis.ASSUMED)
    round_trips = all(u.astimezone(zone).replace(tzinfo=None) == local for u in (first, second))
    if round_trips:
        earlier, later = sorted((first, second))
        candidates = (utc_text(earlier), utc_text(later))
        return When(raw, text, None, zone.key, TimeBasis.AMBIGUOUS, candidates)
    return When(raw, text, None, zone.key, TimeBasis.NONEXISTENT)


def _utc_of_naive(moment: datetime) -> str:
    """:func:`utc_text` of a naive datetime that is already UTC wall time."""
    return moment.isoformat() + "Z"


def from_epoch(seconds: int, raw: str, local: str | None = None) -> When:
    """The explicit :class:`When` of epoch seconds (``local`` as the export also wrote it)."""
    moment = _EPOCH + timedelta(seconds=seconds)
    return When(raw, local, utc_text(moment), "UTC", TimeBasis.EXPLICIT)


def offset_text(local: datetime, utc: datetime) -> str | None:
    """``+HH:MM`` between a local rendering and its instant, or None if implausible."""
    delta = local.replace(tzinfo=UTC) - utc
    minutes, rest = divmod(int(delta.total_seconds()), 60)
    if rest or abs(minutes) > 14 * 60 or minutes % 15:
        return None
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}"
