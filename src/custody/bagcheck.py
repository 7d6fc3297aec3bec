"""BagIt 1.0 validation (RFC 8493) over any source of files: a zip, or a folder.

Every problem is a finding in a :class:`custody.report.Report`; a manifest naming a
path outside the bag raises :class:`custody.bagfiles.HostileBagError` instead (a hostile
bag is refused, not reported), as does a link or special file in a :class:`FolderBag`.

By default :func:`check_bag` holds a bag to a custody bundle's rules: the exact
declaration custody writes, SHA-256 and SHA-512 payload and tag manifests, a bag-info.txt
with Payload-Oxum, and no tag file that a rule does not explain. Each keyword option
relaxes one rule to what RFC 8493 alone asks; :func:`check_generic_bag` relaxes them all.
Custody verifies SHA-256 and SHA-512 manifests only: in the generic mode a manifest for
another algorithm is a warning, and a bag with no SHA-256 or SHA-512 manifest fails.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from custody import bagfiles, hashing
from custody.errors import InputError, StorageError
from custody.report import Report, Severity


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


def check_bag(
    b: BagSource,
    report: Report,
    *,
    extra_tag_files: Iterable[str] = (),
    algorithms: Collection[str] | None = bagfiles.ALGORITHMS,
    strict_declaration: bool = True,
    require_bag_info: bool = True,
    other_tag_files: bool = False,
) -> None:
    """Check the declaration, the manifests, every payload file and the tag manifests.

    The defaults are a custody bundle's rules. Tag files other than the BagIt ones and
    ``extra_tag_files`` are findings (``file-unaccounted``): a custody bundle holds nothing
    a rule does not explain.

    Args:
        b: the bag.
        report: where findings go.
        extra_tag_files: tag files allowed besides the BagIt ones.
        algorithms: the payload and tag manifests required (of ``bagfiles.ALGORITHMS``).
            None: those the bag has, at least one SHA-256 or SHA-512 payload manifest.
        strict_declaration: bagit.txt must be custody's exact bytes. False: any BagIt 1.0
            declaration (:func:`bagfiles.parse_declaration`); its encoding reads the tag files.
        require_bag_info: bag-info.txt with a Payload-Oxum is required. False: each is
            checked when present.
        other_tag_files: any other tag file is allowed (RFC 8493 section 2.2.4).

    Raises:
        bagfiles.HostileBagError: a manifest names a path outside the bag.
        ValueError: ``algorithms`` names one that custody does not verify.
    """
    if algorithms is not None and not set(algorithms) <= set(bagfiles.ALGORITHMS):
        raise ValueError(f"custody verifies only {bagfiles.ALGORITHMS}, not {algorithms}")
    names = set(b.names())
    encoding = _check_declaration(b, report, strict=strict_declaration)
    manifests = _manifests(b, report, names, "manifest", algorithms, encoding)
    payload = sorted(n for n in names if n.startswith("data/"))
    if other_tag_files and "data" in names:
        report.error("payload-folder", "data is a file, not the payload folder", path="data")
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
        report.count("payload_files")
        for alg, listed in manifests.items():
            want, got = listed.get(name), getattr(digests, alg)
            if want is not None and want != got:
                report.error("file-altered", f"{name} does not match manifest-{alg}.txt", path=name)
    if not other_tag_files:
        allowed = {"bagit.txt", "bag-info.txt", *TAG_MANIFESTS, *extra_tag_files}
        allowed |= {f"manifest-{alg}.txt" for alg in bagfiles.ALGORITHMS}
        for name in sorted(names):
            if not name.startswith("data/") and name not in allowed:
                report.error("file-unaccounted", f"{name} is not part of the bag", path=name)
    _check_tags(b, report, names, algorithms, encoding)
    _check_bag_info(b, report, payload, required=require_bag_info, encoding=encoding)


def check_generic_bag(b: BagSource, report: Report) -> None:
    """Check any BagIt 1.0 bag by RFC 8493 alone, not by custody's own rules.

    Raises:
        bagfiles.HostileBagError: a manifest names a path outside the bag.
    """
    check_bag(
        b,
        report,
        algorithms=None,
        strict_declaration=False,
        require_bag_info=False,
        other_tag_files=True,
    )


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


def _check_declaration(b: BagSource, report: Report, *, strict: bool) -> str:
    """The tag files' encoding (UTF-8 unless a valid declaration names another)."""
    data = b.read("bagit.txt")
    if strict or data is None:
        if data != bagfiles.DECLARATION:
            report.error("bag-declaration", "bagit.txt is missing or not the BagIt 1.0 declaration")
        return "utf-8"
    try:
        return bagfiles.parse_declaration(data)
    except bagfiles.BagFormatError as exc:
        report.error("bag-declaration", str(exc), path="bagit.txt")
        return "utf-8"


def _manifests(
    b: BagSource,
    report: Report,
    names: set[str],
    kind: str,
    algorithms: Collection[str] | None,
    encoding: str,
) -> dict[str, dict[str, str]]:
    """The parsed ``{kind}-{alg}.txt`` files: ``algorithms``, or all the bag has if None."""
    if algorithms is None:
        present = {m[1]: m[0] for n in names if (m := re.fullmatch(rf"{kind}-([^/]+)\.txt", n))}
        wanted = [alg for alg in bagfiles.ALGORITHMS if alg in present]
        for alg in sorted(set(present) - set(wanted)):
            name = present[alg]
            msg = f"{name} is not checked: custody verifies SHA-256 and SHA-512 manifests only"
            report.add(Severity.WARNING, "manifest-unchecked", msg, path=name)
        if kind == "manifest" and not wanted:
            report.error("manifest-missing", "the bag has no SHA-256 or SHA-512 payload manifest")
    else:
        wanted = list(algorithms)
    found: dict[str, dict[str, str]] = {}
    for alg in wanted:
        name = f"{kind}-{alg}.txt"
        data = b.read(name)
        if data is None:
            report.error("manifest-missing", f"{name} is missing", path=name)
            continue
        try:
            found[alg] = bagfiles.parse_manifest(data, alg, name, encoding=encoding)
        except bagfiles.HostileBagError:
            raise
        except bagfiles.BagFormatError as exc:
            report.error("manifest-malformed", str(exc), path=name)
    return found


def _check_tags(
    b: BagSource,
    report: Report,
    names: set[str],
    algorithms: Collection[str] | None,
    encoding: str,
) -> None:
    for alg, listed in _manifests(b, report, names, "tagmanifest", algorithms, encoding).items():
        name = f"tagmanifest-{alg}.txt"
        for tag, want in sorted(listed.items()):
            if tag not in names:
                report.error("file-missing", f"{tag} is listed in {name} but missing", path=tag)
            elif getattr(b.digest(tag), alg) != want:
                report.error("tag-altered", f"{tag} does not match {name}", path=tag)


def _check_bag_info(
    b: BagSource, report: Report, payload: list[str], *, required: bool, encoding: str
) -> None:
    data = b.read("bag-info.txt")
    if data is None:
        if required:
            report.error("bag-info", "bag-info.txt is missing")
        return
    try:
        info = bagfiles.parse_bag_info(data, encoding=encoding)
    except bagfiles.BagFormatError as exc:
        report.error("bag-info", str(exc))
        return
    if "Payload-Oxum" not in info and not required:
        return
    oxum = (info.get("Payload-Oxum") or [""])[0]
    if oxum != bagfiles.payload_oxum({n: b.size(n) for n in payload}):
        report.error("bag-info", "Payload-Oxum does not match the payload")


# -- a bag in a folder ------------------------------------------------------------------

_SMALL = 64 << 20  # most bytes of a tag file read into memory
_NOFOLLOW = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHANGED = (errno.ELOOP, errno.ENOTDIR, errno.ENOENT, errno.ENXIO)


class FolderBag:
    """A bag in a folder, read in place: a :class:`BagSource` that never follows a link.

    The folder is listed once, one directory descriptor at a time with ``O_NOFOLLOW``; a
    symbolic link, a special file (FIFO, socket, device) or a name that is not UTF-8
    anywhere in it refuses the bag. A file is opened the same way when read and must
    still be the regular file that was listed (device, inode and size), so a file that is
    swapped for a link or replaced while the bag is checked is refused, never read.
    """

    def __init__(self, root: Path) -> None:
        """List the bag's files (the folder itself may be reached through a link).

        Raises:
            InputError: ``root`` is not a folder.
            bagfiles.HostileBagError: the folder holds a link, a special file or a name
                that is not UTF-8.
            StorageError: the folder cannot be read.
        """
        if not root.is_dir():
            raise InputError(f"not a folder: {root}")
        self.root = root
        self._files: dict[str, os.stat_result] = {}
        self._digests: dict[str, hashing.Digests] = {}
        pending = [""]
        while pending:
            self._list(pending.pop(), pending)

    def _list(self, prefix: str, pending: list[str]) -> None:
        parts = prefix.split("/")[:-1]
        fd = self._open_fd(parts, os.O_DIRECTORY, prefix or ".")
        try:
            with os.scandir(fd) as it:
                entries = sorted(it, key=lambda e: e.name)
            for entry in entries:
                name = prefix + entry.name
                try:
                    name.encode("utf-8")
                except UnicodeEncodeError:
                    raise bagfiles.HostileBagError(f"a file name is not UTF-8: {name!a}") from None
                st = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    pending.append(name + "/")
                elif stat.S_ISREG(st.st_mode):
                    self._files[name] = st
                elif stat.S_ISLNK(st.st_mode):
                    raise bagfiles.HostileBagError(f"refusing a symbolic link in the bag: {name!a}")
                else:
                    raise bagfiles.HostileBagError(f"refusing a special file in the bag: {name!a}")
        except OSError as exc:
            raise StorageError(f"cannot list {self.root / prefix}: {exc.strerror or exc}") from exc
        finally:
            os.close(fd)

    def _open_fd(self, parts: list[str], flags: int, name: str) -> int:
        """``root/parts…`` opened one component at a time, never through a link."""
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise StorageError(f"cannot open {self.root}: {exc.strerror or exc}") from exc
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                mode = flags if last else os.O_DIRECTORY
                next_fd = os.open(part, _NOFOLLOW | os.O_NONBLOCK | mode, dir_fd=fd)
                os.close(fd)
                fd = next_fd
        except OSError as exc:
            os.close(fd)
            if exc.errno in _CHANGED:
                raise bagfiles.HostileBagError(
                    f"{name!a} changed while the bag was checked"
                ) from None
            raise StorageError(f"cannot open {self.root / name}: {exc.strerror or exc}") from exc
        return fd

    def _open(self, name: str) -> BinaryIO:
        listed = self._files[name]
        fd = self._open_fd(name.split("/"), 0, name)
        try:
            st = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            raise StorageError(f"cannot read {self.root / name}: {exc.strerror or exc}") from exc
        same = (st.st_dev, st.st_ino, st.st_size) == (listed.st_dev, listed.st_ino, listed.st_size)
        if not stat.S_ISREG(st.st_mode) or not same:
            os.close(fd)
            raise bagfiles.HostileBagError(f"{name!a} changed while the bag was checked")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def names(self) -> list[str]:
        """Every regular file of the bag, sorted."""
        return sorted(self._files)

    def read(self, name: str, limit: int = _SMALL) -> bytes | None:
        """A file's bytes, or None if the bag has no such file.

        Raises:
            InputError: the file is over ``limit`` bytes.
            bagfiles.HostileBagError: the file changed since it was listed.
            StorageError: it cannot be read.
        """
        listed = self._files.get(name)
        if listed is None:
            return None
        if listed.st_size > limit:
            raise InputError(f"{name} is {listed.st_size} bytes, over {limit}")
        try:
            with self._open(name) as fh:
                data = fh.read(limit + 1)
        except OSError as exc:
            raise StorageError(f"cannot read {self.root / name}: {exc.strerror or exc}") from exc
        if len(data) != listed.st_size:
            raise bagfiles.HostileBagError(f"{name!a} changed while the bag was checked")
        return data

    def size(self, name: str) -> int:
        """A file's size when it was listed."""
        return self._files[name].st_size

    def digest(self, name: str) -> hashing.Digests:
        """SHA-256 and SHA-512 of a file, hashed once.

        Raises:
            bagfiles.HostileBagError: the file changed since it was listed.
            StorageError: it cannot be read.
        """
        if name not in self._digests:
            with self._open(name) as fh:
                digests = hashing.hash_stream(fh)
            if digests.size != self._files[name].st_size:
                raise bagfiles.HostileBagError(f"{name!a} changed while the bag was checked")
            self._digests[name] = digests
        return self._digests[name]
