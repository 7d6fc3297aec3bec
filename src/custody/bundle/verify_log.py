"""The log and signature checks of ``custody bundle verify``: shipped entries, their
signatures and keys, the checkpoint, inclusion and consistency proofs, the export entry
naming ``data/bundle.json``, and the two signatures over the tag manifest."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from custody import log, merkle, note, signing, sshsig, strictjson
from custody.bundle import layout
from custody.bundle.reader import Bundle
from custody.errors import CustodyError, InputError
from custody.report import Report
from custody.verify import key_of_subject

# -- the log --------------------------------------------------------------------------


def load_json(b: Bundle, report: Report, name: str) -> Any:
    """A JSON member parsed strictly, or None (with a finding) when missing or malformed."""
    data = b.read(name)
    if data is None:
        report.error("file-missing", f"{name} is missing", path=name)
        return None
    try:
        return strictjson.loads_strict(data)
    except CustodyError as exc:
        report.error("json-malformed", f"{name} does not parse: {exc.message}", path=name)
        return None


def check_log(b: Bundle, report: Report, since: Path | None) -> None:
    """The shipped entries, their signers and signatures, the checkpoint, the proofs and
    the export entry (``since``: a checkpoint the recipient holds)."""
    desc = load_json(b, report, layout.BUNDLE_JSON)
    if desc is not None and not isinstance(desc, dict):
        report.error("json-malformed", f"{layout.BUNDLE_JSON} is not a JSON object")
    b.description = desc if isinstance(desc, dict) else {}
    lines = (b.read(layout.ENTRIES) or b"").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    last = -1
    for line in lines:
        try:
            entry = log.decode_entry(line)
        except CustodyError as exc:
            report.error("entry-malformed", exc.message, path=layout.ENTRIES)
            continue
        if entry.seq in b.entries:
            report.error("entry-duplicate", f"entry {entry.seq} is shipped twice")
        elif entry.seq < last:
            report.error("entry-order", f"entry {entry.seq} is shipped after entry {last}")
        last = max(last, entry.seq)
        b.entries[entry.seq] = entry
        if entry.body.get("case") != b.description.get("case"):
            report.error("entry-case", f"entry {entry.seq} belongs to another case")
    _admit_keys(b, report)
    cp = _checkpoint(b, report, layout.CHECKPOINT)
    proofs = load_json(b, report, layout.PROOFS)
    if cp is None or not isinstance(proofs, dict):
        return
    _check_inclusion(b, report, cp, proofs)
    _check_consistency(b, report, cp, proofs, since)
    _check_export(b, report, cp)


def _admit_keys(b: Bundle, report: Report) -> None:
    if 0 not in b.entries or b.entries[0].type != "init":
        report.error("entry-missing", "the case's init entry (entry 0) is not shipped")
    for seq in sorted(b.entries):
        entry = b.entries[seq]
        if entry.type in ("init", "key"):
            new = key_of_subject(entry.subject)
            if new is None:
                report.error("entry-malformed", f"entry {seq} has no valid public key")
                continue
            b.keys.setdefault(signing.key_id(new), new)
        key = b.keys.get(entry.actor)
        if key is None:
            report.error("entry-signer", f"entry {seq} is signed by a key the log never admitted")
        elif not signing.verify_strict(key, entry.signed_message(), entry.signature):
            report.error("entry-signature", f"entry {seq}: the signature does not verify")
        else:
            report.count("entries")


def _checkpoint(b: Bundle, report: Report, name: str) -> note.Checkpoint | None:
    data = b.read(name)
    if data is None:
        report.error("checkpoint-missing", f"{name} is missing")
        return None
    try:
        cp = note.parse_checkpoint(data)
    except note.NoteFormatError as exc:
        report.error("checkpoint-malformed", f"{name}: {exc}")
        return None
    if cp.origin != b.description.get("origin"):
        report.error("checkpoint-origin", f"{name} is a checkpoint of another log")
    if cp.signed_by(b.keys.values()) is None:
        report.error("checkpoint-signature", f"{name} is not signed by a key of the case")
    return cp


def hexes(value: object) -> list[bytes] | None:
    """A proof as listed in JSON (hex strings) as bytes, or None when malformed."""
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        return None
    try:
        return [bytes.fromhex(str(h)) for h in value]
    except ValueError:
        return None


def _check_inclusion(
    b: Bundle, report: Report, cp: note.Checkpoint, proofs: dict[str, Any]
) -> None:
    if proofs.get("size") != cp.size:
        report.error("proof-size", "the proofs are for another checkpoint size")
    given = {}
    inclusion = proofs.get("inclusion")
    for item in inclusion if isinstance(inclusion, list) else []:
        if isinstance(item, dict) and type(item.get("seq")) is int:
            given[item["seq"]] = hexes(item.get("proof"))
    for seq, entry in sorted(b.entries.items()):
        proof = given.get(seq)
        if proof is None or not merkle.verify_inclusion(entry.leaf, seq, cp.size, proof, cp.root):
            report.error("entry-inclusion", f"entry {seq} is not proven to be in the checkpoint")
        else:
            report.count("inclusion_proofs")


def _check_consistency(
    b: Bundle, report: Report, cp: note.Checkpoint, proofs: dict[str, Any], held: Path | None
) -> None:
    con = proofs.get("consistency")
    old = (
        _checkpoint(b, report, layout.SINCE_CHECKPOINT)
        if layout.SINCE_CHECKPOINT in b.members
        else None
    )
    if held is not None:
        try:
            mine = note.parse_checkpoint(held.read_bytes())
        except (OSError, note.NoteFormatError) as exc:
            raise InputError(f"--since {held}: not a readable checkpoint ({exc})") from None
        if old is None or (mine.size, mine.root, mine.origin) != (old.size, old.root, old.origin):
            report.error(
                "consistency-missing", "the bundle holds no proof from the checkpoint you hold"
            )
    if old is None:
        if con is not None:
            report.error("consistency-proof", "a consistency proof without its checkpoint")
        return
    proof = hexes(con.get("proof")) if isinstance(con, dict) else None
    if (
        proof is None
        or not isinstance(con, dict)
        or con.get("size") != old.size
        or not merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    ):
        report.error("consistency-proof", f"the log is not proven to extend checkpoint {old.size}")
    else:
        report.count("consistency_proofs")


def _check_export(b: Bundle, report: Report, cp: note.Checkpoint) -> None:
    desc = b.description
    exports = [
        e
        for e in b.entries.values()
        if e.type == "export" and e.subject.get("bundle") == desc.get("bundle")
    ]
    if len(exports) != 1:
        report.error("export-entry", "no single export entry names this bundle")
        return
    data = b.read(layout.BUNDLE_JSON) or b""
    if exports[0].subject.get("manifest") != "sha256:" + hashlib.sha256(data).hexdigest():
        report.error("export-manifest", "data/bundle.json is not the one the export entry names")
    if exports[0].actor != desc.get("signer"):
        report.error("export-signer", "the export entry is signed by another key than the bundle")
    if exports[0].seq >= cp.size:
        report.error("export-entry", "the checkpoint does not include the export entry")


# -- signatures -----------------------------------------------------------------------


def check_signatures(b: Bundle, report: Report) -> None:
    """The SSHSIG and raw Ed25519 signatures over the tag manifest, by the signer."""
    signed = b.read(layout.SIGNED)
    signer = b.keys.get(str(b.description.get("signer")))
    if signed is None:
        return
    if signer is None:
        report.error("signer-unknown", "the bundle's signer is not a key of the case log")
        return
    armoured = small_member(b, layout.SSHSIG, 1 << 16)
    try:
        if armoured is None:
            raise sshsig.SshsigError("missing, or too large to be one")
        parsed = sshsig.parse(armoured)
        if armoured != _armour(armoured):
            raise sshsig.SshsigError("not in the form custody writes (it was altered)")
        ok = parsed.verify(signed, layout.NAMESPACE, [signer]) is not None
    except sshsig.SshsigError as exc:
        report.error("signature-sshsig", f"{layout.SSHSIG}: {exc}")
    else:
        if not ok:
            report.error("signature-sshsig", f"{layout.SSHSIG} does not verify for the signer")
        else:
            report.count("signatures")
    raw = small_member(b, layout.RAWSIG, 1 << 10)
    if raw is None or not signing.verify_strict(signer, signed, raw):
        report.error("signature-ed25519", f"{layout.RAWSIG} is missing or does not verify")
    else:
        report.count("signatures")


def small_member(b: Bundle, name: str, limit: int) -> bytes | None:
    """A member that must be small, or None if it is missing or larger than ``limit``."""
    if name not in b.members or b.size(name) > limit:
        return None
    return b.read(name, limit)


def _armour(armoured: bytes) -> bytes:
    """The armour ``sshsig.sign`` writes for the same signature blob: the file's bytes
    are covered by nothing, so any other spelling (line breaks, spaces, padding bits) is
    an alteration. Call it on armour :func:`sshsig.parse` accepted."""
    lines = armoured.decode("ascii").strip().splitlines()
    b64 = base64.b64encode(base64.b64decode("".join(lines[1:-1])))
    wrapped = [b64[i : i + 70] for i in range(0, len(b64), 70)]
    begin, end = sshsig.BEGIN.encode(), sshsig.END.encode()
    return b"\n".join([begin, *wrapped, end]) + b"\n"
