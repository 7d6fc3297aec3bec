"""Message lines, per-unit commitments, and the re-check of an import's Merkle root.

Each message is one line of the messages artifact: RFC 8785 canonical JSON, then ``\\n``.
Its *unit* is the line without the newline; each attachment present in the export is a
unit too (the file's bytes). Units are committed in order (a message, then its present
attachments) with :func:`custody.commitments.make_disclosure`. Two artifacts keep them:

* the commitment list: one canonical ``{"commitment": C, "unit": ID}`` a line (public:
  commitments reveal nothing);
* the disclosures: line *i* holds the exact disclosure bytes of unit *i* (secret: salts).

The ``import`` entry holds ``{"root", "count", "list"}``: the RFC 6962 root over the
commitments (built as they are written, :class:`custody.commitments.CommitmentsRoot`:
memory does not grow with the chat), their count, and the commitment to the list
artifact. The design is shared with web capture (:mod:`custody.units`).
:func:`check_import` recomputes all of it, reading the list once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sized
from typing import Any, BinaryIO

from custody import canonical, commitments, hashing, log, store, strictjson
from custody.case import Case
from custody.chat.base import FileInfo, Message
from custody.errors import CustodyError
from custody.unitindex import IndexRecorder
from custody.units import (
    Problem,
    UnitLists,
    Unverifiable,
    artifact_lines,
    digests_of,
    listed_units,
    root_problems,
    units_of,
)

__all__ = ["ATTACHMENT_KIND", "MESSAGE_KIND", "Problem", "UnitWriter", "check_import"]

MESSAGE_KIND = "chat-message"
ATTACHMENT_KIND = "chat-attachment"


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


def encode_message(doc: dict[str, Any], *, floats: bool = True) -> bytes:
    """RFC 8785 bytes of a message object.

    Without floats (``floats=False`` says the caller knows there are none) the standard
    library's compact sorted output is already canonical: keys are ASCII, integers are
    small, and strings are valid Unicode escaped exactly as RFC 8785 escapes them.

    Raises:
        StrictJSONError: the object has no canonical form.
    """
    if floats and _has_float(doc):
        return canonical.dumps(doc)
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class UnitWriter:
    """Writes messages and their units' commitments and disclosures, in order."""

    def __init__(
        self,
        import_id: str,
        messages: BinaryIO,
        listing: BinaryIO,
        disclosures: BinaryIO,
        files: Mapping[str, FileInfo],  # by SHA-256: the package's files
    ) -> None:
        self.import_id, self.messages, self.files = import_id, messages, files
        self.index = IndexRecorder()
        self.units = UnitLists(listing, disclosures, self.index)
        self.count_messages = 0

    @property
    def count_units(self) -> int:
        """The units committed so far (messages and present attachments)."""
        return self.units.count

    @property
    def commitments(self) -> Sized:
        """Sized like the list of commitments so far: only ``len()`` (see ``count_units``)."""
        return self.units.commitments

    def add(self, message: Message) -> None:
        """Write one message line and commit it and its present attachments."""
        units: list[tuple[str, hashing.Digests]] = []
        line = message.json_line(self.import_id)  # most messages: no dict built (fast)
        if line is not None:
            unit_id = f"{self.import_id}:{message.seq}"
        else:
            doc = message.to_dict(self.import_id)
            unit_id = doc["id"]
            for k, attachment in enumerate(doc["attachments"]):
                info = self.files.get(attachment.get("sha256") or "")
                if info is not None:
                    attachment["unit"] = f"{doc['id']}:{k}"
                    units.append(
                        (attachment["unit"], hashing.Digests(info.sha256, info.sha512, info.size))
                    )
            line = encode_message(doc, floats=_has_float(dict(message.extra)))
        self.messages.write(line + b"\n")
        self.index.message(len(line) + 1)
        self.units.commit(MESSAGE_KIND, unit_id, digests_of(line))
        for unit, digests in units:
            self.units.commit(ATTACHMENT_KIND, unit, digests)
        self.count_messages += 1

    def root(self) -> str:
        return self.units.root()

    def index_parts(self) -> list[bytes | memoryview]:
        """The :mod:`custody.unitindex` file of what was written, in parts."""
        return self.index.parts(self.units.builder)


def _subject(subject: Mapping[str, Any]) -> tuple[str, int, str, str, str, str]:
    try:
        root, count, listing = units_of(subject)
    except Unverifiable:
        raise Unverifiable(
            "the import entry's subject is malformed (units, artifacts, details)"
        ) from None
    artifacts = subject.get("artifacts")
    refs = [
        artifacts.get(k) if isinstance(artifacts, dict) else None
        for k in ("messages", "disclosures")
    ]
    refs.append(subject.get("details"))
    if not all(commitments.is_commitment(r) for r in refs):
        raise Unverifiable("the import entry's subject is malformed (units, artifacts, details)")
    return root, count, listing, str(refs[0]), str(refs[1]), str(refs[2])


def _details_files(case: Case, commitment: str) -> set[str]:
    disclosure = store.read_disclosure(case, commitment)
    try:
        doc = strictjson.loads_strict(case.object_path(disclosure.sha256).read_bytes())
    except (OSError, CustodyError):
        raise Unverifiable("the import details record cannot be read") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        raise Unverifiable("the import details record lists no files")
    return {str(f.get("sha256")) for f in files if isinstance(f, dict)}


def check_import(case: Case, entry: log.Entry) -> list[Problem]:
    """Recompute every unit of an ``import`` entry: disclosure → commitment → Merkle root.

    Checks that each message line and each attachment committed matches its disclosure
    (SHA-256 and size), that each disclosure hashes to the commitment listed for it, that
    the list has the logged count and root, that every message and every present
    attachment is committed in order, and that the three artifacts are unaltered.
    Nothing is written.
    """
    problems: list[Problem] = []
    try:
        root, count, listing, messages, disclosures, details = _subject(entry.subject)
        present = _details_files(case, details)
        found = _walk(case, listing, messages, disclosures, present, problems)
    except Unverifiable as stop:
        return [*problems, Problem("import-unverifiable", str(stop))]
    except CustodyError as exc:
        return [*problems, Problem("import-unverifiable", exc.message)]
    return problems + root_problems(found, count, root)


def _walk(
    case: Case,
    listing: str,
    messages: str,
    disclosures: str,
    present: set[str],
    problems: list[Problem],
) -> commitments.CommitmentsRoot:
    found = commitments.CommitmentsRoot()  # count and root as the list is read: none of it is kept
    message_lines = artifact_lines(case, messages, "messages")
    expected: list[tuple[str, str, int]] = []  # units the current message needs: (id, sha256, size)
    for _, commitment, unit, disclosure in listed_units(case, listing, disclosures, problems):
        found.add(commitment)
        if not expected:
            line = next(message_lines, None)
            if line is None:
                raise Unverifiable(f"unit {unit} has no message line")
            expected = _expected_units(line, present, problems)
        want_id, want_sha, want_size = expected.pop(0)
        if unit != want_id or (disclosure.sha256, disclosure.size) != (want_sha, want_size):
            problems.append(
                Problem("unit-mismatch", f"unit {unit} does not match {want_id} as committed")
            )
    if expected or next(message_lines, None) is not None:
        problems.append(Problem("unit-missing", "some messages or attachments have no commitment"))
    return found


def _expected_units(
    line: bytes, present: set[str], problems: list[Problem]
) -> list[tuple[str, str, int]]:
    doc = strictjson.loads_strict(line)
    units = [(str(doc.get("id")), hashlib.sha256(line).hexdigest(), len(line))]
    for attachment in doc.get("attachments") or []:
        if "unit" in attachment:
            sha = str(attachment.get("sha256"))
            if sha not in present:
                problems.append(
                    Problem(
                        "unit-unknown-file",
                        f"unit {attachment['unit']} names a file the export does not hold",
                    )
                )
            units.append((str(attachment["unit"]), sha, int(attachment.get("size", -1))))
    return units
