"""``custody bundle verify``: every check of a bundle, every finding listed.

Nothing is extracted: the zip is inspected as hostile first (:class:`custody.archive.SafeZip`),
stored members are hashed in place, small files are read into memory with a bound. The
checks, in order (docs/formats/bundle.md, section 6): the bag (declaration, manifests, tag
manifests, no unaccounted file), the two signatures over the tag manifest, the log
(entries, signatures, membership, checkpoint, inclusion and consistency proofs, the export
entry naming ``data/bundle.json``), then each exhibit unit by unit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from custody import bagcheck, bagfiles, commitments, merkle
from custody.archive import SafeZip
from custody.bundle import layout
from custody.bundle.reader import LIMITS, Bundle
from custody.bundle.verify_log import check_log, check_signatures, hexes, small_member
from custody.errors import CustodyError, InputError, StorageError, UnsafeArchiveError
from custody.report import Report, Severity

__all__ = ["LIMITS", "verify_bundle"]


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
        b = Bundle(zf, fh, members)
        try:
            b.prefetch(pool, other)
            check_log(b, report, since)
            check_signatures(b, report)
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


def _check_manifest_form(b: Bundle, report: Report) -> None:
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


# -- exhibits -------------------------------------------------------------------------


def _check_exhibits(b: Bundle, report: Report) -> None:
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


def _disclosed(b: Bundle, report: Report, item: dict[str, Any], where: str) -> bool:
    """The disclosure file hashes to the commitment and the file matches it."""
    disc_name, file_name = str(item.get("disclosure")), str(item.get("file"))
    raw = small_member(b, disc_name, 1 << 20)
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


def _check_exhibit(b: Bundle, report: Report, ex: Any) -> None:
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
    proof = hexes(item.get("proof"))
    try:
        root = bytes.fromhex(str(units.get("root")))
    except ValueError:
        return False
    count, index = units.get("count"), item.get("index")
    if proof is None or type(count) is not int or type(index) is not int:
        return False
    leaf = merkle.leaf_hash(bytes.fromhex(str(item["commitment"])[7:]))
    return merkle.verify_inclusion(leaf, index, count, proof, root)


def _check_derived(b: Bundle, report: Report, item: dict[str, Any], where: str) -> None:
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
