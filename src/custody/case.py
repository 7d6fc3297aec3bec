"""The case folder: its layout, and finding and opening it.

::

    CASE/
      custody-case.json          marker: case id and log origin (written once)
      log/entries.jsonl          the custody log, one signed canonical JSON entry a line
      log/checkpoint             latest signed checkpoint (C2SP note; derived, replaced)
      log/checkpoints/<size>     every checkpoint ever signed (written once)
      log/tree/<level>           derived RFC 6962 node hashes (rebuilt when missing)
      log/lock                   the append lock (empty)
      objects/sha256/<ab>/<hex>  artifacts, content-addressed, read-only
      disclosures/<hex>.json     salted disclosures of committed units (secret salts)
      keys/<hex>.pub             public keys that signed in this case (OpenSSH lines)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from custody import canonical, strictjson
from custody.errors import CustodyError, IntegrityError, NotACaseError

MARKER = "custody-case.json"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Case:
    """An opened case folder."""

    root: Path
    case_id: str

    @property
    def origin(self) -> str:
        """The log origin used in checkpoints, derived from the case id."""
        return origin_for(self.case_id)

    @property
    def marker(self) -> Path:
        return self.root / MARKER

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def entries(self) -> Path:
        return self.log_dir / "entries.jsonl"

    @property
    def checkpoint(self) -> Path:
        return self.log_dir / "checkpoint"

    @property
    def checkpoints(self) -> Path:
        return self.log_dir / "checkpoints"

    @property
    def tree(self) -> Path:
        return self.log_dir / "tree"

    @property
    def lock(self) -> Path:
        return self.log_dir / "lock"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def disclosures(self) -> Path:
        return self.root / "disclosures"

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    def object_path(self, sha256: str) -> Path:
        return self.objects / "sha256" / sha256[:2] / sha256

    def disclosure_path(self, commitment: str) -> Path:
        return self.disclosures / (commitment.split(":", 1)[1] + ".json")


def origin_for(case_id: str) -> str:
    """``custody.case/<case id>``: a schema-less, URL-like log origin."""
    return f"custody.case/{case_id}"


def marker_bytes(case_id: str) -> bytes:
    doc = {
        "format_version": FORMAT_VERSION,
        "type": "custody-case",
        "case_id": case_id,
        "origin": origin_for(case_id),
    }
    return canonical.dumps(doc) + b"\n"


def find_case_root(explicit: Path | None) -> Path:
    """The case folder to work on: ``explicit``, else ``CUSTODY_CASE``, else the current
    directory or its nearest parent holding a case marker.

    Raises:
        NotACaseError: no case is found.
    """
    if explicit is not None:
        return explicit
    env = os.environ.get("CUSTODY_CASE")
    if env:
        return Path(env)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    raise NotACaseError(
        f"not inside a case folder: {here}",
        hint="run custody init, pass --case PATH, or set CUSTODY_CASE",
    )


def open_case(root: Path) -> Case:
    """Open the case at ``root`` (reads only the marker).

    Raises:
        NotACaseError: ``root`` is not a case folder.
        IntegrityError: its marker is damaged (an altered case, not a non-case).
    """
    marker = root / MARKER
    if not root.is_dir():
        raise NotACaseError(f"no such case folder: {root}")
    if not marker.is_file():
        raise NotACaseError(f"not a case folder (no {MARKER}): {root}")
    try:
        doc = strictjson.loads_strict(marker.read_bytes())
        case_id = doc["case_id"]
    except (CustodyError, KeyError, TypeError, OSError) as exc:
        raise IntegrityError(f"the case marker {marker} was altered or damaged") from exc
    if not isinstance(case_id, str) or not case_id.isalnum() or not case_id.isascii():
        raise IntegrityError(f"the case marker {marker} was altered or damaged")
    return Case(root=root, case_id=case_id)
