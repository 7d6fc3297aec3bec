"""Details records: what we know about an artifact besides its bytes.

File names, notes, sources and EXIF metadata can identify people, so log entries never
hold them. They go into a *details record* (canonical JSON, stored as an artifact and
committed with a salted commitment like any unit), which a bundle may disclose or withhold.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Any

from custody import canonical

MAX_EXIF_TAGS = 500
MAX_EXIF_VALUE = 512
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".tif", ".tiff", ".heic", ".heif", ".png", ".webp"}


def _clean(text: str) -> str:
    """Printable text only (EXIF strings are untrusted): escape controls, cap length."""
    out = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    out = out.encode("utf-8", "backslashreplace").decode("utf-8")
    return out[:MAX_EXIF_VALUE]


def extract_exif(path: Path, name: str) -> tuple[dict[str, str], bool]:
    """EXIF tags of an image as printable strings, and whether GPS tags are present.

    ``name`` is the file's original name (stored artifacts have none); only image names
    are read. Unreadable or absent EXIF yields an empty mapping: metadata is a bonus,
    never a reason to refuse evidence.
    """
    if Path(name).suffix.lower() not in _IMAGE_SUFFIXES:
        return {}, False
    import exifread

    logging.getLogger("exifread").setLevel(logging.CRITICAL)
    try:
        with path.open("rb") as fh:
            tags = exifread.process_file(fh, details=False)
    except Exception:  # exifread raises many kinds on hostile files
        return {}, False
    exif: dict[str, str] = {}
    for name in sorted(tags)[:MAX_EXIF_TAGS]:
        if name in ("JPEGThumbnail", "TIFFThumbnail"):
            continue
        exif[_clean(str(name))] = _clean(str(tags[name]))
    return exif, any(k.startswith("GPS") for k in exif)


def file_details(
    *,
    stored: Path,
    original_name: str,
    size: int,
    note: str | None,
    source: str | None,
    sensitive: bool,
) -> bytes:
    """The canonical details record of an added file."""
    media_type, _ = mimetypes.guess_type(original_name)
    exif, gps = extract_exif(stored, original_name)
    doc: dict[str, Any] = {
        "v": 1,
        "kind": "file-details",
        "original_name": original_name,
        "media_type": media_type or "application/octet-stream",
        "size": size,
        "sensitive": sensitive,
    }
    if note:
        doc["note"] = note
    if source:
        doc["source"] = source
    if exif:
        doc["exif"] = exif
        doc["gps"] = {"present": gps, "sensitive": True} if gps else {"present": False}
    return canonical.dumps(doc)


def case_details(name: str) -> bytes:
    """The canonical details record of a case (its title)."""
    return canonical.dumps({"v": 1, "kind": "case-details", "name": name})
