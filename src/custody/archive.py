"""Safe reading of untrusted zip archives (chat exports, bundles received for verification).

:mod:`zipfile` silently *rewrites* hostile names (``../x`` becomes ``x``, a NUL cuts the name
short), writes symlink entries as regular files, lets duplicates overwrite each other, and
before 3.11.8/3.12.2 misses overlapping entries (quoted-overlap zip bombs, CVE-2024-0450).
For evidence the rule is **refuse, never rewrite**: the whole archive is checked *before
anything is extracted*, and a failure raises :class:`~custody.errors.UnsafeArchiveError`
naming the problem and the member (escaped with :func:`ascii`). Refused:

- names that are empty or absolute, or contain a ``..``, ``.`` or empty segment, a
  backslash, a drive letter (``C:``), a NUL or a C0/C1 control character (ESC, DEL...), or
  a segment over 255 UTF-8 bytes;
- symlinks, FIFOs, devices, sockets and other non-regular entries (the Unix mode in
  ``external_attr >> 16``, whatever system made the entry), and a mode that disagrees with
  the trailing ``/`` of a directory;
- duplicate names, names equal under canonical caseless matching (NFD, casefold, NFD: so
  NFC/NFD ``café`` and ``A``/``a`` collide), and a name used as both file and directory;
- encrypted entries, and compression methods other than stored and deflate;
- overlapping entries (a shared local header, or one entry's data holding another's
  header), a missing or disagreeing local header, data running into the central directory;
- anything over the :class:`ArchiveLimits`.

Members are streamed through a byte counter that refuses more or fewer bytes than
declared; zipfile's CRC check catches the rest. Nested archives are never opened.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

from custody import _fs
from custody.errors import StorageError, UnsafeArchiveError, UsageError

MiB = 1024 * 1024
CHUNK_SIZE = MiB
CD_BYTES_PER_ENTRY = 1024
"""Central-directory bytes allowed per permitted entry (checked before zipfile parses it)."""
_MAX_SEGMENT_BYTES = 255  # NAME_MAX on common filesystems
_SHOWN = 200  # characters of a name shown in a message
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"[A-Za-z]:")
_EOCD = struct.Struct("<4s4H2LH")
_LOCATOR_SIZE = 20  # the ZIP64 end-record locator
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_SPECIAL = {
    stat.S_IFLNK: "symlink",
    stat.S_IFIFO: "FIFO",
    stat.S_IFCHR: "character device",
    stat.S_IFBLK: "block device",
    stat.S_IFSOCK: "socket",
}


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """Bounds checked before anything is extracted.

    Attributes:
        max_entries: most members, files and directories (default 10,000). The central
            directory may also hold at most ``max_entries * CD_BYTES_PER_ENTRY`` bytes.
        max_total_size: most bytes all members may declare uncompressed (default 4 GiB).
        max_ratio: largest uncompressed/compressed size ratio (default 200), for each
            member and for the whole archive. Real text and media stay well below it;
            deflate bombs reach about 1,000.
        ratio_min_size: the ratio is only checked for a member, or an archive total, that
            declares at least this many bytes (default 1 MiB): small files may compress
            very well and cannot amplify much.
    """

    max_entries: int = 10_000
    max_total_size: int = 4 * 1024 * MiB
    max_ratio: int = 200
    ratio_min_size: int = MiB

    def __post_init__(self) -> None:
        for name in ("max_entries", "max_total_size", "max_ratio", "ratio_min_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"archive limit {name} must be at least 1")


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    """One member of an archive that passed inspection."""

    index: int  # position in the central directory
    name: str  # exactly as stored; directories end in "/"
    parts: tuple[str, ...]  # the validated path segments
    is_dir: bool
    size: int  # declared uncompressed size: streaming yields exactly this many bytes
    compressed_size: int
    crc32: int  # declared CRC-32 of the uncompressed bytes


def _refuse(problem: str, name: str) -> UnsafeArchiveError:
    shown = ascii(name) if len(name) <= _SHOWN else f"{name[:_SHOWN]!a}... ({len(name)} chars)"
    return UnsafeArchiveError(f"{problem}: member {shown}", hint="nothing was extracted")


def _over_limit(what: str, limit: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"archive exceeds limit {limit} with {what} (possible zip bomb)",
        hint="nothing was extracted; raise the limit only for an archive you trust",
    )


def _check_end_record(fp: BinaryIO, limits: ArchiveLimits) -> None:
    """Refuse a declared entry count or directory size over the limits, before parsing."""
    size = fp.seek(0, os.SEEK_END)
    tail_len = min(size, _EOCD.size + 0xFFFF)
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    pos = len(tail) - _EOCD.size  # zipfile's order: no comment first, then search
    if pos < 0 or tail[pos : pos + 4] != b"PK\x05\x06" or tail[-2:] != b"\0\0":
        pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or len(tail) - pos < _EOCD.size:
        return  # not a zip: zipfile says so
    count, cd_size = _EOCD.unpack_from(tail, pos)[4:6]
    record_at = size - tail_len + pos - _LOCATOR_SIZE - _EOCD64.size
    if record_at >= 0:  # like zipfile: a ZIP64 record right before its locator
        fp.seek(record_at)
        record = fp.read(_EOCD64.size + 4)
        if record[:4] == b"PK\x06\x06" and record[_EOCD64.size :] == b"PK\x06\x07":
            count, cd_size = _EOCD64.unpack_from(record)[7:9]
    if count > limits.max_entries:
        raise _over_limit(f"{count} entries declared", f"max_entries={limits.max_entries}")
    if cd_size > limits.max_entries * CD_BYTES_PER_ENTRY:
        raise _over_limit(
            f"a {cd_size}-byte central directory", f"max_entries={limits.max_entries}"
        )


def _name_parts(name: str) -> tuple[str, ...]:
    """Return the path segments of a member name, or refuse the name."""
    if not name:
        raise _refuse("empty name", name)
    if "\x00" in name:
        raise _refuse("NUL byte in name", name)
    if _CONTROL.search(name):
        raise _refuse("control character in name", name)
    if "\\" in name:
        raise _refuse("backslash in name", name)
    if name.startswith("/"):
        raise _refuse("absolute path", name)
    if _DRIVE.match(name):
        raise _refuse("drive letter in name", name)
    parts = tuple(name.removesuffix("/").split("/"))
    for part in parts:
        if part == "..":
            raise _refuse("'..' segment in name (path traversal)", name)
        if part in ("", "."):
            raise _refuse("empty or '.' segment in name", name)
        if len(part.encode("utf-8", "surrogateescape")) > _MAX_SEGMENT_BYTES:
            raise _refuse(f"name segment longer than {_MAX_SEGMENT_BYTES} bytes", name)
    return parts


def _check_entry(info: zipfile.ZipInfo, limits: ArchiveLimits) -> None:
    name = info.orig_filename
    is_dir = name.endswith("/")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind in _SPECIAL:
        raise _refuse(f"{_SPECIAL[kind]} entry", name)
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise _refuse(f"entry of unknown file type {kind:#o}", name)
    if kind == (stat.S_IFREG if is_dir else stat.S_IFDIR):
        raise _refuse("file type disagrees with the trailing '/' of the name", name)
    if info.flag_bits & 0x41:  # bit 0: encrypted, bit 6: strong encryption
        raise _refuse("encrypted entry", name)
    if info.flag_bits & 0x20:
        raise _refuse("patch-data entry", name)
    if info.compress_type not in _METHODS:
        raise _refuse(f"unsupported compression method {info.compress_type}", name)
    if is_dir and info.file_size:
        raise _refuse("directory entry with data", name)
    if info.compress_type == zipfile.ZIP_STORED and info.file_size != info.compress_size:
        raise _refuse("stored entry whose sizes disagree", name)
    size, packed = info.file_size, max(info.compress_size, 1)
    if size >= limits.ratio_min_size and size > limits.max_ratio * packed:
        raise _refuse(
            f"compression ratio {size // packed} over limit max_ratio={limits.max_ratio}"
            " (possible zip bomb)",
            name,
        )


def _fold(path: str) -> str:
    """Canonical caseless key (Unicode D145): equal keys collide on some filesystem."""
    nfd = unicodedata.normalize("NFD", path)
    return unicodedata.normalize("NFD", nfd.casefold())


def _check_collisions(members: list[ArchiveMember]) -> None:
    """Refuse duplicates, caseless/normalization collisions and file/directory clashes."""
    seen: dict[str, tuple[str, bool, bool]] = {}  # folded -> (path, is_dir, explicit)
    for member in members:
        path = "/".join(member.parts)
        implicit = ["/".join(member.parts[:i]) for i in range(1, len(member.parts))]
        claims = [(p, True, False) for p in implicit] + [(path, member.is_dir, True)]
        for claimed, is_dir, explicit in claims:
            key = _fold(claimed)
            if key not in seen:
                seen[key] = (claimed, is_dir, explicit)
                continue
            other, other_dir, other_explicit = seen[key]
            if other != claimed:
                raise _refuse(
                    f"{claimed!a} collides with {other!a} after case/Unicode folding", member.name
                )
            if other_dir != is_dir:
                raise _refuse("name used both as a file and as a directory", member.name)
            if explicit and other_explicit:
                raise _refuse("duplicate name", member.name)
            seen[key] = (claimed, is_dir, explicit or other_explicit)


def _check_layout(fp: BinaryIO, infos: list[zipfile.ZipInfo], start_dir: int) -> None:
    """Refuse overlapping entries (zip bombs) and local headers that disagree."""
    spans: list[tuple[int, int, str]] = []
    mismatched: list[UnsafeArchiveError] = []  # reported after overlaps, the likelier cause
    for info in infos:
        name = info.orig_filename
        header = b""
        if 0 <= info.header_offset < start_dir:
            fp.seek(info.header_offset)
            header = fp.read(_LOCAL.size)
        if len(header) != _LOCAL.size or header[:4] != b"PK\x03\x04":
            raise _refuse("missing local header", name)
        fields = _LOCAL.unpack(header)
        flags, name_len, extra_len = fields[3], fields[10], fields[11]
        local_name = fp.read(name_len)
        extra = fp.read(extra_len)
        encoding = "utf-8" if info.flag_bits & 0x800 else "cp437"
        if local_name.decode(encoding, "replace") != name:
            mismatched.append(_refuse("local header names a different file", name))
        if flags & 0x41:
            mismatched.append(_refuse("encrypted entry", name))
        end = info.header_offset + _LOCAL.size + name_len + extra_len + info.compress_size
        if info.flag_bits & 0x08:  # a data descriptor follows the data
            fp.seek(end)
            signature = 4 if fp.read(4) == b"PK\x07\x08" else 0
            end += signature + 4 + (16 if _has_zip64(extra) else 8)
        if end > start_dir:
            raise _refuse("entry data runs into the central directory", name)
        spans.append((info.header_offset, end, name))
    spans.sort()
    for (_, prev_end, prev_name), (start, _, name) in pairwise(spans):
        if start < prev_end:
            raise _refuse(f"entry overlaps {prev_name!a} (possible zip bomb)", name)
    if mismatched:
        raise mismatched[0]


def _has_zip64(extra: bytes) -> bool:
    while len(extra) >= 4:
        tag, size = struct.unpack_from("<2H", extra)
        if tag == 0x0001:
            return True
        extra = extra[4 + size :]
    return False


class SafeZip:
    """A zip archive that passed every check, open for streaming its members.

    Use as a context manager; :meth:`close` leaves the file object open.
    """

    members: tuple[ArchiveMember, ...]
    """Every member, in central-directory order."""

    def __init__(self, fileobj: BinaryIO, limits: ArchiveLimits = DEFAULT_LIMITS) -> None:
        """Inspect the whole archive; nothing is extracted.

        Args:
            fileobj: a seekable binary file.
            limits: bounds on entry count, sizes and compression ratio.

        Raises:
            UnsafeArchiveError: the archive is unreadable, hostile or over a limit.
            StorageError: reading the file failed.
        """
        try:
            _check_end_record(fileobj, limits)
            self._zip = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, ValueError, EOFError, struct.error) as e:
            raise UnsafeArchiveError(f"not a readable zip archive: {e}") from e
        except OSError as e:
            raise StorageError(f"cannot read archive: {e}") from e
        try:
            self.members = self._inspect(fileobj, limits)
        except BaseException:
            self._zip.close()
            raise

    def _inspect(self, fileobj: BinaryIO, limits: ArchiveLimits) -> tuple[ArchiveMember, ...]:
        infos = self._zip.infolist()
        if len(infos) > limits.max_entries:
            raise _over_limit(f"{len(infos)} entries", f"max_entries={limits.max_entries}")
        members = []
        for index, info in enumerate(infos):
            name, parts = info.orig_filename, _name_parts(info.orig_filename)
            _check_entry(info, limits)
            is_dir, sizes = name.endswith("/"), (info.file_size, info.compress_size)
            members.append(ArchiveMember(index, name, parts, is_dir, *sizes, info.CRC))
        _check_collisions(members)
        total = sum(m.size for m in members)
        packed = max(sum(m.compressed_size for m in members), 1)
        if total > limits.max_total_size:
            raise _over_limit(f"{total} bytes declared", f"max_total_size={limits.max_total_size}")
        if total >= limits.ratio_min_size and total > limits.max_ratio * packed:
            raise _over_limit(
                f"overall compression ratio {total // packed}", f"max_ratio={limits.max_ratio}"
            )
        try:
            _check_layout(fileobj, infos, self._zip.start_dir)
        except OSError as e:
            raise StorageError(f"cannot read archive: {e}") from e
        return tuple(members)

    def iter_member_chunks(
        self, member: ArchiveMember, *, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[bytes]:
        """Stream one member's bytes, refusing any that break its declared size or CRC.

        Args:
            member: one of :attr:`members`.
            chunk_size: most bytes per chunk.

        Yields:
            The member's bytes, in order; nothing for a directory.

        Raises:
            UsageError: ``member`` does not belong to this archive.
            UnsafeArchiveError: the data is corrupt, fails its CRC, or is longer or
                shorter than declared. Chunks already yielded must then be discarded.
        """
        if not (0 <= member.index < len(self.members) and self.members[member.index] == member):
            raise UsageError(f"member {member.name!a} does not belong to this archive")
        if member.is_dir:
            return
        count = 0
        try:
            with self._zip.open(self._zip.infolist()[member.index]) as stream:
                while chunk := stream.read(chunk_size):
                    count += len(chunk)
                    if count > member.size:
                        raise _refuse("member is longer than its declared size", member.name)
                    yield chunk
        except (zipfile.BadZipFile, zlib.error, EOFError) as e:
            raise _refuse(f"corrupt member data ({e})", member.name) from e
        if count != member.size:
            raise _refuse(
                f"member is {count} bytes, shorter than its declared {member.size}", member.name
            )

    def stored_range(self, fileobj: BinaryIO, member: ArchiveMember) -> tuple[int, int] | None:
        """``(offset, size)`` of a stored (uncompressed) member's bytes in ``fileobj``, or
        None when it is compressed: stored bytes can be hashed in place, without a CRC pass.
        """
        info = self._zip.infolist()[member.index]
        if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
            return None
        fileobj.seek(info.header_offset)
        fields = _LOCAL.unpack(fileobj.read(_LOCAL.size))
        return info.header_offset + _LOCAL.size + fields[10] + fields[11], info.file_size

    def close(self) -> None:
        """Close the archive (not the file object it was read from)."""
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def inspect_zip(fileobj: BinaryIO, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[ArchiveMember]:
    """Check a whole archive and list its members, extracting nothing.

    Raises:
        UnsafeArchiveError: the archive is unreadable, hostile or over a limit.
        StorageError: reading the file failed.
    """
    with SafeZip(fileobj, limits) as archive:
        return list(archive.members)


def extract_zip(
    fileobj: BinaryIO, dest: Path, limits: ArchiveLimits = DEFAULT_LIMITS
) -> list[Path]:
    """Inspect an archive, then extract it into the new directory ``dest``.

    Extraction goes into a private temporary directory next to ``dest`` (mode 0700,
    files 0600, created exclusively, never through a symlink, each fsynced), which is
    renamed to ``dest`` only when every member has been written and checked. On any
    failure the temporary directory is removed, so nothing partial is left behind.

    Args:
        fileobj: a seekable binary file holding the archive.
        dest: the directory to create; it must not exist, and its parent must.
        limits: bounds on entry count, sizes and compression ratio.

    Returns:
        The path under ``dest`` of every member, in archive order.

    Raises:
        UsageError: ``dest`` already exists.
        UnsafeArchiveError: the archive is unreadable, hostile, over a limit, or a
            member's data does not match its declared size or CRC.
        StorageError: reading the archive or writing the files failed.
    """
    if dest.exists() or dest.is_symlink():
        raise UsageError(f"extraction destination already exists: {dest}")
    with SafeZip(fileobj, limits) as archive:
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
        except OSError as e:
            raise StorageError(f"cannot create a directory next to {dest}: {e}") from e
        try:
            root = tmp.resolve()
            for member in archive.members:
                _extract_member(archive, member, root)
            tmp.rename(dest)  # replaces at most an empty directory created meanwhile
            _fs.fsync_dir(dest.parent)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise StorageError(f"cannot extract archive to {dest}: {e}") from e
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return [dest.joinpath(*m.parts) for m in archive.members]


def _extract_member(archive: SafeZip, member: ArchiveMember, root: Path) -> None:
    target = root.joinpath(*member.parts)
    if not target.resolve().is_relative_to(root):  # defence in depth: names are checked
        raise _refuse("name escapes the destination", member.name)
    if member.is_dir:
        target.mkdir(mode=0o700, parents=True, exist_ok=True)
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for extra in ("O_NOFOLLOW", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, extra, 0)
    fd = os.open(target, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in archive.iter_member_chunks(member):
            out.write(chunk)
        out.flush()
        _fs.fsync_fd(out.fileno(), target)
