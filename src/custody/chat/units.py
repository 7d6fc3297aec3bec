"""Message lines, per-unit commitments, and the re-check of an import's Merkle root.

Each message is one line of the messages artifact: RFC 8785 canonical JSON, then ``\\n``.
Its *unit* is the line without the newline; each attachment present in the export is a
unit too (the file's bytes). Units are committed in order (a message, then its present
attachments) with :func:`custody.commitments.make_disclosure`. Two artifacts keep them:

* the commitment list: one canonical ``{"commitment": C, "unit": ID}`` a line (public:
  commitments reveal nothing);
* the disclosures: line *i* holds the exact disclosure bytes of unit *i* (secret: salts).

The ``import`` entry holds ``{"root", "count", "list"}``: the RFC 6962 root over the
commitments (:func:`custody.commitments.commitments_root`), their count, and the commitment
to the list artifact. :func:`check_import` recomputes all of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, BinaryIO

from custody import canonical, commitments, hashing, log, store, strictjson
from custody.case import Case
from custody.chat.base import FileInfo, Message
from custody.errors import CustodyError

MESSAGE_KIND = "chat-message"
ATTACHMENT_KIND = "chat-attachment"
_HEX64 = re.compile(r"[0-9a-f]{64}")


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


def _digests(data: bytes) -> hashing.Digests:
    return hashing.Digests(
        hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), len(data)
    )


@dataclass
class UnitWriter:
    """Writes messages and their units' commitments and disclosures, in order."""

    import_id: str
    messages: BinaryIO
    listing: BinaryIO
    disclosures: BinaryIO
    files: Mapping[str, FileInfo]  # by SHA-256: the package's files
    commitments: list[str] = field(default_factory=list)
    count_messages: int = 0

    def add(self, message: Message) -> None:
        """Write one message line and commit it and its present attachments."""
        doc = message.to_dict(self.import_id)
        units: list[tuple[str, hashing.Digests]] = []
        for k, attachment in enumerate(doc["attachments"]):
            info = self.files.get(attachment.get("sha256") or "")
            if info is not None:
                attachment["unit"] = f"{doc['id']}:{k}"
                units.append(
                    (attachment["unit"], hashing.Digests(info.sha256, info.sha512, info.size))
                )
        line = encode_message(doc, floats=_has_float(dict(message.extra)))
        self.messages.write(line + b"\n")
        self._commit(MESSAGE_KIND, doc["id"], _digests(line))
        for unit, digests in units:
            self._commit(ATTACHMENT_KIND, unit, digests)
        self.count_messages += 1

    def _commit(self, kind: str, unit: str, digests: hashing.Digests) -> None:
        disclosure = commitments.make_disclosure(kind, digests)
        commitment = disclosure.commitment
        # the RFC 8785 form of {"commitment": C, "unit": U}: both are ASCII without escapes
        self.listing.write(f'{{"commitment":"{commitment}","unit":"{unit}"}}\n'.encode())
        self.disclosures.write(disclosure.raw + b"\n")
        self.commitments.append(commitment)

    def root(self) -> str:
        return commitments.commitments_root(self.commitments)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing :func:`check_import` found wrong."""

    code: str
    message: str


class _Stop(Exception):
    pass


def _lines(case: Case, commitment: str, what: str) -> Iterator[bytes]:
    """The lines of a committed artifact (without newlines); its digest checked at the end."""
    disclosure = store.read_disclosure(case, commitment)
    path = case.object_path(disclosure.sha256)
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as fh:
            for line in fh:
                digest.update(line)
                size += len(line)
                yield line.removesuffix(b"\n")
    except OSError as exc:
        raise _Stop(f"the {what} artifact cannot be read: {exc.strerror}") from None
    if digest.hexdigest() != disclosure.sha256 or size != disclosure.size:
        raise _Stop(f"the {what} artifact was altered")


def _subject(subject: Mapping[str, Any]) -> tuple[str, int, str, str, str, str]:
    units, artifacts = subject.get("units"), subject.get("artifacts")
    ok = isinstance(units, dict) and isinstance(artifacts, dict)
    root = units.get("root") if isinstance(units, dict) else None
    count = units.get("count") if isinstance(units, dict) else None
    refs = [units.get("list") if isinstance(units, dict) else None]
    refs += [
        artifacts.get(k) if isinstance(artifacts, dict) else None
        for k in ("messages", "disclosures")
    ]
    refs.append(subject.get("details"))
    if not (
        ok
        and isinstance(root, str)
        and _HEX64.fullmatch(root)
        and type(count) is int
        and count >= 0
        and all(commitments.is_commitment(r) for r in refs)
    ):
        raise _Stop("the import entry's subject is malformed (units, artifacts, details)")
    return root, count, str(refs[0]), str(refs[1]), str(refs[2]), str(refs[3])


def _details_files(case: Case, commitment: str) -> set[str]:
    disclosure = store.read_disclosure(case, commitment)
    try:
        doc = strictjson.loads_strict(case.object_path(disclosure.sha256).read_bytes())
    except (OSError, CustodyError):
        raise _Stop("the import details record cannot be read") from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list):
        raise _Stop("the import details record lists no files")
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
    except _Stop as stop:
        return [*problems, Problem("import-unverifiable", str(stop))]
    except CustodyError as exc:
        return [*problems, Problem("import-unverifiable", exc.message)]
    if len(found) != count:
        problems.append(
            Problem("units-count", f"{len(found)} units listed, the entry says {count}")
        )
    if commitments.commitments_root(found) != root:
        problems.append(Problem("units-root", "the commitments do not give the logged Merkle root"))
    return problems


def _walk(
    case: Case,
    listing: str,
    messages: str,
    disclosures: str,
    present: set[str],
    problems: list[Problem],
) -> list[str]:
    found: list[str] = []
    message_lines = _lines(case, messages, "messages")
    expected: list[tuple[str, str, int]] = []  # units the current message needs: (id, sha256, size)
    for i, (row, disc) in enumerate(
        zip_longest(
            _lines(case, listing, "commitment list"), _lines(case, disclosures, "disclosures")
        )
    ):
        if row is None or disc is None:
            raise _Stop("the commitment list and the disclosures differ in length")
        item = strictjson.loads_strict(row)
        commitment, unit = item.get("commitment"), item.get("unit")
        if not commitments.is_commitment(commitment) or not isinstance(unit, str):
            raise _Stop(f"line {i + 1} of the commitment list is malformed")
        found.append(commitment)
        disclosure = commitments.parse_disclosure(disc)
        if disclosure.commitment != commitment:
            problems.append(
                Problem(
                    "unit-commitment",
                    f"unit {unit}: its disclosure does not hash to its commitment",
                )
            )
        if not expected:
            line = next(message_lines, None)
            if line is None:
                raise _Stop(f"unit {unit} has no message line")
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
