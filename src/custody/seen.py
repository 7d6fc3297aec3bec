"""The last checkpoint this machine saw for each log, kept in the custody home.

A whole-log rollback (the log replaced by an older copy) is only detectable against a
checkpoint held elsewhere; this is the copy the user's own machine holds.
"""

from __future__ import annotations

from pathlib import Path

from custody import _fs, note


def _path(home: Path, case_id: str) -> Path:
    return home / "seen" / f"{case_id}.checkpoint"


def last_seen(home: Path, case_id: str) -> bytes | None:
    """The remembered checkpoint for ``case_id``, if any."""
    try:
        return _path(home, case_id).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def remember(home: Path, case_id: str, checkpoint: bytes) -> None:
    """Remember ``checkpoint`` unless a larger one is already remembered.

    Raises:
        StorageError: the file cannot be written.
    """
    old = last_seen(home, case_id)
    if old is not None:
        try:
            if note.parse_checkpoint(old).size >= note.parse_checkpoint(checkpoint).size:
                return
        except note.NoteFormatError:
            pass
    _fs.make_dirs(_path(home, case_id).parent, mode=0o700)
    _fs.atomic_write(_path(home, case_id), checkpoint, mode=0o600)
