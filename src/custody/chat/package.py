"""What the user gave ``custody import``: one file, a folder, or a zip, as a list of files.

Zips are read only through :class:`custody.archive.SafeZip`, which refuses hostile
archives before anything is read from them. Folders are walked without following links:
a symbolic link, a device or a FIFO inside is refused, as is a name that is not valid
UTF-8. Every file is then streamed from its source (nothing is extracted to disk).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from custody import _fs
from custody.archive import DEFAULT_LIMITS, ArchiveMember, SafeZip
from custody.errors import InputError, StorageError, UsageError

HEAD_BYTES = 64 * 1024
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of the package."""

    name: str  # relative, "/"-separated; a single file is named by its base name
    size: int


class _ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (a zip member)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class Package:
    """The files of an export, streamed from a zip, a folder or a single file."""

    def __init__(self, path: Path) -> None:
        """Open and list ``path`` (nothing else is read yet, except a zip's directory).

        Raises:
            UsageError: ``path`` does not exist or is a symbolic link.
            UnsafeArchiveError: a zip is hostile, unreadable or over a limit.
            InputError: a folder holds links or special files, or nothing at all.
            StorageError: reading fails.
        """
        self.path = path
        self.label = path.name
        self._zip: SafeZip | None = None
        self._file: BinaryIO | None = None
        self._members: dict[str, ArchiveMember] = {}
        self.kind = ""
        self.entries: tuple[Entry, ...] = ()
        try:
            st = path.lstat()
        except FileNotFoundError:
            raise UsageError(f"no such file or folder: {path}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            self._list(path, st)
        except BaseException:
            self.close()
            raise
        if not self.entries:
            self.close()
            raise InputError(f"empty export: {path} holds no files")

    def _list(self, path: Path, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            self.kind = "folder"
            self.entries = _walk(path)
            return
        self._file = _fs.open_regular_file(path)
        if self._file.read(4) in _ZIP_MAGIC:
            self._file.seek(0)
            self.kind = "zip"
            self._zip = SafeZip(self._file)
            members = [m for m in self._zip.members if not m.is_dir]
            self._members = {"/".join(m.parts): m for m in members}
            self.entries = tuple(Entry(n, m.size) for n, m in self._members.items())
        else:
            self.kind = "file"
            self.entries = (Entry(path.name, st.st_size),)

    def open(self, entry: Entry) -> BinaryIO:
        """A stream of the file's bytes, from the start.

        Raises:
            UnsafeArchiveError: a zip member is corrupt or not its declared size.
            StorageError: the file cannot be opened.
        """
        if self._zip is not None:
            member = self._members[entry.name]
            return io.BufferedReader(_ChunkReader(self._zip.iter_member_chunks(member)))
        if self._file is not None:  # a single file: a second descriptor on the same open file
            fd = os.dup(self._file.fileno())
            os.lseek(fd, 0, os.SEEK_SET)
            return io.BufferedReader(io.FileIO(fd, "rb"))
        return _fs.open_regular_file(self.path.joinpath(*entry.name.split("/")))

    def head(self, entry: Entry) -> bytes:
        """The first bytes of a file (at most :data:`HEAD_BYTES`), for format detection."""
        with self.open(entry) as stream:
            return stream.read(HEAD_BYTES)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> Package:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _walk(root: Path) -> tuple[Entry, ...]:
    entries: list[Entry] = []
    total = 0
    limit = DEFAULT_LIMITS
    for folder, dirs, files in os.walk(root, followlinks=False, onerror=_raise):
        for name in sorted([*dirs, *files]):
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError:
                raise InputError(f"a file name in the folder is not valid UTF-8: {rel!a}") from None
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                raise InputError(f"refusing a symbolic link inside the export: {rel!a}")
            if stat.S_ISDIR(st.st_mode):
                continue
            if not stat.S_ISREG(st.st_mode):
                raise InputError(f"refusing a special file inside the export: {rel!a}")
            entries.append(Entry(rel, st.st_size))
            total += st.st_size
            if len(entries) > limit.max_entries or total > limit.max_total_size:
                raise InputError(
                    f"the folder exceeds the limits ({limit.max_entries} files, "
                    f"{limit.max_total_size} bytes)"
                )
    return tuple(sorted(entries, key=lambda e: e.name))


def _raise(exc: OSError) -> None:
    raise StorageError(f"cannot read folder: {exc}") from exc
