"""A derived index of a chat import's units, so a bundle reads only what it discloses.

A chat import commits to every message and attachment (:mod:`custody.units`). Building an
inclusion proof for ten of a million units from the artifacts alone means reading the
whole commitment list and hashing a million leaves. The index, written when the import
is sealed, holds for every unit where its line starts in the commitment list and in the
disclosures; for every message where its line starts in the messages artifact and
which unit it is; and the RFC 6962 hash of every aligned run of ``2**CHUNK_LEVEL`` leaves.
One unit's proof then needs the lines of its own run and a fold of the runs' hashes.

The index is a cache, never evidence, and nothing read through it is trusted (see
:mod:`custody.bundle.indexed`): each line it points to is checked against the commitment
and the proof against the root that the signed entry logged. It lives at
``cache/units/<SHA-256 of the commitment list>.idx``, is written atomically after the
entry is appended, and losing it costs only time. Format (little-endian)::

    magic "CUSTIDX1", then u64 count, u64 messages, u64 chunk level, then
    u64[count + 1]     offsets of the commitment list's lines (the last: its size)
    u64[count + 1]     offsets of the disclosures' lines
    u64[messages + 1]  offsets of the messages' lines
    u64[messages]      the unit position of each message
    32-byte hashes     one per run of 2**level leaves (the last run may be shorter)
"""

from __future__ import annotations

import io
import os
import re
import struct
import sys
from array import array
from pathlib import Path
from typing import BinaryIO

from custody import _fs, merkle
from custody.case import Case
from custody.errors import StorageError

CHUNK_LEVEL = 8
MAGIC = b"CUSTIDX1"
_HEADER = struct.Struct("<8sQQQ")
_U64 = struct.Struct("<Q")
_NAME = re.compile(r"[0-9a-f]{64}\.idx")


def cache_dir(case: Case) -> Path:
    """Where the indexes of a case live (derived files: ``custody verify`` accepts them)."""
    return case.root / "cache" / "units"


def is_index_name(name: str) -> bool:
    """Whether ``name`` is how an index file is named."""
    return _NAME.fullmatch(name) is not None


class IndexRecorder:
    """Collects the offsets as the units and messages are written, in order."""

    def __init__(self) -> None:
        self.listing = array("Q", [0])
        self.disclosures = array("Q", [0])
        self.messages = array("Q", [0])
        self.message_units = array("Q")

    def unit(self, listing_line: int, disclosure_line: int) -> None:
        """One unit was committed: the lengths of its two lines (newline included)."""
        self.listing.append(self.listing[-1] + listing_line)
        self.disclosures.append(self.disclosures[-1] + disclosure_line)

    def message(self, line: int) -> None:
        """One message line (newline included) is written; its unit is committed next."""
        self.messages.append(self.messages[-1] + line)
        self.message_units.append(len(self.listing) - 1)

    def to_bytes(self, builder: merkle.RootBuilder) -> bytes:
        """The index file (see :meth:`parts`)."""
        return b"".join(self.parts(builder))

    def parts(self, builder: merkle.RootBuilder) -> list[bytes | memoryview]:
        """The index file in parts, without copying the offsets: the runs' hashes come
        from ``builder`` (built with ``keep_level=CHUNK_LEVEL`` over the same units).

        Raises:
            ValueError: ``builder`` did not see the same units.
        """
        count = len(self.listing) - 1
        chunks = list(builder.kept)
        tail = builder.tail(CHUNK_LEVEL)
        if tail is not None:
            chunks.append(tail)
        if builder.size != count or len(chunks) != -(-count >> CHUNK_LEVEL):
            raise ValueError("the root builder saw other units than the index")
        head = _HEADER.pack(MAGIC, count, len(self.message_units), CHUNK_LEVEL)
        arrays: tuple[array[int], ...] = (
            self.listing,
            self.disclosures,
            self.messages,
            self.message_units,
        )
        if sys.byteorder != "little":
            arrays = tuple(array("Q", a) for a in arrays)
            for a in arrays:
                a.byteswap()
        return [head, *(memoryview(a).cast("B") for a in arrays), b"".join(chunks)]


def save(case: Case, listing_sha256: str, data: bytes | list[bytes | memoryview]) -> bool:
    """Write an index; ``False`` (and nothing left behind) if it cannot be written: the
    evidence is sealed already and the index only saves time later."""
    path = cache_dir(case) / f"{listing_sha256}.idx"
    try:
        _fs.make_dirs(path.parent)
        _fs.atomic_write(path, data, mode=0o444)
    except StorageError:
        return False
    return True


class UnitIndex:
    """An index file opened for lookups (each one a small positioned read; nothing in it
    is trusted). Positioned reads, not a memory map: a map's read-around faults whole
    megabytes of a large index into memory for a few lookups."""

    def __init__(self, data: BinaryIO | bytes) -> None:
        self._fh = io.BytesIO(data) if isinstance(data, bytes) else data
        size = self._fh.seek(0, os.SEEK_END)
        head = self._pread(0, _HEADER.size)
        magic, self.count, self.messages, self.level = _HEADER.unpack(head)
        if magic != MAGIC or not 0 < self.level < 32:
            raise ValueError("not a custody unit index")
        self._listing = _HEADER.size
        self._disclosures = self._listing + 8 * (self.count + 1)
        self._messages = self._disclosures + 8 * (self.count + 1)
        self._message_units = self._messages + 8 * (self.messages + 1)
        self._chunks = self._message_units + 8 * self.messages
        self.chunk_count = -(-self.count >> self.level)
        if size != self._chunks + 32 * self.chunk_count:
            raise ValueError("index size does not match its counts")

    def _pread(self, offset: int, size: int) -> bytes:
        self._fh.seek(offset)
        data = self._fh.read(size)
        if len(data) != size:
            raise ValueError("index shorter than it says")
        return data

    def _u64s(self, base: int, i: int, n: int) -> list[int]:
        return list(struct.unpack(f"<{n}Q", self._pread(base + 8 * i, 8 * n)))

    def listing_offsets(self, first: int, last: int) -> list[int]:
        """Offsets of the commitment list's lines ``first`` to ``last`` (the line ends
        included: ``last - first + 1`` numbers)."""
        return self._u64s(self._listing, first, last - first + 1)

    def listing_span(self, i: int) -> tuple[int, int]:
        """Start and end of unit ``i``'s line in the commitment list."""
        start, end = self._u64s(self._listing, i, 2)
        return start, end

    def disclosure_span(self, i: int) -> tuple[int, int]:
        """Start and end of unit ``i``'s line in the disclosures."""
        start, end = self._u64s(self._disclosures, i, 2)
        return start, end

    def message_span(self, seq: int) -> tuple[int, int]:
        """Start and end of message ``seq``'s line in the messages artifact."""
        start, end = self._u64s(self._messages, seq, 2)
        return start, end

    def message_unit(self, seq: int) -> int:
        """The unit position of message ``seq``."""
        return self._u64s(self._message_units, seq, 1)[0]

    def chunk(self, j: int) -> bytes:
        """The hash of run ``j`` of ``2**level`` leaves."""
        return self._pread(self._chunks + 32 * j, 32)

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def open_index(case: Case, listing_sha256: str) -> UnitIndex | None:
    """The index of the commitment list with that SHA-256, or ``None`` when there is no
    usable one (missing, unreadable or malformed: the caller reads the artifacts)."""
    path = cache_dir(case) / f"{listing_sha256}.idx"
    try:
        fh = path.open("rb")
    except OSError:
        return None
    try:
        return UnitIndex(fh)
    except (OSError, ValueError, struct.error):
        fh.close()
        return None
