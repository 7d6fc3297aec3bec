"""Hostile zips are refused before extraction, with a message naming the problem."""

from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from custody.archive import (
    ArchiveLimits,
    ArchiveMember,
    SafeZip,
    extract_zip,
    inspect_zip,
)
from custody.errors import UnsafeArchiveError, UsageError

MiB = 1024 * 1024


# --- builders ---------------------------------------------------------------------------


def writestr_zip(*entries: str | zipfile.ZipInfo, data: bytes = b"data\n") -> bytes:
    """A zip written by zipfile itself (which keeps hostile names when writing)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for entry in entries:
                zf.writestr(entry, b"" if str(entry).endswith("/") else data)
    return buf.getvalue()


def info(name: str, mode: int) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name)
    zi.create_system = 3
    zi.external_attr = mode << 16
    return zi


@dataclass
class Raw:
    """One entry of a hand-built zip; ``offset`` points its directory entry elsewhere."""

    name: bytes
    data: bytes = b"data\n"  # the stored bytes (already compressed for deflate)
    method: int = 0
    flags: int = 0
    mode: int = stat.S_IFREG | 0o644
    size: int | None = None  # declared uncompressed size; default len(data)
    crc: int | None = None  # default CRC-32 of data
    offset: int | None = None  # None: write a local header here and point at it
    local_name: bytes | None = None  # a different name in the local header
    local_flags: int | None = None  # different flags in the local header


def local_header(e: Raw) -> bytes:
    size = len(e.data) if e.size is None else e.size
    crc = zlib.crc32(e.data) if e.crc is None else e.crc
    flags = e.flags if e.local_flags is None else e.local_flags
    head = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, flags, e.method, 0, 0x21, crc, len(e.data), size,
        len(e.local_name or e.name), 0,
    )  # fmt: skip
    return head + (e.local_name or e.name) + e.data


def raw_zip(*entries: Raw, declared_count: int | None = None, zip64: bool = False) -> bytes:
    out = bytearray()
    offsets = []
    for e in entries:
        if e.offset is None:
            offsets.append(len(out))
            out += local_header(e)
        else:
            offsets.append(e.offset)
    cd = bytearray()
    for e, offset in zip(entries, offsets, strict=True):
        size = len(e.data) if e.size is None else e.size
        crc = zlib.crc32(e.data) if e.crc is None else e.crc
        cd += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, e.flags, e.method, 0, 0x21, crc,
            len(e.data), size, len(e.name), 0, 0, 0, 0, e.mode << 16, offset,
        )  # fmt: skip
        cd += e.name
    count = len(entries) if declared_count is None else declared_count
    if not zip64:
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(cd), len(out), 0)
        return bytes(out + cd + end)
    record_at = len(out) + len(cd)
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(cd), len(out)
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 2**32 - 1, 2**32 - 1, 0)
    return bytes(out + cd + record + locator + end)


def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def quoted_overlap() -> bytes:
    """Entry "a" stores, as its data, the local header and data of entry "b"."""
    inner = Raw(b"b", b"bbbb")
    outer = Raw(b"a", local_header(inner))
    return raw_zip(outer, Raw(b"b", b"bbbb", offset=30 + len(b"a")))


def deflate_quoted_overlap() -> bytes:
    """Fifield's construction: "a" quotes "b"'s local header in a stored deflate block,
    then shares "b"'s compressed data, so the same bytes inflate twice."""
    kernel = bytes(100_000)
    inner = Raw(b"b", deflate(kernel), method=8, size=len(kernel), crc=zlib.crc32(kernel))
    b_local = local_header(inner)
    b_header = b_local[: -len(inner.data)]
    quote = b"\x00" + struct.pack("<2H", len(b_header), len(b_header) ^ 0xFFFF)
    plain = b_header + kernel
    assert zlib.decompress(quote + b_local, -15) == plain  # a valid deflate stream
    outer = Raw(b"a", quote + b_local, method=8, size=len(plain), crc=zlib.crc32(plain))
    return raw_zip(outer, Raw(**{**inner.__dict__, "offset": 30 + 1 + len(quote)}))


def many_small_bombs() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"part{i}.bin", bytes(600 * 1024))
    return buf.getvalue()


def big_central_directory() -> bytes:
    long = "/".join(["d" * 200] * 6)
    return writestr_zip(f"{long}/1.txt", f"{long}/2.txt")


Case = Callable[[], bytes]
NUL_NAME = b"nul\x00byte.txt"


def case(
    id: str,
    build: Case,
    problem: str,
    name: str | bytes | None = None,
    limits: ArchiveLimits | None = None,
) -> pytest.ParameterSet:
    """One hostile archive: the problem its message must name, and the member named."""
    return pytest.param(build, limits or ArchiveLimits(), problem, name, id=id)


CASES = [
    # zip slip: zipfile would rewrite every one of these names
    case(
        "dotdot-relative", lambda: writestr_zip("../../evil.txt"), "'..' segment", "../../evil.txt"
    ),
    case("absolute-path", lambda: writestr_zip("/abs.txt"), "absolute path", "/abs.txt"),
    case("dotdot-inner", lambda: writestr_zip("a/../../x"), "'..' segment", "a/../../x"),
    case("backslash-dotdot", lambda: writestr_zip("..\\evil.txt"), "backslash", "..\\evil.txt"),
    case("drive-letter", lambda: writestr_zip("C:/x"), "drive letter", "C:/x"),
    case("unc-path", lambda: writestr_zip("\\\\server\\share\\x"), "backslash", None),
    case("empty-segment", lambda: writestr_zip("a//b"), "empty or '.' segment", "a//b"),
    case("dot-segment", lambda: writestr_zip("./a"), "empty or '.' segment", "./a"),
    case("empty-name", lambda: raw_zip(Raw(b"")), "empty name", ""),
    case("nul-in-name", lambda: raw_zip(Raw(NUL_NAME)), "NUL byte", NUL_NAME),
    case(
        "esc-in-name", lambda: writestr_zip("a\x1b[31m.txt"), "control character", "a\x1b[31m.txt"
    ),
    case("c1-in-name", lambda: writestr_zip("a\x85b.txt"), "control character", "a\x85b.txt"),
    case("del-in-name", lambda: writestr_zip("a\x7fb.txt"), "control character", "a\x7fb.txt"),
    case("long-segment", lambda: writestr_zip("x" * 256), "longer than 255 bytes", None),
    # links and special files
    case(
        "symlink",
        lambda: writestr_zip(info("link", stat.S_IFLNK | 0o777), data=b"/etc/passwd"),
        "symlink entry",
        "link",
    ),
    case("fifo", lambda: writestr_zip(info("fifo", stat.S_IFIFO | 0o644)), "FIFO entry", "fifo"),
    case(
        "char-device",
        lambda: writestr_zip(info("tty", stat.S_IFCHR | 0o644)),
        "character device",
        "tty",
    ),
    case(
        "block-device",
        lambda: writestr_zip(info("sda", stat.S_IFBLK | 0o644)),
        "block device",
        "sda",
    ),
    case(
        "socket", lambda: writestr_zip(info("sock", stat.S_IFSOCK | 0o644)), "socket entry", "sock"
    ),
    case(
        "dir-mode-no-slash", lambda: writestr_zip(info("d", stat.S_IFDIR | 0o755)), "disagrees", "d"
    ),
    # duplicates and collisions
    case("duplicate", lambda: writestr_zip("dup.txt", "dup.txt"), "duplicate name", "dup.txt"),
    case("duplicate-dir", lambda: writestr_zip("d/", "d/"), "duplicate name", "d/"),
    case(
        "nfc-nfd-cafe",
        lambda: writestr_zip("caf\u00e9.txt", "cafe\u0301.txt"),
        "after case/Unicode folding",
        "cafe\u0301.txt",
    ),
    case(
        "case-collision",
        lambda: writestr_zip("README.txt", "readme.txt"),
        "after case/Unicode folding",
        "readme.txt",
    ),
    case("dir-case-collision", lambda: writestr_zip("A/x", "a/y"), "'a' collides with 'A'", "a/y"),
    case(
        "file-and-dir", lambda: writestr_zip("a", "a/b"), "both as a file and as a directory", "a/b"
    ),
    # entry flags and methods
    case(
        "encrypted", lambda: raw_zip(Raw(b"secret.txt", flags=0x1)), "encrypted entry", "secret.txt"
    ),
    case(
        "bzip2-method",
        lambda: raw_zip(Raw(b"x.bz2", method=12)),
        "unsupported compression method 12",
        "x.bz2",
    ),
    case(
        "stored-size-lie",
        lambda: raw_zip(Raw(b"s.txt", size=999)),
        "stored entry whose sizes disagree",
        "s.txt",
    ),
    case(
        "dir-with-data",
        lambda: raw_zip(Raw(b"d/", b"x", mode=stat.S_IFDIR | 0o755)),
        "directory entry with data",
        "d/",
    ),
    # layout: overlapping entries and broken headers
    case(
        "full-overlap",
        lambda: raw_zip(Raw(b"a", b"aaaa"), Raw(b"b", b"aaaa", offset=0)),
        "overlaps",
        None,
    ),
    case("quoted-overlap-stored", quoted_overlap, "overlaps 'a' (possible zip bomb)", "b"),
    case("quoted-overlap-deflate", deflate_quoted_overlap, "overlaps 'a' (possible zip bomb)", "b"),
    case(
        "no-local-header",
        lambda: raw_zip(Raw(b"a"), Raw(b"b", offset=3)),
        "missing local header",
        "b",
    ),
    case(
        "local-name-differs",
        lambda: raw_zip(Raw(b"b", local_name=b"c")),
        "local header names a different file",
        "b",
    ),
    case(
        "local-header-encrypted",
        lambda: raw_zip(Raw(b"a", local_flags=0x1)),
        "encrypted entry",
        "a",
    ),
    case(
        "not-a-zip", lambda: b"this is not a zip archive" * 10, "not a readable zip archive", None
    ),
    # limits
    case(
        "too-many-entries",
        lambda: writestr_zip(*[f"{i}.txt" for i in range(6)]),
        "max_entries=5",
        None,
        limits=ArchiveLimits(max_entries=5),
    ),
    case(
        "entry-count-lie",
        lambda: raw_zip(*[Raw(f"{i}".encode()) for i in range(6)], declared_count=1),
        "with 6 entries",
        None,
        limits=ArchiveLimits(max_entries=5),
    ),
    case(
        "too-many-entries-zip64",
        lambda: raw_zip(*[Raw(f"{i}".encode()) for i in range(6)], zip64=True),
        "6 entries declared",
        limits=ArchiveLimits(max_entries=5),
    ),
    case(
        "central-directory-too-big",
        big_central_directory,
        "central directory",
        None,
        limits=ArchiveLimits(max_entries=2),
    ),
    case(
        "total-size",
        lambda: writestr_zip("a", "b", data=b"x" * 600),
        "max_total_size=1000",
        None,
        limits=ArchiveLimits(max_total_size=1000),
    ),
    case(
        "ratio",
        lambda: raw_zip(
            Raw(
                b"zeros.bin",
                deflate(bytes(2 * MiB)),
                method=8,
                size=2 * MiB,
                crc=zlib.crc32(bytes(2 * MiB)),
            )
        ),
        "max_ratio=200",
        "zeros.bin",
    ),
    case("overall-ratio", many_small_bombs, "overall compression ratio", None),
]


@pytest.mark.parametrize(("build", "limits", "problem", "name"), CASES)
def test_hostile_archive_is_refused_and_nothing_is_extracted(
    tmp_path: Path,
    build: Case,
    limits: ArchiveLimits,
    problem: str,
    name: str | bytes | None,
) -> None:
    data = build()
    with pytest.raises(UnsafeArchiveError) as refused:
        extract_zip(io.BytesIO(data), tmp_path / "out", limits)
    message = str(refused.value)
    assert problem in message
    if isinstance(name, bytes):
        name = name.decode()
    if name is not None:
        assert f"member {name!a}" in message
    assert "\n" not in message and message.isascii()
    assert list(tmp_path.iterdir()) == []


def test_zipfile_alone_would_rewrite_a_hostile_name(tmp_path: Path) -> None:
    """Why we check ourselves: zipfile extracts ``../../evil.txt`` as ``evil.txt``."""
    with zipfile.ZipFile(io.BytesIO(writestr_zip("../../evil.txt"))) as zf:
        written = zf.extract("../../evil.txt", tmp_path)
    assert Path(written) == tmp_path / "evil.txt"


CLEAN = {
    "chat.txt": b"12/01/2020, 10:00 - Alice: hello\r\n" * 500,
    "media/": b"",
    "media/IMG 001.jpg": os.urandom(100_000),
    "empty.txt": b"",
    "caf\u00e9/\u00fcn\u00efcode.txt": "\u00fcn\u00efcode\n".encode(),
    "a/b/c/d.bin": os.urandom(2 * MiB),
}


def clean_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in CLEAN.items():
            method = zipfile.ZIP_STORED if name.endswith(".jpg") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=method)
    return buf.getvalue()


def test_clean_zip_extracts_byte_for_byte(tmp_path: Path) -> None:
    dest = tmp_path / "export"
    paths = extract_zip(io.BytesIO(clean_zip()), dest)
    assert paths == [dest.joinpath(*name.rstrip("/").split("/")) for name in CLEAN]
    for name, data in CLEAN.items():
        path = dest / name
        if name.endswith("/"):
            assert path.is_dir()
        else:
            assert path.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no temp dir left


def test_inspect_lists_members_and_streams_in_chunks() -> None:
    fileobj = io.BytesIO(clean_zip())
    members = inspect_zip(fileobj)
    assert [m.name for m in members] == list(CLEAN)
    assert [m.size for m in members] == [len(d) for d in CLEAN.values()]
    assert members[1].is_dir and members[4].parts == ("caf\u00e9", "\u00fcn\u00efcode.txt")
    with SafeZip(fileobj) as archive:
        for member in archive.members:
            chunks = list(archive.iter_member_chunks(member, chunk_size=65536))
            assert b"".join(chunks) == CLEAN[member.name]
            assert all(len(c) <= 65536 for c in chunks)


def test_zip64_end_record_is_read() -> None:
    data = raw_zip(Raw(b"a.txt", b"first"), Raw(b"b.txt", b"second"), zip64=True)
    with SafeZip(io.BytesIO(data)) as archive:
        assert [b"".join(archive.iter_member_chunks(m)) for m in archive.members] == [
            b"first",
            b"second",
        ]


def test_a_member_from_another_archive_is_refused() -> None:
    stranger = ArchiveMember(0, "x", ("x",), False, 1, 1, 0)
    with SafeZip(io.BytesIO(clean_zip())) as archive, pytest.raises(UsageError):
        list(archive.iter_member_chunks(stranger))


def test_existing_destination_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(UsageError, match="already exists"):
        extract_zip(io.BytesIO(clean_zip()), tmp_path / "out")


def test_limits_must_be_positive() -> None:
    with pytest.raises(UsageError, match="max_ratio"):
        ArchiveLimits(max_ratio=0)


TEXT = b"evidence " * 200


def liar(size: int, data: bytes | None = None) -> Raw:
    """A deflated member whose declared size (and possibly data) lie; its CRC is honest."""
    stored = deflate(TEXT) if data is None else data
    return Raw(b"lie.txt", stored, method=8, size=size, crc=zlib.crc32(TEXT))


LYING = [
    # declared longer than the data: zipfile stops short and the CRC matches
    pytest.param(liar(5000), "shorter than its declared 5000", id="declared-bigger"),
    # declared shorter: zipfile stops at the declared size and the CRC fails
    pytest.param(liar(10), "corrupt member data", id="declared-smaller"),
    pytest.param(liar(len(TEXT), b"\xff" * 50), "corrupt member data", id="corrupt-deflate"),
]


@pytest.mark.parametrize(("liar", "problem"), LYING)
def test_member_that_lies_about_its_size_leaves_nothing(
    tmp_path: Path, liar: Raw, problem: str
) -> None:
    """Inspection passes; extraction fails on the second member and cleans up the first."""
    data = raw_zip(Raw(b"first.txt", b"written first\n"), liar)
    assert [m.name for m in inspect_zip(io.BytesIO(data))] == ["first.txt", "lie.txt"]
    with pytest.raises(UnsafeArchiveError, match=problem) as refused:
        extract_zip(io.BytesIO(data), tmp_path / "out")
    assert "'lie.txt'" in str(refused.value)
    assert list(tmp_path.iterdir()) == []
