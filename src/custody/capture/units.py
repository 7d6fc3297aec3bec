"""One salted commitment per WARC record of a capture, and their re-check.

Each record of a capture's WARC is a *unit*: its exact bytes in the file (its gzip member:
WARC headers, block and all), committed with a disclosure of kind ``capture-record``
whose ``sha256`` and ``size`` are those bytes' digest and length. The units are listed
in file order under their ``WARC-Record-ID`` (``<urn:uuid:…>``) with the shared design of
:mod:`custody.units`, so that a bundle can disclose single records (the member's bytes
and its disclosure) and withhold the rest, and still prove where each came from.

Because the units are listed in order and their sizes are in the disclosures, a verifier
needs no WARC parser to find them: record *i* starts where record *i - 1* ends, and
together they must cover the file exactly. :func:`check_capture` does that for
``custody verify --deep``.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO

from warcio.archiveiterator import ArchiveIterator

from custody import commitments, hashing, log, store
from custody.case import Case
from custody.errors import CustodyError, StorageError
from custody.units import (
    Problem,
    UnitLists,
    Unverifiable,
    listed_units,
    root_problems,
    units_of,
)
from custody.warc import WrittenRecord

RECORD_KIND = "capture-record"
_HEAD = 1 << 16  # bytes of a member kept to read its WARC headers
_KEEP = 16 << 20  # a last record up to this size is read whole (the provenance)
_RECORD_ID = re.compile(rb"^WARC-Record-ID:[ \t]*(\S+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)

__all__ = [
    "RECORD_KIND",
    "Problem",
    "check_capture",
    "commit_records",
    "read_record",
    "unpack_member",
]


def commit_records(lists: UnitLists, records: Sequence[WrittenRecord]) -> None:
    """Commit to every record of a WARC written from its start, in file order.

    Raises:
        StorageError: the records do not cover the file from byte 0 without gaps, or
            writing the lists fails.
    """
    offset = 0
    for rec in records:
        if rec.offset != offset:
            raise StorageError(f"WARC record {rec.record_id} is not at byte {offset}")
        offset += rec.length
        try:
            lists.commit(RECORD_KIND, rec.record_id, hashing.Digests(rec.sha256, None, rec.length))
        except OSError as exc:
            raise StorageError(f"cannot write the record commitments: {exc}") from exc


def read_record(path: Path, offset: int) -> tuple[dict[str, str], bytes]:
    """The WARC headers and the block of the record at ``offset`` of a WARC file.

    For a snapshot or the provenance (``resource``/``metadata``) the block is its content.

    Raises:
        StorageError: the file cannot be read, or holds no record there.
    """
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            rec = next(iter(ArchiveIterator(fh)))
            return dict(rec.rec_headers.headers), rec.content_stream().read()
    except (OSError, StopIteration, ValueError) as exc:
        raise StorageError(f"no WARC record at byte {offset} of {path}: {exc}") from exc


def _subject(subject: dict[str, Any]) -> tuple[str, int, str, str, str, str]:
    root, count, listing = units_of(subject)
    artifacts = subject.get("artifacts")
    warc, status = subject.get("artifact"), subject.get("status")
    disclosures = artifacts.get("disclosures") if isinstance(artifacts, dict) else None
    if not (commitments.is_commitment(warc) and commitments.is_commitment(disclosures)):
        raise Unverifiable("the capture entry's subject is malformed (artifact, artifacts)")
    return root, count, listing, str(disclosures), str(warc), str(status)


def _read_exactly(fh: BinaryIO, size: int) -> tuple[str, bytes, int]:
    """Hash the next ``size`` bytes: (sha256 hex, their first 64 KiB, bytes read)."""
    digest, head, done = hashlib.sha256(), b"", 0
    while done < size:
        chunk = fh.read(min(size - done, 1 << 20))
        if not chunk:
            break
        digest.update(chunk)
        head = head or chunk[:_HEAD]
        done += len(chunk)
    return digest.hexdigest(), head, done


def unpack_member(member: bytes, limit: int) -> bytes:
    """Up to ``limit`` bytes of a record: a gzip member inflated, or a plain record."""
    if member[:2] != b"\x1f\x8b":
        return member[:limit]
    try:
        return zlib.decompressobj(31).decompress(member, limit)
    except zlib.error:
        return b""


def _record_id(member: bytes) -> str | None:
    head = unpack_member(member, _HEAD).split(b"\r\n\r\n", 1)[0]
    m = _RECORD_ID.search(head)
    return m.group(1).decode("latin-1") if m else None


def _provenance_status(member: bytes) -> str | None:
    record = unpack_member(member, _KEEP)
    head, _, block = record.partition(b"\r\n\r\n")
    if b"urn:custody:provenance:" not in head:
        return None
    try:
        doc = json.loads(block.rstrip(b"\r\n"))
    except ValueError:
        return None
    return str(doc.get("status")) if isinstance(doc, dict) else None


def check_capture(case: Case, entry: log.Entry) -> list[Problem]:
    """Recompute every record's unit of a ``capture`` entry: bytes → disclosure →
    commitment → Merkle root.

    Checks that the listed units, laid end to end in the listed order with the sizes
    their disclosures give, cover the WARC exactly; that each one's bytes have its
    disclosure's SHA-256 and begin a record with the listed ``WARC-Record-ID``; that each
    disclosure hashes to its listed commitment; that the list has the logged count and
    root; and that the last record is the provenance, with the entry's status. Nothing
    is written.
    """
    problems: list[Problem] = []
    try:
        root, count, listing, disclosures, warc, status = _subject(entry.subject)
        path = case.object_path(store.read_disclosure(case, warc).sha256)
        found: list[str] = []
        last = (0, 0)
        with path.open("rb") as fh:
            offset = 0
            for i, commitment, unit, disc in listed_units(case, listing, disclosures, problems):
                found.append(commitment)
                last = (offset, disc.size)
                sha256, head, got = _read_exactly(fh, disc.size)
                if disc.kind != RECORD_KIND:
                    problems.append(Problem("record-kind", f"unit {i} is a {disc.kind!r}"))
                if got != disc.size or sha256 != disc.sha256:
                    why = f"record {i} ({unit}) at byte {offset} does not match its disclosure"
                    problems.append(Problem("record-altered", why))
                elif (rid := _record_id(head)) != unit:
                    why = f"record {i} at byte {offset} is {rid}, the list says {unit}"
                    problems.append(Problem("record-id", why))
                offset += got
            rest = len(fh.read(1))
            fh.seek(last[0])
            final = fh.read(min(last[1], _KEEP))
        size = path.stat().st_size
        if rest or offset != size:
            why = f"the committed records cover {offset} of the WARC's {size} bytes"
            problems.append(Problem("records-uncovered", why))
    except Unverifiable as stop:
        return [*problems, Problem("capture-unverifiable", str(stop))]
    except CustodyError as exc:
        return [*problems, Problem("capture-unverifiable", exc.message)]
    except OSError as exc:
        return [*problems, Problem("capture-unverifiable", f"cannot read the WARC: {exc}")]
    problems += root_problems(found, count, root)
    recorded = _provenance_status(final)
    if recorded is None:
        problems.append(Problem("capture-provenance", "the WARC does not end in its provenance"))
    elif recorded != status:
        why = f"the provenance says {recorded}, the entry {status}"
        problems.append(Problem("capture-status", why))
    return problems
