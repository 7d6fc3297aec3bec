"""Planning a chat import's exhibit: the whole export, or single messages with their
attachments.

A message ships with its attachments (its line names their SHA-256), and a message whose
text matches a redaction pattern ships as a masked derived copy. Chosen messages are read
through the import's unit index when it has one (:mod:`custody.bundle.indexed`: time
proportional to what is disclosed), else from the whole set.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from custody import strictjson
from custody.bundle import indexed, redact
from custody.bundle.model import RENDITION, TEXT_LIMIT, Exhibit, Item, Source, as_text, ext_of
from custody.bundle.sets import disclosure_size, object_of, read_set, warc_block
from custody.chat import messages as chat_messages
from custody.chat.units import encode_message
from custody.errors import UsageError

if TYPE_CHECKING:
    from custody.bundle.plan import Planner

_SENDER = re.compile(rb'"sender(?:_raw)?":"((?:[^"\\]|\\.)*)"')
_ID = re.compile(rb'"id":"([^"\\]+)"')
_LISTS_FILES = "lists the names and SHA-256 of files this bundle withholds"


class ChatPlanner:
    """The chat part of a :class:`custody.bundle.plan.Planner`."""

    def __init__(self, planner: Planner) -> None:
        self.p = planner
        self._docs: dict[int, dict[str, dict[str, Any]]] = {}

    def chosen_messages(self) -> dict[int, set[str]]:
        """The message ids ``--message`` and ``--import`` choose, by import entry.

        Raises:
            UsageError: an id names no import, or a filter matches nothing.
        """
        imports = {i.import_id: i for i in chat_messages.list_imports(self.p.case)}
        wanted: dict[int, set[str]] = {}
        for mid in self.p.sel.messages:
            info = imports.get(mid.rpartition(":")[0])
            if info is None:
                raise UsageError(f"--message {mid!a}: no import of this case has that message id")
            wanted.setdefault(info.seq, set()).add(mid)
        for choice in self.p.sel.imports:
            flt = chat_messages.Filter(choice.import_id, choice.since, choice.until, choice.sender)
            ids = {str(doc["id"]) for doc in chat_messages.select_messages(self.p.case, flt)}
            if not ids:
                raise UsageError(f"--import {choice.import_id!a}: no message matches")
            wanted.setdefault(imports[choice.import_id].seq, set()).update(ids)
        return wanted

    def senders(self, seq: int) -> set[str]:
        """Every sender name of an import: not only those of the messages shown, whose
        text names the others (``--redact-text names``)."""
        out: set[str] = set()
        messages = str(self.p.entries[seq].subject["artifacts"]["messages"])
        for line in chat_messages._lines(self.p.case, messages):
            for literal in _SENDER.findall(line):  # a key: quotes in text are escaped
                name = strictjson.loads_strict(b'"' + literal + b'"')
                if isinstance(name, str):
                    out.add(name)
        return out

    def message_docs(self, seq: int, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The messages ``ids`` of import ``seq``, each with its line under ``"__line__"``,
        read from the whole messages artifact."""
        if seq in self._docs and ids <= self._docs[seq].keys():
            return self._docs[seq]
        messages = str(self.p.entries[seq].subject["artifacts"]["messages"])
        found: dict[str, dict[str, Any]] = {}
        for line in chat_messages._lines(self.p.case, messages):
            if any(m.decode() in ids for m in _ID.findall(line)):
                doc = strictjson.loads_strict(line)
                if isinstance(doc, dict) and doc.get("id") in ids:
                    found[str(doc["id"])] = doc | {"__line__": line}
        self._docs[seq] = found
        return found

    def whole(self, ex: Exhibit) -> None:
        """The whole export's WARC, withheld when patterns mask anything (it holds the
        original text)."""
        commitment = str(ex.entry.subject["artifact"])
        object_of(self.p.case, commitment)  # refuse early if its disclosure was altered
        if self.p.patterns and not self.p.sel.unsafe_unredacted:
            ex.items.append(Item("artifact", commitment, "withheld", reason=RENDITION))
            self.p.details_item(ex, withhold=_LISTS_FILES)
            return
        ex.items.append(self.p.warc_item(commitment, "chat"))
        self.p.details_item(ex)

    def messages(self, ex: Exhibit, ids: set[str]) -> None:
        """Single messages of an import, each with its attachments.

        Raises:
            UsageError: a message is not in the import, or an attachment cannot be shown
                as the selection asks.
        """
        entry = ex.entry
        if not any(i.role == "details" for i in ex.items):
            self.p.details_item(ex, withhold=_LISTS_FILES)
        fast = indexed.read_messages(self.p.case, entry.subject, ids)
        if fast is not None:
            units, docs = fast
        else:
            docs = self.message_docs(entry.seq, ids)
            missing = ids - docs.keys()
            if missing:
                raise UsageError(f"message {sorted(missing)[0]!a} is not in its import")

            def wanted(unit: str) -> bool:
                return unit in ids or unit.rpartition(":")[0] in ids

            disclosures = str(entry.subject["artifacts"]["disclosures"])
            units = read_set(self.p.case, entry.subject, disclosures, wanted)
        ex.units = units
        warc = object_of(self.p.case, str(entry.subject["artifact"]))[1]
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
                if self.p.patterns:
                    masked, spans = redact.mask_message(doc, self.p.patterns)
                    if spans:
                        data = encode_message(masked)
                        name = f"messages/{seq:06d}.redacted.json"
                        self.p.redact_item(item, data, spans, name)
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
                    name=f"messages/{seq:06d}-{k}.{ext_of(att.get('name'), 'bin')}",
                    index=i,
                    unit=unit,
                    proof=units.proof(i),
                )
                if self.p.sel.strip_gps and ext_of(att.get("name"), "") in ("jpg", "jpeg"):
                    raise UsageError(
                        f"attachment {unit}: --strip-gps does not reach chat attachments yet; "
                        "leave the message out or bundle without --strip-gps"
                    )
                if self.p.patterns:
                    self._check_attachment(ex, unit, warc, sha, size)
            ex.items.append(item)

    def _check_attachment(self, ex: Exhibit, unit: str, warc: Path, sha: str, size: int) -> None:
        """An attachment is shown as it is (its message names its digest): one whose text
        matches a pattern (a contact card with the masked phone number) is refused unless
        ``unsafe_unredacted``; a binary one gets a note."""
        text = as_text(b"".join(warc_block(warc, sha))) if size <= TEXT_LIMIT else None
        if text is None:
            ex.notes.append(f"attachment {unit} is binary: redaction patterns are not applied")
        elif redact.matches(text, self.p.patterns):
            if not self.p.sel.unsafe_unredacted:
                raise UsageError(
                    f"attachment {unit} holds text that this bundle masks; leave its message "
                    "out, or pass --unsafe-show-unredacted"
                )
            ex.notes.append(f"attachment {unit} shown unredacted (--unsafe-show-unredacted)")
