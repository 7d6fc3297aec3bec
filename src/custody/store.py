"""Content-addressed artifacts and their salted disclosures inside a case.

Artifacts are written once (temp file, fsync, link under their SHA-256, fsync the
folder) and made read-only. SHA-256 and SHA-512 are computed during the same single
read that copies the bytes in.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from custody import _fs, commitments, hashing
from custody.case import Case
from custody.errors import IntegrityError, StorageError


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An artifact now held in the case."""

    digests: hashing.Digests
    path: Path


class _TeeReader:
    """Reads from ``source`` and writes every byte read to ``sink`` (one pass, no copy)."""

    def __init__(self, source: BinaryIO, sink: BinaryIO, sink_path: Path) -> None:
        self.source, self.sink, self.sink_path = source, sink, sink_path
        self.name = getattr(source, "name", "input")

    def readinto(self, buf: memoryview) -> int:
        try:
            n = self.source.readinto(buf)  # type: ignore[attr-defined]
        except OSError as exc:
            raise StorageError(f"cannot read {self.name}: {exc.strerror or exc}") from exc
        if n:
            _fs.crash_point("write")
            try:
                self.sink.write(buf[:n])
            except OSError as exc:
                raise StorageError(f"cannot write {self.sink_path}: {exc.strerror}") from exc
        return int(n or 0)


def store_stream(case: Case, source: BinaryIO) -> StoredObject:
    """Copy ``source`` into the case under its SHA-256, hashing in the same read.

    Raises:
        StorageError: reading, writing or syncing fails (nothing is left behind).
        IntegrityError: a stored object under the same name no longer matches its name.
    """
    _fs.make_dirs(case.objects)
    tmp = case.objects / _fs.temp_name()
    try:
        with tmp.open("xb") as sink:
            digests = hashing.hash_stream(_TeeReader(source, sink, tmp))  # type: ignore[arg-type]
            sink.flush()
            _fs.fsync_fd(sink.fileno(), tmp)
        tmp.chmod(0o444)
        final = case.object_path(digests.sha256)
        _fs.make_dirs(final.parent)
        _fs.crash_point("link")
        try:
            os.link(tmp, final)
        except FileExistsError:
            with final.open("rb") as fh:
                if hashing.hash_stream(fh, sha512=False).sha256 != digests.sha256:
                    raise IntegrityError(
                        f"stored artifact {final} no longer matches its name",
                        hint="run custody verify",
                    ) from None
        except OSError as exc:
            raise StorageError(f"cannot link {final}: {exc.strerror}") from exc
        _fs.fsync_dir(final.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return StoredObject(digests, final)


def store_bytes(case: Case, data: bytes) -> StoredObject:
    """Store a small byte string (a details record) as an artifact.

    Raises:
        StorageError: a write fails.
        IntegrityError: a stored object under the same name no longer matches its name.
    """
    return store_stream(case, io.BytesIO(data))


def commit(case: Case, kind: str, digests: hashing.Digests) -> commitments.Disclosure:
    """Create and store a fresh salted disclosure for a unit; return it.

    Raises:
        StorageError: the disclosure cannot be written.
    """
    disclosure = commitments.make_disclosure(kind, digests)
    _fs.make_dirs(case.disclosures)
    _fs.write_once(case.disclosure_path(disclosure.commitment), disclosure.raw)
    return disclosure


def read_disclosure(case: Case, commitment: str) -> commitments.Disclosure:
    """Load the disclosure behind ``commitment`` and check it matches.

    Raises:
        IntegrityError: it is missing, altered or malformed.
    """
    path = case.disclosure_path(commitment)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise IntegrityError(f"missing disclosure for {commitment}") from None
    except OSError as exc:
        raise IntegrityError(f"cannot read disclosure {path}: {exc.strerror}") from exc
    if commitments.commitment_of(raw) != commitment:
        raise IntegrityError(f"disclosure {path.name} does not match its commitment")
    return commitments.parse_disclosure(raw)
