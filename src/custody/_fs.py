"""Durable file operations: create-once files, atomic replacement, fsync discipline.

Every write that matters goes: temp file in the same directory, write, fsync the file,
``link`` (create-only) or ``os.replace`` (derived files), fsync the directory. A failed
fsync is fatal (raised as :class:`StorageError`, never retried).

For crash-injection tests, ``CUSTODY_UNSAFE_CRASH_AT=N`` makes the N-th durable step of
a process (write, fsync, link, rename) end the process with ``os._exit(137)``, as a
power cut or ``kill -9`` would. It is never set in normal use.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from custody.errors import StorageError, UsageError

_CRASH_ENV = "CUSTODY_UNSAFE_CRASH_AT"
_steps = 0
CHUNK = 1 << 20


def crash_point(label: str) -> None:
    """Count one durable step; end the process here if a crash was injected at it."""
    global _steps
    target = os.environ.get(_CRASH_ENV)
    if not target:
        return
    _steps += 1
    if _steps == int(target):
        os._exit(137)


def _storage_error(action: str, path: Path, exc: OSError) -> StorageError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "disk full"
    return StorageError(f"cannot {action} {path}: {reason}")


def fsync_fd(fd: int, path: Path) -> None:
    """fsync a descriptor; a failure is fatal.

    Raises:
        StorageError: fsync failed (the data may not be on disk).
    """
    crash_point("fsync")
    try:
        os.fsync(fd)
    except OSError as exc:
        raise _storage_error("fsync", path, exc) from exc


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a new name in it survives a crash.

    Raises:
        StorageError: the directory cannot be opened or synced.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise _storage_error("open directory", path, exc) from exc
    try:
        fsync_fd(fd, path)
    finally:
        os.close(fd)


def make_dirs(path: Path, mode: int = 0o755) -> None:
    """Create a directory and its parents, syncing each parent that gained a name.

    Raises:
        StorageError: a directory cannot be created.
    """
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir(mode=mode)
        except FileExistsError:
            continue
        except OSError as exc:
            raise _storage_error("create directory", d, exc) from exc
        fsync_dir(d.parent)


def temp_name() -> str:
    """``.tmp-<pid>-<random>``: the pid lets recovery tell a dead writer's leftovers."""
    return f".tmp-{os.getpid()}-{secrets.token_hex(8)}"


def temp_owner_alive(name: str) -> bool:
    """True if the process that made temp file ``name`` may still be running."""
    try:
        pid = int(name.split("-")[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _temp_path(directory: Path) -> Path:
    return directory / temp_name()


@contextlib.contextmanager
def _temp_file(directory: Path) -> Iterator[tuple[BinaryIO, Path]]:
    tmp = _temp_path(directory)
    try:
        fh = tmp.open("xb")
    except OSError as exc:
        raise _storage_error("create a file in", directory, exc) from exc
    try:
        with fh:
            yield fh, tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_all(fh: BinaryIO, data: bytes | memoryview, path: Path) -> None:
    crash_point("write")
    try:
        fh.write(data)
    except OSError as exc:
        raise _storage_error("write", path, exc) from exc


def atomic_write(
    path: Path, data: bytes | Iterable[bytes | memoryview], *, mode: int = 0o644
) -> None:
    """Replace ``path`` with ``data`` (bytes, or buffers written one after another)
    atomically and durably (for derived files).

    Raises:
        StorageError: any step fails.
    """
    parts = (data,) if isinstance(data, bytes) else data
    with _temp_file(path.parent) as (fh, tmp):
        for part in parts:
            _write_all(fh, part, path)
        fh.flush()
        fsync_fd(fh.fileno(), path)
        tmp.chmod(mode)
        crash_point("rename")
        try:
            tmp.replace(path)
        except OSError as exc:
            raise _storage_error("replace", path, exc) from exc
    fsync_dir(path.parent)


def write_once(path: Path, data: bytes, *, mode: int = 0o444) -> bool:
    """Create ``path`` holding ``data`` unless it exists; never overwrite.

    Returns True if the file was created, False if an identical file was already there.

    Raises:
        StorageError: the file exists with other content, or a step fails.
    """
    created = stream_once(path, [data], mode=mode)
    if not created and path.read_bytes() != data:
        raise StorageError(f"refusing to overwrite {path}: it holds other content")
    return created


def stream_once(
    path: Path,
    chunks: Iterator[bytes | memoryview] | list[bytes],
    *,
    mode: int = 0o444,
) -> bool:
    """Create ``path`` from a stream of chunks, create-only and durable.

    Returns True if created, False if a file already held the name (content-addressed
    callers check content themselves; see :func:`write_once`).

    Raises:
        StorageError: a step fails.
    """
    with _temp_file(path.parent) as (fh, tmp):
        for chunk in chunks:
            _write_all(fh, chunk, path)
        fh.flush()
        fsync_fd(fh.fileno(), path)
        tmp.chmod(mode)
        crash_point("link")
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError as exc:
            raise _storage_error("link", path, exc) from exc
    fsync_dir(path.parent)
    return True


def append_durably(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` with one write, then fsync it.

    Raises:
        StorageError: the write or fsync fails.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _storage_error("open for append", path, exc) from exc
    try:
        crash_point("write")
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except OSError as exc:
            raise _storage_error("append to", path, exc) from exc
        fsync_fd(fd, path)
    finally:
        os.close(fd)


def open_regular_file(path: Path) -> BinaryIO:
    """Open a user-given file for reading, refusing links, directories and devices.

    Raises:
        UsageError: the path is missing, a directory, a symlink or not a regular file.
        StorageError: the file cannot be opened (permissions).
    """
    try:
        st = path.lstat()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except OSError as exc:
        raise _storage_error("read", path, exc) from exc
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"refusing symbolic link: {path}", hint="add the file it points to")
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"is a directory, not a file: {path}")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"not a regular file: {path}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise _storage_error("read", path, exc) from exc
    return os.fdopen(fd, "rb")


def safe_join(base: Path, relative: str) -> Path:
    """Join an untrusted relative path under ``base``, refusing escapes.

    Raises:
        UsageError: the path is absolute, has ``..`` or escapes ``base`` through a link.
    """
    if not relative or relative.startswith(("/", "\\")) or "\\" in relative or "\x00" in relative:
        raise UsageError(f"unsafe path: {relative!r}")
    parts = relative.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise UsageError(f"unsafe path: {relative!r}")
    joined = base.joinpath(*parts)
    if not joined.resolve().is_relative_to(base.resolve()):
        raise UsageError(f"path escapes its folder: {relative!r}")
    return joined
