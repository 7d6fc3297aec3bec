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
import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from custody import (
    bagfiles,
    canonical,
    encodings,
    hashing,
    locker,
    log,
    merkle,
    note,
    signing,
    store,
)
from custody.bundle import layout
from custody.bundle.payload import (
    Member,
    PayloadFile,
    bytes_file,
    exhibit_files,
    key_files,
)
from custody.bundle.plan import Item, Plan
from custody.bundle.verify_text import verify_text
from custody.bundle.zipwrite import write_zip
from custody.case import Case
from custody.errors import UsageError

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
    keys_payload, key_docs = key_files(members, case.origin)
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
        payload: list[PayloadFile] = []
        exhibits = []
        for ex in plan.exhibits:
            files, doc = exhibit_files(case, ex)
            payload += files
            exhibits.append(doc)
        payload += keys_payload
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
    payload.insert(0, bytes_file(layout.BUNDLE_JSON, bundle_json))
    payload.append(bytes_file(layout.ENTRIES, b"".join(lines[s] + b"\n" for s in shipped)))
    payload.append(bytes_file(layout.CHECKPOINT, checkpoint))
    if since is not None:
        payload.append(bytes_file(layout.SINCE_CHECKPOINT, since))
    payload.append(bytes_file(layout.PROOFS, canonical.dumps(proofs)))
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
    write_zip(out, payload, bagfiles.bag_info(info), verify, signer)
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
