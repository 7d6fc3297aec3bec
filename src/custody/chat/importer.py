"""``custody import PATH``: preserve a chat export and seal its normalized messages.

One import:

1. checks the options and the case (the log can take an append, the key is a member);
2. opens PATH (file, folder or zip through :class:`custody.archive.SafeZip`), hashes
   every file (SHA-256 and SHA-512) and offers its first bytes to format detection;
3. parses the chat file completely into temporary files in the case folder that have no
   name (messages, the commitment list, the disclosures), and writes the WARC of every
   original file the same way. Any bad input stops here: nothing is stored yet;
4. stores the five artifacts (WARC, messages, commitment list, disclosures, details
   record), commits each, and appends one signed ``import`` entry:

   ``{"artifact": WARC, "details": DETAILS, "artifacts": {"messages": M, "disclosures": D},
   "units": {"root": HEX, "count": N, "list": L}}`` (commitments only).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO
from urllib.parse import quote

from custody import (
    TOOL_NAME,
    __version__,
    canonical,
    hashing,
    locker,
    log,
    seen,
    signing,
    store,
    unitindex,
)
from custody.case import Case
from custody.chat import detect, timeparse
from custody.chat.base import FileInfo, ImportReport, ParseContext
from custody.chat.package import Entry, Package
from custody.chat.units import UnitWriter
from custody.chat.whatsapp_grammar import ORDERS
from custody.errors import InputError, StorageError, UsageError
from custody.warc import WarcWriter

CHUNK = 1 << 20
_ARTIFACTS = ("warc", "messages", "commitments", "disclosures", "details")
_KINDS = {
    "warc": "chat-warc",
    "messages": "chat-messages",
    "commitments": "chat-commitments",
    "disclosures": "chat-disclosures",
    "details": "import-details",
}
_CONTENT_TYPES = {".txt": "text/plain", ".json": "application/json"}


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the user asked for."""

    format: str = "auto"
    timezone: str | None = None
    date_order: str | None = None
    note: str | None = None
    sensitive: bool = False

    def __post_init__(self) -> None:
        if self.format not in detect.FORMATS:
            raise UsageError(f"--format must be one of {', '.join(detect.FORMATS)}")
        if self.date_order is not None and self.date_order not in ORDERS:
            raise UsageError(f"--date-order must be one of {', '.join(ORDERS)}")
        if self.note is not None:
            try:
                self.note.encode("utf-8")
            except UnicodeEncodeError:
                raise UsageError(f"the note is not valid UTF-8: {self.note!a}") from None


@dataclass(frozen=True, slots=True)
class Stored:
    """One artifact of an import, as stored and committed."""

    path: Path
    digests: hashing.Digests
    commitment: str

    def to_dict(self, root: Path) -> dict[str, Any]:
        d = self.digests
        return {
            "path": str(self.path.relative_to(root)),
            "sha256": d.sha256,
            "sha512": d.sha512 or "",
            "size": d.size,
            "commitment": self.commitment,
        }


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What one import preserved."""

    import_id: str
    format: str
    chat_file: str
    seq: int
    messages: int
    units: dict[str, Any]  # root, count, list
    artifacts: dict[str, Stored]
    report: dict[str, Any]

    def to_dict(self, root: Path) -> dict[str, Any]:
        return {
            "import_id": self.import_id,
            "format": self.format,
            "chat_file": self.chat_file,
            "entry": self.seq,
            "messages": self.messages,
            "units": self.units,
            "artifacts": {k: a.to_dict(root) for k, a in self.artifacts.items()},
            "report": self.report,
        }


def _read_files(
    pkg: Package, say: Callable[[str], None]
) -> tuple[dict[str, FileInfo], dict[Entry, frozenset[str]]]:
    files: dict[str, FileInfo] = {}
    sniffed: dict[Entry, frozenset[str]] = {}
    for entry in pkg.entries:
        say(f"reading {entry.name}")
        sniffed[entry] = detect.sniff(pkg.head(entry))
        with pkg.open(entry) as stream:
            d = hashing.hash_stream(stream)
        if d.size != entry.size:
            raise InputError(f"{entry.name} changed size while it was read")
        files[entry.name] = FileInfo(entry.name, d.size, d.sha256, d.sha512 or "")
    return files, sniffed


def _spool(pkg: Package, entry: Entry, expected: FileInfo, out: IO[bytes]) -> None:
    """Copy the chat file into ``out`` and check it is the file that was hashed."""
    with pkg.open(entry) as stream:
        d = hashing.hash_stream(_Tee(stream, out), sha512=False)  # type: ignore[arg-type]
    if d.sha256 != expected.sha256:
        raise InputError(f"{entry.name} changed while it was imported")
    out.seek(0)


class _Tee:
    def __init__(self, source: BinaryIO, sink: IO[bytes]) -> None:
        self.source, self.sink = source, sink

    def readinto(self, buf: memoryview) -> int:
        n = int(self.source.readinto(buf) or 0)  # type: ignore[attr-defined]
        self.sink.write(buf[:n])
        return n


def _write_warc(
    pkg: Package,
    out: IO[bytes],
    import_id: str,
    files: Mapping[str, FileInfo],
    clock: Callable[[], datetime],
) -> dict[str, str]:
    """Every file of the package as a ``resource`` record, byte for byte; name -> record id."""
    writer = WarcWriter(out, now=clock)  # type: ignore[arg-type]
    writer.write_warcinfo(
        [
            ("software", f"{TOOL_NAME}/{__version__}"),
            ("format", "WARC File Format 1.1"),
            (
                "description",
                "a chat export preserved by custody import: "
                "one resource record per file, byte for byte",
            ),
            ("custody-import-id", import_id),
        ]
    )
    ids = {}
    for entry in pkg.entries:
        suffix = entry.name[entry.name.rfind(".") :].lower() if "." in entry.name else ""
        ctype = _CONTENT_TYPES.get(suffix, "application/octet-stream")
        with pkg.open(entry) as stream:
            record = writer.write_resource(
                f"file:///{quote(entry.name, safe='/')}", stream, content_type=ctype
            )
        if record.block_sha256 != files[entry.name].sha256:
            raise InputError(f"{entry.name} changed while it was imported")
        ids[entry.name] = record.record_id
    out.seek(0)
    return ids


def _container(pkg: Package) -> dict[str, Any]:
    source: dict[str, Any] = {"kind": pkg.kind, "name": pkg.label}
    if pkg.kind == "zip":
        with pkg.path.open("rb") as fh:
            d = hashing.hash_stream(fh)
        source |= {"size": d.size, "sha256": d.sha256, "sha512": d.sha512}
    return source


def _details(
    pkg: Package,
    options: ImportOptions,
    ctx: ParseContext,
    import_id: str,
    record_ids: Mapping[str, str],
    writer: UnitWriter,
) -> bytes:
    """The import's details record: names, note, hashes and the report (canonical JSON)."""

    def role(name: str) -> str:
        if name == ctx.chat_file:
            return "chat"
        return "attachment" if name in ctx.referenced else "unreferenced"

    doc: dict[str, Any] = {
        "v": 1,
        "kind": "import-details",
        "import_id": import_id,
        "format": ctx.report.facts["format"],
        "chat_file": ctx.chat_file,
        "source": _container(pkg),
        "files": [
            {"name": f.name, "size": f.size, "sha256": f.sha256}
            | {"record_id": record_ids[f.name], "role": role(f.name)}
            for f in ctx.files.values()
        ],
        "options": {
            "format": options.format,
            "timezone": options.timezone,
            "date_order": options.date_order,
        },
        "sensitive": options.sensitive,
        "counts": {
            "messages": writer.count_messages,
            "units": len(writer.commitments),
            "files": len(ctx.files),
        },
        "report": ctx.report.to_dict(),
    }
    if options.note:
        doc["note"] = options.note
    return canonical.dumps(doc)


def import_chat(
    case: Case,
    path: Path,
    options: ImportOptions,
    *,
    signer: signing.Signer,
    home: Path,
    clock: Callable[[], datetime] = log.utc_now,
    progress: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import the export at ``path`` into ``case`` with one signed ``import`` entry.

    Raises:
        UsageError: bad options (format, zone, date order), or ``path`` is missing.
        InputError: the export is empty, of unknown format, not decodable, or hostile
            (UnsafeArchiveError, StrictJSONError); nothing was stored.
        TornTailError: the custody log needs recovery first.
        KeyMaterialError: the signer is not a member of the case.
        StorageError: reading or writing fails.
    """
    zone = timeparse.load_zone(options.timezone)
    log.check_head(case)
    locker.require_member(case, signer)
    say = progress or (lambda _: None)
    with Package(path) as pkg:
        files, sniffed = _read_files(pkg, say)
        choice = detect.choose(sniffed, options.format)
        import_id = secrets.token_hex(6)
        report = ImportReport()
        report.facts.update({"format": choice.importer.name, "chat_file": choice.entry.name})
        by_name = {e.name: e for e in pkg.entries}
        ctx = ParseContext(
            choice.entry.name,
            files,
            zone,
            options.date_order,
            report,
            open_file=lambda name: pkg.open(by_name[name]),
        )
        try:
            spools = [tempfile.TemporaryFile(dir=case.root) for _ in range(5)]  # noqa: SIM115
        except OSError as exc:
            raise StorageError(f"cannot create temporary files in {case.root}: {exc}") from exc
        try:
            chat, messages, listing, disclosures, warc = spools
            _spool(pkg, choice.entry, files[choice.entry.name], chat)
            say("parsing")
            by_sha = {f.sha256: f for f in files.values()}
            writer = UnitWriter(import_id, messages, listing, disclosures, by_sha)
            for message in choice.importer.parse(chat, ctx):
                writer.add(message)
            if not writer.count_messages:
                raise InputError(f"{choice.entry.name}: no messages")
            for name in sorted(set(files) - ctx.referenced - {choice.entry.name}):
                report.add(
                    "unreferenced-file",
                    f"{name!r} is in the package but no message names it; preserved in the WARC",
                    severity="info",
                    file=name,
                )
            say("preserving the original files")
            record_ids = _write_warc(pkg, warc, import_id, files, clock)
            details = _details(pkg, options, ctx, import_id, record_ids, writer)
            root = writer.root()
            say("sealing")
            stored = {}
            for role, spool in zip(
                _ARTIFACTS[:4], (warc, messages, listing, disclosures), strict=True
            ):
                spool.seek(0)
                obj = store.store_stream(case, spool)
                commitment = store.commit(case, _KINDS[role], obj.digests).commitment
                stored[role] = Stored(obj.path, obj.digests, commitment)
        except OSError as exc:  # the temporary files: disk full, quota
            raise StorageError(f"cannot write temporary files in {case.root}: {exc}") from exc
        finally:
            for spool in spools:
                spool.close()
    obj = store.store_bytes(case, details)
    commitment = store.commit(case, _KINDS["details"], obj.digests).commitment
    stored["details"] = Stored(obj.path, obj.digests, commitment)
    units = {
        "root": root,
        "count": len(writer.commitments),
        "list": stored["commitments"].commitment,
    }
    subject = {
        "artifact": stored["warc"].commitment,
        "details": stored["details"].commitment,
        "artifacts": {
            "messages": stored["messages"].commitment,
            "disclosures": stored["disclosures"].commitment,
        },
        "units": units,
    }
    with log.appending(case, signer, clock=clock) as app:
        entry = app.append("import", subject)
    unitindex.save(case, stored["commitments"].digests.sha256, writer.index_parts())
    try:
        seen.remember(home, case.case_id, case.checkpoint.read_bytes())
    except OSError as exc:
        raise StorageError(f"cannot read {case.checkpoint}: {exc.strerror}") from exc
    return ImportResult(
        import_id,
        choice.importer.name,
        choice.entry.name,
        entry.seq,
        writer.count_messages,
        units,
        stored,
        report.to_dict(),
    )
