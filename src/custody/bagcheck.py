"""BagIt 1.0 validation (RFC 8493) over any source of files: a zip, or a folder.

Every problem is a finding in a :class:`custody.report.Report`; a manifest naming a
path outside the bag raises :class:`custody.bagfiles.HostileBagError` instead (a hostile
bag is refused, not reported). Custody bundles use SHA-256 and SHA-512 manifests, both
required; a bag with other algorithms is checked with those it has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Protocol

from custody import bagfiles, hashing
from custody.report import Report


class BagSource(Protocol):
    """Read access to the files of a bag, by their ``/``-separated path in the bag."""

    def names(self) -> list[str]:
        """Every regular file of the bag."""
        ...

    def read(self, name: str, limit: int = ...) -> bytes | None:
        """A small file's bytes, or None if it is not there."""
        ...

    def size(self, name: str) -> int: ...

    def digest(self, name: str) -> hashing.Digests:
        """SHA-256 and SHA-512 of a file (cached)."""
        ...


TAG_MANIFESTS = ("tagmanifest-sha256.txt", "tagmanifest-sha512.txt")


def check_bag(b: BagSource, report: Report, *, extra_tag_files: Iterable[str] = ()) -> None:
    """Check the declaration, the manifests, every payload file and the tag manifests.

    Tag files other than the BagIt ones and ``extra_tag_files`` are findings
    (``file-unaccounted``): a custody bundle holds nothing a rule does not explain.

    Raises:
        bagfiles.HostileBagError: a manifest names a path outside the bag.
    """
    names = set(b.names())
    if b.read("bagit.txt") != bagfiles.DECLARATION:
        report.error("bag-declaration", "bagit.txt is missing or not the BagIt 1.0 declaration")
    manifests: dict[str, dict[str, str]] = {}
    for alg in bagfiles.ALGORITHMS:
        name = f"manifest-{alg}.txt"
        data = b.read(name)
        if data is None:
            report.error("manifest-missing", f"{name} is missing", path=name)
            continue
        try:
            manifests[alg] = bagfiles.parse_manifest(data, alg, name)
        except bagfiles.HostileBagError:
            raise
        except bagfiles.BagFormatError as exc:
            report.error("manifest-malformed", str(exc), path=name)
    payload = sorted(n for n in names if n.startswith("data/"))
    for alg, listed in manifests.items():
        for name in sorted(listed):
            if not name.startswith("data/"):
                report.error("manifest-path", f"manifest-{alg}.txt lists {name!a}, not payload")
            elif name not in names:
                report.error("file-missing", f"{name} is listed but not in the bag", path=name)
        for name in payload:
            if name not in listed:
                report.error("file-unlisted", f"{name} is in no manifest-{alg}.txt", path=name)
    for name in payload:
        digests = b.digest(name)
        report.count("payload files")
        for alg, listed in manifests.items():
            want, got = listed.get(name), getattr(digests, alg)
            if want is not None and want != got:
                report.error("file-altered", f"{name} does not match manifest-{alg}.txt", path=name)
    allowed = {"bagit.txt", "bag-info.txt", *TAG_MANIFESTS, *extra_tag_files}
    allowed |= {f"manifest-{alg}.txt" for alg in bagfiles.ALGORITHMS}
    _check_tags(b, report, names, allowed)
    _check_bag_info(b, report, payload)


def require_tags(b: BagSource, report: Report, tags: Iterable[str]) -> None:
    """Each of ``tags`` must be listed in both tag manifests (``tag-unlisted``)."""
    for alg in bagfiles.ALGORITHMS:
        name = f"tagmanifest-{alg}.txt"
        try:
            listed = bagfiles.parse_manifest(b.read(name) or b"", alg, name)
        except bagfiles.BagFormatError:
            continue  # reported by check_bag
        for tag in tags:
            if tag not in listed:
                report.error("tag-unlisted", f"{name} does not list {tag}", path=name)


def _check_tags(b: BagSource, report: Report, names: set[str], allowed: set[str]) -> None:
    for name in sorted(names):
        if not name.startswith("data/") and name not in allowed:
            report.error("file-unaccounted", f"{name} is not part of the bag", path=name)
    for alg in bagfiles.ALGORITHMS:
        name = f"tagmanifest-{alg}.txt"
        data = b.read(name)
        if data is None:
            report.error("manifest-missing", f"{name} is missing", path=name)
            continue
        try:
            listed = bagfiles.parse_manifest(data, alg, name)
        except bagfiles.HostileBagError:
            raise
        except bagfiles.BagFormatError as exc:
            report.error("manifest-malformed", str(exc), path=name)
            continue
        for tag, want in sorted(listed.items()):
            data = b.read(tag, 1 << 30) if tag in names else None
            if data is None:
                report.error("file-missing", f"{tag} is listed in {name} but missing", path=tag)
            elif hashlib.new(alg, data).hexdigest() != want:
                report.error("tag-altered", f"{tag} does not match {name}", path=tag)


def _check_bag_info(b: BagSource, report: Report, payload: list[str]) -> None:
    data = b.read("bag-info.txt")
    if data is None:
        report.error("bag-info", "bag-info.txt is missing")
        return
    try:
        info = bagfiles.parse_bag_info(data)
    except bagfiles.BagFormatError as exc:
        report.error("bag-info", str(exc))
        return
    oxum = (info.get("Payload-Oxum") or [""])[0]
    if oxum != bagfiles.payload_oxum({n: b.size(n) for n in payload}):
        report.error("bag-info", "Payload-Oxum does not match the payload")
