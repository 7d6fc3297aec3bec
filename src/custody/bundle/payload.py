"""The files of a bundle's payload: each exhibit's disclosed units, their disclosures
and derived copies (with the exhibit's entry in ``data/bundle.json``), and the keys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from custody import commitments, encodings, note, signing
from custody.bundle import layout
from custody.bundle.model import Exhibit, Source
from custody.bundle.sets import warc_block
from custody.case import Case
from custody.errors import IntegrityError, StorageError

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Member:
    """A key that signed in the case, as its log entries introduce it."""

    public_key: bytes
    name: str
    org: str | None


@dataclass
class PayloadFile:
    """A payload file: its path in the bag, its size and how to get its bytes."""

    path: str
    size: int
    sha256: str | None  # known in advance (checked while writing), or None
    read: Callable[[], Iterator[bytes]]


def bytes_file(path: str, data: bytes) -> PayloadFile:
    """A payload file holding ``data``."""
    return PayloadFile(path, len(data), hashlib.sha256(data).hexdigest(), lambda: iter((data,)))


def source_file(case: Case, path: str, source: Source, sha256: str) -> PayloadFile:
    """A payload file read from where a unit lies: bytes, a file slice, a WARC block."""
    if source.data is not None:
        data = source.data
        return PayloadFile(path, len(data), sha256, lambda: iter((data,)))
    if source.path is None:
        raise StorageError(f"internal: no source for {path}")
    src = source.path
    if source.warc_block is not None:
        block = source.warc_block
        return PayloadFile(path, source.size, sha256, lambda: warc_block(src, block))
    return PayloadFile(path, source.size, sha256, lambda: _slice(src, source.offset, source.size))


def _slice(path: Path, offset: int, size: int) -> Iterator[bytes]:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            left = size
            while left:
                chunk = fh.read(min(left, _CHUNK))
                if not chunk:
                    raise IntegrityError(f"{path} is shorter than its disclosure says")
                left -= len(chunk)
                yield chunk
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc


def exhibit_files(case: Case, ex: Exhibit) -> tuple[list[PayloadFile], dict[str, Any]]:
    """An exhibit's payload files and its entry in ``data/bundle.json``."""
    base = f"{layout.EXHIBITS}/{ex.label}"
    files: list[PayloadFile] = []
    items = []
    for item in ex.items:
        doc: dict[str, Any] = {
            "role": item.role,
            "commitment": item.commitment,
            "status": item.status,
        }
        if item.unit is not None:
            doc |= {"unit": item.unit, "index": item.index, "proof": item.proof}
        if item.reason is not None:
            doc["reason"] = item.reason
        if item.status == "disclosed":
            if item.name is None or item.source is None or item.disclosure is None:
                raise StorageError(f"internal: unit {item.commitment} has nothing to show")
            sha = store_sha(item.disclosure)
            files.append(source_file(case, f"{base}/{item.name}", item.source, sha))
            files.append(bytes_file(f"{base}/{item.name}.disclosure.json", item.disclosure))
            doc |= {
                "file": f"{base}/{item.name}",
                "disclosure": f"{base}/{item.name}.disclosure.json",
            }
        d = item.derived
        if d is not None:
            name = f"{base}/{d.name}"
            files += [
                bytes_file(name, d.data),
                bytes_file(f"{name}.disclosure.json", d.disclosure),
                bytes_file(f"{name}.params.json", d.params),
                bytes_file(f"{name}.params.disclosure.json", d.params_disclosure),
            ]
            doc["derived"] = {
                "entry": d.entry_seq,
                "method": d.method,
                "artifact": d.commitment,
                "file": name,
                "disclosure": f"{name}.disclosure.json",
                "params": d.params_commitment,
                "params_file": f"{name}.params.json",
                "params_disclosure": f"{name}.params.disclosure.json",
            }
        items.append(doc)
    exhibit: dict[str, Any] = {
        "exhibit": ex.label,
        "entry": ex.entry.seq,
        "type": ex.entry.type,
        "sensitive": ex.sensitive,
        "items": items,
    }
    if ex.units is not None:
        shown = sum(1 for i in ex.items if i.index is not None)
        exhibit["units"] = {
            "root": ex.units.root,
            "count": ex.units.count,
            "included": shown,
            "withheld": ex.units.count - shown,
            "withheld_reason": ex.set_reason,
        }
    if ex.notes:
        exhibit["notes"] = ex.notes
    return files, exhibit


def store_sha(disclosure: bytes) -> str:
    """The unit's SHA-256 named in a disclosure."""
    return commitments.parse_disclosure(disclosure).sha256


def key_files(
    members: dict[str, Member], origin: str
) -> tuple[list[PayloadFile], list[dict[str, Any]]]:
    files, docs, allowed = [], [], []
    for kid, m in sorted(members.items()):
        hex_id = kid.split(":", 1)[1]
        principal = encodings.signer_principal(m.name)
        allowed.append(
            encodings.export_public_key(
                m.public_key, encodings.KeyFormat.ALLOWED_SIGNERS, principal=principal
            )
        )
        paths = {
            "openssh": f"{layout.KEYS}/{hex_id}.pub",
            "pem": f"{layout.KEYS}/{hex_id}.pem",
            "note": f"{layout.KEYS}/{hex_id}.vkey",
        }
        files.append(
            bytes_file(
                paths["openssh"], (encodings.openssh_line(m.public_key, m.name) + "\n").encode()
            )
        )
        files.append(bytes_file(paths["pem"], encodings.pem(m.public_key).encode()))
        files.append(
            bytes_file(paths["note"], (note.verifier_key(origin, m.public_key) + "\n").encode())
        )
        docs.append(
            {
                "key_id": kid,
                "name": m.name,
                "principal": principal,
                "ssh_fingerprint": signing.ssh_fingerprint(m.public_key),
                "fingerprint": encodings.fingerprint_groups(m.public_key),
                "files": paths,
            }
        )
    files.append(bytes_file(layout.ALLOWED_SIGNERS, "".join(allowed).encode()))
    return files, docs
