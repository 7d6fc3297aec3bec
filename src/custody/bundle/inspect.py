"""``custody bundle inspect``: what a bundle holds and withholds, read from data/bundle.json.

Inspect does not verify (``custody bundle verify`` does); it reads the bag safely and
summarises. Exhibits marked sensitive are named, never rendered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from custody import strictjson
from custody.archive import SafeZip
from custody.bundle import layout
from custody.bundle.verify import LIMITS
from custody.errors import CustodyError, InputError, IntegrityError


def inspect_bundle(path: Path) -> dict[str, Any]:
    """A summary of the bundle's description.

    Raises:
        InputError: not a readable zip or not a bundle.
        UnsafeArchiveError: the zip is hostile.
        IntegrityError: data/bundle.json does not parse.
    """
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open {path}: {exc.strerror}") from exc
    with fh, SafeZip(fh, LIMITS) as zf:
        member = next((m for m in zf.members if m.name == layout.BUNDLE_JSON), None)
        if member is None:
            raise InputError(f"{path} is not a custody bundle (no data/bundle.json)")
        if member.size > 64 << 20:
            raise InputError("data/bundle.json is too large")
        data = b"".join(zf.iter_member_chunks(member))
    try:
        desc = strictjson.loads_strict(data)
    except CustodyError as exc:
        raise IntegrityError(f"data/bundle.json does not parse: {exc.message}") from None
    if not isinstance(desc, dict):
        raise IntegrityError("data/bundle.json is not an object")
    exhibits = []
    for ex in _objects(desc.get("exhibits"), "exhibits"):
        units = [
            {k: _text(item.get(k)) for k in ("role", "unit", "status", "reason") if item.get(k)}
            for item in _objects(ex.get("items"), "items of an exhibit")
        ]
        doc: dict[str, Any] = {
            "exhibit": ex.get("exhibit"),
            "type": ex.get("type"),
            "entry": ex.get("entry"),
            "sensitive": bool(ex.get("sensitive")),
            "units": units,
        }
        info = ex.get("units")
        if isinstance(info, dict):
            doc["withheld_units"] = {
                "count": info.get("count"),
                "withheld": info.get("withheld"),
                "reason": _text(info.get("withheld_reason")),
            }
        if ex.get("notes"):
            doc["notes"] = [_text(n) for n in ex["notes"]] if isinstance(ex["notes"], list) else []
        exhibits.append(doc)
    signer = desc.get("signer")
    signers = [k for k in _objects(desc.get("keys"), "keys") if k.get("key_id") == signer]
    return {
        "bundle": desc.get("bundle"),
        "case": desc.get("case"),
        "recipient": desc.get("recipient"),
        "created": desc.get("created"),
        "signers": signers,
        "redaction": desc.get("redaction"),
        "exhibits": exhibits,
    }


def _objects(value: object, what: str) -> list[dict[str, Any]]:
    """A list of JSON objects, as data/bundle.json must hold.

    Raises:
        IntegrityError: it is something else (the file was altered).
    """
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise IntegrityError(f"data/bundle.json is malformed: its {what} are not a list of objects")
    return value


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)
