"""Court bundles end to end: create, verify with our tool and with stock tools, no leaks,
redactions.

The cases are built once per module (a text file, a photo with GPS, a WhatsApp export, and
for the browser tests one capture of a local page) and every test makes its own bundles
of them with the real ``custody`` commands. Stock tools run as real subprocesses:
``bagit.py``, ``sha256sum``, ``ssh-keygen -Y verify`` and ``openssl pkeyutl``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import exifread
import pytest

from custody import commitments, log, store
from custody.bundle import layout
from custody.capture import batch
from custody.capture.browser import BrowserSession
from custody.case import Case, open_case
from custody.cli import run
from custody.errors import ExitCode

from . import capture_server
from .capture_server import Site
from .conftest import ROOT, Runner

site = capture_server.site
browser = capture_server.browser

EXAMPLES = ROOT / "examples"
PASSPHRASE = "bundle tests passphrase"  # noqa: S105  # the test key's, in a temp home
OPERATOR = "Ana O'Brien-Lima"  # an apostrophe: VERIFY.txt commands must still run
PHONE = "+55 11 98765-4321"
EMAIL = "bruno.costa@example.org"
CODE_WORD = "BLUEBIRD-17"
REPORT = f"""Report written 20 Nov 2026
From: Bruno Costa <{EMAIL}>
Call back: {PHONE}
Code word: {CODE_WORD}, ticket T-4411
Bruno Costa said he knows where Ana Lima lives.
"""
CHAT = f"""\
20/11/2026, 20:58 - Messages and calls are end-to-end encrypted. No one outside of this chat, \
not even WhatsApp, can read or listen to them. Tap to learn more.
20/11/2026, 21:02 - Bruno Costa: you think you can just ignore me?
20/11/2026, 21:03 - Ana Lima: Please stop writing to me, I mean it.
20/11/2026, 21:10 - Bruno Costa: call me on {PHONE} or write to {EMAIL}
20/11/2026, 21:12 - Bruno Costa: I know where you live, Ana Lima.
20/11/2026, 21:14 - Bruno Costa: the code word is {CODE_WORD}
20/11/2026, 21:15 - Ana Lima: I have saved every one of these messages.
"""
CAPTURE_PATH = "/account"  # a small page: "Please sign in"
PAGE_TEXT = "Please sign in"

Result = tuple[int, str, str]


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in (*values, "CUSTODY_CASE")}
    os.environ.pop("CUSTODY_CASE", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class World:
    """A case, the home whose key signs in it, and what it holds."""

    root: Path
    case: Path
    env: dict[str, str]
    seqs: dict[str, int] = field(default_factory=dict)  # file, photo, chat, capture
    import_id: str = ""
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    capture: dict[str, Any] = field(default_factory=dict)  # its row of capture --json
    made: int = 0

    def run(self, *argv: str) -> Result:
        """One custody command line, in-process, as this world's operator."""
        out, err = io.StringIO(), io.StringIO()
        with (
            _environment(self.env),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = run(list(argv))
        return code, out.getvalue(), err.getvalue()

    def json(self, *argv: str) -> Any:
        code, out, err = self.run(*argv, "--json")
        assert code == 0, err
        return json.loads(out)

    def message(self, n: int) -> str:
        return f"{self.import_id}:{n}"

    def bundle(self, *args: str, expect: int = 0) -> Path:
        """``custody bundle create`` into a new zip beside the case; returns its path."""
        self.made += 1
        out = self.root / f"bundle-{self.made}.zip"
        code, _, err = self.run("bundle", "create", str(out), "--case", str(self.case), *args)
        assert code == expect, err
        return out

    def open(self) -> Case:
        return open_case(self.case)


def make_world(root: Path, operator: str = OPERATOR) -> World:
    """A new home and case holding a text file, a photo with GPS and a chat import."""
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "CUSTODY_HOME": str(root / "home"),
        "CUSTODY_PASSPHRASE": PASSPHRASE,
        "CUSTODY_UNSAFE_FAST_KDF": "1",
    }
    w = World(root, root / "case", env)
    code, _, err = w.run("init", str(w.case), "--name", "Bundle tests", "--operator", operator)
    assert code == 0, err
    report = root / "report.txt"
    report.write_text(REPORT, encoding="utf-8")
    added = w.json("add", str(report), str(EXAMPLES / "photo-with-gps.jpg"), "--case", str(w.case))
    w.seqs["file"], w.seqs["photo"] = (a["entry"] for a in added["added"])
    chat = root / "WhatsApp Chat with Bruno Costa.txt"
    chat.write_text(CHAT, encoding="utf-8")
    imported = w.json("import", str(chat), "--case", str(w.case))
    w.seqs["chat"], w.import_id = imported["entry"], imported["import_id"]
    listed = w.json("messages", "--case", str(w.case))
    w.messages = {m["id"]: m for m in listed["messages"]}
    assert len(w.messages) == 7
    return w


class Borrowed:
    """The shared browser, lent to the capture command (which closes what it launches)."""

    def __init__(self, session: BrowserSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The module's case (no capture)."""
    return make_world(tmp_path_factory.mktemp("bundle-world"))


@pytest.fixture(scope="module")
def captured(
    tmp_path_factory: pytest.TempPathFactory, site: Site, browser: BrowserSession
) -> World:
    """A second case that also holds one capture of a local page (one Chromium run)."""
    w = make_world(tmp_path_factory.mktemp("bundle-captured"))
    url = site.base + CAPTURE_PATH
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batch, "BrowserSession", lambda: Borrowed(browser))
        doc = w.json("capture", url, "--allow-private", "--timeout", "20", "--case", str(w.case))
    (row,) = doc["captures"]
    assert row["status"] == "COMPLETE", row
    w.capture, w.seqs["capture"] = row, row["entry"]
    return w


# -- reading bundles ----------------------------------------------------------------------


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def description(path: Path) -> dict[str, Any]:
    doc = json.loads(members(path)[layout.BUNDLE_JSON])
    assert isinstance(doc, dict)
    return doc


def exhibit(desc: dict[str, Any], seq: int) -> dict[str, Any]:
    found = [ex for ex in desc["exhibits"] if ex["entry"] == seq]
    assert len(found) == 1, [ex["exhibit"] for ex in desc["exhibits"]]
    ex: dict[str, Any] = found[0]
    return ex


def items(desc: dict[str, Any], seq: int, role: str) -> list[dict[str, Any]]:
    return [i for i in exhibit(desc, seq)["items"] if i["role"] == role]


def extract(path: Path, dest: Path) -> Path:
    """Unzip a bundle (our own, trusted here) for the stock tools."""
    with zipfile.ZipFile(path) as zf:
        zf.extractall(dest)
    return dest


def verify_json(cli: Runner | World, path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    runner = cli.run if isinstance(cli, World) else cli
    code, out, err = runner("bundle", "verify", str(path), "--json", *extra)
    assert code in (ExitCode.OK, ExitCode.NOT_VERIFIED), (code, err)
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return code, doc


def error_codes(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"] if f["severity"] == "error"}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found


def sh(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """One command line from VERIFY.txt, run by a POSIX shell as a clerk would (the
    commands use ``<``: shell parsing is the point)."""
    return subprocess.run(
        [tool("sh"), "-c", command], cwd=cwd, capture_output=True, text=True, check=False
    )


def check_with_stock_tools(path: Path, dest: Path) -> None:
    """bagit.py, sha256sum, ssh-keygen -Y verify and openssl pkeyutl on the extracted bag."""
    bag = extract(path, dest)
    desc = json.loads((bag / layout.BUNDLE_JSON).read_bytes())
    signer = next(k for k in desc["keys"] if k["key_id"] == desc["signer"])
    bagit_py = Path(sys.executable).parent / "bagit.py"
    if not bagit_py.exists():
        pytest.skip(f"bagit.py (bagit 1.9.0) is not installed in {bagit_py.parent}")
    done = subprocess.run(
        [sys.executable, str(bagit_py), "--validate", str(bag)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid" in done.stderr
    for manifest in ("manifest-sha256.txt", "tagmanifest-sha256.txt"):
        done = subprocess.run(
            [tool("sha256sum"), "-c", manifest],
            cwd=bag,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.count(": OK\n") == len((bag / manifest).read_text().splitlines())
    with (bag / layout.SIGNED).open("rb") as signed:
        done = subprocess.run(
            [
                tool("ssh-keygen"),
                *("-Y", "verify", "-f", layout.ALLOWED_SIGNERS, "-I", signer["principal"]),
                *("-n", layout.NAMESPACE, "-s", layout.SSHSIG),
            ],
            cwd=bag,
            stdin=signed,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'Good "{layout.NAMESPACE}" signature for {signer["principal"]}' in done.stdout
    done = subprocess.run(
        [
            tool("openssl"),
            *("pkeyutl", "-verify", "-pubin", "-inkey", signer["files"]["pem"], "-rawin"),
            *("-in", layout.SIGNED, "-sigfile", layout.RAWSIG),
        ],
        cwd=bag,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Signature Verified Successfully" in done.stdout


# -- what must not leak -------------------------------------------------------------------


def _artifact(case: Case, commitment: str) -> tuple[commitments.Disclosure, Path]:
    disclosure = store.read_disclosure(case, commitment)
    return disclosure, case.object_path(disclosure.sha256)


def _digest_needles(what: str, d: commitments.Disclosure) -> list[tuple[str, bytes]]:
    raw = bytes.fromhex(d.sha256)
    out = [
        (f"{what}: salt", d.salt.encode()),
        (f"{what}: sha256", d.sha256.encode()),
        (f"{what}: SHA-256 in base32", base64.b32encode(raw).rstrip(b"=")),
        (f"{what}: SHA-256 in base64", base64.b64encode(raw).rstrip(b"=")),
        (f"{what}: disclosure", d.raw),
    ]
    if d.sha512:
        out.append((f"{what}: sha512", d.sha512.encode()))
    return out


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def withheld_needles(world: World, bundle: Path) -> list[tuple[str, bytes]]:
    """What the case holds that this bundle shows neither in full nor unredacted: each
    unit's salt, hex SHA-256/SHA-512 and disclosure, and the text of withheld messages,
    details records and redacted originals."""
    case = world.open()
    desc = description(bundle)
    entries = {e.seq: e for e in map(log.decode_entry, _lines(case.entries))}
    needles: list[tuple[str, bytes]] = []
    for ex in desc["exhibits"]:
        entry = entries[ex["entry"]]
        shown = {i["commitment"] for i in ex["items"] if i["status"] == "disclosed"}
        shown_index = {
            i["index"] for i in ex["items"] if i["status"] == "disclosed" and "index" in i
        }
        refs: list[tuple[str, Any]] = [
            (k, entry.subject[k]) for k in ("artifact", "details") if k in entry.subject
        ]
        refs += sorted(entry.subject.get("artifacts", {}).items())
        if "units" in entry.subject:
            refs.append(("unit list", entry.subject["units"]["list"]))
        for role, commitment in refs:
            if commitment in shown:
                continue
            d, path = _artifact(case, commitment)
            what = f"exhibit {ex['exhibit']} {role}"
            needles += _digest_needles(what, d)
            if role == "details":
                data = path.read_bytes()
                needles.append((f"{what}: the record", data))
                for found in re.findall(rb"[0-9a-f]{64}|urn:uuid:[0-9a-f-]{36}", data):
                    needles.append((f"{what}: {found.decode()}", found))
                for found in re.findall(rb"\[\d+, \d+, \d+\]", data):  # GPS positions
                    needles.append((f"{what}: GPS {found.decode()}", found))
        if "units" not in entry.subject:
            continue
        disclosures = _lines(_artifact(case, entry.subject["artifacts"]["disclosures"])[1])
        listing = _lines(_artifact(case, entry.subject["units"]["list"])[1])
        for i, (raw, line) in enumerate(zip(disclosures, listing, strict=True)):
            if i not in shown_index:
                d = commitments.parse_disclosure(raw)
                unit = json.loads(line)["unit"]
                needles += _digest_needles(f"exhibit {ex['exhibit']} unit {i} {unit}", d)
        if entry.type == "import":
            for line in _lines(_artifact(case, entry.subject["artifacts"]["messages"])[1]):
                doc = json.loads(line)
                unit = [
                    i
                    for i in ex["items"]
                    if i.get("unit") == doc["id"] and i["index"] in shown_index
                ]
                if unit:
                    continue
                needles.append((f"message {doc['id']}: its JSON line", line))
                text = doc.get("text") or ""
                if len(text) >= 8:
                    needles.append((f"message {doc['id']}: its text", text.encode()))
    return needles


def assert_no_leak(bundle: Path, needles: list[tuple[str, bytes]], dest: Path) -> None:
    """No needle in the zip's bytes, nor in any extracted file (stored: raw bytes count)."""
    assert needles
    raw = bundle.read_bytes()
    assert all(i.compress_type == zipfile.ZIP_STORED for i in zipfile.ZipFile(bundle).infolist())
    files = {p: p.read_bytes() for p in extract(bundle, dest).rglob("*") if p.is_file()}
    leaks = [what for what, needle in needles if needle in raw]
    leaks += [
        f"{what} in {p.name}"
        for what, needle in needles
        for p, data in files.items()
        if needle in data
    ]
    assert not leaks, leaks


# -- 1. round trips -------------------------------------------------------------------------


def test_bundle_of_files_and_messages_verifies_with_stock_tools(
    world: World, cli: Runner, home: Path, tmp_path: Path
) -> None:
    w = world
    bundle = w.bundle(
        *("--artifact", str(w.seqs["file"]), "--artifact", str(w.seqs["photo"])),
        *("--message", w.message(1), "--message", w.message(3)),
        *("--redact-text", "phone", "--strip-gps", "--recipient", "Prosecutor, Lyon"),
    )
    code, report = verify_json(cli, bundle)
    assert code == ExitCode.OK, report["findings"]
    desc = description(bundle)
    chat = exhibit(desc, w.seqs["chat"])
    statuses = {i["unit"]: i["status"] for i in chat["items"] if "unit" in i}
    assert statuses == {w.message(1): "disclosed", w.message(3): "redacted"}
    assert chat["units"] | {"root": None} == {
        "root": None,
        "count": 7,
        "included": 2,
        "withheld": 5,
        "withheld_reason": "not selected for this bundle",
    }
    assert items(desc, w.seqs["chat"], "details")[0]["status"] == "withheld"
    check_with_stock_tools(bundle, tmp_path / "bag")
    code, out, _ = cli("bundle", "inspect", str(bundle), "--json")
    assert code == 0
    shown = json.loads(out)
    assert shown["recipient"] == "Prosecutor, Lyon" and len(shown["exhibits"]) == 3


def _verify_txt_commands(text: str) -> list[str]:
    """The Linux commands VERIFY.txt gives, in order, exactly as written."""
    commands = []
    for line in text.splitlines():
        if line.startswith("Linux:"):
            commands.append(line.removeprefix("Linux:").strip())
        elif line.startswith(("    ssh-keygen ", "    openssl ")):
            commands.append(line.strip())
    same = re.search(r"Do the same with\s+(\S+):", text)  # "...with tagmanifest-sha256.txt:"
    assert same is not None and commands
    commands.insert(1, commands[0].replace("manifest-sha256.txt", same.group(1)))
    return commands


def test_verify_txt_commands_work_as_written(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = world
    bundle = w.bundle("--artifact", str(w.seqs["file"]), "--message", w.message(2))
    text = members(bundle)[layout.VERIFY_TXT].decode("utf-8")
    commands = _verify_txt_commands(text)
    assert [c.split()[0] for c in commands] == ["sha256sum", "sha256sum", "ssh-keygen", "openssl"]
    expected = {
        "ssh-keygen": re.search(r"It must print: (Good .*)", text),
        "openssl": re.search(r"It must print: (Signature Verified Successfully)", text),
    }
    bag = extract(bundle, tmp_path / "unzipped")
    for command in commands:
        done = sh(command, bag)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        want = expected.get(command.split()[0])
        if want is not None:
            assert want.group(1) in done.stdout + done.stderr, (command, done.stdout)
    if shutil.which("shasum"):  # the macOS line: Perl's shasum, the same script as macOS's
        mac = next(x for x in text.splitlines() if x.startswith("macOS:")).removeprefix("macOS:")
        done = sh(mac.strip(), bag)
        assert done.returncode == 0, (mac, done.stdout, done.stderr)
        assert done.stdout.count(": OK\n") == len(
            (bag / "manifest-sha256.txt").read_bytes().splitlines()
        )
    full = re.search(r"Run the full check with:\s+(custody verify .+)", text)
    assert full is not None
    argv = shlex.split(full.group(1))[1:]
    assert argv == ["verify", bundle.name]
    monkeypatch.chdir(bundle.parent)  # where the clerk keeps the zip
    code, out, err = w.run(*argv)
    assert code == ExitCode.OK, out + err
    assert "VERIFIED" in out


def test_custody_verify_takes_a_bundle(
    world: World, cli: Runner, home: Path, tmp_path: Path
) -> None:
    w = world
    bundle = w.bundle("--artifact", str(w.seqs["file"]))
    code, out, _ = cli("verify", str(bundle), "--json")
    assert code == ExitCode.OK
    assert json.loads(out)["subject"] == str(bundle)
    code, out, _ = cli("verify", str(bundle))
    assert code == ExitCode.OK and "VERIFIED" in out
    held = tmp_path / "held-checkpoint"
    held.write_bytes(w.open().checkpoint.read_bytes())
    since = w.bundle("--artifact", str(w.seqs["photo"]), "--since", str(held))
    assert cli("verify", str(since), "--checkpoint", str(held))[0] == ExitCode.OK
    code, out, _ = cli("verify", str(bundle), "--checkpoint", str(held), "--json")
    assert code == ExitCode.NOT_VERIFIED  # that bundle proves nothing from it
    assert "consistency-missing" in error_codes(json.loads(out))
    code, _, err = cli("verify", str(bundle), "--checkpoint", str(held), "--checkpoint", str(held))
    assert code == ExitCode.USAGE
    code, _, err = cli("verify", str(bundle), "--record")
    assert code == ExitCode.USAGE and "--record" in err
    data = members(bundle)
    data[layout.VERIFY_TXT] += b"\n"
    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(altered, "w") as zf:
        for name, content in data.items():
            zf.writestr(name, content)
    code, out, _ = cli("verify", str(altered), "--json")
    assert code == ExitCode.NOT_VERIFIED
    assert "tag-altered" in error_codes(json.loads(out))
    not_zip = tmp_path / "notes.zip"
    not_zip.write_text("not a zip")
    assert cli("verify", str(not_zip))[0] == ExitCode.INVALID_INPUT
    assert cli("verify", str(tmp_path / "missing.zip"))[0] == ExitCode.INVALID_INPUT
    assert w.run("verify", str(w.case))[0] == ExitCode.OK  # a folder is still a case


def test_inspect_names_sensitive_exhibits_and_notes(world: World, tmp_path: Path) -> None:
    w = world
    private = tmp_path / "private.txt"
    private.write_text("an intimate image would be here\n")
    (added,) = w.json("add", str(private), "--sensitive", "--case", str(w.case))["added"]
    bundle = w.bundle("--artifact", str(added["entry"]), "--artifact", str(w.seqs["photo"]))
    code, out, err = w.run("bundle", "inspect", str(bundle))
    assert code == 0, err
    exhibits = out.split("\nExhibit ")[1:]
    (shown,) = [e for e in exhibits if e.startswith(f"{added['entry']}-add")]
    assert "[sensitive: not shown]" in shown
    assert not [e for e in exhibits if "sensitive" in e and e is not shown]
    assert "an intimate image" not in out
    doc = json.loads(w.run("bundle", "inspect", str(bundle), "--json")[1])
    assert {e["exhibit"]: e["sensitive"] for e in doc["exhibits"]} == {
        f"{added['entry']}-add": True,
        f"{w.seqs['photo']}-add": False,
    }
    noted = w.bundle("--artifact", str(w.seqs["photo"]), "--redact-text", "phone")
    code, out, err = w.run("bundle", "inspect", str(noted))
    assert "note: a binary file: redaction patterns are not applied to it" in out


def test_case_still_verifies_after_redacted_bundles(world: World) -> None:
    """The derived artifacts and their parameter records are logged, not strays."""
    w = world
    w.bundle(
        *("--artifact", str(w.seqs["file"]), "--artifact", str(w.seqs["photo"])),
        *("--message", w.message(3), "--redact-text", "phone", "--strip-gps"),
    )
    code, out, _ = w.run("verify", str(w.case), "--json")
    assert code == ExitCode.OK, [f for f in json.loads(out)["findings"] if f["severity"] == "error"]


@pytest.mark.slow
def test_round_trip_of_all_three_sources(
    captured: World, cli: Runner, home: Path, tmp_path: Path
) -> None:
    w = captured
    withheld = [w.message(n) for n in (0, 2, 4, 5, 6)]
    bundle = w.bundle(
        *("--artifact", str(w.seqs["file"]), "--artifact", str(w.seqs["capture"])),
        *("--message", w.message(1), "--message", w.message(3)),
        *("--redact-text", "phone"),
    )
    code, report = verify_json(cli, bundle)
    assert code == ExitCode.OK, report["findings"]
    desc = description(bundle)
    assert {ex["type"] for ex in desc["exhibits"]} == {"add", "capture", "import"}
    warc = items(desc, w.seqs["capture"], "artifact")[0]
    assert warc["status"] == "disclosed"  # the page does not show a phone number
    (note,) = exhibit(desc, w.seqs["capture"])["notes"]  # and says what was searched
    assert "searched in the page's text and DOM only" in note
    data = members(bundle)
    assert (
        hashlib.sha256(data[warc["file"]]).hexdigest() == w.capture["artifacts"]["warc"]["sha256"]
    )
    shown = {i["unit"]: i["status"] for i in exhibit(desc, w.seqs["chat"])["items"] if "unit" in i}
    assert shown == {w.message(1): "disclosed", w.message(3): "redacted"}
    assert not set(shown) & set(withheld)
    assert items(desc, w.seqs["file"], "artifact")[0]["status"] == "redacted"
    check_with_stock_tools(bundle, tmp_path / "bag")
    assert_no_leak(bundle, withheld_needles(w, bundle), tmp_path / "leak")


def _record_file(data: bytes) -> tuple[str, str, bytes]:
    from warcio.archiveiterator import ArchiveIterator

    found = [
        (rec.rec_type, rec.rec_headers.get_header("WARC-Target-URI"), rec.content_stream().read())
        for rec in ArchiveIterator(io.BytesIO(data))
    ]
    assert len(found) == 1  # one record, whole
    return found[0]


@pytest.mark.slow
def test_bundle_of_single_warc_records_and_of_a_whole_capture(
    captured: World, cli: Runner, home: Path, tmp_path: Path
) -> None:
    w = captured
    shot = w.capture["records"]["screenshot"]
    url = w.capture["final_url"]
    for ids in ([shot["record_id"], url], [shot["record_id"].strip("<>"), url]):
        bundle = w.bundle(*(a for i in ids for a in ("--warc-record", i)))
        code, report = verify_json(cli, bundle)
        assert code == ExitCode.OK, report["findings"]
        desc = description(bundle)
        ex = exhibit(desc, w.seqs["capture"])
        records = [i for i in ex["items"] if i["role"] == "record"]
        assert [i["status"] for i in records] == ["disclosed", "disclosed"]
        assert {i["unit"] for i in records} >= {shot["record_id"]}
        assert ex["units"]["included"] == 2 and ex["units"]["withheld"] == ex["units"]["count"] - 2
        assert items(desc, w.seqs["capture"], "artifact") == []  # the WARC is not shipped
        data = members(bundle)
        got = {}
        for i in records:
            kind, target, content = _record_file(data[i["file"]])
            got[kind, target] = content
        assert got.pop(("resource", shot["target_uri"])).startswith(b"\x89PNG\r\n\x1a\n")
        assert PAGE_TEXT.encode() in got.pop(("response", url))
        assert_no_leak(bundle, withheld_needles(w, bundle), tmp_path / f"leak-{len(ids[0])}")
    whole = w.bundle("--artifact", str(w.seqs["capture"]))
    code, report = verify_json(cli, whole)
    assert code == ExitCode.OK, report["findings"]
    (warc,) = items(description(whole), w.seqs["capture"], "artifact")
    assert warc["status"] == "disclosed" and warc["file"].endswith("/capture.warc.gz")
    assert (
        hashlib.sha256(members(whole)[warc["file"]]).digest().hex()
        == (w.capture["artifacts"]["warc"]["sha256"])
    )
    unknown = "urn:uuid:00000000-0000-0000-0000-000000000000"
    assert not w.bundle("--warc-record", unknown, expect=ExitCode.USAGE).exists()


# -- 2. no leak -----------------------------------------------------------------------------


def test_nothing_withheld_is_in_the_bundle(world: World, tmp_path: Path) -> None:
    w = world
    bundle = w.bundle(
        *("--artifact", str(w.seqs["file"]), "--artifact", str(w.seqs["photo"])),
        *("--message", w.message(1), "--message", w.message(3)),
        *("--redact-text", "phone", "--redact-text", "email", "--strip-gps"),
    )
    needles = withheld_needles(w, bundle)
    whats = " | ".join(what for what, _ in needles)
    for n in (0, 2, 3, 4, 5, 6):  # 3 is redacted: its original is withheld too
        assert f"message {w.message(n)}: its JSON line" in whats
    for seq in (w.seqs["file"], w.seqs["photo"]):  # the redacted originals
        assert f"exhibit {seq}-add artifact: salt" in whats
    assert f"exhibit {w.seqs['photo']}-add details: GPS" in whats
    assert f"exhibit {w.seqs['chat']}-import details: the record" in whats
    needles += [
        ("the phone number", PHONE.encode()),
        ("the e-mail address", EMAIL.encode()),
        ("the phone number in JSON", json.dumps(PHONE).encode()),
        ("the photo's EXIF", b"ExampleCam"),
    ]
    photo = (EXAMPLES / "photo-with-gps.jpg").read_bytes()
    app1 = photo.index(b"\xff\xe1")
    needles.append(("the photo's APP1 segment", photo[app1 : app1 + 64]))
    assert_no_leak(bundle, needles, tmp_path / "bag")


# -- 3. redaction ---------------------------------------------------------------------------


MASK = "\u2588"


@pytest.mark.parametrize(
    ("spec", "secret", "message"),
    [
        ("phone", PHONE, 3),
        ("email", EMAIL, 3),
        ("bluebird-17", CODE_WORD, 5),  # literal text, any case
        (r"re:BLUE\w+-\d+", CODE_WORD, 5),
        ("names", "Bruno Costa", 4),
    ],
    ids=["phone", "email", "literal", "regex", "names"],
)
def test_redact_text(
    world: World, cli: Runner, home: Path, tmp_path: Path, spec: str, secret: str, message: int
) -> None:
    w = world
    bundle = w.bundle(
        *("--artifact", str(w.seqs["file"]), "--message", w.message(message)),
        *("--message", w.message(1), "--redact-text", spec),
    )
    code, report = verify_json(cli, bundle)
    assert code == ExitCode.OK, report["findings"]
    desc, data = description(bundle), members(bundle)
    (msg,) = (i for i in items(desc, w.seqs["chat"], "message") if i["unit"] == w.message(message))
    assert msg["status"] == "redacted"
    derived = json.loads(data[msg["derived"]["file"]])
    original = w.messages[w.message(message)]
    assert derived["id"] == original["id"] and derived["sent_at_raw"] == original["sent_at_raw"]
    if spec == "names":
        assert derived["sender"] == MASK * len("Bruno Costa")
        assert "Ana Lima" not in derived["text"] and MASK in derived["text"]
    else:
        assert derived["text"] == re.sub(re.escape(secret), MASK * len(secret), original["text"])
    (text_file,) = items(desc, w.seqs["file"], "artifact")
    assert text_file["status"] == "redacted"
    masked = data[text_file["derived"]["file"]].decode("utf-8")
    assert MASK * len(secret) in masked and secret not in masked
    assert len(masked) == len(REPORT)  # each masked character is one mask character
    assert secret.encode() not in bundle.read_bytes()
    assert secret.lower().encode() not in bundle.read_bytes().lower()
    params = json.loads(data[text_file["derived"]["params_file"]])
    assert params["method"] == "mask-text/v1" and params["spans"] >= 1
    if spec not in ("phone", "email"):  # a user's own pattern is itself data
        assert "regex" not in params["patterns"][0]
    # the derive entries, signed in the case log
    case = w.open()
    entries = {e.seq: e for e in map(log.decode_entry, _lines(case.entries))}
    shown = json.loads(cli("log", "--case", str(w.case), "--json")[1])["entries"]
    rows = {r["seq"]: r for r in shown}
    for item in (msg, text_file):
        d = item["derived"]
        entry = entries[d["entry"]]
        assert entry.type == "derive" and rows[d["entry"]]["type"] == "derive"
        assert entry.subject["parent"] == item["commitment"]
        assert entry.subject["artifact"] == d["artifact"]
        assert entry.subject["method"] == d["method"] == "mask-text/v1"
        assert entry.subject["params"] == d["params"]
        assert secret not in entry.subject["reason"]
        (art,) = (a for a in rows[d["entry"]]["artifacts"] if a["role"] == "artifact")
        assert art["kind"] == "derived"
        assert art["sha256"] == hashlib.sha256(data[d["file"]]).hexdigest()
    assert_no_leak(bundle, [("the secret", secret.encode())], tmp_path / "bag")


def test_text_attachment_with_masked_text_is_refused(
    world: World, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """A chat attachment is shown as it is (its message names its SHA-256): a contact card
    holding the phone number being masked must not ship unmasked."""
    w = world
    card = f"BEGIN:VCARD\nVERSION:3.0\nFN:Bruno Costa\nTEL:{PHONE}\nEND:VCARD\n"
    chat = (
        "20/11/2026, 21:02 - Bruno Costa: here is my card\n"
        "20/11/2026, 21:03 - Bruno Costa: Bruno.vcf (file attached)\n"
        "20/11/2026, 21:04 - Ana Lima: ok\n"
    )
    export = tmp_path / "WhatsApp Chat with Bruno Costa.zip"
    with zipfile.ZipFile(export, "w") as zf:
        zf.writestr("WhatsApp Chat with Bruno Costa.txt", chat)
        zf.writestr("Bruno.vcf", card)
    imported = w.json("import", str(export), "--case", str(w.case))
    message = f"{imported['import_id']}:1"
    out = tmp_path / "card.zip"
    code, _, err = w.run(
        *("bundle", "create", str(out), "--case", str(w.case)),
        *("--message", message, "--redact-text", "phone"),
    )
    assert code == ExitCode.USAGE and f"attachment {message}:0" in err
    assert not out.exists()
    shown = w.bundle("--message", message, "--redact-text", "phone", "--unsafe-show-unredacted")
    assert verify_json(cli, shown)[0] == ExitCode.OK
    (ex,) = description(shown)["exhibits"]
    assert ex["notes"] == [f"attachment {message}:0 shown unredacted (--unsafe-show-unredacted)"]
    plain = w.bundle("--message", message, "--redact-text", "email")  # the card has none
    (attachment,) = items(description(plain), imported["entry"], "attachment")
    assert members(plain)[attachment["file"]] == card.encode()


def test_strip_gps(world: World, cli: Runner, home: Path, tmp_path: Path) -> None:
    w = world
    with (EXAMPLES / "photo-with-gps.jpg").open("rb") as fh:
        tags = exifread.process_file(fh, details=False)
    assert any(k.startswith("GPS") for k in tags)  # the example does have GPS
    bundle = w.bundle("--artifact", str(w.seqs["photo"]), "--strip-gps")
    code, report = verify_json(cli, bundle)
    assert code == ExitCode.OK, report["findings"]
    desc = description(bundle)
    (photo,) = items(desc, w.seqs["photo"], "artifact")
    (details,) = items(desc, w.seqs["photo"], "details")
    assert photo["status"] == "redacted" and photo["derived"]["method"] == "strip-jpeg-metadata/v1"
    assert details["status"] == "withheld" and "GPS" in details["reason"]
    jpeg = members(bundle)[photo["derived"]["file"]]
    assert jpeg.startswith(b"\xff\xd8")
    tags = exifread.process_file(io.BytesIO(jpeg), details=False)
    assert not [k for k in tags if "GPS" in k], sorted(tags)
    assert b"Exif\x00\x00" not in jpeg and b"ExampleCam" not in jpeg
    entry = next(
        e
        for e in map(log.decode_entry, _lines(w.open().entries))
        if e.type == "derive" and e.seq == photo["derived"]["entry"]
    )
    assert entry.subject["parent"] == photo["commitment"]
    assert entry.subject["method"] == "strip-jpeg-metadata/v1"
    # a file without GPS is shown as it is
    desc = description(w.bundle("--artifact", str(w.seqs["file"]), "--strip-gps"))
    assert items(desc, w.seqs["file"], "artifact")[0]["status"] == "disclosed"


@pytest.mark.slow
def test_capture_matching_a_pattern_withholds_its_renditions(
    captured: World, cli: Runner, home: Path, tmp_path: Path
) -> None:
    w = captured
    pattern = ("--redact-text", "sign in")
    bundle = w.bundle("--artifact", str(w.seqs["capture"]), *pattern)
    code, report = verify_json(cli, bundle)
    assert code == ExitCode.OK, report["findings"]
    desc = description(bundle)
    ex = exhibit(desc, w.seqs["capture"])
    by_role = {i["role"]: i for i in ex["items"]}
    assert by_role["artifact"]["status"] == "withheld"
    assert by_role["record"]["status"] == "redacted"
    assert by_role["record"]["unit"] == w.capture["records"]["text"]["record_id"]
    assert ex["units"]["included"] == 1
    assert ex["units"]["withheld_reason"] == "shows text that this bundle masks elsewhere"
    data = members(bundle)
    assert data[by_role["record"]["derived"]["file"]].decode() == "Please " + MASK * 7
    names = " ".join(data)
    assert ".warc" not in names  # no screenshot, PDF, DOM, provenance or response
    needles = [*withheld_needles(w, bundle), ("the page text", PAGE_TEXT.encode())]
    whats = " | ".join(what for what, _ in needles)
    for role in ("screenshot", "pdf", "dom", "text", "provenance"):
        assert f"{w.capture['records'][role]['record_id']}: salt" in whats, role
    assert_no_leak(bundle, needles, tmp_path / "bag")
    shot = w.capture["records"]["screenshot"]["record_id"]
    code, _, err = w.run(
        *("bundle", "create", str(tmp_path / "refused.zip"), "--case", str(w.case)),
        *("--warc-record", shot, *pattern),
    )
    assert code == ExitCode.USAGE and "--unsafe-show-unredacted" in err
    assert not (tmp_path / "refused.zip").exists()
    unsafe = w.bundle("--warc-record", shot, *pattern, "--unsafe-show-unredacted")
    code, report = verify_json(cli, unsafe)
    assert code == ExitCode.OK, report["findings"]
    (record,) = items(description(unsafe), w.seqs["capture"], "record")
    assert record["status"] == "disclosed" and record["unit"] == shot
