"""``custody export-wacz``: a WACZ 1.1.1 of one capture, built on demand from its sealed WARC.

The case keeps each byte once: the capture's WARC is the artifact, and a WACZ is a view of
it, built when asked and never stored in the case. The WACZ holds:

- ``archive/capture-<seq>.warc.gz``: the WARC exactly as stored (its SHA-256 is checked
  against the capture's committed disclosure while it is read, twice: before anything is
  written and again while it is copied);
- ``indexes/index.cdx``: a CDXJ index (SURT key, 14-digit timestamp, JSON with url, mime,
  status, digest, length, offset, filename) of every response, resource and revisit record,
  with offsets and lengths measured while reading the gzip-per-record WARC (the snapshots,
``resource`` records under ``urn:custody:<role>:<capture id>``, are indexed too). Plain ``.cdx``
  because ReplayWeb.page loads ``.cdx``/``.cdxj`` (or ZipNum ``.idx``) and pywb's
  ``wb-manager add --unpack-wacz`` takes ``.cdx``/``.cdx.gz``;
- ``pages/pages.jsonl``: the captured page (its final URL), with the time of its response
  record and the title of the DOM snapshot (the WARC's ``urn:custody:dom:…`` record);
- ``datapackage.json`` (``profile: data-package``, ``wacz_version: 1.1.1``) listing every
  file with ``sha256:<hex>`` and size, and ``datapackage-digest.json`` with its hash.

The output is deterministic: every member is STORED (no compression, so no dependence on the
zlib version, and the WARC's gzip members stay range-readable), zip times are 1980-01-01,
and ``created`` is the capture entry's claimed time, so exporting a capture twice gives the
same bytes, and anyone holding the case can rebuild the WACZ and compare hashes.

Nothing is written to the case unless :func:`record_export` is called (``--record``).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from custody import TOOL_NAME, __version__, hashing, locker, log, seen, signing, store, strictjson
from custody.capture.cdxj import WarcIndex, index_warc
from custody.case import Case
from custody.errors import InputError, IntegrityError, StorageError, UsageError

WACZ_VERSION = "1.1.1"
INDEX_PATH = "indexes/index.cdx"
PAGES_PATH = "pages/pages.jsonl"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_CHUNK = 1 << 20
DOM_PREFIX = "urn:custody:dom:"  # the DOM snapshot's record (the title is in its first MiB)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True, slots=True)
class WaczContent:
    """What a WACZ of one capture holds."""

    capture_entry: int
    warc_commitment: str
    page_url: str
    page_ts: str
    title: str | None
    records_indexed: int
    datapackage_sha256: str
    sensitive: bool


@dataclass(frozen=True, slots=True)
class WaczExport:
    """What one export wrote, and where."""

    path: Path
    sha256: str
    size: int
    content: WaczContent

    def to_dict(self) -> dict[str, Any]:
        c = self.content
        return {
            "wacz": str(self.path),
            "sha256": self.sha256,
            "bytes": self.size,
            "capture_entry": c.capture_entry,
            "page": {"url": c.page_url, "ts": c.page_ts, "title": c.title},
            "records_indexed": c.records_indexed,
            "datapackage_hash": "sha256:" + c.datapackage_sha256,
            "sensitive": c.sensitive,
        }


@dataclass(frozen=True, slots=True)
class _Capture:
    """A capture entry and the verified parts of it the export needs."""

    entry: log.Entry
    warc: store.StoredObject
    warc_commitment: str
    details: dict[str, Any]


# --- naming a capture ---------------------------------------------------------------------


def find_capture(case: Case, which: str) -> log.Entry:
    """The ``capture`` entry named by ``which``: its seq number, or ``last``.

    Raises:
        UsageError: ``which`` names no capture entry.
        LogCorruptError: a log entry read on the way does not decode.
        StorageError: the log cannot be read.
    """
    lines = log.read_raw_log(case.entries).lines
    if which == "last":
        for _, line in reversed(lines):
            entry = log.decode_entry(line)
            if entry.type == "capture":
                return entry
        raise UsageError("the case holds no capture", hint="custody capture URL makes one")
    if not which.isascii() or not which.isdigit():
        raise UsageError(
            f"name a capture by the number of its entry in custody log, or 'last': {which!r}"
        )
    seq = int(which)
    if seq >= len(lines):
        raise UsageError(f"the log has no entry {seq} (it holds {len(lines)})")
    entry = log.decode_entry(lines[seq][1])
    if entry.type != "capture":
        raise UsageError(f"entry {seq} is a {entry.type!r} entry, not a capture")
    return entry


def _verified(
    case: Case, commitment: object, kind: str, *, hash_now: bool = True
) -> store.StoredObject:
    """The artifact behind ``commitment``, after checking its disclosure, kind and digest.

    With ``hash_now=False`` the caller checks the digest while it reads the file anyway.
    """
    if not isinstance(commitment, str):
        raise IntegrityError(f"the capture entry has no {kind} commitment")
    disc = store.read_disclosure(case, commitment)
    if disc.kind != kind:
        raise IntegrityError(f"{commitment} discloses a {disc.kind!r}, not a {kind!r}")
    path = case.object_path(disc.sha256)
    if not hash_now:
        if not path.is_file():
            raise IntegrityError(f"the {kind} artifact is missing", hint="run custody verify")
        return store.StoredObject(hashing.Digests(disc.sha256, None, disc.size), path)
    try:
        with path.open("rb") as fh:
            got = hashing.hash_stream(fh, sha512=False)
    except FileNotFoundError:
        raise IntegrityError(f"the {kind} artifact is missing", hint="run custody verify") from None
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror}") from exc
    if got.sha256 != disc.sha256 or got.size != disc.size:
        raise IntegrityError(
            f"the {kind} artifact {path.name} was altered: it no longer matches its commitment",
            hint="run custody verify",
        )
    return store.StoredObject(hashing.Digests(disc.sha256, None, disc.size), path)


def _title(index: WarcIndex) -> str | None:
    head = next((v for k, v in sorted(index.heads.items()) if k.startswith(DOM_PREFIX)), b"")
    m = _TITLE.search(head)
    if m is None:
        return None
    text = " ".join(html.unescape(m.group(1).decode("utf-8", "replace")).split())
    return text[:300] or None


def _load_capture(case: Case, which: str) -> _Capture:
    entry = find_capture(case, which)
    subject = entry.subject
    warc = _verified(case, subject.get("artifact"), "capture-warc", hash_now=False)
    record = _verified(case, subject.get("details"), "capture-details")
    details = strictjson.loads_strict(record.path.read_bytes())
    if not isinstance(details, dict) or not isinstance(details.get("url"), str):
        raise IntegrityError(f"the details record of capture entry {entry.seq} is malformed")
    return _Capture(entry, warc, str(subject["artifact"]), details)


# --- the package ----------------------------------------------------------------------------


def _member(name: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3  # Unix, so the mode below means the same everywhere
    info.external_attr = 0o644 << 16
    info.file_size = size
    return info


def _jsonl(*docs: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(d, ensure_ascii=False).encode("utf-8") + b"\n" for d in docs)


def write_wacz(out: BinaryIO, case: Case, which: str) -> WaczContent:
    """Write the WACZ of capture ``which`` to ``out`` (seekable); return what it holds.

    The WARC is hashed while it is indexed, before anything is written to ``out``, and
    again while it is copied.

    Raises:
        UsageError: ``which`` names no capture.
        IntegrityError: the WARC or details no longer match their commitments, or the
            WARC changed while it was read.
        InputError: the WARC cannot be indexed.
        StorageError: reading or writing fails.
    """
    cap = _load_capture(case, which)
    seq = cap.entry.seq
    name = f"capture-{seq}.warc" + (".gz" if _is_gzip(cap.warc.path) else "")
    with cap.warc.path.open("rb") as fh:
        index = index_warc(fh, name, keep=lambda uri: uri.startswith(DOM_PREFIX))
    if index.sha256 != cap.warc.digests.sha256 or index.size != cap.warc.digests.size:
        raise IntegrityError(
            f"the capture's WARC {cap.warc.path.name} was altered: it no longer matches "
            f"its commitment in entry {seq}",
            hint="run custody verify",
        )
    if index.error is not None:
        raise InputError(f"cannot index the capture's WARC: {index.error}")
    page_url = str(cap.details.get("final_url") or cap.details["url"])
    page_ts = index.dates.get(page_url) or index.dates.get(str(cap.details["url"]))
    page_ts = page_ts or str(cap.entry.body["claimed_time"])
    page: dict[str, Any] = {"id": f"capture-{seq}", "url": page_url, "ts": page_ts}
    title = _title(index)
    if title:
        page["title"] = title
    files = {
        INDEX_PATH: "".join(line + "\n" for line in index.lines).encode("utf-8"),
        PAGES_PATH: _jsonl({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}, page),
    }
    package = _datapackage(case, cap, page, name, index, files)
    dp_sha256 = hashlib.sha256(package).hexdigest()
    digest_doc = {"path": "datapackage.json", "hash": "sha256:" + dp_sha256}
    files["datapackage.json"] = package
    files["datapackage-digest.json"] = (json.dumps(digest_doc, indent=2) + "\n").encode()
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        _copy_warc(zf, cap.warc.path, "archive/" + name, index)
        for path, data in files.items():
            zf.writestr(_member(path, len(data)), data)
    return WaczContent(
        seq,
        cap.warc_commitment,
        page_url,
        page_ts,
        title,
        len(index.lines),
        dp_sha256,
        bool(cap.details.get("sensitive")),
    )


def _datapackage(
    case: Case,
    cap: _Capture,
    page: dict[str, Any],
    name: str,
    index: WarcIndex,
    files: dict[str, bytes],
) -> bytes:
    """datapackage.json: every file with its hash and size, and what the capture was.

    ``created`` and ``modified`` are the capture entry's claimed time (when the evidence
    was sealed), not the export's, so that the same capture always gives the same bytes.
    """
    listed = {"archive/" + name: (index.sha256, index.size)}
    listed |= {path: (hashlib.sha256(data).hexdigest(), len(data)) for path, data in files.items()}
    resources = [
        {"name": path.rsplit("/", 1)[1], "path": path, "hash": "sha256:" + sha, "bytes": size}
        for path, (sha, size) in listed.items()
    ]
    seq, sealed = cap.entry.seq, cap.entry.body["claimed_time"]
    status = str(cap.entry.subject.get("status", ""))
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": f"Capture {seq} of {page['url']}"[:500],
        "description": (
            f"Web capture sealed in entry {seq} of a custody case log ({status}). "
            "The WARC is the stored evidence, byte for byte; this package is built from it."
        ),
        "created": sealed,
        "modified": sealed,
        "software": f"{TOOL_NAME} {__version__}",
        "mainPageUrl": page["url"],
        "mainPageDate": page["ts"],
        "resources": resources,
        "custody": {"case_id": case.case_id, "capture_entry": seq, "status": status},
    }
    return (json.dumps(package, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _copy_warc(zf: zipfile.ZipFile, src: Path, name: str, index: WarcIndex) -> None:
    copied = hashlib.sha256()
    with src.open("rb") as fh, zf.open(_member(name, index.size), "w") as dst:
        while chunk := fh.read(_CHUNK):
            copied.update(chunk)
            dst.write(chunk)
    if copied.hexdigest() != index.sha256:
        raise IntegrityError("the capture's WARC changed while it was copied; run custody verify")


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def export_wacz(case: Case, which: str, out_path: Path, *, overwrite: bool = False) -> WaczExport:
    """Build the WACZ of capture ``which`` at ``out_path``; nothing is written to the case.

    The file appears only when complete (temporary file, fsync, then link or rename), and
    an existing file is never replaced unless ``overwrite``.

    Raises:
        UsageError: ``which`` names no capture, or ``out_path`` exists (without overwrite).
        IntegrityError: the WARC (or details) no longer matches its commitment.
        InputError: the WARC cannot be indexed.
        StorageError: reading or writing fails.
    """
    out_path = out_path.absolute()
    if out_path.exists() and not overwrite:
        raise UsageError(f"{out_path} exists", hint="choose another name, or --overwrite")
    if out_path.parent.resolve().is_relative_to(case.root.resolve()):
        raise UsageError("write the WACZ outside the case folder: the case holds evidence only")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-wacz-", dir=out_path.parent)
    except OSError as exc:
        raise StorageError(f"cannot write in {out_path.parent}: {exc.strerror}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w+b") as fh:
            content = write_wacz(fh, case, which)
            fh.flush()
            os.fsync(fh.fileno())
            fh.seek(0)
            done = hashing.hash_stream(fh, sha512=False)
        tmp.chmod(0o644)
        if overwrite:
            tmp.replace(out_path)
        else:
            try:
                os.link(tmp, out_path)
            except FileExistsError:
                raise UsageError(f"{out_path} exists", hint="choose another name") from None
    except OSError as exc:
        raise StorageError(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return WaczExport(out_path, done.sha256, done.size, content)


def record_export(
    case: Case, content: WaczContent, *, signer: signing.Signer, home: Path
) -> log.Entry:
    """Log a signed ``export`` entry for an export of ``content`` (``--record``).

    The subject names the capture entry and the WARC's commitment; it holds no digest of
    the WACZ, which (being deterministic) would be an unsalted digest of the evidence.

    Raises:
        TornTailError: the log ends in a torn record.
        KeyMaterialError: the signer is not a member of the case.
        StorageError: a write fails.
    """
    log.check_head(case)
    locker.require_member(case, signer)
    subject = {
        "format": f"wacz/{WACZ_VERSION}",
        "capture_entry": content.capture_entry,
        "artifact": content.warc_commitment,
    }
    with log.appending(case, signer) as app:
        entry = app.append("export", subject)
    seen.remember(home, case.case_id, case.checkpoint.read_bytes())
    return entry
