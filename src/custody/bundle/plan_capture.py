"""Planning a web capture's exhibit: the whole WARC, or single records cut from it.

A redaction reaches every rendition of the page: when the patterns match the page's text
or DOM snapshot, the whole WARC (screenshot, PDF, DOM, responses) is withheld and a
masked copy of the text snapshot is shown instead, unless the user asked for
``unsafe_unredacted``. The provenance record names every snapshot's SHA-256, so it is
shown only with all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from custody import log
from custody.bundle import redact
from custody.bundle.model import RENDITION, Exhibit, Item, Source, read_head
from custody.bundle.sets import UnitSet, disclosure_size, object_of, read_set, record_roles
from custody.capture.units import read_record
from custody.errors import UsageError

if TYPE_CHECKING:
    from custody.bundle.plan import Planner

_SNAPSHOTS = ("screenshot", "pdf", "dom", "text")
# patterns are matched against what the page showed, not every response (scripts, JSON,
# compressed bodies): a court must not read the absence of masks as "nothing matched"
_SEARCHED = (
    "the redaction patterns were searched in the page's text and DOM only, and did not "
    "match; the records are shown as captured"
)
Roles = list[tuple[int, int, str, str]]  # (offset, size, WARC-Type, WARC-Target-URI)


class CapturePlanner:
    """The capture part of a :class:`custody.bundle.plan.Planner`."""

    def __init__(self, planner: Planner) -> None:
        self.p = planner

    def unit_set(self, entry: log.Entry, wanted: Callable[[str], bool]) -> UnitSet:
        """Every record's unit of a capture, with every disclosure."""
        disclosures = str(entry.subject.get("artifacts", {}).get("disclosures"))
        return read_set(self.p.case, entry.subject, disclosures, wanted, all_disclosures=True)

    @staticmethod
    def _sizes(units: UnitSet) -> list[int]:
        return [disclosure_size(units.disclosures[i]) for i in range(units.count)]

    def chosen_records(self) -> dict[int, set[str]]:
        """The record units ``--warc-record`` names (a record id or a target URI), by
        capture entry.

        Raises:
            UsageError: a name matches no record of any capture.
        """
        wanted: dict[int, set[str]] = {}
        if not self.p.sel.warc_records:
            return wanted
        asked = {r if not r.startswith("urn:") else f"<{r}>" for r in self.p.sel.warc_records}
        found: set[str] = set()
        for entry in self.p.entries.values():
            if entry.type != "capture":
                continue
            units = self.unit_set(entry, lambda u: False)
            warc = object_of(self.p.case, str(entry.subject["artifact"]))[1]
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

    def _page_masked(self, ex: Exhibit, roles: Roles) -> int | None:
        """The index of the text snapshot if the patterns match the page, else None."""
        if not self.p.patterns:
            return None
        warc = object_of(self.p.case, str(ex.entry.subject["artifact"]))[1]
        text_i, hit = None, False
        for i, (offset, _, _, target) in enumerate(roles):
            role = target.split(":")[2] if target.startswith("urn:custody:") else ""
            if role in ("text", "dom"):
                _, block = read_record(warc, offset)
                hit = hit or redact.matches(block.decode("utf-8", "replace"), self.p.patterns)
                text_i = i if role == "text" else text_i
        return text_i if hit else None

    def whole(self, ex: Exhibit) -> None:
        """The whole WARC, or (when the page's text is masked) its masked text record."""
        entry = ex.entry
        commitment = str(entry.subject["artifact"])
        _, path = object_of(self.p.case, commitment)
        units = self.unit_set(entry, lambda u: False)
        roles = record_roles(path, self._sizes(units))
        masked = self._page_masked(ex, roles)
        if masked is None or self.p.sel.unsafe_unredacted:
            ex.items.append(self.p.warc_item(commitment, "capture"))
            if masked is not None:
                ex.notes.append("shown unredacted although the page text matches (--unsafe)")
            elif self.p.patterns:
                ex.notes.append(_SEARCHED)
        else:
            ex.items.append(Item("artifact", commitment, "withheld", reason=RENDITION))
            ex.units, ex.set_reason = units, RENDITION
            self._record_item(ex, units, roles, masked, path)
        self.p.details_item(ex)

    def records(self, ex: Exhibit, rids: set[str]) -> None:
        """Single records of a capture.

        Raises:
            UsageError: the provenance record without every snapshot, or a record that
                shows masked text, without ``unsafe_unredacted``.
        """
        if any(i.role == "artifact" and i.status == "disclosed" for i in ex.items):
            return  # the whole WARC is shown already
        warc = object_of(self.p.case, str(ex.entry.subject["artifact"]))[1]
        units = self.unit_set(ex.entry, lambda u: u in rids)
        roles = record_roles(warc, self._sizes(units))
        masked = self._page_masked(ex, roles)
        ex.units = units
        if masked is None and self.p.patterns:
            ex.notes.append(_SEARCHED)
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
                if not self.p.sel.unsafe_unredacted:
                    raise UsageError(
                        f"record {units.unit_ids[i]} {RENDITION}; leave it out, or pass "
                        "--unsafe-show-unredacted"
                    )
                ex.notes.append(f"record {i} shown unredacted (--unsafe-show-unredacted)")
            if not any(it.index == i for it in ex.items):
                self._record_item(ex, units, roles, i if i == masked else None, warc, index=i)
        if not any(it.role == "details" for it in ex.items):
            self.p.details_item(ex)

    def _record_item(
        self,
        ex: Exhibit,
        units: UnitSet,
        roles: Roles,
        masked: int | None,
        warc: Path,
        index: int | None = None,
    ) -> None:
        i = masked if index is None else index
        if i is None:
            return
        offset, size, _, _ = roles[i]
        ext = "warc.gz" if read_head(warc, offset) == b"\x1f\x8b" else "warc"
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
            text, spans = redact.mask(block.decode("utf-8", "replace"), self.p.patterns)
            self.p.redact_item(item, text.encode(), spans, f"records/{i:05d}.redacted.txt")
        ex.items.append(item)
