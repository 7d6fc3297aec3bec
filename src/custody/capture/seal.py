"""Sealing a capture: its WARC, its per-record units, its details record, one signed entry.

:func:`seal_capture` stores, from a finished WARC (every record written, provenance last):

- the WARC itself (disclosure kind ``capture-warc``);
- the commitment list (``capture-commitments``) and the disclosures (``capture-disclosures``)
  of its records, one unit per record (:mod:`custody.capture.units`);
- the details record (``capture-details``: URL, final URL, note, sensitive);

and appends one signed ``capture`` entry whose subject holds commitments and the status:

``{"artifact": WARC, "details": DETAILS, "artifacts": {"disclosures": D},
"units": {"root": HEX, "count": N, "list": L}, "status": "COMPLETE" | "PARTIAL"}``.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from custody import canonical, log, seen, signing, store
from custody.capture.units import commit_records
from custody.case import Case
from custody.errors import ExitCode, StorageError
from custody.units import UnitLists
from custody.warc import WrittenRecord

_SEALING = threading.Lock()  # captures of one process append one at a time
KINDS = {
    "warc": "capture-warc",
    "commitments": "capture-commitments",
    "disclosures": "capture-disclosures",
}


class CaptureStatus(StrEnum):
    COMPLETE = "COMPLETE"
    PARTIAL = "PARTIAL"


@dataclass(frozen=True, slots=True)
class StoredArtifact:
    """One artifact of a capture, as stored and committed."""

    kind: str
    path: Path
    sha256: str
    sha512: str
    size: int
    commitment: str

    def to_dict(self, root: Path) -> dict[str, Any]:
        d = asdict(self) | {"path": str(self.path.relative_to(root))}
        del d["kind"]
        return d


@dataclass(frozen=True, slots=True)
class Sealed:
    """What sealing stored and logged."""

    seq: int
    details: str  # commitment of the details record
    artifacts: dict[str, StoredArtifact]  # warc, commitments, disclosures
    units: dict[str, Any]  # root, count, list


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """What one capture preserved."""

    url: str
    final_url: str
    status: CaptureStatus
    reasons: tuple[str, ...]
    seq: int
    details: str  # commitment of the details record
    artifacts: dict[str, StoredArtifact]
    units: dict[str, Any]
    records: dict[str, WrittenRecord]  # the snapshots and the provenance, by role
    counts: dict[str, int]

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.status is CaptureStatus.COMPLETE else ExitCode.PARTIAL

    def to_dict(self, root: Path) -> dict[str, Any]:
        return {
            "url": self.url,
            "final_url": self.final_url,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "entry": self.seq,
            "details": self.details,
            "artifacts": {k: a.to_dict(root) for k, a in self.artifacts.items()},
            "units": self.units,
            "records": {
                role: {
                    "record_id": r.record_id,
                    "target_uri": r.target_uri,
                    "offset": r.offset,
                    "length": r.length,
                }
                for role, r in self.records.items()
            },
            "counts": self.counts,
        }


def details_record(
    url: str, final_url: str, *, sensitive: bool, note: str | None
) -> dict[str, Any]:
    """The details record of a capture (RFC 8785 when stored)."""
    doc: dict[str, Any] = {"v": 1, "kind": "capture-details", "url": url}
    doc |= {"final_url": final_url, "sensitive": sensitive}
    if note:
        doc["note"] = note
    return doc


def seal_capture(
    case: Case,
    warc: BinaryIO,
    records: Sequence[WrittenRecord],
    details: dict[str, Any],
    status: CaptureStatus,
    *,
    signer: signing.Signer,
    home: Path,
) -> Sealed:
    """Store a finished capture WARC (``records``: every record in it, in file order),
    commit to it and to each record, and append the signed ``capture`` entry.

    Raises:
        StorageError: a temporary file, the case or the log cannot be written.
        TornTailError: the custody log needs recovery first.
        IntegrityError: a stored object no longer matches its name.
    """
    stored: dict[str, StoredArtifact] = {}

    def keep(role: str, source: BinaryIO) -> None:
        source.seek(0)
        obj = store.store_stream(case, source)
        commitment = store.commit(case, KINDS[role], obj.digests).commitment
        d = obj.digests
        stored[role] = StoredArtifact(
            KINDS[role], obj.path, d.sha256, d.sha512 or "", d.size, commitment
        )

    try:
        with (
            tempfile.TemporaryFile(dir=case.root) as listing,
            tempfile.TemporaryFile(dir=case.root) as disclosures,
        ):
            lists = UnitLists(listing, disclosures)
            commit_records(lists, records)
            keep("warc", warc)
            keep("commitments", listing)
            keep("disclosures", disclosures)
    except OSError as exc:  # the temporary files: disk full, quota
        raise StorageError(f"cannot write temporary files in {case.root}: {exc}") from exc
    record = store.store_bytes(case, canonical.dumps(details))
    details_commitment = store.commit(case, "capture-details", record.digests).commitment
    units = {
        "root": lists.root(),
        "count": len(lists.commitments),
        "list": stored["commitments"].commitment,
    }
    subject = {
        "artifact": stored["warc"].commitment,
        "details": details_commitment,
        "artifacts": {"disclosures": stored["disclosures"].commitment},
        "units": units,
        "status": status.value,
    }
    with _SEALING:
        with log.appending(case, signer) as app:
            entry = app.append("capture", subject)
        seen.remember(home, case.case_id, case.checkpoint.read_bytes())
    return Sealed(entry.seq, details_commitment, stored, units)
