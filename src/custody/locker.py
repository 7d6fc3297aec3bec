"""The evidence locker's workflows: create a case, add files, join, rotate, recover.

Each function does one user-level action and returns data; nothing here prints.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from custody import _fs, details, encodings, log, merkle, seen, signing, store
from custody.case import Case, marker_bytes, open_case
from custody.errors import (
    CustodyError,
    IntegrityError,
    KeyMaterialError,
    StorageError,
    UsageError,
)
from custody.keys import Operator
from custody.logtree import TreeStore

POSSESSION_DOMAIN = b"custody-key-possession/v1\n"


@dataclass(frozen=True, slots=True)
class AddedFile:
    """One file preserved by ``custody add``."""

    source: Path
    sha256: str
    sha512: str
    size: int
    path: Path
    seq: int
    artifact: str  # commitment
    details: str  # commitment


def _write_public_key(case: Case, public_key: bytes, principal: str) -> None:
    _fs.make_dirs(case.keys)
    name = signing.key_id(public_key).split(":", 1)[1] + ".pub"
    _fs.write_once(case.keys / name, encodings.openssh_line(public_key, principal).encode() + b"\n")


def _key_subject(public_key: bytes, operator: Operator) -> dict[str, Any]:
    return {
        "public_key": base64.b64encode(public_key).decode(),
        "key_id": signing.key_id(public_key),
        "operator": operator.to_dict(),
    }


def members(case: Case) -> dict[str, bytes]:
    """Keys currently allowed to sign in ``case`` (init, joins, rotations), from the log.

    Signatures are not checked here (``custody verify`` does); this is the guard that
    stops a non-member from appending entries that verification would reject.
    """
    active: dict[str, bytes] = {}
    for _, line in log.read_raw_log(case.entries).lines:
        # Lines are canonical JSON, so a key or init entry holds this exact byte run; the
        # cheap test skips decoding every other entry (this runs before every append).
        if b'"type":"key"' not in line and b'"type":"init"' not in line:
            continue
        try:
            entry = log.decode_entry(line)
        except CustodyError:
            continue
        if entry.type not in ("init", "key"):
            continue
        try:
            key = base64.b64decode(str(entry.subject["public_key"]), validate=True)
        except (KeyError, ValueError):
            continue
        if entry.subject.get("action") == "rotate":
            active.pop(str(entry.subject.get("replaces")), None)
        active[signing.key_id(key)] = key
    return active


def require_member(case: Case, signer: signing.Signer) -> None:
    """Refuse before writing anything when ``signer`` may not sign in ``case``.

    Raises:
        IntegrityError: the log has no members at all (an interrupted init).
        KeyMaterialError: the signer's key is not a member of the case.
    """
    current = members(case)
    if not current:
        raise IntegrityError(
            "the case log has no init entry (an interrupted init?)",
            hint="run custody verify; create a new case to continue",
        )
    kid = signing.key_id(signer.public_key)
    if kid not in current:
        raise KeyMaterialError(
            f"your key {kid} is not a member of this case",
            hint="run custody keys join, or use the CUSTODY_HOME that holds a member's key",
        )


def _check_text(label: str, value: str | None) -> None:
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{label} is not valid UTF-8: {value!a}") from None


def _finish(case: Case, home: Path) -> None:
    seen.remember(home, case.case_id, case.checkpoint.read_bytes())


def create_case(
    path: Path,
    *,
    name: str,
    operator: Operator,
    signer: signing.Signer,
    home: Path,
    clock: Callable[[], datetime] = log.utc_now,
) -> Case:
    """Create a case folder at ``path`` with a signed ``init`` entry.

    Raises:
        UsageError: ``path`` exists and is not an empty folder.
        StorageError: a write fails.
    """
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"refusing to create a case in a non-empty location: {path}")
    _check_text("the case name", name)
    _check_text("the operator name", operator.name)
    case_id = uuid.uuid4().hex
    _fs.make_dirs(path)
    _fs.make_dirs(path / "log")
    case = Case(root=path, case_id=case_id)
    _fs.write_once(case.marker, marker_bytes(case_id), mode=0o444)
    record = store.store_bytes(case, details.case_details(name))
    disclosure = store.commit(case, "case-details", record.digests)
    subject = _key_subject(signer.public_key, operator) | {"details": disclosure.commitment}
    with log.appending(case, signer, clock=clock) as app:
        app.append("init", subject)
    _write_public_key(case, signer.public_key, operator.name)
    _finish(case, home)
    return open_case(path)


def add_files(
    case: Case,
    paths: Sequence[Path],
    *,
    signer: signing.Signer,
    home: Path,
    note: str | None = None,
    source: str | None = None,
    sensitive: bool = False,
    clock: Callable[[], datetime] = log.utc_now,
    progress: Callable[[Path], None] | None = None,
) -> list[AddedFile]:
    """Preserve each file as an artifact with a details record and a signed ``add`` entry.

    Every path is checked before anything is written.

    Raises:
        UsageError: a path is missing, a directory, a link or not a regular file.
        StorageError: reading or writing fails; files preserved before it stay preserved.
    """
    for p in paths:
        _fs.open_regular_file(p).close()
        _check_text("the file name", p.name)
    _check_text("the note", note)
    _check_text("the source", source)
    log.check_head(case)
    require_member(case, signer)
    staged: list[tuple[Path, store.StoredObject, str, str]] = []
    for p in paths:
        if progress is not None:
            progress(p)
        with _fs.open_regular_file(p) as fh:
            obj = store.store_stream(case, fh)
        record = details.file_details(
            stored=obj.path,
            original_name=p.name,
            size=obj.digests.size,
            note=note,
            source=source,
            sensitive=sensitive,
        )
        rec = store.store_bytes(case, record)
        artifact = store.commit(case, "file", obj.digests).commitment
        detail = store.commit(case, "file-details", rec.digests).commitment
        staged.append((p, obj, artifact, detail))
    added: list[AddedFile] = []
    with log.appending(case, signer, clock=clock) as app:
        for p, obj, artifact, detail in staged:
            entry = app.append("add", {"artifact": artifact, "details": detail})
            added.append(
                AddedFile(
                    source=p,
                    sha256=obj.digests.sha256,
                    sha512=obj.digests.sha512 or "",
                    size=obj.digests.size,
                    path=obj.path,
                    seq=entry.seq,
                    artifact=artifact,
                    details=detail,
                )
            )
    _finish(case, home)
    return added


def join_case(
    case: Case,
    *,
    signer: signing.Signer,
    operator: Operator,
    home: Path,
    clock: Callable[[], datetime] = log.utc_now,
) -> log.Entry:
    """Record a new person's key in the case, signed by that key.

    Raises:
        UsageError: the key is already a member.
        StorageError: a write fails.
    """
    _check_text("the operator name", operator.name)
    log.check_head(case)
    if signing.key_id(signer.public_key) in members(case):
        raise UsageError("your key is already a member of this case")
    subject = {"action": "join"} | _key_subject(signer.public_key, operator)
    with log.appending(case, signer, clock=clock) as app:
        entry = app.append("key", subject)
    _write_public_key(case, signer.public_key, operator.name)
    _finish(case, home)
    return entry


def rotate_key(
    case: Case,
    *,
    old: signing.Signer,
    new: signing.Signer,
    operator: Operator,
    home: Path,
    clock: Callable[[], datetime] = log.utc_now,
) -> log.Entry:
    """Replace ``old`` by ``new``: signed by the old key, with proof the new key is held.

    Raises:
        StorageError: a write fails.
    """
    new_id = signing.key_id(new.public_key)
    possession = new.sign(POSSESSION_DOMAIN + f"{case.case_id}\n{new_id}".encode())
    subject = {
        "action": "rotate",
        "replaces": signing.key_id(old.public_key),
        "possession": base64.b64encode(possession).decode(),
    } | _key_subject(new.public_key, operator)
    with log.appending(case, old, clock=clock) as app:
        entry = app.append("key", subject)
    _write_public_key(case, new.public_key, operator.name)
    _finish(case, home)
    return entry


def record_access(
    case: Case,
    *,
    signer: signing.Signer,
    home: Path,
    purpose: str,
    verified: bool,
    errors: int,
    clock: Callable[[], datetime] = log.utc_now,
) -> log.Entry:
    """Log that someone examined the case (``verify --record``) and what they found.

    Raises:
        TornTailError: the log ends in a torn record.
        StorageError: a write fails.
    """
    log.check_head(case)
    require_member(case, signer)
    with log.appending(case, signer, clock=clock) as app:
        entry = app.append("access", {"purpose": purpose, "verified": verified, "errors": errors})
    _finish(case, home)
    return entry


@dataclass(frozen=True, slots=True)
class Recovery:
    """What ``custody log recover`` did."""

    torn_offset: int | None
    torn_size: int
    torn_artifact: str | None
    adopted: list[str]
    removed_temp: list[Path]
    rebuilt_tree: bool
    entry: log.Entry | None


def recover_log(
    case: Case,
    *,
    signer: signing.Signer,
    home: Path,
    orphans: Callable[[Case], tuple[list[str], list[Path]]],
    clock: Callable[[], datetime] = log.utc_now,
) -> Recovery:
    """Move a torn tail aside as an artifact, adopt unlogged artifacts, log a ``recover``.

    ``orphans`` lists the disclosures and the artifacts that no entry refers to (the
    verifier finds them); both are adopted by the ``recover`` entry, so nothing is lost.

    Raises:
        StorageError: a write, truncate or fsync fails.
    """
    require_member(case, signer)
    with log.locked(case):
        removed = [p for p in sorted(case.root.rglob(".tmp-*")) if not _fs.temp_owner_alive(p.name)]
        for tmp in removed:
            tmp.unlink()
        raw = log.read_raw_log(case.entries)
        torn_commitment = None
        if raw.torn_offset is not None:
            obj = store.store_bytes(case, raw.torn_bytes)
            torn_commitment = store.commit(case, "torn-tail", obj.digests).commitment
            try:
                fd = os.open(case.entries, os.O_WRONLY)
                try:
                    os.ftruncate(fd, raw.torn_offset)
                    _fs.fsync_fd(fd, case.entries)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StorageError(f"cannot cut the torn tail: {exc.strerror}") from exc
        rebuilt = _rebuild_tree_if_damaged(case)
    orphan_disclosures, orphan_objects = orphans(case)
    adopted = [c for c in orphan_disclosures if c != torn_commitment]
    for path in orphan_objects:
        with path.open("rb") as fh:
            obj = store.store_stream(case, fh)
        adopted.append(store.commit(case, "adopted", obj.digests).commitment)
    entry = None
    if torn_commitment or adopted:
        subject: dict[str, Any] = {"adopted": adopted}
        if torn_commitment:
            subject["torn"] = {
                "offset": raw.torn_offset,
                "size": len(raw.torn_bytes),
                "artifact": torn_commitment,
            }
        with log.appending(case, signer, clock=clock) as app:
            entry = app.append("recover", subject)
        _finish(case, home)
    return Recovery(
        raw.torn_offset, len(raw.torn_bytes), torn_commitment, adopted, removed, rebuilt, entry
    )


def _rebuild_tree_if_damaged(case: Case) -> bool:
    """Rewrite the derived tree from the entries if any stored node differs."""
    lines = [line for _, line in log.read_raw_log(case.entries).lines]
    leaves = [merkle.leaf_hash(line) for line in lines]
    expected = merkle.LeafList(leaves).levels
    store = TreeStore(case.tree)
    intact = store.is_consistent_with(len(lines)) and all(
        (case.tree / str(k)).read_bytes() == b"".join(level)
        for k, level in enumerate(expected)
        if (case.tree / str(k)).exists()
    )
    if not intact:
        store.rebuild(leaves)
    return not intact
