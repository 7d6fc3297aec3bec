"""custody import refuses bad and hostile input (zips built here) with exit 4 and a
one-line error, and leaves the case exactly as it was."""

from __future__ import annotations

import stat
import warnings
import zipfile
from pathlib import Path

import pytest

import custody.cli

from .conftest import Runner
from .test_chat_import import CHAT, chat_app, make_zip, new_case, snapshot


@pytest.fixture
def cli(cli: Runner, monkeypatch: pytest.MonkeyPatch) -> Runner:
    monkeypatch.setattr(custody.cli, "app", chat_app())
    return cli


@pytest.fixture
def case(tmp_path: Path, home: Path, cli: Runner) -> Path:
    return new_case(tmp_path, cli)


def _hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.zip"
    chat = CHAT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate on purpose
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("_chat.txt", chat)
            if kind == "traversal":
                z.writestr("../../evil.txt", b"x")
            elif kind == "absolute":
                z.writestr("/etc/evil.txt", b"x")
            elif kind == "symlink":
                info = zipfile.ZipInfo("link.jpg")
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, "/etc/passwd")
            elif kind == "duplicate":
                z.writestr("_chat.txt", b"15/01/2024, 21:03 - Mallory: a second chat\n")
            elif kind == "case-collision":
                z.writestr("IMG.jpg", b"a")
                z.writestr("img.JPG", b"b")
            elif kind == "bomb":
                z.writestr("zeros.bin", bytes(8 * 1024 * 1024))
            elif kind == "backslash":
                z.writestr("..\\evil.txt", b"x")
    return path


HOSTILE = ["traversal", "absolute", "symlink", "duplicate", "case-collision", "bomb", "backslash"]


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_zips_are_refused_and_the_case_is_untouched(
    tmp_path: Path, case: Path, cli: Runner, kind: str
) -> None:
    before = snapshot(case)
    code, out, err = cli("import", str(_hostile(tmp_path, kind)), "--case", str(case))
    assert code == 4, err
    assert err.count("\n") == 1 and err.startswith("custody: error:")
    assert out == ""
    assert snapshot(case) == before


def _bad_input(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / kind
    match kind:
        case "empty-file":
            path.write_bytes(b"")
        case "empty-zip":
            make_zip(path, {})
        case "png":
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
        case "utf-16":
            path.write_bytes("15/01/2024, 21:03 - A: hi\n".encode("utf-16"))
        case "latin-1":
            path.write_bytes(b"15/01/2024, 21:03 - A: caf\xe9\n")
        case "telegram-x-escape":
            path.write_bytes(b'{"messages": [{"type": "message", "text": "\\x0b"}]}')
        case "telegram-bom":
            path.write_bytes(b'\xef\xbb\xbf{"messages": [{"type": "message", "text": "a"}]}')
        case "two-chats":
            make_zip(path, {"a.txt": CHAT, "b.txt": CHAT})
        case "two-formats":
            make_zip(path, {"a.txt": CHAT, "result.json": b'{"messages": []}'})
        case "folder-with-symlink":
            path.mkdir()
            (path / "_chat.txt").write_bytes(CHAT)
            (path / "IMG-1.jpg").symlink_to("/etc/passwd")
        case "empty-folder":
            path.mkdir()
        case "corrupt-zip":
            data = bytearray(make_zip(tmp_path / "ok.zip", {"_chat.txt": CHAT * 50}).read_bytes())
            data[60:70] = bytes(10)
            path.write_bytes(bytes(data))
    return path


BAD = [
    "empty-file",
    "empty-zip",
    "png",
    "utf-16",
    "latin-1",
    "telegram-x-escape",
    "telegram-bom",
    "two-chats",
    "two-formats",
    "folder-with-symlink",
    "empty-folder",
    "corrupt-zip",
]


@pytest.mark.parametrize("kind", BAD)
def test_bad_input_exit_4_nothing_touched(
    tmp_path: Path, case: Path, cli: Runner, kind: str
) -> None:
    before = snapshot(case)
    code, out, err = cli("import", str(_bad_input(tmp_path, kind)), "--case", str(case))
    assert code == 4, err
    assert err.count("\n") == 1 and err.startswith("custody: error:")
    assert out == ""
    assert snapshot(case) == before
