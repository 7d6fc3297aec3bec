"""What a bundle will hold, decided before anything is written: exhibits, unit by unit.

An *exhibit* is one acquisition (an ``add``, ``capture`` or ``import`` entry). Each of its
units is *disclosed* (its bytes and disclosure are shipped), *withheld* (only its
commitment, position and a reason), or *redacted* (withheld, and a derived artifact with
the change is shown instead). Two rules keep withheld content out of the bundle:

* no unsalted digest of a withheld unit is shipped: a capture's provenance (which holds
  the SHA-256 of every snapshot) is shown only with all its snapshots, a chat message
  only with its attachments, a details record only when what it lists is shown;
* a redaction reaches every rendition of the same content: when a page's text is
  masked, its screenshot, PDF, DOM and responses are withheld, or the bundle is refused
  unless the user asks for ``unsafe_unredacted``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from custody import log, strictjson
from custody.bundle import indexed, redact
from custody.bundle.sets import (
    UnitSet,
    disclosure_size,
    object_of,
    read_set,
    record_roles,
    warc_block,
)
from custody.capture.units import read_record
from custody.case import Case
from custody.chat import messages as chat_messages
from custody.chat.units import encode_message
from custody.errors import CustodyError, IntegrityError, StorageError, UsageError

DEFAULT_REASON = "not selected for this bundle"
RENDITION = "shows text that this bundle masks elsewhere"
_SAFE_EXT = re.compile(r"\.([a-z0-9]{1,8})$")
_TEXT_LIMIT = 16 << 20
_SNAPSHOTS = ("screenshot", "pdf", "dom", "text")
# patterns are matched against what the page showed, not every response (scripts, JSON,
# compressed bodies): a court must not read the absence of masks as "nothing matched"
_CAPTURE_SEARCHED = (
    "the redaction patterns were searched in the page's text and DOM only, and did not "
    "match; the records are shown as captured"
)
_SENDER = re.compile(rb'"sender(?:_raw)?":"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True, slots=True)
class ImportChoice:
    """Messages of one import chosen by time and sender."""

    import_id: str
    since: datetime | None = None
    until: datetime | None = None
    sender: str | None = None


@dataclass(frozen=True)
class Selection:
    """Everything the user chose (flags or ``--select FILE``)."""

    artifacts: tuple[int, ...] = ()
    messages: tuple[str, ...] = ()
    imports: tuple[ImportChoice, ...] = ()
    warc_records: tuple[str, ...] = ()
    redact: tuple[str, ...] = ()
    strip_gps: bool = False
    withhold_reason: str = DEFAULT_REASON
    recipient: str | None = None
    since: Path | None = None
    unsafe_unredacted: bool = False

    @property
    def empty(self) -> bool:
        return not (self.artifacts or self.messages or self.imports or self.warc_records)


@dataclass
class Source:
    """Where a unit's bytes are: a slice of a case file, bytes in memory, or a WARC block."""

    path: Path | None = None
    offset: int = 0
    size: int = 0
    data: bytes | None = None
    warc_block: str | None = None  # sha256 of a resource record's block in ``path``


@dataclass
class Derived:
    """A redacted rendition of a unit, made for this bundle."""

    method: str
    data: bytes
    params: bytes
    reason: str
    name: str
    commitment: str = ""
    disclosure: bytes = b""
    params_commitment: str = ""
    params_disclosure: bytes = b""
    entry_seq: int = -1


@dataclass
class Item:
    """One unit of an exhibit and what the bundle does with it."""

    role: str  # artifact, details, record, message, attachment
    commitment: str
    status: str  # disclosed, withheld, redacted
    reason: str | None = None
    disclosure: bytes | None = None
    source: Source | None = None
    name: str | None = None
    index: int | None = None
    unit: str | None = None
    proof: list[str] | None = None
    derived: Derived | None = None


@dataclass
class Exhibit:
    """One acquisition and its units in this bundle."""

    entry: log.Entry
    items: list[Item] = field(default_factory=list)
    units: UnitSet | None = None
    set_reason: str = DEFAULT_REASON
    sensitive: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.entry.seq}-{self.entry.type}"


@dataclass
class Plan:
    """The exhibits and the log entries a bundle relies on."""

    case: Case
    entries: dict[int, log.Entry]
    exhibits: list[Exhibit]
    patterns: list[redact.Pattern]
    selection: Selection


def read_entries(case: Case) -> dict[int, log.Entry]:
    """Every entry of the case log, by seq.

    Raises:
        IntegrityError: a line does not decode or the log has a torn tail.
    """
    raw = log.read_raw_log(case.entries)
    if raw.torn_offset is not None:
        raise IntegrityError("the custody log has a torn tail", hint="run custody log recover")
    out = {}
    for i, (_, line) in enumerate(raw.lines):
        try:
            entry = log.decode_entry(line)
        except CustodyError as exc:
            raise IntegrityError(f"log entry {i} is damaged: {exc.message}") from None
        out[i] = entry
    return out


def _details_doc(case: Case, commitment: str) -> tuple[bytes, dict[str, Any]]:
    _, path = object_of(case, commitment)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IntegrityError(f"cannot read details record {path}: {exc.strerror}") from exc
    doc = strictjson.loads_strict(data)
    return data, doc if isinstance(doc, dict) else {}


def _ext(name: object, default: str) -> str:
    m = _SAFE_EXT.search(str(name or "").lower())
    return m.group(1) if m else default


def _as_text(data: bytes) -> str | None:
    if len(data) > _TEXT_LIMIT or b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


class Planner:
    """Builds a :class:`Plan` from a :class:`Selection`."""

    def __init__(self, case: Case, selection: Selection) -> None:
        self.case, self.sel = case, selection
        self.entries = read_entries(case)
        self.patterns: list[redact.Pattern] = []
        self.exhibits: dict[int, Exhibit] = {}
        self._docs: dict[int, dict[str, dict[str, Any]]] = {}

    def _entry(self, seq: int, types: tuple[str, ...]) -> log.Entry:
        entry = self.entries.get(seq)
        if entry is None or entry.type not in types:
            raise UsageError(f"entry {seq} is not an {' / '.join(types)} entry of this case")
        return entry

    def plan(self) -> Plan:
        sel = self.sel
        if sel.empty:
            raise UsageError(
                "nothing selected: give --artifact, --message, --import or --warc-record"
            )
        whole = [self._entry(seq, ("add", "capture", "import")) for seq in sel.artifacts]
        wanted_messages = self._messages()
        wanted_records = self._records()
        names: set[str] = set()
        if "names" in sel.redact:
            chats = {e.seq for e in whole if e.type == "import"} | set(wanted_messages)
            for seq in sorted(chats):
                names |= self._senders(seq)
        self.patterns = redact.compile_patterns(sel.redact, names) if sel.redact else []
        for entry in whole:
            self.exhibits[entry.seq] = self._whole(entry)
        for seq, ids in wanted_messages.items():
            self._import_messages(self._exhibit(seq), ids)
        for seq, rids in wanted_records.items():
            self._capture_records(self._exhibit(seq), rids)
        exhibits = [self.exhibits[s] for s in sorted(self.exhibits)]
        return Plan(self.case, self.entries, exhibits, self.patterns, sel)

    def _exhibit(self, seq: int) -> Exhibit:
        if seq not in self.exhibits:
            self.exhibits[seq] = Exhibit(self.entries[seq], set_reason=self.sel.withhold_reason)
        return self.exhibits[seq]

    # -- choosing ----------------------------------------------------------------------

    def _messages(self) -> dict[int, set[str]]:
        imports = {i.import_id: i for i in chat_messages.list_imports(self.case)}
        wanted: dict[int, set[str]] = {}
        for mid in self.sel.messages:
            info = imports.get(mid.rpartition(":")[0])
            if info is None:
                raise UsageError(f"--message {mid!a}: no import of this case has that message id")
            wanted.setdefault(info.seq, set()).add(mid)
        for choice in self.sel.imports:
            flt = chat_messages.Filter(choice.import_id, choice.since, choice.until, choice.sender)
            ids = {str(doc["id"]) for doc in chat_messages.select_messages(self.case, flt)}
            if not ids:
                raise UsageError(f"--import {choice.import_id!a}: no message matches")
            wanted.setdefault(imports[choice.import_id].seq, set()).update(ids)
        return wanted

    def _records(self) -> dict[int, set[str]]:
        wanted: dict[int, set[str]] = {}
        if not self.sel.warc_records:
            return wanted
        asked = {r if not r.startswith("urn:") else f"<{r}>" for r in self.sel.warc_records}
        found: set[str] = set()
        for entry in self.entries.values():
            if entry.type != "capture":
                continue
            units = self._capture_set(entry, lambda u: False)
            warc = object_of(self.case, str(entry.subject["artifact"]))[1]
            roles = record_roles(warc, self._sizes(units))
            for i, unit in enumerate(units.unit_ids):
                target = roles[i][3]
                for a in asked:
                    if a == unit or (a == target and roles[i][2] in ("response", "resource")):
                        wanted.setdefault(entry.seq, set()).add(unit)
                        found.add(a)
        missing = asked - found
        if missing:
            raise UsageError(f"--warc-record {sorted(missing)[0]!a}: no capture has that record")
        return wanted

    def _senders(self, seq: int) -> set[str]:
        """Every sender name of an import: not only those of the messages shown, whose
        text names the others (``--redact-text names``)."""
        out: set[str] = set()
        messages = str(self.entries[seq].subject["artifacts"]["messages"])
        for line in chat_messages._lines(self.case, messages):
            for literal in _SENDER.findall(line):  # a key: quotes in text are escaped
                name = strictjson.loads_strict(b'"' + literal + b'"')
                if isinstance(name, str):
                    out.add(name)
        return out

    # -- reading -----------------------------------------------------------------------

    def _capture_set(self, entry: log.Entry, wanted: Any) -> UnitSet:
        disclosures = str(entry.subject.get("artifacts", {}).get("disclosures"))
        return read_set(self.case, entry.subject, disclosures, wanted, all_disclosures=True)

    @staticmethod
    def _sizes(units: UnitSet) -> list[int]:
        return [disclosure_size(units.disclosures[i]) for i in range(units.count)]

    def _message_docs(self, seq: int, ids: set[str]) -> dict[str, dict[str, Any]]:
        if seq in self._docs and ids <= self._docs[seq].keys():
            return self._docs[seq]
        entry = self.entries[seq]
        messages = str(entry.subject["artifacts"]["messages"])
        found: dict[str, dict[str, Any]] = {}
        id_re = re.compile(rb'"id":"([^"\\]+)"')
        for line in chat_messages._lines(self.case, messages):
            if any(m.decode() in ids for m in id_re.findall(line)):
                doc = strictjson.loads_strict(line)
                if isinstance(doc, dict) and doc.get("id") in ids:
                    found[str(doc["id"])] = doc | {"__line__": line}
        self._docs[seq] = found
        return found

    # -- exhibits ----------------------------------------------------------------------

    def _whole(self, entry: log.Entry) -> Exhibit:
        ex = self._exhibit(entry.seq)
        if entry.type == "add":
            self._add(ex)
        elif entry.type == "capture":
            self._capture_whole(ex)
        else:
            self._import_whole(ex)
        return ex

    def _details_item(self, ex: Exhibit, withhold: str | None = None) -> dict[str, Any]:
        commitment = str(ex.entry.subject["details"])
        data, doc = _details_doc(self.case, commitment)
        ex.sensitive = bool(doc.get("sensitive"))
        disclosure, path = object_of(self.case, commitment)
        if withhold is None and self.patterns and redact.matches(data.decode(), self.patterns):
            withhold = RENDITION
        if withhold is not None:
            ex.items.append(Item("details", commitment, "withheld", reason=withhold))
        else:
            source = Source(path=path, size=disclosure.size)
            ex.items.append(
                Item(
                    "details",
                    commitment,
                    "disclosed",
                    disclosure=disclosure.raw,
                    source=source,
                    name="details.json",
                )
            )
        return doc

    def _add(self, ex: Exhibit) -> None:
        commitment = str(ex.entry.subject["artifact"])
        disclosure, path = object_of(self.case, commitment)
        _, doc = _details_doc(self.case, str(ex.entry.subject["details"]))
        gps = bool((doc.get("gps") or {}).get("present"))
        ext = _ext(doc.get("original_name"), "bin")
        item = Item(
            "artifact",
            commitment,
            "disclosed",
            disclosure=disclosure.raw,
            source=Source(path=path, size=disclosure.size),
            name=f"file.{ext}",
        )
        if self.sel.strip_gps and gps:
            stripped = redact.strip_jpeg_metadata(self._read(path))
            if stripped is None:
                raise UsageError(
                    f"entry {ex.entry.seq}: --strip-gps cannot strip this file's GPS "
                    "(only JPEG is supported); leave it out or select it without --strip-gps"
                )
            params = redact.params_record(redact.STRIP_METHOD, [], 0)
            why = "GPS position removed (--strip-gps)"
            item.status, item.reason = "redacted", why
            item.derived = Derived(
                redact.STRIP_METHOD, stripped, params, why, f"file.stripped.{ext}"
            )
        elif self.patterns and disclosure.size <= _TEXT_LIMIT:
            text = _as_text(self._read(path))
            if text is not None:
                masked, spans = redact.mask(text, self.patterns)
                if spans:
                    self._redact(item, masked.encode(), spans, f"file.redacted.{ext}")
            else:
                ex.notes.append("a binary file: redaction patterns are not applied to it")
        ex.items.append(item)
        gps_reason = (
            "holds the GPS position stripped from the file" if item.derived and gps else None
        )
        self._details_item(ex, withhold=gps_reason)

    def _redact(self, item: Item, data: bytes, spans: int, name: str) -> None:
        labels = ", ".join(p.label for p in self.patterns)
        why = f"masked: {labels}"
        params = redact.params_record(redact.MASK_METHOD, self.patterns, spans)
        item.status, item.reason = "redacted", why
        item.derived = Derived(redact.MASK_METHOD, data, params, why, name)

    @staticmethod
    def _read(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror}") from exc

    def _page_masked(self, ex: Exhibit, roles: list[tuple[int, int, str, str]]) -> int | None:
        """The index of the text snapshot if the patterns match the page, else None."""
        if not self.patterns:
            return None
        warc = object_of(self.case, str(ex.entry.subject["artifact"]))[1]
        text_i, hit = None, False
        for i, (offset, _, _, target) in enumerate(roles):
            role = target.split(":")[2] if target.startswith("urn:custody:") else ""
            if role in ("text", "dom"):
                _, block = read_record(warc, offset)
                hit = hit or redact.matches(block.decode("utf-8", "replace"), self.patterns)
                text_i = i if role == "text" else text_i
        return text_i if hit else None

    def _warc_item(self, commitment: str, stem: str) -> Item:
        """A whole WARC artifact, disclosed as ``<stem>.warc.gz`` (or ``.warc``)."""
        disclosure, path = object_of(self.case, commitment)
        ext = "warc.gz" if self._read_head(path) == b"\x1f\x8b" else "warc"
        source = Source(path=path, size=disclosure.size)
        return Item(
            "artifact",
            commitment,
            "disclosed",
            disclosure=disclosure.raw,
            source=source,
            name=f"{stem}.{ext}",
        )

    def _capture_whole(self, ex: Exhibit) -> None:
        entry = ex.entry
        commitment = str(entry.subject["artifact"])
        _, path = object_of(self.case, commitment)
        units = self._capture_set(entry, lambda u: False)
        roles = record_roles(path, self._sizes(units))
        masked = self._page_masked(ex, roles)
        if masked is None or self.sel.unsafe_unredacted:
            ex.items.append(self._warc_item(commitment, "capture"))
            if masked is not None:
                ex.notes.append("shown unredacted although the page text matches (--unsafe)")
            elif self.patterns:
                ex.notes.append(_CAPTURE_SEARCHED)
        else:
            ex.items.append(Item("artifact", commitment, "withheld", reason=RENDITION))
            ex.units, ex.set_reason = units, RENDITION
            self._record_item(ex, units, roles, masked, path)
        self._details_item(ex)

    def _capture_records(self, ex: Exhibit, rids: set[str]) -> None:
        if any(i.role == "artifact" and i.status == "disclosed" for i in ex.items):
            return  # the whole WARC is shown already
        warc = object_of(self.case, str(ex.entry.subject["artifact"]))[1]
        units = self._capture_set(ex.entry, lambda u: u in rids)
        roles = record_roles(warc, self._sizes(units))
        masked = self._page_masked(ex, roles)
        ex.units = units
        if masked is None and self.patterns:
            ex.notes.append(_CAPTURE_SEARCHED)
        chosen = sorted(units.index[r] for r in rids)
        snapshot_of = {
            i: t.split(":")[2]
            for i, (_, _, _, t) in enumerate(roles)
            if t.startswith("urn:custody:")
        }
        for i in chosen:
            role = snapshot_of.get(i, "")
            if role == "provenance":
                shown = {snapshot_of[j] for j in chosen if j in snapshot_of}
                needed = {snapshot_of[j] for j in snapshot_of if snapshot_of[j] in _SNAPSHOTS}
                if not needed <= shown or masked is not None:
                    raise UsageError(
                        "the provenance record holds the SHA-256 of every snapshot: select "
                        "all snapshots (unmasked) with it, or leave it out"
                    )
            elif masked is not None and i != masked and roles[i][2] in ("response", "resource"):
                if not self.sel.unsafe_unredacted:
                    raise UsageError(
                        f"record {units.unit_ids[i]} {RENDITION}; leave it out, or pass "
                        "--unsafe-show-unredacted"
                    )
                ex.notes.append(f"record {i} shown unredacted (--unsafe-show-unredacted)")
            if not any(it.index == i for it in ex.items):
                self._record_item(ex, units, roles, i if i == masked else None, warc, index=i)
        if not any(it.role == "details" for it in ex.items):
            self._details_item(ex)

    def _record_item(
        self,
        ex: Exhibit,
        units: UnitSet,
        roles: list[tuple[int, int, str, str]],
        masked: int | None,
        warc: Path,
        index: int | None = None,
    ) -> None:
        i = masked if index is None else index
        if i is None:
            return
        offset, size, _, _ = roles[i]
        ext = "warc.gz" if self._read_head(warc, offset) == b"\x1f\x8b" else "warc"
        item = Item(
            "record",
            units.commitments[i],
            "disclosed",
            disclosure=units.disclosures[i],
            source=Source(path=warc, offset=offset, size=size),
            name=f"records/{i:05d}.{ext}",
            index=i,
            unit=units.unit_ids[i],
            proof=units.proof(i),
        )
        if masked == i:
            _, block = read_record(warc, offset)
            text, spans = redact.mask(block.decode("utf-8", "replace"), self.patterns)
            self._redact(item, text.encode(), spans, f"records/{i:05d}.redacted.txt")
        ex.items.append(item)

    @staticmethod
    def _read_head(path: Path, offset: int = 0) -> bytes:
        with path.open("rb") as fh:
            fh.seek(offset)
            return fh.read(2)

    def _import_whole(self, ex: Exhibit) -> None:
        commitment = str(ex.entry.subject["artifact"])
        object_of(self.case, commitment)  # refuse early if its disclosure was altered
        if self.patterns and not self.sel.unsafe_unredacted:
            ex.items.append(Item("artifact", commitment, "withheld", reason=RENDITION))
            reason = "lists the names and SHA-256 of files this bundle withholds"
            self._details_item(ex, withhold=reason)
            return
        ex.items.append(self._warc_item(commitment, "chat"))
        self._details_item(ex)

    def _import_messages(self, ex: Exhibit, ids: set[str]) -> None:
        entry = ex.entry
        if not any(i.role == "details" for i in ex.items):
            reason = "lists the names and SHA-256 of files this bundle withholds"
            self._details_item(ex, withhold=reason)
        fast = indexed.read_messages(self.case, entry.subject, ids)
        if fast is not None:
            units, docs = fast
        else:
            docs = self._message_docs(entry.seq, ids)
            missing = ids - docs.keys()
            if missing:
                raise UsageError(f"message {sorted(missing)[0]!a} is not in its import")

            def wanted(unit: str) -> bool:
                return unit in ids or unit.rpartition(":")[0] in ids

            disclosures = str(entry.subject["artifacts"]["disclosures"])
            units = read_set(self.case, entry.subject, disclosures, wanted)
        ex.units = units
        warc = object_of(self.case, str(entry.subject["artifact"]))[1]
        for unit, i in sorted(units.index.items(), key=lambda kv: kv[1]):
            disclosure = units.disclosures[i]
            size = disclosure_size(disclosure)
            if unit in docs:
                doc = dict(docs[unit])
                line = doc.pop("__line__")
                seq = int(doc.get("seq", i))
                item = Item(
                    "message",
                    units.commitments[i],
                    "disclosed",
                    disclosure=disclosure,
                    source=Source(data=line, size=len(line)),
                    name=f"messages/{seq:06d}.json",
                    index=i,
                    unit=unit,
                    proof=units.proof(i),
                )
                if self.patterns:
                    masked, spans = redact.mask_message(doc, self.patterns)
                    if spans:
                        data = encode_message(masked)
                        self._redact(item, data, spans, f"messages/{seq:06d}.redacted.json")
            else:
                parent = docs[unit.rpartition(":")[0]]
                k = int(unit.rpartition(":")[2])
                att = parent["attachments"][k]
                sha = str(att.get("sha256"))
                seq = int(parent.get("seq", 0))
                item = Item(
                    "attachment",
                    units.commitments[i],
                    "disclosed",
                    disclosure=disclosure,
                    source=Source(path=warc, size=size, warc_block=sha),
                    name=f"messages/{seq:06d}-{k}.{_ext(att.get('name'), 'bin')}",
                    index=i,
                    unit=unit,
                    proof=units.proof(i),
                )
                if self.sel.strip_gps and _ext(att.get("name"), "") in ("jpg", "jpeg"):
                    raise UsageError(
                        f"attachment {unit}: --strip-gps does not reach chat attachments yet; "
                        "leave the message out or bundle without --strip-gps"
                    )
                if self.patterns:
                    self._check_attachment(ex, unit, warc, sha, size)
            ex.items.append(item)

    def _check_attachment(self, ex: Exhibit, unit: str, warc: Path, sha: str, size: int) -> None:
        """An attachment is shown as it is (its message names its digest): one whose text
        matches a pattern (a contact card with the masked phone number) is refused unless
        ``unsafe_unredacted``; a binary one gets a note."""
        text = _as_text(b"".join(warc_block(warc, sha))) if size <= _TEXT_LIMIT else None
        if text is None:
            ex.notes.append(f"attachment {unit} is binary: redaction patterns are not applied")
        elif redact.matches(text, self.patterns):
            if not self.sel.unsafe_unredacted:
                raise UsageError(
                    f"attachment {unit} holds text that this bundle masks; leave its message "
                    "out, or pass --unsafe-show-unredacted"
                )
            ex.notes.append(f"attachment {unit} shown unredacted (--unsafe-show-unredacted)")


def make_plan(case: Case, selection: Selection) -> Plan:
    """Decide every exhibit and unit of a bundle; nothing is written.

    Raises:
        UsageError: the selection names nothing, or something the case does not hold,
            or would show a withheld digest or unmasked text.
        IntegrityError: evidence needed is missing or altered.
    """
    return Planner(case, selection).plan()
