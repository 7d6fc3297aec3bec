"""Hostile bundles: refused before anything is read into a file, with exit 4, and nothing
written anywhere; malformed content of a well-formed zip is exit 3, never a crash.

Each hostile zip is checked with ``custody bundle verify``, ``custody bundle inspect``
and ``custody verify``, from a working directory and with a temporary directory whose
listings must not change.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from custody.bundle import layout
from custody.errors import ExitCode

from .conftest import Runner
from .test_bundle import World, error_codes, make_world, members
from .test_bundle_tamper import reseal, write_zip

Members = dict[str, bytes]
Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("hostile-world"))


@pytest.fixture(scope="module")
def good(world: World) -> Path:
    w = world
    return w.bundle(
        *("--artifact", str(w.seqs["file"]), "--message", w.message(1)),
        *("--message", w.message(3), "--redact-text", "phone"),
    )


def _listing(*roots: Path) -> list[tuple[str, int]]:
    out = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                path = Path(folder, name)
                out.append((str(path), path.lstat().st_size if name in files else -1))
    return sorted(out)


@pytest.fixture
def sandbox(tmp_path: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Runs commands from an empty working directory with a private temporary directory;
    at the end, neither they, the bundle folder nor the case have changed."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    before = _listing(cwd, tmp, world.case)
    log_before = world.open().entries.read_bytes()
    yield world.run
    assert _listing(cwd, tmp, world.case) == before
    assert world.open().entries.read_bytes() == log_before


def refused(run: Run, path: Path, *words: str) -> None:
    """Exit 4 from the three commands that read bundles, the problem named, and nothing
    written beside the bundle either."""
    beside = _listing(path.parent)
    for argv in (("bundle", "verify"), ("bundle", "inspect"), ("verify",)):
        code, out, err = run(*argv, str(path))
        assert code == ExitCode.INVALID_INPUT, (argv, code, out, err)
        assert "custody: error:" in err and out == ""
        for word in words:
            assert word in err, (argv, err)
    assert _listing(path.parent) == beside


def _info(name: str, **attrs: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def hostile_zip(path: Path, content: Members, extra: list[tuple[zipfile.ZipInfo, bytes]]) -> Path:
    """The good bundle's members and then ``extra`` (names kept exactly as given)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we want
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for name, data in content.items():
                zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
            for info, data in extra:
                zf.writestr(info, data)
    return path


NAMES = {
    "dot-dot": ("../outside.txt", "'..'"),
    "dot-dot inside data": ("data/../../outside.txt", "'..'"),
    "absolute": ("/tmp/outside.txt", "absolute"),
    "backslash": ("data\\..\\..\\outside.txt", "backslash"),
    "drive letter": ("C:/outside.txt", "drive letter"),
    "control character": ("data/\x1b[31mred.txt", "control"),
}


def test_nul_in_a_name(good: Path, sandbox: Run, tmp_path: Path) -> None:
    """zipfile would cut the name at the NUL (data/x): the bytes are written by hand."""
    content = members(good)
    path = hostile_zip(tmp_path / "nul.zip", content, [(_info("data/xZ.txt"), b"x")])
    path.write_bytes(path.read_bytes().replace(b"data/xZ.txt", b"data/x\x00.txt"))
    refused(sandbox, path, "NUL")


@pytest.mark.parametrize("kind", list(NAMES), ids=list(NAMES))
def test_zip_slip_names(good: Path, sandbox: Run, tmp_path: Path, kind: str) -> None:
    name, word = NAMES[kind]
    content = members(good)
    path = hostile_zip(tmp_path / "slip.zip", content, [(_info(name), b"x")])
    refused(sandbox, path, word)
    assert not (tmp_path / "outside.txt").exists()


def test_symlink_member(good: Path, sandbox: Run, tmp_path: Path) -> None:
    content = members(good)
    link = _info("data/exhibits/link", external_attr=(stat.S_IFLNK | 0o777) << 16)
    path = hostile_zip(tmp_path / "link.zip", content, [(link, b"/etc/passwd")])
    refused(sandbox, path, "symlink")


@pytest.mark.parametrize(
    "name", [layout.BUNDLE_JSON, "bagit.txt", "DATA/bundle.json", "Bagit.txt"], ids=str
)
def test_duplicate_names(good: Path, sandbox: Run, tmp_path: Path, name: str) -> None:
    content = members(good)
    fake = b'{"v":1}'
    path = hostile_zip(tmp_path / "dup.zip", content, [(_info(name), fake)])
    refused(sandbox, path)


def test_deflate_bomb(good: Path, sandbox: Run, tmp_path: Path) -> None:
    content = members(good)
    bomb = _info("data/exhibits/bomb.bin", compress_type=zipfile.ZIP_DEFLATED)
    path = hostile_zip(tmp_path / "bomb.zip", content, [(bomb, bytes(8 << 20))])
    assert path.stat().st_size < 200_000
    refused(sandbox, path, "zip bomb")


def _patch_sizes(data: bytes, name: bytes, size: int, *, local: bool = True) -> bytes:
    """``data`` (a zip) with the declared uncompressed size of ``name`` set to ``size``."""
    out = bytearray(data)
    pos = 0
    while (pos := out.find(b"PK\x01\x02", pos)) >= 0:
        n = struct.unpack_from("<H", out, pos + 28)[0]
        if out[pos + 46 : pos + 46 + n] == name:
            struct.pack_into("<I", out, pos + 24, size)
            offset = struct.unpack_from("<I", out, pos + 42)[0]
            if local:
                struct.pack_into("<I", out, offset + 22, size)
        pos += 4
    return bytes(out)


@pytest.mark.parametrize(
    ("what", "size", "word"),
    [
        ("a stored member larger than its data", 1 << 20, "sizes disagree"),
        ("4 GiB declared", 0xFFFFFFFF, "sizes disagree"),
    ],
    ids=["larger", "4GiB"],
)
def test_absurd_declared_sizes(
    good: Path,
    sandbox: Run,
    tmp_path: Path,
    what: str,
    size: int,
    word: str,
) -> None:
    data = _patch_sizes(good.read_bytes(), layout.BUNDLE_JSON.encode(), size)
    path = tmp_path / "sizes.zip"
    path.write_bytes(data)
    refused(sandbox, path, word)


def test_absurd_declared_size_of_a_deflated_member(
    good: Path, sandbox: Run, tmp_path: Path
) -> None:
    content = members(good)
    packed = _info("data/exhibits/packed.bin", compress_type=zipfile.ZIP_DEFLATED)
    zipped = hostile_zip(tmp_path / "packed.zip", content, [(packed, b"some bytes" * 100)])
    path = tmp_path / "huge.zip"
    path.write_bytes(_patch_sizes(zipped.read_bytes(), b"data/exhibits/packed.bin", 0xFFFFFFF0))
    refused(sandbox, path, "zip bomb")


def test_absurd_entry_count(good: Path, sandbox: Run, tmp_path: Path) -> None:
    """A ZIP64 end record declaring 2**40 entries is refused before zipfile reads it."""
    data = bytearray(good.read_bytes())
    eocd = data.rindex(b"PK\x05\x06")
    cd_size, cd_offset = struct.unpack_from("<LL", data, eocd + 12)
    n = 1 << 40
    record = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd, 1)
    struct.pack_into("<HH", data, eocd + 8, 0xFFFF, 0xFFFF)
    path = tmp_path / "count.zip"
    path.write_bytes(bytes(data[:eocd]) + record + locator + bytes(data[eocd:]))
    refused(sandbox, path)


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all\n", b"PK\x03\x04" + bytes(100), b"%PDF-1.7\n"],
    ids=["empty", "text", "truncated local header", "pdf"],
)
def test_not_a_zip(sandbox: Run, tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    refused(sandbox, path)


def test_truncated_bundle(good: Path, sandbox: Run, tmp_path: Path) -> None:
    path = tmp_path / "half.zip"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    refused(sandbox, path)


def test_zip_without_a_bundle(sandbox: Run, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "other.zip", {"notes.txt": b"hello\n"})
    refused(sandbox, path, "not a custody bundle")


@pytest.mark.parametrize(
    ("manifest", "line"),
    [
        ("manifest-sha256.txt", f"{'0' * 64} ../outside.txt\n"),
        ("manifest-sha256.txt", f"{'0' * 64} /etc/passwd\n"),
        ("manifest-sha512.txt", f"{'0' * 128} data/../../outside.txt\n"),
        ("tagmanifest-sha256.txt", f"{'0' * 64} ../../etc/passwd\n"),
        ("tagmanifest-sha512.txt", f"{'0' * 128} C:/Windows/win.ini\n"),
        ("manifest-sha256.txt", f"{'0' * 64} data/a%0Ab.txt\n"),
    ],
    ids=["dot-dot", "etc-passwd", "sha512-dot-dot", "tag-dot-dot", "tag-drive", "newline"],
)
@pytest.mark.parametrize("recompute", [False, True], ids=["as-is", "tag-manifests-recomputed"])
def test_manifest_naming_a_path_outside_the_bag(
    good: Path,
    sandbox: Run,
    tmp_path: Path,
    manifest: str,
    line: str,
    recompute: bool,
) -> None:
    content = members(good)
    content[manifest] += line.encode()
    if recompute and manifest.startswith("manifest"):  # the tag manifests made to match
        resealed = reseal(content)
        content = {k: resealed[k] if k.startswith("tagmanifest") else v for k, v in content.items()}
    path = write_zip(tmp_path / "outside.zip", content)
    code, out, err = sandbox("bundle", "verify", str(path))
    assert code == ExitCode.INVALID_INPUT, (code, out, err)
    assert "a manifest names a path" in err
    assert sandbox("verify", str(path))[0] == ExitCode.INVALID_INPUT


def test_a_changed_byte_that_makes_a_manifest_path_hostile_is_refused(
    good: Path, sandbox: Run, tmp_path: Path
) -> None:
    """A line feed of a manifest turned into a vertical tab (one bit): the last path now
    holds a control character, which bagfiles refuses as hostile (exit 4), before the
    tag manifest would show it altered (exit 3)."""
    content = members(good)
    data = bytearray(content["manifest-sha256.txt"])
    data[-1] ^= 0x01
    path = write_zip(tmp_path / "vt.zip", content | {"manifest-sha256.txt": bytes(data)})
    code, _, err = sandbox("bundle", "verify", str(path))
    assert code == ExitCode.INVALID_INPUT and "control character" in err


BAD_JSON = {
    "truncated": b'{"v":1,"exhibits":[',
    "NaN": b'{"v":NaN}',
    "duplicate keys": b'{"v":1,"v":2}',
    "not UTF-8": b'{"v":"\xff"}',
    "an array": b"[]",
    "a string": b'"bundle"',
    "exhibits not a list": b'{"exhibits":5,"files":{},"keys":7}',
    "exhibit not an object": b'{"exhibits":[5,"x",null],"files":[],"keys":[1]}',
    "items not a list": b'{"exhibits":[{"entry":1,"type":"add","items":7}]}',
    "items not objects": b'{"exhibits":[{"entry":1,"type":"add","items":[1,[2]]}]}',
    "units not an object": b'{"exhibits":[{"entry":1,"type":"add","items":[],"units":[1]}]}',
    "item fields of other types": (
        b'{"exhibits":[{"entry":1,"type":"add","items":[{"role":[],"status":{},'
        b'"commitment":5,"index":"0","proof":7,"file":null,"disclosure":[]}]}]}'
    ),
    "derived not an object": (
        b'{"exhibits":[{"entry":1,"type":"add","items":[{"role":"artifact",'
        b'"status":"redacted","derived":[1,2]}]}]}'
    ),
    "deep nesting": b"[" * 100_000 + b"]" * 100_000,
}


@pytest.mark.parametrize("recompute", [False, True], ids=["as-is", "manifests-recomputed"])
@pytest.mark.parametrize("kind", list(BAD_JSON), ids=list(BAD_JSON))
def test_malformed_bundle_json(
    good: Path,
    cli: Runner,
    home: Path,
    sandbox: Run,
    tmp_path: Path,
    kind: str,
    recompute: bool,
) -> None:
    """An altered data/bundle.json is evidence that failed a check (3), whatever it holds,
    and whether or not the manifests were made to match."""
    content = members(good) | {layout.BUNDLE_JSON: BAD_JSON[kind]}
    if recompute:
        content = reseal(content)
    path = write_zip(tmp_path / "json.zip", content)
    code, out, err = sandbox("bundle", "verify", str(path), "--json")
    assert code == ExitCode.NOT_VERIFIED, (code, err)
    codes = error_codes(json.loads(out))
    assert codes & {"json-malformed", "export-manifest", "exhibit-malformed"}, codes
    if not recompute:
        assert "file-altered" in codes
    assert sandbox("verify", str(path))[0] == ExitCode.NOT_VERIFIED
    code, out, err = sandbox("bundle", "inspect", str(path))
    assert code in (ExitCode.OK, ExitCode.NOT_VERIFIED), (code, err)  # inspect does not verify
