"""``custody messages``: list imported messages with their ids, to choose what to disclose.

Reads only. Each import is found through its signed ``import`` entry: the details record
gives its id, format and whether it was marked sensitive, the messages artifact its
messages, whose SHA-256 is checked against the committed disclosure before any line is
shown. Messages of an import marked sensitive (``custody import --sensitive``) are listed
without what they say unless asked for (DESIGN section 4: nothing renders them by
default); see :func:`withhold`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from custody import log, store, strictjson
from custody.case import Case
from custody.errors import CustodyError, IntegrityError, UsageError


@dataclass(frozen=True, slots=True)
class ImportInfo:
    """One import of the case, as its log entry and details record describe it."""

    import_id: str
    seq: int
    format: str
    claimed_time: str
    messages: str  # commitment of the messages artifact
    sensitive: bool  # custody import --sensitive


@dataclass(frozen=True, slots=True)
class Filter:
    """Which messages to list; ``None`` means any."""

    import_id: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    sender: str | None = None  # case-insensitive, part of the name
    grep: str | None = None  # case-insensitive, part of the text

    @property
    def by_time(self) -> bool:
        return self.since is not None or self.until is not None


@dataclass
class Tally:
    """What a listing left out and why."""

    shown: int = 0
    without_utc: int = 0  # skipped by --from/--to: no UTC time known
    withheld: int = 0  # shown without their content: their import is marked sensitive
    imports: list[str] = field(default_factory=list)


def parse_time(text: str, *, end: bool = False) -> datetime:
    """An ISO 8601 date or time from the command line; without an offset it is UTC.

    A date alone is its midnight, or (``end``) the next midnight, so ``--to 2024-01-05``
    includes that day.

    Raises:
        UsageError: not an ISO 8601 date or time.
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"not an ISO 8601 date or time: {text!a}") from None
    if end and len(text) == 10:
        moment += timedelta(days=1)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def list_imports(case: Case) -> list[ImportInfo]:
    """Every ``import`` entry of the case, in log order.

    Raises:
        IntegrityError: an import's details record is missing, altered or malformed.
        StorageError: the log cannot be read.
    """
    found = []
    for _, line in log.read_raw_log(case.entries).lines:
        try:
            entry = log.decode_entry(line)
        except CustodyError:
            continue  # custody verify reports it
        if entry.type != "import":
            continue
        subject = entry.subject
        details = store.read_disclosure(case, str(subject.get("details")))
        try:
            raw = case.object_path(details.sha256).read_bytes()
            if hashlib.sha256(raw).hexdigest() != details.sha256:  # it says what is sensitive
                raise IntegrityError("its details record was altered")
            doc = strictjson.loads_strict(raw)
            messages = subject["artifacts"]["messages"]
            found.append(
                ImportInfo(
                    str(doc["import_id"]),
                    entry.seq,
                    str(doc["format"]),
                    str(entry.body["claimed_time"]),
                    str(messages),
                    doc.get("sensitive") is not False,  # unless plainly not: withheld
                )
            )
        except (OSError, CustodyError, KeyError, TypeError) as exc:
            raise IntegrityError(f"entry {entry.seq}: the import cannot be read ({exc})") from None
    return found


def _lines(case: Case, commitment: str) -> Iterator[bytes]:
    disclosure = store.read_disclosure(case, commitment)
    path = case.object_path(disclosure.sha256)
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
            if digest.hexdigest() != disclosure.sha256:
                raise IntegrityError(f"the messages artifact {path.name} was altered")
            fh.seek(0)
            for line in fh:
                yield line.removesuffix(b"\n")
    except OSError as exc:
        raise IntegrityError(f"cannot read the messages artifact {path}: {exc.strerror}") from exc


def _sent_at(doc: dict[str, Any]) -> datetime | None:
    value = doc.get("sent_at")
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _keep(doc: dict[str, Any], flt: Filter, tally: Tally) -> bool:
    if flt.sender is not None:
        names = (doc.get("sender") or "", doc.get("sender_raw") or "")
        if not any(flt.sender.casefold() in str(n).casefold() for n in names):
            return False
    if flt.grep is not None and flt.grep.casefold() not in str(doc.get("text", "")).casefold():
        return False
    if flt.by_time:
        moment = _sent_at(doc)
        if moment is None:
            tally.without_utc += 1
            return False
        if (flt.since is not None and moment < flt.since) or (
            flt.until is not None and moment >= flt.until
        ):
            return False
    return True


# What a message of a sensitive import still shows: who, when, what kind, and where it is
# in the original. Everything else (text, attachment names, Telegram entities, polls,
# locations, contacts, chat names, any member a format adds later) is left out.
_NOT_CONTENT = frozenset(
    {
        "v", "id", "seq", "sender", "sender_raw", "sender_id", "sent_at_raw",
        "sent_at_local", "sent_at", "sent_at_candidates", "time_zone", "time_basis",
        "kind", "flags", "source",
    }
)  # fmt: skip
WITHHELD_SENSITIVE = "sensitive"


def withhold(doc: dict[str, Any]) -> dict[str, Any]:
    """A message of a sensitive import as listed by default: its id, sender, times, kind,
    flags and source, with ``"withheld": "sensitive"`` instead of what it says."""
    shown = {k: v for k, v in doc.items() if k in _NOT_CONTENT}
    shown["withheld"] = WITHHELD_SENSITIVE
    return shown


def select_messages(
    case: Case, flt: Filter, tally: Tally | None = None, *, show_sensitive: bool = False
) -> Iterator[dict[str, Any]]:
    """The messages of the case (or of one import) that pass ``flt``, in import order.

    Messages of an import marked sensitive come through :func:`withhold` (and are counted
    in ``tally.withheld``) unless ``show_sensitive``. Filters look at the whole message,
    so ``--grep`` still finds words in them.

    Raises:
        UsageError: ``flt.import_id`` names no import of this case.
        IntegrityError: a messages artifact or details record is missing or altered.
    """
    tally = tally if tally is not None else Tally()
    imports = list_imports(case)
    if flt.import_id is not None:
        imports = [i for i in imports if i.import_id == flt.import_id]
        if not imports:
            raise UsageError(f"no import {flt.import_id!a} in this case")
    for info in imports:
        tally.imports.append(info.import_id)
        for line in _lines(case, info.messages):
            doc = strictjson.loads_strict(line)
            if _keep(doc, flt, tally):
                tally.shown += 1
                if info.sensitive and not show_sensitive:
                    tally.withheld += 1
                    doc = withhold(doc)
                yield doc
