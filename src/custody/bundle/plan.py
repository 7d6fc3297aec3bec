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

from typing import Any

from custody import log, strictjson
from custody.bundle import redact
from custody.bundle.model import (
    DEFAULT_REASON,
    RENDITION,
    TEXT_LIMIT,
    Derived,
    Exhibit,
    ImportChoice,
    Item,
    Plan,
    Selection,
    Source,
    as_text,
    ext_of,
    read_bytes,
    read_head,
)
from custody.bundle.plan_capture import CapturePlanner
from custody.bundle.plan_chat import ChatPlanner
from custody.bundle.sets import object_of
from custody.case import Case
from custody.errors import CustodyError, IntegrityError, UsageError

__all__ = [
    "DEFAULT_REASON",
    "RENDITION",
    "Derived",
    "Exhibit",
    "ImportChoice",
    "Item",
    "Plan",
    "Planner",
    "Selection",
    "Source",
    "make_plan",
    "read_entries",
]


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


class Planner:
    """Builds a :class:`Plan` from a :class:`Selection`: files here, captures in
    :class:`CapturePlanner`, chats in :class:`ChatPlanner`."""

    def __init__(self, case: Case, selection: Selection) -> None:
        self.case, self.sel = case, selection
        self.entries = read_entries(case)
        self.patterns: list[redact.Pattern] = []
        self.exhibits: dict[int, Exhibit] = {}
        self.captures = CapturePlanner(self)
        self.chats = ChatPlanner(self)

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
        wanted_messages = self.chats.chosen_messages()
        wanted_records = self.captures.chosen_records()
        names: set[str] = set()
        if "names" in sel.redact:
            chats = {e.seq for e in whole if e.type == "import"} | set(wanted_messages)
            for seq in sorted(chats):
                names |= self.chats.senders(seq)
        self.patterns = redact.compile_patterns(sel.redact, names) if sel.redact else []
        for entry in whole:
            ex = self.exhibit(entry.seq)
            if entry.type == "add":
                self._add(ex)
            elif entry.type == "capture":
                self.captures.whole(ex)
            else:
                self.chats.whole(ex)
        for seq, ids in wanted_messages.items():
            self.chats.messages(self.exhibit(seq), ids)
        for seq, rids in wanted_records.items():
            self.captures.records(self.exhibit(seq), rids)
        exhibits = [self.exhibits[s] for s in sorted(self.exhibits)]
        return Plan(self.case, self.entries, exhibits, self.patterns, sel)

    def exhibit(self, seq: int) -> Exhibit:
        """The exhibit of entry ``seq`` (made on first use)."""
        if seq not in self.exhibits:
            self.exhibits[seq] = Exhibit(self.entries[seq], set_reason=self.sel.withhold_reason)
        return self.exhibits[seq]

    def details_item(self, ex: Exhibit, withhold: str | None = None) -> dict[str, Any]:
        """The details record of an exhibit: disclosed, or withheld with ``withhold``
        (or because it shows masked text)."""
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
        ext = ext_of(doc.get("original_name"), "bin")
        item = Item(
            "artifact",
            commitment,
            "disclosed",
            disclosure=disclosure.raw,
            source=Source(path=path, size=disclosure.size),
            name=f"file.{ext}",
        )
        if self.sel.strip_gps and gps:
            stripped = redact.strip_jpeg_metadata(read_bytes(path))
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
        elif self.patterns and disclosure.size <= TEXT_LIMIT:
            text = as_text(read_bytes(path))
            if text is not None:
                masked, spans = redact.mask(text, self.patterns)
                if spans:
                    self.redact_item(item, masked.encode(), spans, f"file.redacted.{ext}")
            else:
                ex.notes.append("a binary file: redaction patterns are not applied to it")
        ex.items.append(item)
        gps_reason = (
            "holds the GPS position stripped from the file" if item.derived and gps else None
        )
        self.details_item(ex, withhold=gps_reason)

    def redact_item(self, item: Item, data: bytes, spans: int, name: str) -> None:
        """Mark ``item`` redacted, with ``data`` (masked by the patterns) as its derived copy."""
        labels = ", ".join(p.label for p in self.patterns)
        why = f"masked: {labels}"
        params = redact.params_record(redact.MASK_METHOD, self.patterns, spans)
        item.status, item.reason = "redacted", why
        item.derived = Derived(redact.MASK_METHOD, data, params, why, name)

    def warc_item(self, commitment: str, stem: str) -> Item:
        """A whole WARC artifact, disclosed as ``<stem>.warc.gz`` (or ``.warc``)."""
        disclosure, path = object_of(self.case, commitment)
        ext = "warc.gz" if read_head(path) == b"\x1f\x8b" else "warc"
        source = Source(path=path, size=disclosure.size)
        return Item(
            "artifact",
            commitment,
            "disclosed",
            disclosure=disclosure.raw,
            source=source,
            name=f"{stem}.{ext}",
        )


def make_plan(case: Case, selection: Selection) -> Plan:
    """Decide every exhibit and unit of a bundle; nothing is written.

    Raises:
        UsageError: the selection names nothing, or something the case does not hold,
            or would show a withheld digest or unmasked text.
        IntegrityError: evidence needed is missing or altered.
    """
    return Planner(case, selection).plan()
