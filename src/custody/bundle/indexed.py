"""The few messages a bundle discloses, read through the import's index
(:mod:`custody.unitindex`): time proportional to what is disclosed, not to the chat.

Nothing the index says is trusted. For each message asked for:

* its line is read where the index says and parsed; its ``id`` must be the one asked for;
* its unit's line in the commitment list names that id, its disclosure hashes to the
  listed commitment and discloses the message line's SHA-256 and size;
* each attachment present in the export follows it as unit ``<message id>:<k>``, with a
  disclosure of the SHA-256 that the message names;
* each unit's inclusion proof, built from the leaves of its own run and the runs'
  hashes, verifies against the root and count that the signed entry logged.

When anything does not hold, :func:`read_messages` returns ``None`` and the caller reads
the whole set (:func:`custody.bundle.sets.read_set`), which says precisely what is wrong.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Collection
from contextlib import ExitStack
from typing import Any, BinaryIO

from custody import commitments, merkle, store, strictjson, unitindex
from custody.bundle.sets import UnitSet, split_list_line
from custody.case import Case
from custody.errors import CustodyError
from custody.units import Unverifiable, units_of


class _Mismatch(Exception):
    """The index or the artifacts do not agree: read the whole set instead."""


def _read(fh: BinaryIO, span: tuple[int, int]) -> bytes:
    start, end = span
    if not 0 <= start < end or end - start > 1 << 26:
        raise _Mismatch
    fh.seek(start)
    data = fh.read(end - start)
    if len(data) != end - start or not data.endswith(b"\n"):
        raise _Mismatch
    return data[:-1]


class IndexedTree:
    """A :class:`custody.merkle.NodeSource` over the index: runs' hashes above its
    level, the leaves of one run (read from the commitment list) below it."""

    def __init__(self, index: unitindex.UnitIndex, listing: BinaryIO) -> None:
        self.index, self.listing = index, listing
        self._runs: dict[int, merkle.LeafList] = {}
        self._upper: dict[tuple[int, int], bytes] = {}

    def _run(self, j: int) -> merkle.LeafList:
        if j not in self._runs:
            first = j << self.index.level
            last = min(first + (1 << self.index.level), self.index.count)
            offsets = self.index.listing_offsets(first, last)
            block = _read(self.listing, (offsets[0], offsets[-1])) + b"\n"  # the run's lines
            leaves = []
            for start, end in itertools.pairwise(offsets):
                line = block[start - offsets[0] : end - offsets[0]]
                if not line.endswith(b"\n"):
                    raise _Mismatch
                commitment, _ = split_list_line(line[:-1])
                leaves.append(merkle.leaf_hash(bytes.fromhex(commitment[7:])))
            tree = merkle.LeafList(leaves)
            if merkle.root(tree, len(leaves)) != self.index.chunk(j):
                raise _Mismatch
            self._runs[j] = tree
        return self._runs[j]

    def node(self, level: int, index: int) -> bytes:
        top = self.index.level
        if level < top:
            j = (index << level) >> top
            return self._run(j).node(level, index - (j << (top - level)))
        if level == top:
            if index >= self.index.chunk_count:
                raise _Mismatch
            return self.index.chunk(index)
        key = (level, index)
        if key not in self._upper:
            left, right = self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1)
            self._upper[key] = merkle.node_hash(left, right)
        return self._upper[key]


def _unit(
    listing: BinaryIO, disclosures: BinaryIO, index: unitindex.UnitIndex, i: int, unit: str
) -> tuple[str, bytes, commitments.Disclosure]:
    """Commitment, disclosure bytes and parsed disclosure of unit ``i``, named ``unit``."""
    if not 0 <= i < index.count:
        raise _Mismatch
    commitment, named = split_list_line(_read(listing, index.listing_span(i)))
    raw = _read(disclosures, index.disclosure_span(i))
    if named != unit or commitments.commitment_of(raw) != commitment:
        raise _Mismatch
    return commitment, raw, commitments.parse_disclosure(raw)


def read_messages(
    case: Case, subject: dict[str, Any], ids: Collection[str]
) -> tuple[UnitSet, dict[str, dict[str, Any]]] | None:
    """The units of the messages ``ids`` (and their attachments) and the messages' lines
    parsed (each with its line under ``"__line__"``), or ``None`` when the import has no
    usable index or anything read through it fails a check."""
    try:
        root, count, listing = units_of(subject)
        artifacts = subject["artifacts"]
        paths = [
            case.object_path(store.read_disclosure(case, str(c)).sha256)
            for c in (listing, artifacts["disclosures"], artifacts["messages"])
        ]
        index = unitindex.open_index(case, paths[0].name)
        if index is None:
            return None
        try:
            if index.count != count:
                return None
            return _read_messages(paths, index, root, count, ids)
        finally:
            index.close()
    except (_Mismatch, Unverifiable, CustodyError, OSError, ValueError, KeyError, TypeError):
        return None


def _read_messages(
    paths: list[Any],
    index: unitindex.UnitIndex,
    root: str,
    count: int,
    ids: Collection[str],
) -> tuple[UnitSet, dict[str, dict[str, Any]]]:
    found = UnitSet(root, count, [], [], {})
    docs: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        listing, disclosures, messages = (stack.enter_context(p.open("rb")) for p in paths)
        for mid in sorted(ids):
            seq = int(mid.rpartition(":")[2])
            if not 0 <= seq < index.messages:
                raise _Mismatch
            line = _read(messages, index.message_span(seq))
            doc = strictjson.loads_strict(line)
            if not isinstance(doc, dict) or doc.get("id") != mid:
                raise _Mismatch
            p = index.message_unit(seq)
            c, raw, disclosure = _unit(listing, disclosures, index, p, mid)
            if disclosure.sha256 != hashlib.sha256(line).hexdigest() or disclosure.size != len(
                line
            ):
                raise _Mismatch
            units = [(p, mid, c, raw)]
            present = [a for a in doc.get("attachments", []) if "unit" in a]
            for k, att in enumerate(present, start=1):
                c, raw, disclosure = _unit(listing, disclosures, index, p + k, str(att["unit"]))
                if disclosure.sha256 != att.get("sha256"):
                    raise _Mismatch
                units.append((p + k, str(att["unit"]), c, raw))
            for i, unit, c, raw in units:
                found.index[unit] = i
                found.commitments[i] = c
                found.disclosures[i] = raw
            docs[mid] = doc | {"__line__": line}
        tree = IndexedTree(index, listing)
        expected = bytes.fromhex(root)
        for i in found.index.values():
            proof = merkle.inclusion_proof(tree, i, count)
            leaf = merkle.leaf_hash(bytes.fromhex(found.commitments[i][7:]))
            if not merkle.verify_inclusion(leaf, i, count, proof, expected):
                raise _Mismatch
            found.proofs[i] = [h.hex() for h in proof]
    return found, docs
