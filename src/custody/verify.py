"""``custody verify``: re-check every artifact, entry, signature, tree and checkpoint.

Read-only: nothing in the case is written. Every finding is collected, not just the first.
"""

from __future__ import annotations

import base64
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from custody import commitments, encodings, hashing, log, merkle, note, signing, store, unitindex
from custody.case import MARKER, Case, marker_bytes
from custody.errors import CustodyError
from custody.locker import POSSESSION_DOMAIN
from custody.report import Report, Severity

_REF_FIELDS = ("artifact", "details", "params")  # params: how a derive entry redacted


@dataclass
class _State:
    """What the log establishes, as the verifier walks it."""

    keys: dict[str, bytes] = field(default_factory=dict)  # every key ever valid
    active: set[str] = field(default_factory=set)
    principals: dict[str, str] = field(default_factory=dict)
    referenced: dict[str, int] = field(default_factory=dict)  # commitment -> seq
    leaves: list[bytes] = field(default_factory=list)
    imports: list[log.Entry] = field(default_factory=list)


def key_of_subject(subject: dict[str, object]) -> bytes | None:
    """The public key an init or key entry introduces, if well formed and acceptable."""
    try:
        key = base64.b64decode(str(subject["public_key"]), validate=True)
    except (KeyError, ValueError):
        return None
    if not signing.public_key_is_acceptable(key) or subject.get("key_id") != signing.key_id(key):
        return None
    return key


def _admit_key(entry: log.Entry, st: _State, report: Report, where: str) -> None:
    subject = entry.subject
    key = key_of_subject(subject)
    if key is None:
        report.error("bad-key-entry", f"{where}: public key missing, weak or mismatched")
        return
    kid = signing.key_id(key)
    operator = subject.get("operator")
    name = operator.get("name", "") if isinstance(operator, dict) else ""
    if entry.type == "init" or subject.get("action") == "join":
        if entry.actor != kid:
            report.error("bad-key-entry", f"{where}: a new key must sign its own entry")
            return
    elif subject.get("action") == "rotate":
        try:
            proof = base64.b64decode(str(subject.get("possession")), validate=True)
        except ValueError:
            proof = b""
        msg = POSSESSION_DOMAIN + f"{entry.body['case']}\n{kid}".encode()
        if subject.get("replaces") != entry.actor or not signing.verify_strict(key, msg, proof):
            report.error("bad-key-entry", f"{where}: rotation lacks proof of the new key")
            return
        st.active.discard(entry.actor)
    else:
        report.error("bad-key-entry", f"{where}: unknown key action")
        return
    st.keys[kid] = key
    st.active.add(kid)
    st.principals[kid] = str(name)


def _refs(entry: log.Entry) -> Iterable[str]:
    s = entry.subject
    for name in _REF_FIELDS:
        if name in s:
            yield s[name]
    torn = s.get("torn")
    if isinstance(torn, dict) and "artifact" in torn:
        yield torn["artifact"]
    adopted = s.get("adopted")
    if isinstance(adopted, list):
        yield from adopted
    named = s.get("artifacts")  # a capture's snapshots, an import's messages and salts
    if isinstance(named, dict):
        yield from (named[k] for k in sorted(named))
    units = s.get("units")  # the list of many units' commitments (an import)
    if isinstance(units, dict) and "list" in units:
        yield units["list"]


def _check_entries(case: Case, report: Report, st: _State) -> None:
    raw = log.read_raw_log(case.entries)
    if not raw.lines and raw.torn_offset is None:
        report.error("log-empty", "the custody log is empty or missing (interrupted init?)")
    prev = log.GENESIS
    for i, (offset, line) in enumerate(raw.lines):
        where = f"entry {i} (byte {offset})"
        leaf = merkle.leaf_hash(line)
        st.leaves.append(leaf)
        report.count("entries")
        try:
            entry = log.decode_entry(line)
        except CustodyError as exc:
            report.error("entry-malformed", f"{where}: {exc.message}", offset=offset)
            prev = leaf.hex()
            continue
        if entry.seq != i:
            report.error(
                "entry-out-of-place",
                f"{where} says it is entry {entry.seq}: entries were reordered or deleted",
                offset=offset,
            )
        if entry.body["prev"] != prev:
            report.error(
                "chain-broken",
                f"{where} does not follow the entry before it (reordered, deleted or forked)",
                offset=offset,
            )
        if entry.body["case"] != case.case_id:
            report.error("wrong-case", f"{where} belongs to another case", offset=offset)
        if i == 0 and entry.type != "init":
            report.error("no-init", "the log does not start with an init entry", offset=offset)
        if entry.type == "init" and i != 0:
            report.error("late-init", f"{where} is a second init entry", offset=offset)
        if entry.type == "init" or entry.type == "key":
            pending = _State(dict(st.keys), set(st.active), dict(st.principals))
            _admit_key(entry, pending, report, where)
            signer_ok = entry.actor in pending.active or entry.actor in st.active
            key = pending.keys.get(entry.actor)
        else:
            pending = None
            signer_ok = entry.actor in st.active
            key = st.keys.get(entry.actor)
        if key is None or not signer_ok:
            report.error("unknown-signer", f"{where} is signed by a key not active in this case")
        elif not signing.verify_strict(key, entry.signed_message(), entry.signature):
            report.error("bad-signature", f"{where} has an invalid signature", offset=offset)
        else:
            report.count("signatures")
            if entry.type in ("import", "capture"):  # units re-checked by verify --deep
                st.imports.append(entry)
            if pending is not None:
                st.keys, st.active, st.principals = pending.keys, pending.active, pending.principals
        for ref in _refs(entry):
            if commitments.is_commitment(ref):
                st.referenced.setdefault(ref, i)
            else:
                report.error("bad-commitment", f"{where} holds a malformed commitment")
        prev = leaf.hex()
    if raw.torn_offset is not None:
        report.error(
            "torn-tail",
            f"the log ends in a torn record at byte {raw.torn_offset} "
            f"({len(raw.torn_bytes)} bytes): a crash mid-append; run custody log recover",
            offset=raw.torn_offset,
        )


def _check_checkpoint(
    data: bytes, label: str, case: Case, st: _State, tree: merkle.LeafList, report: Report
) -> int | None:
    try:
        cp = note.parse_checkpoint(data)
    except note.NoteFormatError as exc:
        report.error("checkpoint-malformed", f"{label}: {exc}")
        return None
    if cp.origin != case.origin:
        report.error("checkpoint-foreign", f"{label} is for another log ({cp.origin})")
        return None
    if cp.signed_by(st.keys.values()) is None:
        report.error("checkpoint-signature", f"{label} has no valid signature by a case key")
        return None
    report.count("checkpoints")
    n = tree.size
    if cp.size > n:
        report.error(
            "log-truncated",
            f"{label} was signed for {cp.size} entries but the log holds {n}: "
            "entries were removed or the log was replaced by an older copy",
        )
    elif merkle.root(tree, cp.size) != cp.root:
        report.error(
            "log-rewritten",
            f"{label} (size {cp.size}) does not match the log: its history was rewritten",
        )
    return cp.size


def _check_tree(case: Case, tree: merkle.LeafList, report: Report) -> None:
    if not case.tree.is_dir():
        return
    for path in sorted(case.tree.iterdir()):
        if path.name.startswith(".tmp-") or path.is_symlink():
            continue  # reported by _check_files
        name_ok = path.name.isascii() and path.name.isdigit() and path.is_file()
        if not name_ok or int(path.name) >= max(len(tree.levels), 1):
            if not path.is_file() or path.stat().st_size:
                report.error("extra-file", f"unexpected file {path.relative_to(case.root)}")
            continue
        data = path.read_bytes()
        expected = b"".join(tree.levels[int(path.name)])
        if not expected.startswith(data) or len(data) % 32:
            report.error(
                "tree-altered",
                f"derived tree level {path.name} does not match the entries",
                path=str(path.relative_to(case.root)),
            )


def _hash_file(path: Path, deep: bool) -> hashing.Digests:
    with path.open("rb") as fh:
        return hashing.hash_stream(fh, sha512=deep)


def _check_artifacts(case: Case, st: _State, report: Report, deep: bool) -> set[Path]:
    expected: set[Path] = set()
    for ref, seq in st.referenced.items():
        expected.add(case.disclosure_path(ref))
        try:
            disc = store.read_disclosure(case, ref)
        except CustodyError as exc:
            report.error("disclosure-bad", f"entry {seq}: {exc.message}")
            continue
        path = case.object_path(disc.sha256)
        expected.add(path)
        rel = str(path.relative_to(case.root))
        if not path.is_file():
            report.error("artifact-missing", f"entry {seq}: artifact {rel} is missing", path=rel)
            continue
        try:
            got = _hash_file(path, deep)
        except OSError as exc:
            report.error("artifact-unreadable", f"cannot read {rel}: {exc.strerror}", path=rel)
            continue
        report.count("artifacts")
        report.count("bytes_hashed", got.size)
        altered = got.sha256 != disc.sha256 or got.size != disc.size
        if deep and disc.sha512 and got.sha512 != disc.sha512:
            altered = True
        if altered:
            report.error("artifact-altered", f"entry {seq}: artifact {rel} was altered", path=rel)
        elif deep and disc.kind in ("capture-warc", "chat-warc"):
            from custody.capture.recorder import check_capture_warc

            for problem in check_capture_warc(path):
                report.error("warc-invalid", f"entry {seq}: {rel}: {problem}", path=rel)
        report.artifacts.append(
            {"path": rel, "sha256": disc.sha256, "size": disc.size, "kind": disc.kind, "seq": seq}
            | ({"sha512": disc.sha512} if disc.sha512 else {})
        )
    return expected


def _check_files(case: Case, st: _State, expected: set[Path], report: Report) -> None:
    fixed = {case.marker, case.entries, case.checkpoint, case.lock}
    for path in sorted(case.root.rglob("*")):
        rel = str(path.relative_to(case.root))
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            report.error("link-in-case", f"symbolic link inside the case: {rel}", path=rel)
            continue
        if stat.S_ISDIR(mode) or path in fixed or path in expected:
            continue
        if path.name.startswith(".tmp-"):
            report.add(
                Severity.WARNING, "leftover-temp", f"{rel}: leftover of an interrupted write"
            )
        elif path.parent == case.checkpoints or path.parent == case.tree:
            continue  # checked by _check_tree and the checkpoint history
        elif path.parent == unitindex.cache_dir(case) and unitindex.is_index_name(path.name):
            if not case.object_path(path.name[:64]).is_file():
                report.error("extra-file", f"{rel} indexes no artifact of the case", path=rel)
        elif path.parent == case.keys and path.name.endswith(".pub"):
            _check_key_file(path, rel, st, report)
        elif path.is_relative_to(case.objects) or path.is_relative_to(case.disclosures):
            report.error(
                "unlogged-file",
                f"{rel} is not in the log (an interrupted add?); custody log recover adopts it",
                path=rel,
            )
        else:
            report.error("extra-file", f"unexpected file in the case: {rel}", path=rel)


def _check_key_file(path: Path, rel: str, st: _State, report: Report) -> None:
    kid = "ed25519:" + path.name.removesuffix(".pub")
    key = st.keys.get(kid)
    want = encodings.openssh_line(key, st.principals.get(kid, "")) + "\n" if key else None
    if want is None or path.read_bytes() != want.encode():
        report.error("key-file-altered", f"{rel} does not match a key in the log", path=rel)


def orphans(case: Case) -> tuple[list[str], list[Path]]:
    """Disclosures and artifacts no entry refers to (for ``custody log recover``)."""
    report = Report(str(case.root))
    st = _State()
    _check_entries(case, report, st)
    disclosed = set()
    loose: list[str] = []
    if case.disclosures.is_dir():
        for path in sorted(case.disclosures.glob("*.json")):
            ref = "sha256:" + path.stem
            if ref in st.referenced:
                continue
            try:
                disc = store.read_disclosure(case, ref)
            except CustodyError:
                continue
            loose.append(ref)
            disclosed.add(case.object_path(disc.sha256))
    for ref in st.referenced:
        try:
            disclosed.add(case.object_path(store.read_disclosure(case, ref).sha256))
        except CustodyError:
            continue
    objects = (
        sorted(
            p for p in (case.objects / "sha256").rglob("*") if p.is_file() and p not in disclosed
        )
        if (case.objects / "sha256").is_dir()
        else []
    )
    return loose, objects


def verify_case(
    case: Case,
    *,
    deep: bool = False,
    artifacts: bool = True,
    checkpoints: Iterable[tuple[str, bytes]] = (),
) -> Report:
    """Verify everything in ``case``; ``checkpoints`` are (label, note) pairs held elsewhere.

    With ``artifacts=False`` only the log is checked (entries, tree, checkpoints).
    """
    with log.locked(case, shared=True):  # a consistent view while others append
        report = Report(str(case.root))
        if case.marker.read_bytes() != marker_bytes(case.case_id):
            report.error("marker-altered", f"{MARKER} was altered", path=MARKER)
        st = _State()
        _check_entries(case, report, st)
        tree = merkle.LeafList(st.leaves)
        _check_tree(case, tree, report)
        latest = None
        if case.checkpoint.exists():
            latest = _check_checkpoint(
                case.checkpoint.read_bytes(), "the latest checkpoint", case, st, tree, report
            )
        else:
            report.error("checkpoint-missing", "log/checkpoint is missing")
        history = 0
        if case.checkpoints.is_dir():
            for path in sorted(case.checkpoints.iterdir()):
                if path.name.startswith(".tmp-") or path.is_symlink():
                    continue  # reported by _check_files
                if not path.is_file():
                    report.error("extra-file", f"unexpected folder {path.relative_to(case.root)}")
                    continue
                size = _check_checkpoint(
                    path.read_bytes(), f"checkpoint {path.name}", case, st, tree, report
                )
                if size is not None and str(size) != path.name:
                    report.error("checkpoint-misfiled", f"checkpoint {path.name} holds size {size}")
                history = max(history, size or 0)
        if latest is not None and history > latest:
            report.error(
                "checkpoint-rolled-back",
                f"log/checkpoint is for {latest} entries but checkpoint {history} was signed",
            )
        for label, data in checkpoints:
            _check_checkpoint(data, label, case, st, tree, report)
        if latest is not None and latest < tree.size:
            report.add(
                Severity.INFO,
                "uncheckpointed",
                f"{tree.size - latest} entries after the latest checkpoint (size {latest}); "
                "the next command that appends signs a new one",
            )
        if artifacts:
            expected = _check_artifacts(case, st, report, deep)
            _check_files(case, st, expected, report)
            if deep:
                from custody.capture.units import check_capture
                from custody.chat.units import check_import

                for imported in st.imports:
                    check = check_capture if imported.type == "capture" else check_import
                    for problem in check(case, imported):
                        report.error(problem.code, f"entry {imported.seq}: {problem.message}")
            for kid in st.keys:
                if not (case.keys / (kid.split(":", 1)[1] + ".pub")).is_file():
                    report.add(
                        Severity.WARNING,
                        "key-file-missing",
                        f"keys/ lacks the public key file of {kid} (derived from the log)",
                    )
        return report
