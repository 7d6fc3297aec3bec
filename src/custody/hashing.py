"""Streaming digests: SHA-256 and SHA-512 from one read, on two cores.

hashlib releases the GIL on large updates, so SHA-512 runs on a worker thread while
SHA-256 runs on the calling thread, over the same 1 MiB chunk. Memory stays at two
chunk buffers whatever the file size.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from custody.errors import StorageError

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Digests:
    """The digests of one byte stream."""

    sha256: str
    sha512: str | None
    size: int

    @property
    def label(self) -> str:
        """``sha256:<hex>``, the identity form used everywhere."""
        return f"sha256:{self.sha256}"


def _read_into(stream: BinaryIO, buf: memoryview) -> int:
    try:
        n = stream.readinto(buf)  # type: ignore[attr-defined]
    except OSError as exc:
        name = getattr(stream, "name", "input")
        raise StorageError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return int(n or 0)


def hash_stream(stream: BinaryIO, *, sha512: bool = True) -> Digests:
    """Hash a stream to EOF in one read; SHA-512 on a second core when asked.

    Raises:
        StorageError: the stream fails mid-way.
    """
    h256 = hashlib.sha256()
    if not sha512:
        buf = memoryview(bytearray(CHUNK))
        size = 0
        while n := _read_into(stream, buf):
            h256.update(buf[:n])
            size += n
        return Digests(h256.hexdigest(), None, size)
    h512 = hashlib.sha512()
    bufs = (memoryview(bytearray(CHUNK)), memoryview(bytearray(CHUNK)))
    size = 0
    pending: Future[None] | None = None
    i = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha512") as pool:
        while True:
            buf = bufs[i]
            n = _read_into(stream, buf)
            if pending is not None:
                pending.result()
            if not n:
                break
            chunk = buf[:n]
            pending = pool.submit(h512.update, chunk)
            h256.update(chunk)
            size += n
            i ^= 1
    return Digests(h256.hexdigest(), h512.hexdigest(), size)


def sha256_hex(data: bytes) -> str:
    """SHA-256 of bytes, lower-case hex."""
    return hashlib.sha256(data).hexdigest()
