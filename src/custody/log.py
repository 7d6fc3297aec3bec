"""The custody log: signed canonical JSON entries in an append-only file.

Each line of ``log/entries.jsonl`` is the RFC 8785 canonical JSON
``{"entry": BODY, "sig": BASE64}`` followed by ``\\n``. The signature is Ed25519 over
``b"custody-entry/v1\\n" + JCS(BODY)``; because the line itself must be canonical, those
BODY bytes are exactly the stored bytes after ``{"entry":``. The Merkle leaf of an entry is
the stored line without its newline. Appends hold an exclusive lock around
read-head/append/fsync and end with a signed checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from custody import TOOL_NAME, __version__, _fs, canonical, merkle, note, signing, strictjson
from custody.case import Case
from custody.errors import CustodyError, LogCorruptError, StorageError, TornTailError
from custody.logtree import TreeStore

ENTRY_DOMAIN = b"custody-entry/v1\n"
GENESIS = "0" * 64
ENTRY_TYPES = frozenset(
    {
        "init",
        "key",
        "add",
        "capture",
        "import",
        "access",
        "derive",
        "export",
        "transfer",
        "timestamp",
        "recover",
        "note",
    }
)
MAX_ENTRY_BYTES = 65535
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_KEY_ID = re.compile(r"ed25519:[0-9a-f]{64}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_BODY_FIELDS = {"v", "case", "seq", "prev", "type", "actor", "claimed_time", "tool", "subject"}


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_time(t: datetime) -> str:
    """RFC 3339 UTC with a ``Z``; microseconds when present."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Entry:
    """One decoded log entry with its exact stored bytes (no newline)."""

    raw: bytes
    body: dict[str, Any]
    signature: bytes

    @property
    def seq(self) -> int:
        return int(self.body["seq"])

    @property
    def type(self) -> str:
        return str(self.body["type"])

    @property
    def actor(self) -> str:
        return str(self.body["actor"])

    @property
    def subject(self) -> dict[str, Any]:
        subject: dict[str, Any] = self.body["subject"]
        return subject

    @property
    def leaf(self) -> bytes:
        return merkle.leaf_hash(self.raw)

    def signed_message(self) -> bytes:
        return ENTRY_DOMAIN + self.raw[len(b'{"entry":') : self.raw.rindex(b',"sig":')]


def encode_entry(body: dict[str, Any], signer: signing.Signer) -> bytes:
    """Sign ``body`` and return the stored line (without newline).

    Raises:
        LogCorruptError: the entry would exceed the 64 KiB entry limit.
    """
    body_bytes = canonical.dumps(body)
    sig = signer.sign(ENTRY_DOMAIN + body_bytes)
    line = b'{"entry":' + body_bytes + b',"sig":"' + base64.b64encode(sig) + b'"}'
    if len(line) > MAX_ENTRY_BYTES:
        raise LogCorruptError(f"log entry too large ({len(line)} bytes)")
    return line


def decode_entry(raw: bytes) -> Entry:
    """Decode one stored line strictly: canonical JSON, known fields, well-formed values.

    Raises:
        LogCorruptError: the line is not a well-formed entry (the message says why).
    """
    try:
        doc = strictjson.loads_strict(raw)
    except CustodyError as exc:
        raise LogCorruptError(f"entry is not valid JSON: {exc.message}") from None
    if not isinstance(doc, dict) or set(doc) != {"entry", "sig"}:
        raise LogCorruptError("entry must hold exactly 'entry' and 'sig'")
    if canonical.dumps(doc) != raw:
        raise LogCorruptError("entry is not in RFC 8785 canonical form")
    body, sig_b64 = doc["entry"], doc["sig"]
    if not isinstance(body, dict) or set(body) != _BODY_FIELDS:
        raise LogCorruptError("entry body has missing or unknown fields")
    try:
        sig = base64.b64decode(sig_b64, validate=True) if isinstance(sig_b64, str) else b""
    except binascii.Error:
        sig = b""
    problems = [
        (type(body["v"]) is int and body["v"] == 1, "unknown entry version"),
        (isinstance(body["case"], str), "bad case id"),
        (type(body["seq"]) is int and body["seq"] >= 0, "bad seq"),
        (isinstance(body["prev"], str) and _HEX64.fullmatch(body["prev"]), "bad prev"),
        (body["type"] in ENTRY_TYPES, f"unknown entry type {body['type']!r}"),
        (isinstance(body["actor"], str) and _KEY_ID.fullmatch(body["actor"]), "bad actor"),
        (
            isinstance(body["claimed_time"], str) and _TIME.fullmatch(body["claimed_time"]),
            "bad time",
        ),
        (isinstance(body["tool"], dict), "bad tool"),
        (isinstance(body["subject"], dict), "bad subject"),
        (len(sig) == 64, "signature is not 64 bytes of base64"),
    ]
    for ok, why in problems:
        if not ok:
            raise LogCorruptError(f"malformed entry: {why}")
    return Entry(raw=raw, body=body, signature=sig)


@dataclass(frozen=True, slots=True)
class RawLog:
    """The log file split into complete lines, and any torn tail."""

    lines: list[tuple[int, bytes]]  # (offset, line without newline)
    torn_offset: int | None
    torn_bytes: bytes = b""
    size: int = 0


def read_raw_log(path: Path) -> RawLog:
    """Split the log into lines; bytes after the last newline are a torn tail.

    Raises:
        StorageError: the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return RawLog([], None)
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    lines: list[tuple[int, bytes]] = []
    offset = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        if end < 0:
            return RawLog(lines, offset, data[offset:], len(data))
        lines.append((offset, data[offset:end]))
        offset = end + 1
    return RawLog(lines, None, b"", len(data))


def _last_line(path: Path) -> tuple[bytes | None, bool]:
    """(last complete line, whether the file ends with a newline), read from the end."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return None, True
        start = max(0, size - MAX_ENTRY_BYTES - 2)
        fh.seek(start)
        tail = fh.read(size - start)
    if not tail.endswith(b"\n"):
        return None, False
    cut = tail.rfind(b"\n", 0, len(tail) - 1)
    return tail[cut + 1 : -1], True


@contextmanager
def locked(case: Case, *, shared: bool = False) -> Iterator[None]:
    """Hold the case's append lock (exclusive, or shared for consistent reads).

    Raises:
        StorageError: the lock file cannot be opened.
    """
    try:
        fd = os.open(case.lock, os.O_RDONLY if shared else os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        yield  # a read-only look at a case without a lock file: nothing to lock
        return
    except OSError as exc:
        raise StorageError(f"cannot open lock {case.lock}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass
class Appender:
    """Appends entries for one command; the caller holds the lock (see :func:`appending`)."""

    case: Case
    signer: signing.Signer
    clock: Callable[[], datetime]
    size: int
    prev: str
    appended: list[Entry] = field(default_factory=list)

    def append(self, entry_type: str, subject: dict[str, Any]) -> Entry:
        """Sign and durably append one entry.

        Raises:
            StorageError: the write or fsync fails (the command must stop).
        """
        body = {
            "v": 1,
            "case": self.case.case_id,
            "seq": self.size,
            "prev": self.prev,
            "type": entry_type,
            "actor": signing.key_id(self.signer.public_key),
            "claimed_time": format_time(self.clock()),
            "tool": {"name": TOOL_NAME, "version": __version__},
            "subject": subject,
        }
        raw = encode_entry(body, self.signer)
        _fs.append_durably(self.case.entries, raw + b"\n")
        entry = decode_entry(raw)
        self.size += 1
        self.prev = entry.leaf.hex()
        self.appended.append(entry)
        return entry


def _head(case: Case) -> tuple[int, str]:
    last, clean = _last_line(case.entries) if case.entries.exists() else (None, True)
    if not clean:
        raw = read_raw_log(case.entries)
        raise TornTailError(
            f"custody log has a torn last record at byte {raw.torn_offset}",
            offset=raw.torn_offset or 0,
            hint="run custody log recover",
        )
    if last is None:
        return 0, GENESIS
    try:
        entry = decode_entry(last)
    except LogCorruptError as exc:
        raise LogCorruptError(
            f"the last entry of the custody log is damaged: {exc.message}",
            hint="appends refuse; run custody verify",
        ) from None
    return entry.seq + 1, entry.leaf.hex()


def check_head(case: Case) -> None:
    """Refuse early (before any evidence is written) when the log cannot take appends.

    Raises:
        TornTailError: the log ends in a torn record.
        LogCorruptError: the last entry is damaged.
    """
    _head(case)


def ensure_tree(case: Case, size: int) -> TreeStore:
    """The derived tree for a log of ``size`` entries, rebuilt from the entries if stale."""
    store = TreeStore(case.tree)
    if not store.is_consistent_with(size):
        raw = read_raw_log(case.entries)
        store.rebuild([merkle.leaf_hash(line) for _, line in raw.lines[:size]])
    return store


@contextmanager
def appending(
    case: Case, signer: signing.Signer, *, clock: Callable[[], datetime] = utc_now
) -> Iterator[Appender]:
    """Lock the log, yield an :class:`Appender`, then update the tree and sign a checkpoint.

    Raises:
        TornTailError: the log ends in a torn record (appends refuse until recovered).
        StorageError: a write, fsync or rename fails.
    """
    with locked(case):
        size, prev = _head(case)
        appender = Appender(case, signer, clock, size, prev)
        yield appender
        if appender.appended:
            write_checkpoint(case, signer, appender)


def _extends_previous(case: Case, store: TreeStore, size: int, root: bytes) -> bool:
    """True if (size, root) extends the case's last checkpoint (or there is none)."""
    try:
        prev = note.parse_checkpoint(case.checkpoint.read_bytes())
    except (FileNotFoundError, note.NoteFormatError):
        return True  # nothing signed yet, or verify reports the damaged checkpoint
    if prev.size > size:
        return False
    if prev.size == 0 or prev.size == size:
        return prev.size == 0 or prev.root == root
    proof = merkle.consistency_proof(store, prev.size, size)
    return merkle.verify_consistency(prev.size, size, prev.root, root, proof)


def write_checkpoint(case: Case, signer: signing.Signer, appender: Appender) -> bytes:
    """Bring the derived tree up to date, then sign, store and return a checkpoint.

    A log never signs a checkpoint inconsistent with the one before it: the new root is
    checked against the last checkpoint with a consistency proof; a damaged derived tree is
    rebuilt from the entries, and a log that still does not extend its last checkpoint is
    refused.

    Raises:
        LogCorruptError: the log does not extend its last signed checkpoint.
        StorageError: a write fails.
    """
    first = appender.size - len(appender.appended)
    store = ensure_tree(case, first)
    for i, entry in enumerate(appender.appended):
        store.append_leaf(entry.leaf, first + i + 1)
    root = merkle.root(store, appender.size)
    if not store.is_consistent_with(appender.size) or not _extends_previous(
        case, store, appender.size, root
    ):
        store.close()
        raw = read_raw_log(case.entries)
        store = TreeStore(case.tree)
        store.rebuild([merkle.leaf_hash(line) for _, line in raw.lines[: appender.size]])
        root = merkle.root(store, appender.size)
        if not _extends_previous(case, store, appender.size, root):
            store.close()
            raise LogCorruptError(
                "the log does not extend its last signed checkpoint; not signing a new one",
                hint="run custody verify",
            )
    store.close()  # derived data: not synced; a torn or stale tree is rebuilt (see above)
    cp = note.sign_checkpoint(case.origin, appender.size, root, signer)
    _fs.make_dirs(case.checkpoints)
    _fs.atomic_write(case.checkpoint, cp)
    _fs.write_once(case.checkpoints / str(appender.size), cp, mode=0o444)
    return cp
