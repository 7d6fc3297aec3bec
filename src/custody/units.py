"""Many units committed at once: a commitment list, a disclosures artifact, a Merkle root.

A chat import commits to every message and attachment, a web capture to every WARC
record; both use this one design (DESIGN section 5, docs/formats/commitments.md):

* each unit gets a fresh disclosure (:func:`custody.commitments.make_disclosure`);
* the *commitment list* artifact holds one RFC 8785 ``{"commitment": C, "unit": ID}`` a
  line, in order (public: commitments reveal nothing about withheld units);
* the *disclosures* artifact holds, on line *i*, the exact disclosure bytes of unit *i*
  (secret: the salts);
* the entry holds ``{"root", "count", "list"}``: the RFC 6962 root over the commitments
  (:class:`custody.commitments.CommitmentsRoot`, built as they are written: no list of
  them is kept), their count, and the commitment to the list artifact; and the
  commitment to the disclosures artifact beside it.

:class:`UnitLists` writes the two artifacts; :func:`listed_units` reads them back for a
verifier, which compares each disclosure with the unit's bytes its own way, and
:func:`root_problems` checks the count and root.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sized
from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Any, BinaryIO

from custody import canonical, commitments, hashing, merkle, store, strictjson
from custody.case import Case
from custody.errors import CustodyError
from custody.unitindex import CHUNK_LEVEL, IndexRecorder

_HEX64 = re.compile(r"[0-9a-f]{64}")
_PLAIN = re.compile(r"[ -!#-\[\]-~]*")  # printable ASCII without '"' and '\': no escapes


class Unverifiable(Exception):
    """The units cannot be checked at all (malformed subject, unreadable artifact)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing a units check found wrong."""

    code: str
    message: str


def list_line(commitment: str, unit: str) -> bytes:
    """The RFC 8785 line (with its newline) of one unit in a commitment list."""
    if _PLAIN.fullmatch(unit):  # both strings need no escape: JCS is the plain text
        return f'{{"commitment":"{commitment}","unit":"{unit}"}}\n'.encode()
    return canonical.dumps({"commitment": commitment, "unit": unit}) + b"\n"


def digests_of(data: bytes) -> hashing.Digests:
    """SHA-256, SHA-512 and size of a small byte string."""
    return hashing.Digests(
        hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), len(data)
    )


class CommittedCount:
    """What ``len()`` of a commitment list held in memory gave, without the list.

    :attr:`UnitLists.commitments` was a list of every commitment, kept only to count them
    and compute their root at the end; both are now computed as the units are committed.
    """

    __slots__ = ("_root",)

    def __init__(self, root: commitments.CommitmentsRoot) -> None:
        self._root = root

    def __len__(self) -> int:
        return self._root.count


@dataclass
class UnitLists:
    """Writes the commitment list and the disclosures of many units, in order.

    The commitments themselves are not kept: their count and RFC 6962 root are built as
    they are written (:class:`custody.commitments.CommitmentsRoot`), so memory does not
    grow with the number of units.
    """

    listing: BinaryIO
    disclosures: BinaryIO
    index: IndexRecorder | None = None
    """With a recorder, each unit's line offsets and the hash of each run of leaves are
    kept for :mod:`custody.unitindex` (a few bytes a unit)."""
    _root: commitments.CommitmentsRoot = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._root = commitments.CommitmentsRoot(CHUNK_LEVEL if self.index else None)

    @property
    def builder(self) -> merkle.RootBuilder:
        """The root builder over the commitments so far."""
        return self._root.builder

    @property
    def count(self) -> int:
        """The number of units committed so far."""
        return self._root.count

    @property
    def commitments(self) -> Sized:
        """Sized like the list of commitments so far (only ``len()``: use :attr:`count`)."""
        return CommittedCount(self._root)

    def commit(self, kind: str, unit: str, digests: hashing.Digests) -> str:
        """Commit to one unit with a fresh disclosure; return its commitment.

        Raises:
            OSError: writing to one of the two streams fails.
        """
        raw = commitments.fresh_disclosure_bytes(kind, digests)
        commitment = commitments.commitment_of(raw)
        line = list_line(commitment, unit)
        self.listing.write(line)
        self.disclosures.write(raw + b"\n")
        self._root.add(commitment)
        if self.index is not None:
            self.index.unit(len(line), len(raw) + 1)
        return commitment

    def root(self) -> str:
        """The RFC 6962 root (hex) over the commitments so far."""
        return self._root.root()


def artifact_lines(case: Case, commitment: str, what: str) -> Iterator[bytes]:
    """The lines of a committed artifact (without newlines); its digest checked at the end.

    Raises:
        Unverifiable: the artifact cannot be read, or it was altered.
        IntegrityError: its disclosure is missing or malformed.
    """
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
        raise Unverifiable(f"the {what} artifact cannot be read: {exc.strerror}") from None
    if digest.hexdigest() != disclosure.sha256 or size != disclosure.size:
        raise Unverifiable(f"the {what} artifact was altered")


def units_of(subject: Mapping[str, Any]) -> tuple[str, int, str]:
    """``(root, count, list commitment)`` of an entry subject's ``units`` member.

    Raises:
        Unverifiable: it is missing or malformed.
    """
    units = subject.get("units")
    if not isinstance(units, dict):
        raise Unverifiable("the entry's subject has no units")
    root, count, listing = units.get("root"), units.get("count"), units.get("list")
    if not (
        isinstance(root, str)
        and _HEX64.fullmatch(root)
        and type(count) is int
        and count >= 0
        and commitments.is_commitment(listing)
    ):
        raise Unverifiable("the entry's units are malformed (root, count, list)")
    return root, count, str(listing)


def listed_units(
    case: Case, listing: str, disclosures: str, problems: list[Problem]
) -> Iterator[tuple[int, str, str, commitments.Disclosure]]:
    """``(index, commitment, unit, disclosure)`` of every unit, in order.

    Adds a ``unit-commitment`` problem for each disclosure that does not hash to the
    commitment listed beside it (the unit is yielded all the same).

    Raises:
        Unverifiable: the two artifacts differ in length, cannot be read or were
            altered, or a line of the list is malformed.
        IntegrityError: a disclosure is malformed.
    """
    pairs = zip_longest(
        artifact_lines(case, listing, "commitment list"),
        artifact_lines(case, disclosures, "disclosures"),
    )
    for i, (row, disc) in enumerate(pairs):
        if row is None or disc is None:
            raise Unverifiable("the commitment list and the disclosures differ in length")
        try:
            item = strictjson.loads_strict(row)
        except CustodyError:
            item = None
        commitment = item.get("commitment") if isinstance(item, dict) else None
        unit = item.get("unit") if isinstance(item, dict) else None
        if not commitments.is_commitment(commitment) or not isinstance(unit, str):
            raise Unverifiable(f"line {i + 1} of the commitment list is malformed")
        disclosure = commitments.parse_disclosure(disc)
        if disclosure.commitment != commitment:
            why = f"unit {unit}: its disclosure does not hash to its commitment"
            problems.append(Problem("unit-commitment", why))
        yield i, str(commitment), unit, disclosure


def root_problems(
    found: Iterable[str] | commitments.CommitmentsRoot, count: int, root: str
) -> list[Problem]:
    """What is wrong with the logged count and root, given the listed commitments (or
    their root built while they were read, which keeps none of them in memory)."""
    if not isinstance(found, commitments.CommitmentsRoot):
        listed, found = found, commitments.CommitmentsRoot()
        for commitment in listed:
            found.add(commitment)
    problems = []
    if found.count != count:
        problems.append(
            Problem("units-count", f"{found.count} units listed, the entry says {count}")
        )
    if found.root() != root:
        problems.append(Problem("units-root", "the commitments do not give the logged Merkle root"))
    return problems
