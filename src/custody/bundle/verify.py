"""``custody bundle verify``: every check of a bundle, every finding listed.

Nothing is extracted: the zip is inspected as hostile first (:class:`custody.archive.SafeZip`),
stored members are hashed in place, small files are read into memory with a bound. The
checks, in order (docs/formats/bundle.md, section 6): the bag (declaration, manifests, tag
manifests, no unaccounted file), the two signatures over the tag manifest, the log
(entries, signatures, membership, checkpoint, inclusion and consistency proofs, the export
entry naming ``data/bundle.json``), then each exhibit unit by unit.
"""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from custody import (
    bagcheck,
    bagfiles,
    commitments,
    hashing,
    log,
    merkle,
    note,
    signing,
    sshsig,
    strictjson,
)
from custody.archive import ArchiveLimits, ArchiveMember, SafeZip
from custody.bundle import layout
from custody.errors import CustodyError, InputError, StorageError, UnsafeArchiveError
from custody.report import Report, Severity
from custody.verify import key_of_subject

LIMITS = ArchiveLimits(max_entries=200_000, max_total_size=1 << 40)
_SMALL = 64 << 20  # most bytes of a JSON or text file read into memory
_INLINE = 4 << 20  # files up to this size are hashed in one read on the calling thread


class _Window:
    """A read-only window onto ``size`` bytes of a file from ``offset``."""

    def __init__(self, fh: BinaryIO, offset: int, size: int) -> None:
        self.fh, self.left, self.name = fh, size, getattr(fh, "name", "bundle")
        fh.seek(offset)

    def readinto(self, buf: memoryview) -> int:
        if self.left <= 0:
            return 0
        n = self.fh.readinto(buf[: min(len(buf), self.left)])  # type: ignore[attr-defined]
        self.left -= n or 0
        return int(n or 0)


@dataclass
class _Bundle:
    """What the verifier learned so far."""

    zf: SafeZip
    fh: BinaryIO
    members: dict[str, ArchiveMember]
    digests: dict[str, hashing.Digests] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)  # key id -> raw key (from the log)
    entries: dict[int, log.Entry] = field(default_factory=dict)
    description: dict[str, Any] = field(default_factory=dict)
    pending: dict[str, Future[hashing.Digests]] = field(default_factory=dict)

    def prefetch(self, pool: ThreadPoolExecutor, other: BinaryIO) -> None:
        """Hash the large payload files on ``pool`` (reading ``other``, a second handle on
        the zip) while the log and signatures are checked on this thread."""
        for name in sorted(self.members):
            if name.startswith("data/"):
                span = self.zf.stored_range(self.fh, self.members[name])
                if span is not None and span[1] > _INLINE:
                    window = _Window(other, *span)
                    self.pending[name] = pool.submit(hashing.hash_stream, window)  # type: ignore[arg-type]

    def read(self, name: str, limit: int = _SMALL) -> bytes | None:
        member = self.members.get(name)
        if member is None:
            return None
        if member.size > limit:
            raise UnsafeArchiveError(f"{name} is {member.size} bytes, over {limit}")
        return b"".join(self.zf.iter_member_chunks(member))

    def names(self) -> list[str]:
        return sorted(self.members)

    def size(self, name: str) -> int:
        return self.members[name].size

    def digest(self, name: str) -> hashing.Digests:
        if name in self.pending:
            self.digests[name] = self.pending.pop(name).result()
        if name not in self.digests:
            member = self.members[name]
            span = self.zf.stored_range(self.fh, member)
            if span is not None and span[1] <= _INLINE:
                self.fh.seek(span[0])  # a small file: both digests here, no worker thread
                data = self.fh.read(span[1])
                self.digests[name] = hashing.Digests(
                    hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest(), len(data)
                )
            elif span is not None:
                self.digests[name] = hashing.hash_stream(_Window(self.fh, *span))  # type: ignore[arg-type]
            else:
                h256, h512 = hashlib.sha256(), hashlib.sha512()
                for chunk in self.zf.iter_member_chunks(member):
                    h256.update(chunk)
                    h512.update(chunk)
                self.digests[name] = hashing.Digests(
                    h256.hexdigest(), h512.hexdigest(), member.size
                )
        return self.digests[name]


def verify_bundle(path: Path, *, since: Path | None = None) -> Report:
    """Check a bundle completely; every problem is a finding in the report.

    Raises:
        InputError: not a readable zip, or not a bundle at all.
        UnsafeArchiveError: the zip or a manifest is hostile (exit 4).
        StorageError: the file cannot be read.
    """
    report = Report(subject=str(path))
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror}") from exc
    with fh, SafeZip(fh, LIMITS) as zf, path.open("rb") as other, ThreadPoolExecutor(1) as pool:
        members = {m.name: m for m in zf.members if not m.is_dir}
        if "bagit.txt" not in members and layout.BUNDLE_JSON not in members:
            raise InputError(f"{path} is not a custody bundle (no bagit.txt, no data/bundle.json)")
        b = _Bundle(zf, fh, members)
        try:
            b.prefetch(pool, other)
            _check_log(b, report, since)
            _check_signatures(b, report)
            bagcheck.check_bag(b, report, extra_tag_files=(*layout.SIGNATURES, layout.VERIFY_TXT))
            bagcheck.require_tags(b, report, layout.TAG_FILES)
            _check_manifest_form(b, report)
            _check_exhibits(b, report)
        except bagfiles.HostileBagError as exc:
            raise UnsafeArchiveError(str(exc)) from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc}") from exc
        finally:
            for future in b.pending.values():
                future.cancel()
    return report


def _check_manifest_form(b: _Bundle, report: Report) -> None:
    """Each manifest is byte for byte what custody writes for the lines it holds.

    ``tagmanifest-sha512.txt`` is covered by no signature and no other manifest: without
    this, a change that parses the same (a line break written as ``\\v``, a digest in
    capitals) would go unseen.
    """
    for alg in bagfiles.ALGORITHMS:
        for name in (f"manifest-{alg}.txt", f"tagmanifest-{alg}.txt"):
            data = b.read(name)
            try:
                listed = bagfiles.parse_manifest(data or b"", alg, name)
            except bagfiles.BagFormatError:
                continue  # reported by the bag check
            if data is not None and bagfiles.manifest(listed.items()) != data:
                report.error(
                    "manifest-noncanonical",
                    f"{name} is not in the form custody writes (it was altered)",
                    path=name,
                )


# -- the log --------------------------------------------------------------------------


def _load_json(b: _Bundle, report: Report, name: str) -> Any:
    data = b.read(name)
    if data is None:
        report.error("file-missing", f"{name} is missing", path=name)
        return None
    try:
        return strictjson.loads_strict(data)
    except CustodyError as exc:
        report.error("json-malformed", f"{name} does not parse: {exc.message}", path=name)
        return None


def _check_log(b: _Bundle, report: Report, since: Path | None) -> None:
    desc = _load_json(b, report, layout.BUNDLE_JSON)
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
    proofs = _load_json(b, report, layout.PROOFS)
    if cp is None or not isinstance(proofs, dict):
        return
    _check_inclusion(b, report, cp, proofs)
    _check_consistency(b, report, cp, proofs, since)
    _check_export(b, report, cp)


def _admit_keys(b: _Bundle, report: Report) -> None:
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


def _checkpoint(b: _Bundle, report: Report, name: str) -> note.Checkpoint | None:
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


def _hexes(value: object) -> list[bytes] | None:
    if not isinstance(value, list) or not all(isinstance(h, str) for h in value):
        return None
    try:
        return [bytes.fromhex(str(h)) for h in value]
    except ValueError:
        return None


def _check_inclusion(
    b: _Bundle, report: Report, cp: note.Checkpoint, proofs: dict[str, Any]
) -> None:
    if proofs.get("size") != cp.size:
        report.error("proof-size", "the proofs are for another checkpoint size")
    given = {}
    inclusion = proofs.get("inclusion")
    for item in inclusion if isinstance(inclusion, list) else []:
        if isinstance(item, dict) and type(item.get("seq")) is int:
            given[item["seq"]] = _hexes(item.get("proof"))
    for seq, entry in sorted(b.entries.items()):
        proof = given.get(seq)
        if proof is None or not merkle.verify_inclusion(entry.leaf, seq, cp.size, proof, cp.root):
            report.error("entry-inclusion", f"entry {seq} is not proven to be in the checkpoint")
        else:
            report.count("inclusion_proofs")


def _check_consistency(
    b: _Bundle, report: Report, cp: note.Checkpoint, proofs: dict[str, Any], held: Path | None
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
    proof = _hexes(con.get("proof")) if isinstance(con, dict) else None
    if (
        proof is None
        or not isinstance(con, dict)
        or con.get("size") != old.size
        or not merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    ):
        report.error("consistency-proof", f"the log is not proven to extend checkpoint {old.size}")
    else:
        report.count("consistency_proofs")


def _check_export(b: _Bundle, report: Report, cp: note.Checkpoint) -> None:
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


def _check_signatures(b: _Bundle, report: Report) -> None:
    signed = b.read(layout.SIGNED)
    signer = b.keys.get(str(b.description.get("signer")))
    if signed is None:
        return
    if signer is None:
        report.error("signer-unknown", "the bundle's signer is not a key of the case log")
        return
    armoured = _small(b, layout.SSHSIG, 1 << 16)
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
    raw = _small(b, layout.RAWSIG, 1 << 10)
    if raw is None or not signing.verify_strict(signer, signed, raw):
        report.error("signature-ed25519", f"{layout.RAWSIG} is missing or does not verify")
    else:
        report.count("signatures")


def _small(b: _Bundle, name: str, limit: int) -> bytes | None:
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


# -- exhibits -------------------------------------------------------------------------


def _check_exhibits(b: _Bundle, report: Report) -> None:
    desc = b.description
    files = desc.get("files")
    if desc and not isinstance(files, dict):
        report.error("json-malformed", f"{layout.BUNDLE_JSON} lists no files")
    files = files if isinstance(files, dict) else {}
    named = {layout.BUNDLE_JSON, *layout.LOG_FILES}
    for name in sorted(n for n in b.members if n.startswith("data/")):
        if name not in files and name not in named:
            report.error("file-unaccounted", f"{name} is not described in data/bundle.json")
    for name, sha in sorted(files.items()):
        if name not in b.members:
            report.error("file-missing", f"{name} is described but not in the bag", path=name)
        elif b.digest(name).sha256 != sha:
            report.error("file-altered", f"{name} is not the file data/bundle.json describes")
    exhibits = desc.get("exhibits")
    if desc and not isinstance(exhibits, list):
        report.error("exhibit-malformed", f"{layout.BUNDLE_JSON} lists no exhibits")
    for ex in exhibits if isinstance(exhibits, list) else []:
        _check_exhibit(b, report, ex)


def _disclosed(b: _Bundle, report: Report, item: dict[str, Any], where: str) -> bool:
    """The disclosure file hashes to the commitment and the file matches it."""
    disc_name, file_name = str(item.get("disclosure")), str(item.get("file"))
    raw = _small(b, disc_name, 1 << 20)
    if raw is None or file_name not in b.members:
        report.error("unit-missing", f"{where}: its file or disclosure is missing")
        return False
    if commitments.commitment_of(raw) != item.get("commitment"):
        report.error("unit-commitment", f"{where}: the disclosure does not hash to its commitment")
        return False
    try:
        disc = commitments.parse_disclosure(raw)
    except CustodyError as exc:
        report.error("unit-commitment", f"{where}: {exc.message}")
        return False
    got = b.digest(file_name)
    if (got.sha256, got.size) != (disc.sha256, disc.size) or (
        disc.sha512 is not None and got.sha512 != disc.sha512
    ):
        report.error("unit-altered", f"{where}: {file_name} is not the unit committed")
        return False
    report.count("units_disclosed")
    return True


def _check_exhibit(b: _Bundle, report: Report, ex: Any) -> None:
    if not isinstance(ex, dict) or type(ex.get("entry")) is not int:
        report.error("exhibit-malformed", "an exhibit of data/bundle.json is malformed")
        return
    entry = b.entries.get(ex["entry"])
    label = str(ex.get("exhibit"))
    if entry is None or entry.type != ex.get("type"):
        report.error("exhibit-entry", f"exhibit {label}: its entry is not shipped")
        return
    units = entry.subject.get("units")
    set_info = ex.get("units")
    included = 0
    listed = ex.get("items")
    if not isinstance(listed, list):
        report.error("exhibit-malformed", f"exhibit {label}: its items are malformed")
        listed = []
    for item in listed:
        if not isinstance(item, dict):
            report.error("exhibit-malformed", f"exhibit {label}: an item is malformed")
            continue
        where = f"exhibit {label} {item.get('role')} {item.get('unit') or ''}".rstrip()
        if item.get("index") is not None:
            included += 1
            if not _in_set(item, units):
                report.error("unit-proof", f"{where}: not proven to be in the entry's units")
                continue
        elif entry.subject.get(str(item.get("role"))) != item.get("commitment"):
            report.error("unit-entry", f"{where}: the entry does not name this commitment")
            continue
        status = item.get("status")
        if status == "disclosed":
            _disclosed(b, report, item, where)
        elif status == "redacted":
            _check_derived(b, report, item, where)
        elif status == "withheld":
            report.add(Severity.INFO, "unit-withheld", f"{where} withheld: {item.get('reason')}")
        else:
            report.error("exhibit-malformed", f"{where}: unknown status {status!a}")
    if isinstance(set_info, dict) and isinstance(units, dict):
        count = units.get("count")
        if set_info.get("count") != count or set_info.get("included") != included:
            report.error("units-count", f"exhibit {label}: the unit counts do not add up")
        elif isinstance(count, int) and count > included:
            report.add(
                Severity.INFO,
                "units-withheld",
                f"exhibit {label}: {count - included} of {count} units withheld: "
                f"{set_info.get('withheld_reason')}",
            )


def _in_set(item: dict[str, Any], units: object) -> bool:
    if not isinstance(units, dict) or not commitments.is_commitment(item.get("commitment")):
        return False
    proof = _hexes(item.get("proof"))
    try:
        root = bytes.fromhex(str(units.get("root")))
    except ValueError:
        return False
    count, index = units.get("count"), item.get("index")
    if proof is None or type(count) is not int or type(index) is not int:
        return False
    leaf = merkle.leaf_hash(bytes.fromhex(str(item["commitment"])[7:]))
    return merkle.verify_inclusion(leaf, index, count, proof, root)


def _check_derived(b: _Bundle, report: Report, item: dict[str, Any], where: str) -> None:
    d = item.get("derived")
    if not isinstance(d, dict):
        report.error("derive-missing", f"{where}: redacted without a derived artifact")
        return
    seq = d.get("entry")
    entry = b.entries.get(seq) if isinstance(seq, int) else None
    want = {
        "parent": item.get("commitment"),
        "artifact": d.get("artifact"),
        "method": d.get("method"),
        "params": d.get("params"),
    }
    if (
        entry is None
        or entry.type != "derive"
        or any(entry.subject.get(k) != v for k, v in want.items())
    ):
        report.error("derive-entry", f"{where}: no signed derive entry matches its redaction")
        return
    shown = {
        "commitment": d.get("artifact"),
        "file": d.get("file"),
        "disclosure": d.get("disclosure"),
    }
    params = {
        "commitment": d.get("params"),
        "file": d.get("params_file"),
        "disclosure": d.get("params_disclosure"),
    }
    if _disclosed(b, report, shown, where + " (redacted)") and _disclosed(
        b, report, params, where + " (redaction parameters)"
    ):
        report.add(Severity.INFO, "unit-redacted", f"{where} redacted: {item.get('reason')}")
