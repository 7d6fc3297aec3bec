"""A bundle zip open for checking: members read with bounds, payload files hashed in
place (large ones on a worker thread while the log is checked), each digest once."""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from custody import hashing, log
from custody.archive import ArchiveLimits, ArchiveMember, SafeZip
from custody.errors import UnsafeArchiveError

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
class Bundle:
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
