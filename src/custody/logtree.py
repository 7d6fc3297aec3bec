"""Derived Merkle node hashes of the custody log, stored per level for O(log n) proofs.

``log/tree/<k>`` holds the 32-byte hashes of the complete, aligned subtrees of 2**k
leaves, in order. These files are derived data: they are rebuilt from the entries when
missing or inconsistent, and ``custody verify`` recomputes and compares them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from custody import _fs, merkle

HASH = 32


class TreeStore:
    """A :class:`custody.merkle.NodeSource` over the level files in one folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._handles: dict[int, int] = {}

    def _path(self, level: int) -> Path:
        return self.folder / str(level)

    def level_count(self, level: int) -> int:
        try:
            return self._path(level).stat().st_size // HASH
        except FileNotFoundError:
            return 0

    def node(self, level: int, index: int) -> bytes:
        fd = self._handles.get(level)
        if fd is None:
            fd = os.open(self._path(level), os.O_RDONLY)
            self._handles[level] = fd
        data = os.pread(fd, HASH, index * HASH)
        if len(data) != HASH:
            raise LookupError(f"tree level {level} has no node {index}")
        return data

    def close(self) -> None:
        for fd in self._handles.values():
            os.close(fd)
        self._handles.clear()

    def is_consistent_with(self, size: int) -> bool:
        """True if every level holds exactly the nodes a tree of ``size`` leaves has."""
        level = 0
        while True:
            expected = size >> level
            path = self._path(level)
            actual = path.stat().st_size if path.exists() else 0
            if actual != expected * HASH:
                return False
            if expected == 0:
                return not self._path(level + 1).exists()
            level += 1

    def append_leaf(self, leaf: bytes, new_size: int) -> None:
        """Append one leaf (the tree grows to ``new_size``), adding completed parents."""
        self.close()
        _fs.make_dirs(self.folder)
        level, node, count = 0, leaf, new_size
        while True:
            with self._path(level).open("ab") as fh:
                fh.write(node)
            if count % 2:
                break
            left = self.node(level, count - 2)
            self.close()
            node = merkle.node_hash(left, node)
            level, count = level + 1, count // 2

    def rebuild(self, leaves: list[bytes]) -> None:
        """Rewrite every level from the leaf hashes (atomic per level)."""
        self.close()
        _fs.make_dirs(self.folder)
        levels = merkle.LeafList(leaves).levels
        for k, hashes in enumerate(levels):
            _fs.atomic_write(self._path(k), b"".join(hashes))
        k = len(levels) if leaves else 0
        if not leaves:
            _fs.atomic_write(self._path(0), b"")
            k = 1
        while self._path(k).exists():
            with contextlib.suppress(FileNotFoundError):
                self._path(k).unlink()
            k += 1
