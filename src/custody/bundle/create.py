"""``custody bundle create``: seal the plan's redactions, log the export, write the bag.

Order (DESIGN section 8): derived artifacts are stored and each gets a signed ``derive``
entry; ``data/bundle.json`` (which lists every exhibit file with its SHA-256) is built;
the ``export`` entry naming its digest is appended, and the checkpoint that includes it
is signed; only then are the proofs made and the zip written (to a temporary name beside
OUT, renamed at the end). A crash before the rename leaves no bundle; a crash after the
export entry leaves an entry for a bundle never delivered, which the log shows as such.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import secrets
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from custody import (
    _fs,
    bagfiles,
    canonical,
    commitments,
    encodings,
    hashing,
    locker,
    log,
    merkle,
    note,
    signing,
    sshsig,
    store,
)
from custody.bundle import layout
from custody.bundle.plan import Exhibit, Item, Plan, Source
from custody.bundle.sets import warc_block
from custody.bundle.verify_text import verify_text
from custody.case import Case
from custody.errors import IntegrityError, StorageError, UsageError

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class BundleResult:
    """What ``bundle create`` made."""

    path: Path
    bundle_id: str
    export_entry: int
    checkpoint_size: int
    since: int | None
    exhibits: int
    disclosed: int
    withheld: int
    redacted: int
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "bundle": str(self.path),
            "bundle_id": self.bundle_id,
            "export_entry": self.export_entry,
            "checkpoint_size": self.checkpoint_size,
            "since": self.since,
            "exhibits": self.exhibits,
            "units": {
                "disclosed": self.disclosed,
                "withheld": self.withheld,
                "redacted": self.redacted,
            },
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True, slots=True)
class Member:
    """A key that signed in the case, as its log entries introduce it."""

    public_key: bytes
    name: str
    org: str | None


def members_of(entries: dict[int, log.Entry]) -> dict[str, Member]:
    """Every key introduced by an ``init`` or ``key`` entry, by key id (latest operator)."""
    out: dict[str, Member] = {}
    for entry in entries.values():
        if entry.type in ("init", "key"):
            s = entry.subject
            op = s.get("operator") or {}
            out[str(s["key_id"])] = Member(
                base64.b64decode(str(s["public_key"])), str(op.get("name", "")), op.get("org")
            )
    return out


def _since_checkpoint(plan: Plan, recipient: str | None) -> bytes | None:
    """The checkpoint the consistency proof starts from: ``--since``, else the last one
    shipped to the same recipient, else none."""
    sel, case = plan.selection, plan.case
    if sel.since is not None:
        try:
            data = sel.since.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read --since {sel.since}: {exc.strerror}") from exc
        try:
            cp = note.parse_checkpoint(data)
        except note.NoteFormatError as exc:
            raise UsageError(f"--since {sel.since} is not a checkpoint: {exc}") from None
        if cp.origin != case.origin:
            raise UsageError(f"--since {sel.since} is a checkpoint of another log ({cp.origin})")
        keys = [m.public_key for m in members_of(plan.entries).values()]
        if cp.signed_by(keys) is None:
            raise UsageError(f"--since {sel.since} is not signed by a key of this case")
        return data
    if recipient is None:
        return None
    last = [
        e
        for e in plan.entries.values()
        if e.type == "export"
        and e.subject.get("format") == layout.FORMAT
        and e.subject.get("recipient") == recipient
    ]
    if not last:
        return None
    try:
        return (case.checkpoints / str(last[-1].seq + 1)).read_bytes()
    except OSError:
        return None


def _store_derived(case: Case, plan: Plan) -> None:
    for item in _items(plan):
        d = item.derived
        if d is None:
            continue
        stored = store.store_bytes(case, d.data)
        disc = store.commit(case, "derived", stored.digests)
        d.commitment, d.disclosure = disc.commitment, disc.raw
        params = store.store_bytes(case, d.params)
        pdisc = store.commit(case, "derive-params", params.digests)
        d.params_commitment, d.params_disclosure = pdisc.commitment, pdisc.raw


def _items(plan: Plan) -> Iterator[Item]:
    for ex in plan.exhibits:
        yield from ex.items


@dataclass
class _File:
    """A payload file: its path in the bag, its size and how to get its bytes."""

    path: str
    size: int
    sha256: str | None  # known in advance (checked while writing), or None
    read: Callable[[], Iterator[bytes]]


def _bytes_file(path: str, data: bytes) -> _File:
    return _File(path, len(data), hashlib.sha256(data).hexdigest(), lambda: iter((data,)))


def _source_file(case: Case, path: str, source: Source, sha256: str) -> _File:
    if source.data is not None:
        data = source.data
        return _File(path, len(data), sha256, lambda: iter((data,)))
    if source.path is None:
        raise StorageError(f"internal: no source for {path}")
    src = source.path
    if source.warc_block is not None:
        block = source.warc_block
        return _File(path, source.size, sha256, lambda: warc_block(src, block))
    return _File(path, source.size, sha256, lambda: _slice(src, source.offset, source.size))


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


def _exhibit_files(case: Case, ex: Exhibit) -> tuple[list[_File], dict[str, Any]]:
    base = f"{layout.EXHIBITS}/{ex.label}"
    files: list[_File] = []
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
            files.append(_source_file(case, f"{base}/{item.name}", item.source, sha))
            files.append(_bytes_file(f"{base}/{item.name}.disclosure.json", item.disclosure))
            doc |= {
                "file": f"{base}/{item.name}",
                "disclosure": f"{base}/{item.name}.disclosure.json",
            }
        d = item.derived
        if d is not None:
            name = f"{base}/{d.name}"
            files += [
                _bytes_file(name, d.data),
                _bytes_file(f"{name}.disclosure.json", d.disclosure),
                _bytes_file(f"{name}.params.json", d.params),
                _bytes_file(f"{name}.params.disclosure.json", d.params_disclosure),
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


def _key_files(members: dict[str, Member], origin: str) -> tuple[list[_File], list[dict[str, Any]]]:
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
            _bytes_file(
                paths["openssh"], (encodings.openssh_line(m.public_key, m.name) + "\n").encode()
            )
        )
        files.append(_bytes_file(paths["pem"], encodings.pem(m.public_key).encode()))
        files.append(
            _bytes_file(paths["note"], (note.verifier_key(origin, m.public_key) + "\n").encode())
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
    files.append(_bytes_file(layout.ALLOWED_SIGNERS, "".join(allowed).encode()))
    return files, docs


def create_bundle(
    plan: Plan,
    out: Path,
    *,
    signer: signing.Signer,
    overwrite: bool = False,
    clock: Callable[[], datetime] = log.utc_now,
) -> BundleResult:
    """Seal redactions, log the export, and write the bundle to ``out``.

    Raises:
        UsageError: ``out`` exists (without ``overwrite``) or is inside the case.
        KeyMaterialError: the signer may not sign in this case.
        IntegrityError: evidence changed while it was being bundled.
        StorageError: a write fails (no bundle is left behind).
    """
    case, sel = plan.case, plan.selection
    out = out.absolute()
    if out.exists() and not overwrite:
        raise UsageError(f"{out} exists (use --overwrite to replace it)")
    if out.resolve().is_relative_to(case.root.resolve()):
        raise UsageError("write the bundle outside the case folder")
    members = members_of(plan.entries)
    signer_id = signing.key_id(signer.public_key)
    locker.require_member(case, signer)
    since = _since_checkpoint(plan, sel.recipient)
    since_size = note.parse_checkpoint(since).size if since else None
    bundle_id = secrets.token_hex(16)
    _store_derived(case, plan)
    key_files, key_docs = _key_files(members, case.origin)
    with log.appending(case, signer, clock=clock) as app:
        for item in _items(plan):
            if item.derived is not None:
                d = item.derived
                subject = {
                    "parent": item.commitment,
                    "artifact": d.commitment,
                    "method": d.method,
                    "params": d.params_commitment,
                    "reason": d.reason,
                }
                d.entry_seq = app.append("derive", subject).seq
        payload: list[_File] = []
        exhibits = []
        for ex in plan.exhibits:
            files, doc = _exhibit_files(case, ex)
            payload += files
            exhibits.append(doc)
        payload += key_files
        description = {
            "v": 1,
            "type": "custody-bundle",
            "format": layout.FORMAT,
            "bundle": bundle_id,
            "case": case.case_id,
            "origin": case.origin,
            "created": log.format_time(clock()),
            "recipient": sel.recipient,
            "signer": signer_id,
            "since": since_size,
            "redaction": {
                "patterns": [p.label for p in plan.patterns],
                "strip_gps": sel.strip_gps,
            },
            "keys": key_docs,
            "exhibits": exhibits,
            "files": {f.path: f.sha256 for f in payload},
        }
        bundle_json = canonical.dumps(description)
        export = app.append(
            "export",
            {
                "format": layout.FORMAT,
                "bundle": bundle_id,
                "recipient": sel.recipient,
                "manifest": "sha256:" + hashlib.sha256(bundle_json).hexdigest(),
            },
        )
    size = export.seq + 1
    checkpoint = (case.checkpoints / str(size)).read_bytes()
    shipped = _shipped(plan, export.seq)
    with log.locked(case, shared=True):
        raw = log.read_raw_log(case.entries)
        lines = {i: line for i, (_, line) in enumerate(raw.lines[:size])}
        tree = log.ensure_tree(case, size)
        try:
            proofs = {
                "size": size,
                "inclusion": [
                    {"seq": s, "proof": [h.hex() for h in merkle.inclusion_proof(tree, s, size)]}
                    for s in shipped
                ],
                "consistency": None
                if since_size is None
                else {
                    "size": since_size,
                    "proof": [h.hex() for h in merkle.consistency_proof(tree, since_size, size)],
                },
            }
        finally:
            tree.close()
    payload.insert(0, _bytes_file(layout.BUNDLE_JSON, bundle_json))
    payload.append(_bytes_file(layout.ENTRIES, b"".join(lines[s] + b"\n" for s in shipped)))
    payload.append(_bytes_file(layout.CHECKPOINT, checkpoint))
    if since is not None:
        payload.append(_bytes_file(layout.SINCE_CHECKPOINT, since))
    payload.append(_bytes_file(layout.PROOFS, canonical.dumps(proofs)))
    me = members[signer_id]
    info = [
        ("Source-Organization", me.org or me.name),
        ("Contact-Name", me.name),
        ("Bagging-Date", clock().date().isoformat()),
        ("External-Identifier", bundle_id),
        ("Bag-Software-Agent", "custody"),
        ("Payload-Oxum", bagfiles.payload_oxum({f.path: f.size for f in payload})),
        ("Custody-Case", case.case_id),
        ("Custody-Log-Origin", case.origin),
        ("Custody-Checkpoint-Size", str(size)),
        ("Custody-Recipient", sel.recipient or "(not named)"),
        ("Custody-Signer", signing.ssh_fingerprint(signer.public_key)),
    ]
    verify = verify_text(
        bundle=bundle_id,
        case=case.case_id,
        operator=me.name,
        fingerprint=signing.ssh_fingerprint(signer.public_key),
        key_id=signer_id,
        principal=encodings.signer_principal(me.name),
        pem=f"{layout.KEYS}/{signer_id.split(':', 1)[1]}.pem",
        zipname=out.name,
    )
    _write_zip(out, payload, bagfiles.bag_info(info), verify, signer)
    digests = _hash_file(out)
    counts = [i.status for i in _items(plan)]
    withheld = sum(
        ex.units.count - sum(1 for i in ex.items if i.index is not None)
        for ex in plan.exhibits
        if ex.units
    )
    return BundleResult(
        path=out,
        bundle_id=bundle_id,
        export_entry=export.seq,
        checkpoint_size=size,
        since=since_size,
        exhibits=len(plan.exhibits),
        disclosed=counts.count("disclosed"),
        withheld=counts.count("withheld") + withheld,
        redacted=counts.count("redacted"),
        size=digests.size,
        sha256=digests.sha256,
    )


def _shipped(plan: Plan, export_seq: int) -> list[int]:
    """The entries a bundle relies on: keys, its exhibits, their redactions, the export."""
    seqs = {s for s, e in plan.entries.items() if e.type in ("init", "key")}
    seqs |= {ex.entry.seq for ex in plan.exhibits}
    seqs |= {i.derived.entry_seq for i in _items(plan) if i.derived is not None}
    seqs.add(export_seq)
    return sorted(seqs)


def _hash_file(path: Path) -> hashing.Digests:
    with path.open("rb") as fh:
        return hashing.hash_stream(fh, sha512=False)


def _zinfo(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _put(zf: zipfile.ZipFile, name: str, chunks: Iterator[bytes], size: int) -> tuple[str, str]:
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with zf.open(_zinfo(name), "w", force_zip64=size >= 1 << 31) as fh:
        for chunk in chunks:
            sha256.update(chunk)
            sha512.update(chunk)
            fh.write(chunk)
    return sha256.hexdigest(), sha512.hexdigest()


def _write_zip(
    out: Path, payload: list[_File], info: bytes, verify: bytes, signer: signing.Signer
) -> None:
    tmp = out.parent / _fs.temp_name()
    try:
        with (
            tmp.open("xb") as raw,
            zipfile.ZipFile(raw, "w", zipfile.ZIP_STORED, allowZip64=True) as zf,
        ):
            m256, m512 = [], []
            for f in payload:
                if not bagfiles.is_safe_payload_path(f.path):
                    raise StorageError(f"internal: unsafe payload path {f.path!a}")
                sha256, sha512 = _put(zf, f.path, f.read(), f.size)
                if f.sha256 is not None and sha256 != f.sha256:
                    raise IntegrityError(
                        f"{f.path} changed while it was bundled (run custody verify)"
                    )
                m256.append((f.path, sha256))
                m512.append((f.path, sha512))
            tags = {
                "bagit.txt": bagfiles.DECLARATION,
                "bag-info.txt": info,
                "manifest-sha256.txt": bagfiles.manifest(m256),
                "manifest-sha512.txt": bagfiles.manifest(m512),
                layout.VERIFY_TXT: verify,
            }
            for name, data in tags.items():
                zf.writestr(_zinfo(name), data)
            t256 = bagfiles.manifest((n, hashlib.sha256(d).hexdigest()) for n, d in tags.items())
            t512 = bagfiles.manifest((n, hashlib.sha512(d).hexdigest()) for n, d in tags.items())
            zf.writestr(_zinfo("tagmanifest-sha256.txt"), t256)
            zf.writestr(_zinfo("tagmanifest-sha512.txt"), t512)
            zf.writestr(_zinfo(layout.SSHSIG), sshsig.sign(signer, t256, layout.NAMESPACE))
            zf.writestr(_zinfo(layout.RAWSIG), signer.sign(t256))
            raw.flush()
            _fs.fsync_fd(raw.fileno(), tmp)
        tmp.replace(out)
        _fs.fsync_dir(out.parent)
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
