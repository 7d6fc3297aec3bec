"""signal-export's JSON Lines output (``data.json``): one JSON object a line.

Each line is ``json.dumps(dataclasses.asdict(message), ensure_ascii=False)`` of
signal-export's ``models.Message``: ``date`` (``datetime.isoformat()`` of a naive local
time: ``2024-01-15T10:00:00.123000``, no fraction when it is zero), ``sender``, ``body``
(two trailing spaces added, backticks removed), ``quote`` (``""`` or the Markdown
``\\n\\n> …\\n\\n``), ``sticker`` (``""`` or the emoji in older versions; ``null`` or
``{id, packId, packKey, emoji, extension}`` in newer ones), ``reactions``
(``[[name, emoji], …]``), ``attachments`` (``[{name, path}, …]``, ``missing_kind`` for a
file it did not export), and in newer versions ``deleted``, ``call``, ``missed``,
``edits``. Every line is parsed strictly (:func:`custody.strictjson.loads_strict`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from custody import strictjson
from custody.chat.base import ImportReport
from custody.chat.signal_md import MAX_LINE_BYTES, File, Record, local_time, raw_lines
from custody.errors import InputError, StrictJSONError

TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{6}))?"
)
KNOWN = frozenset(
    {
        "date",
        "sender",
        "body",
        "quote",
        "sticker",
        "reactions",
        "attachments",
        "deleted",
        "call",
        "missed",
        "edits",
    }
)
_AT = re.compile(r" at line 1 column ([0-9]+)$")


def records(source: BinaryIO, name: str, report: ImportReport) -> Iterator[Record]:
    """Every record of a ``data.json``, in file order.

    Raises:
        InputError: empty, a line that is not strict JSON or not an object, a ``date`` that
            is not a time as signal-export writes it, a byte order mark.
    """
    count = 0
    unknown: set[str] = set()
    for number, offset, raw in raw_lines(source, name):
        line = raw.removesuffix(b"\n").removesuffix(b"\r")
        where: dict[str, Any] = {
            "file": name,
            "line": number,
            "end_line": number,
            "offset": offset,
            "length": len(raw),
        }
        if not line.strip(b" \t"):
            report.add("unparsed", f"line {number} is blank; part of no message", **where)
            continue
        try:
            doc = strictjson.loads_strict(line, max_bytes=MAX_LINE_BYTES)
        except StrictJSONError as exc:
            message = _AT.sub(rf" at line {number} column \1", exc.message)
            raise InputError(f"{name}: line {number}: {message}") from None
        if not isinstance(doc, dict):
            raise InputError(f"{name}: line {number} is not a JSON object")
        for key in sorted(set(doc) - KNOWN - unknown):
            unknown.add(key)
            report.add(
                "unknown-field",
                f"line {number}: field {key!r} is not one custody knows; kept only in the original",
                severity="info",
                **where,
            )
        count += 1
        yield _Line(doc, number, where, name, report).record()
    if not count:
        raise InputError(f"{name}: empty export (no messages)")


class _Line:
    def __init__(
        self,
        doc: dict[str, Any],
        number: int,
        where: dict[str, Any],
        name: str,
        report: ImportReport,
    ) -> None:
        self.doc, self.number, self.where, self.name, self.report = doc, number, where, name, report

    def _bad(self, key: str, what: str) -> None:
        self.report.add(
            "malformed-field", f"line {self.number}: {key!r} is not {what}; left out", **self.where
        )

    def _get(self, key: str, kind: type | tuple[type, ...], what: str, default: Any) -> Any:
        value = self.doc.get(key, default)
        if value is None or isinstance(value, kind):
            return default if value is None else value
        self._bad(key, what)
        return default

    def record(self) -> Record:
        date = self.doc.get("date")
        found = TIME.fullmatch(date) if isinstance(date, str) else None
        local = local_time(*found.groups(default="0")) if found else None
        if not isinstance(date, str) or local is None:
            shown = repr(date) if len(repr(date)) <= 60 else repr(date)[:57] + "..."
            raise InputError(
                f"{self.name}: line {self.number}: 'date' is not a time as signal-export "
                f"writes it: {shown}",
                hint="signal-export writes every message's date this way; the file was "
                "altered or damaged, and custody does not guess a time",
            )
        body = self._get("body", str, "a string", "")
        if body.endswith("  "):
            body = body[:-2]
        else:
            self.report.add(
                "unexpected-layout",
                f"line {self.number}: the body does not end with the two spaces signal-export "
                "adds; read as is",
                severity="info",
                **self.where,
            )
        sticker, path = self._sticker()
        edits = self._get("edits", list, "a list", [])
        return Record(
            date,
            local,
            self._get("sender", str, "a string", None),
            body,
            self.where,
            self._quote(),
            self._reactions(),
            sticker,
            path,
            self._files(),
            self._get("deleted", bool, "true or false", False),
            self._get("call", bool, "true or false", None),
            self._get("missed", bool, "true or false", None),
            len(edits),
        )

    def _quote(self) -> str | None:
        quote: str = self._get("quote", str, "a string", "")
        if not quote:
            return None
        if quote.startswith("\n\n> ") and quote.endswith("\n\n"):
            return "\n".join(line.removeprefix("> ") for line in quote[2:-2].split("\n"))
        self.report.add(
            "unexpected-layout",
            f"line {self.number}: the quote is not in signal-export's layout; kept as written",
            severity="info",
            **self.where,
        )
        return quote

    def _reactions(self) -> tuple[tuple[str, str], ...]:
        found = []
        for item in self._get("reactions", list, "a list", []):
            if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
                found.append((item[0], item[1]))
            else:
                self._bad("reactions", "a list of [name, emoji] pairs")
        return tuple(found)

    def _sticker(self) -> tuple[str | None, str | None]:
        sticker = self.doc.get("sticker")
        if sticker is None or sticker == "":
            return None, None
        if isinstance(sticker, str):  # older versions: the emoji only, no file
            return sticker, None
        if not isinstance(sticker, dict):
            self._bad("sticker", "a string or an object")
            return None, None
        label = sticker.get("emoji") or "sticker"
        pack, sid, ext = (sticker.get(k) for k in ("packId", "id", "extension"))
        if not isinstance(label, str):
            label = "sticker"
        if all(isinstance(x, str) and x for x in (pack, sid, ext)) and ext != "unknown":
            return label, f"../exported_stickers/{pack}/{sid}.{ext}"
        return label, None

    def _files(self) -> tuple[File, ...]:
        found = []
        for item in self._get("attachments", list, "a list", []):
            if not isinstance(item, dict):
                self._bad("attachments", "a list of objects")
                continue
            name, path, missing = (item.get(k) for k in ("name", "path", "missing_kind"))
            strings = [x if isinstance(x, str) else None for x in (name, path, missing)]
            if missing is not None and not isinstance(missing, str):
                strings[2] = str(missing)
            found.append(File(*strings))
        return tuple(found)
