"""Reading the many-unit sets of a case (a capture's records, an import's messages) for a
bundle: leaf hashes for proofs, and the disclosures of the units chosen.

One pass over the commitment list gives every leaf (for inclusion proofs) and the index
of each unit asked for; one pass over the disclosures keeps only the lines asked for.
Nothing else of the set is parsed, so the cost is a sequential read of two artifacts.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from custody import commitments, merkle, store, strictjson
from custody.capture.units import unpack_member
from custody.case import Case
from custody.errors import CustodyError, IntegrityError, StorageError
from custody.units import Unverifiable, artifact_lines, units_of

_PREFIX = b'{"commitment":"sha256:'
_MIDDLE = b'","unit":"'
_HEADER = re.compile(rb"^(WARC-Type|WARC-Target-URI):[ \t]*(\S+)[ \t]*\r?$", re.I | re.M)


@dataclass
class UnitSet:
    """The units of one entry: leaves in order, and what was asked for."""

    root: str
    count: int
    leaves: list[bytes]  # every leaf, or none when read through an index
    unit_ids: list[str]  # likewise
    commitments: list[str] | dict[int, str]  # every commitment, or those asked for by position
    index: dict[str, int] = field(default_factory=dict)  # unit id -> position, for those asked
    disclosures: dict[int, bytes] = field(default_factory=dict)
    proofs: dict[int, list[str]] = field(default_factory=dict)  # computed already

    _tree: merkle.LeafList | None = None

    def proof(self, i: int) -> list[str]:
        """The inclusion proof (hex) of unit ``i`` to the root (the tree is built once)."""
        if i in self.proofs:
            return self.proofs[i]
        if self._tree is None:
            self._tree = merkle.LeafList(self.leaves)
        return [h.hex() for h in merkle.inclusion_proof(self._tree, i, self.count)]


def split_list_line(line: bytes) -> tuple[str, str]:
    """``(commitment, unit id)`` of a commitment list's line (without its newline).

    Raises:
        Unverifiable: it is malformed.
    """
    if line.startswith(_PREFIX) and line[86:96] == _MIDDLE and line.endswith(b'"}'):
        raw_unit = line[96:-2]
        if b"\\" not in raw_unit and b'"' not in raw_unit:
            return "sha256:" + line[22:86].decode("ascii"), raw_unit.decode("utf-8")
    doc = strictjson.loads_strict(line)
    if not isinstance(doc, dict):
        raise Unverifiable("a line of the commitment list is malformed")
    c, unit = doc.get("commitment"), doc.get("unit")
    if not commitments.is_commitment(c) or not isinstance(unit, str):
        raise Unverifiable("a line of the commitment list is malformed")
    return str(c), unit


def read_set(
    case: Case,
    subject: dict[str, object],
    disclosures_commitment: str,
    wanted: Callable[[str], bool],
    *,
    all_disclosures: bool = False,
) -> UnitSet:
    """Leaves, ids and the chosen disclosures of an entry's units.

    ``wanted`` says which unit ids are asked for. Each chosen disclosure is checked to hash to its
    listed commitment; the leaves must give the entry's root and count.

    Raises:
        IntegrityError: an artifact is missing or altered, or the units do not give the
            logged root and count.
    """
    try:
        root, count, listing = units_of(subject)
        leaves: list[bytes] = []
        ids: list[str] = []
        cs: list[str] = []
        index: dict[str, int] = {}
        for i, line in enumerate(artifact_lines(case, listing, "commitment list")):
            c, unit = split_list_line(line)
            cs.append(c)
            ids.append(unit)
            leaves.append(merkle.leaf_hash(bytes.fromhex(c[7:])))
            if wanted(unit):
                index[unit] = i
        want = set(index.values())
        found: dict[int, bytes] = {}
        for i, line in enumerate(artifact_lines(case, disclosures_commitment, "disclosures")):
            if all_disclosures or i in want:
                if i >= len(cs) or commitments.commitment_of(line) != cs[i]:
                    raise IntegrityError(f"unit {i}: its disclosure does not match its commitment")
                found[i] = line
    except Unverifiable as exc:
        raise IntegrityError(str(exc)) from None
    except CustodyError as exc:
        raise IntegrityError(exc.message) from None
    tree = merkle.LeafList(leaves)
    if len(leaves) != count or merkle.root(tree, count).hex() != root:
        raise IntegrityError("the units do not give the root and count the entry logged")
    result = UnitSet(root, count, leaves, ids, cs, index, found)
    result._tree = tree
    return result


def record_roles(warc: Path, sizes: Iterable[int]) -> list[tuple[int, int, str, str]]:
    """``(offset, size, WARC-Type, WARC-Target-URI)`` of each record, from its first bytes.

    Raises:
        IntegrityError: the WARC cannot be read.
    """
    out = []
    offset = 0
    try:
        with warc.open("rb") as fh:
            for size in sizes:
                fh.seek(offset)
                head = fh.read(min(size, 1 << 16))
                text = unpack_member(head, 1 << 16).split(b"\r\n\r\n", 1)[0]
                found = {k.decode().lower(): v.decode("latin-1") for k, v in _HEADER.findall(text)}
                out.append(
                    (offset, size, found.get("warc-type", ""), found.get("warc-target-uri", ""))
                )
                offset += size
    except OSError as exc:
        raise IntegrityError(f"cannot read the capture's WARC: {exc.strerror}") from exc
    return out


def disclosure_size(raw: bytes) -> int:
    """The ``size`` of a disclosure.

    Raises:
        IntegrityError: it is malformed.
    """
    return commitments.parse_disclosure(raw).size


def object_of(case: Case, commitment: str) -> tuple[commitments.Disclosure, Path]:
    """The disclosure behind a commitment and the artifact file it names.

    Raises:
        IntegrityError: the disclosure is missing, altered or malformed.
    """
    disclosure = store.read_disclosure(case, commitment)
    return disclosure, case.object_path(disclosure.sha256)


def warc_block(path: Path, sha256: str) -> Iterator[bytes]:
    """The block of the resource record of a chat WARC whose SHA-256 is ``sha256``.

    Raises:
        IntegrityError: no record holds it.
        StorageError: the WARC cannot be read.
    """
    label = "sha256:" + base64.b32encode(bytes.fromhex(sha256)).decode()
    try:
        with path.open("rb") as fh:
            for rec in ArchiveIterator(fh):
                if rec.rec_headers.get_header("WARC-Block-Digest") == label:
                    stream = rec.content_stream()
                    while chunk := stream.read(1 << 20):
                        yield chunk
                    return
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    raise IntegrityError(f"the chat WARC holds no file with SHA-256 {sha256}")
