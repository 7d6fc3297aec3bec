"""Tampered bundles: every alteration of a good bundle is exit 3 with a finding naming it.

One good bundle (a redacted text file, a photo without its GPS, two chat messages of
seven, one redacted) is rewritten with :mod:`zipfile` (stored, as custody writes it) the
way someone without the signing key could: one byte of any member changed, files added,
removed or swapped, salts replaced, log entries reordered, the checkpoint re-signed by
another key, and the manifests recomputed so that only the signature is left to catch
it. Each must be exit 3 (never 0, never a crash) with the expected finding code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from custody import bagfiles, canonical, keys, note
from custody.bundle import layout
from custody.bundle.verify import verify_bundle
from custody.errors import CustodyError, ExitCode
from custody.report import Severity

from .conftest import Runner, make_case
from .test_bundle import World, error_codes, make_world, members, verify_json

Members = dict[str, bytes]
TAGS = ("bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt", "VERIFY.txt")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory.mktemp("tamper-world"))


@pytest.fixture(scope="module")
def good(world: World) -> Path:
    w = world
    return w.bundle(
        *("--artifact", str(w.seqs["file"]), "--artifact", str(w.seqs["photo"])),
        *("--message", w.message(1), "--message", w.message(3)),
        *("--redact-text", "phone", "--strip-gps", "--recipient", "Court of Lyon"),
    )


def write_zip(path: Path, content: Members) -> Path:
    """A zip as custody writes one: stored members, in the order given."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in content.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return path


def reseal(content: Members, *, describe: bool = False) -> Members:
    """What an attacker without the key can redo: data/bundle.json's list of files (if
    ``describe``), both manifests, Payload-Oxum and both tag manifests. Not the signatures."""
    out = dict(content)
    payload = [n for n in out if n.startswith("data/")]
    if describe:
        desc = json.loads(out[layout.BUNDLE_JSON])
        skip = {layout.BUNDLE_JSON, *layout.LOG_FILES}
        files = {n: hashlib.sha256(out[n]).hexdigest() for n in payload if n not in skip}
        if files != desc["files"]:
            desc["files"] = files
            out[layout.BUNDLE_JSON] = canonical.dumps(desc)
    for alg in bagfiles.ALGORITHMS:
        out[f"manifest-{alg}.txt"] = bagfiles.manifest(
            (n, hashlib.new(alg, out[n]).hexdigest()) for n in payload
        )
    oxum = bagfiles.payload_oxum({n: len(out[n]) for n in payload})
    info = out["bag-info.txt"].decode().splitlines()
    info = [f"Payload-Oxum: {oxum}" if x.startswith("Payload-Oxum:") else x for x in info]
    out["bag-info.txt"] = ("\n".join(info) + "\n").encode()
    for alg in bagfiles.ALGORITHMS:
        out[f"tagmanifest-{alg}.txt"] = bagfiles.manifest(
            (n, hashlib.new(alg, out[n]).hexdigest()) for n in TAGS if n in out
        )
    return out


def flip(data: bytes, at: int) -> bytes:
    """``data`` with the byte at ``at`` changed: its lowest bit flipped, or, where that
    would make a control character (a line feed becomes a vertical tab), a ``!``.

    A control character in a manifest's path is refused as hostile (exit 4, see
    test_bundle_hostile), which is not what this sweep is about.
    """
    out = bytearray(data)
    new = out[at] ^ 0x01
    if new < 0x20 or new == 0x7F:
        new = 0x21 if out[at] != 0x21 else 0x22
    out[at] = new
    return bytes(out)


def check(cli: Runner, path: Path, expected: set[str]) -> set[str]:
    """Exit 3 and at least one of ``expected`` among the error findings."""
    code, report = verify_json(cli, path)
    codes = error_codes(report)
    assert code == ExitCode.NOT_VERIFIED, (path.name, report["findings"])
    assert codes & expected, (path.name, sorted(codes), sorted(expected))
    return codes


def test_the_good_bundle_verifies(good: Path, cli: Runner, home: Path) -> None:
    code, report = verify_json(cli, good)
    assert code == ExitCode.OK, report["findings"]
    rewritten = write_zip(good.parent / "rewritten.zip", members(good))
    assert verify_json(cli, rewritten)[0] == ExitCode.OK  # the rewriting itself is harmless
    assert verify_json(cli, write_zip(good.parent / "resealed.zip", reseal(members(good))))[0] == (
        ExitCode.OK
    )


def _expected_for(name: str) -> set[str]:
    """Finding codes that name a change to one byte of ``name``."""
    if name.startswith("data/"):
        return {"file-altered"}
    if name == "bagit.txt":
        return {"bag-declaration"}
    if name == layout.SIGNED:
        return {"signature-sshsig", "signature-ed25519"}
    if name == layout.SSHSIG:
        return {"signature-sshsig"}
    if name == layout.RAWSIG:
        return {"signature-ed25519"}
    if name == "tagmanifest-sha512.txt":  # unsigned, but must match the tags, exactly
        return {"tag-altered", "manifest-malformed", "manifest-noncanonical", "file-missing"}
    return {"tag-altered"}


def _verify(path: Path) -> tuple[int, set[str]]:
    """What ``custody bundle verify`` decides, without building the command line each
    time (about 100 ms): exit 3 for a report with errors, a CustodyError's own code."""
    try:
        report = verify_bundle(path)
    except CustodyError as exc:
        return exc.exit_code, set()
    codes = {f.code for f in report.findings if f.severity is Severity.ERROR}
    return (ExitCode.OK if report.ok else ExitCode.NOT_VERIFIED), codes


def test_one_byte_changed_in_any_member(
    good: Path, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """The first, middle and last byte of every member, one at a time."""
    content = members(good)
    assert len(content) > 25
    wrong = []
    for name, data in content.items():
        for at in sorted({0, len(data) // 2, len(data) - 1}):
            path = write_zip(tmp_path / "flipped.zip", content | {name: flip(data, at)})
            code, codes = _verify(path)
            if code != ExitCode.NOT_VERIFIED or not codes & _expected_for(name):
                wrong.append((name, at, int(code), sorted(codes)))
    assert not wrong
    # and the same through the command line, for one member of each kind
    for name in ("data/bundle.json", "bag-info.txt", layout.SIGNED, layout.RAWSIG):
        path = write_zip(tmp_path / "flipped.zip", content | {name: flip(content[name], 3)})
        check(cli, path, _expected_for(name))


def test_one_byte_changed_then_manifests_recomputed(
    good: Path, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """Payload and tag files changed with the manifests made to match: the signature, and
    for exhibit files the commitments, still catch it."""
    content = members(good)
    for name in [*(n for n in content if n.startswith("data/")), "bag-info.txt", "VERIFY.txt"]:
        data = content[name]
        altered = dict(content)
        altered[name] = flip(data, len(data) // 2)
        expected = {"signature-sshsig"}
        if name.startswith("data/exhibits/"):
            expected = {"unit-altered", "unit-commitment", "file-altered"}
        path = write_zip(tmp_path / "resealed.zip", reseal(altered))
        codes = check(cli, path, expected)
        assert {"signature-sshsig", "signature-ed25519"} <= codes, name


def _first(content: Members, suffix: str, under: str = "data/exhibits/") -> str:
    return next(n for n in content if n.startswith(under) and n.endswith(suffix))


def _add_payload(c: Members) -> Members:
    return c | {"data/exhibits/1-add/extra.txt": b"planted later\n"}


def _add_top(c: Members) -> Members:
    return c | {"README.txt": b"planted later\n"}


def _remove_message(c: Members) -> Members:
    name = _first(c, "/messages/000001.json")
    return {k: v for k, v in c.items() if k != name}


def _remove(name: str) -> Callable[[Members], Members]:
    return lambda c: {k: v for k, v in c.items() if k != name}


def _swap_disclosures(c: Members) -> Members:
    a = _first(c, "/details.json.disclosure.json")
    b = _first(c, "/messages/000001.json.disclosure.json")
    return c | {a: c[b], b: c[a]}


def _swap_files(c: Members) -> Members:
    """Two disclosed exhibit files swapped, each with its disclosure."""
    a, b = _first(c, "/details.json"), _first(c, "/messages/000001.json")
    da, db = a + ".disclosure.json", b + ".disclosure.json"
    return c | {a: c[b], b: c[a], da: c[db], db: c[da]}


def _replace_salt(c: Members) -> Members:
    name = _first(c, "/messages/000001.json.disclosure.json")
    doc = json.loads(c[name])
    doc["salt"] = "A" * len(doc["salt"])
    return c | {name: canonical.dumps(doc)}


def _reorder_entries(c: Members) -> Members:
    lines = c[layout.ENTRIES].splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    return c | {layout.ENTRIES: b"".join(lines)}


def _drop_entry(c: Members) -> Members:
    lines = c[layout.ENTRIES].splitlines(keepends=True)
    return c | {layout.ENTRIES: b"".join(lines[:1] + lines[2:])}


def _edit_description(c: Members) -> Members:
    doc = json.loads(c[layout.BUNDLE_JSON])
    doc["recipient"] = "someone else"
    return c | {layout.BUNDLE_JSON: canonical.dumps(doc)}


def _withheld_made_disclosed(c: Members) -> Members:
    """Claim a withheld details record as disclosed, with a planted file."""
    doc = json.loads(c[layout.BUNDLE_JSON])
    for ex in doc["exhibits"]:
        for item in ex["items"]:
            if item["role"] == "details" and item["status"] == "withheld":
                base = f"data/exhibits/{ex['exhibit']}/details.json"
                item |= {"status": "disclosed", "file": base, "disclosure": base + ".d.json"}
                c = c | {base: b"{}", base + ".d.json": b"{}"}
    return c | {layout.BUNDLE_JSON: canonical.dumps(doc)}


TAMPERS: dict[str, tuple[Callable[[Members], Members], set[str]]] = {
    "file added in data": (_add_payload, {"file-unaccounted"}),
    "file added at top level": (_add_top, {"file-unaccounted"}),
    "exhibit file removed": (_remove_message, {"file-missing", "unit-missing"}),
    "checkpoint removed": (_remove(layout.CHECKPOINT), {"checkpoint-missing"}),
    "proofs removed": (_remove(layout.PROOFS), {"file-missing"}),
    "SSHSIG removed": (_remove(layout.SSHSIG), {"signature-sshsig"}),
    "raw signature removed": (_remove(layout.RAWSIG), {"signature-ed25519"}),
    "bagit.txt removed": (_remove("bagit.txt"), {"bag-declaration"}),
    "VERIFY.txt removed": (_remove(layout.VERIFY_TXT), {"file-missing", "tag-unlisted"}),
    "two disclosures swapped": (_swap_disclosures, {"unit-commitment"}),
    "two files swapped with their disclosures": (_swap_files, {"unit-commitment"}),
    "a salt replaced": (_replace_salt, {"unit-commitment"}),
    "log entries reordered": (_reorder_entries, {"entry-order"}),
    "a log entry dropped": (_drop_entry, {"exhibit-entry"}),
    "description edited": (_edit_description, {"export-manifest"}),
    "withheld unit claimed disclosed": (_withheld_made_disclosed, {"unit-commitment"}),
}


@pytest.mark.parametrize("recompute", [False, True], ids=["as-is", "manifests-recomputed"])
@pytest.mark.parametrize("tamper", list(TAMPERS), ids=list(TAMPERS))
def test_tampered_bundle(
    good: Path, cli: Runner, home: Path, tmp_path: Path, tamper: str, recompute: bool
) -> None:
    change, expected = TAMPERS[tamper]
    original = members(good)
    content = change(original)
    if recompute:
        content = reseal(content)
    codes = check(cli, write_zip(tmp_path / "tampered.zip", content), expected)
    if recompute and content.get(layout.SIGNED) != original[layout.SIGNED]:
        assert {"signature-sshsig", "signature-ed25519"} & codes


def test_file_added_and_described(good: Path, cli: Runner, home: Path, tmp_path: Path) -> None:
    """A file added, listed in data/bundle.json and every manifest: the export entry
    names another data/bundle.json, and the signature fails."""
    content = reseal(_add_payload(members(good)), describe=True)
    codes = check(cli, write_zip(tmp_path / "planted.zip", content), {"export-manifest"})
    assert {"signature-sshsig", "signature-ed25519"} <= codes


def test_checkpoint_signed_by_another_key(
    good: Path, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """The same checkpoint (origin, size, root) signed by a key from another case."""
    make_case(tmp_path, cli, files=0)  # another case, another key (the home fixture's)
    identity = keys.read_identity(home)
    assert identity is not None
    other = keys.load_key(home, identity.key_id, "correct horse battery staple")
    content = members(good)
    cp = note.parse_checkpoint(content[layout.CHECKPOINT])
    forged = note.sign_checkpoint(cp.origin, cp.size, cp.root, other)
    assert forged != content[layout.CHECKPOINT]
    for recompute in (False, True):
        altered = content | {layout.CHECKPOINT: forged}
        if recompute:
            altered = reseal(altered)
        codes = check(cli, write_zip(tmp_path / "forged.zip", altered), {"checkpoint-signature"})
        assert "checkpoint-origin" not in codes
    # the other case's own checkpoint, for another log
    own = (tmp_path / "case" / "log" / "checkpoint").read_bytes()
    codes = check(
        cli,
        write_zip(tmp_path / "foreign.zip", reseal(content | {layout.CHECKPOINT: own})),
        {"checkpoint-origin"},
    )
    assert "checkpoint-signature" in codes


def test_manifests_recomputed_only_the_signature_catches_it(
    good: Path, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """VERIFY.txt rewritten (another fingerprint to compare, say) and every manifest made
    to match: the bag is consistent, and only the signature fails."""
    content = members(good)
    text = content[layout.VERIFY_TXT].decode()
    start = text.index("SHA256:")
    text = text[:start] + "SHA256:" + "A" * 43 + text[start + 50 :]
    altered = reseal(content | {layout.VERIFY_TXT: text.encode()}, describe=True)
    assert altered[layout.BUNDLE_JSON] == content[layout.BUNDLE_JSON]
    code, report = verify_json(cli, write_zip(tmp_path / "consistent.zip", altered))
    assert code == ExitCode.NOT_VERIFIED
    assert error_codes(report) == {"signature-sshsig", "signature-ed25519"}, report["findings"]
    # a disclosed message rewritten, its disclosure too (a new salt), everything resealed
    name = next(n for n in content if n.endswith("/messages/000001.json"))
    doc = json.loads(content[name])
    doc["text"] = "a message nobody wrote"
    new = canonical.dumps(doc)
    disclosure = json.loads(content[name + ".disclosure.json"])
    disclosure |= {
        "sha256": hashlib.sha256(new).hexdigest(),
        "sha512": hashlib.sha512(new).hexdigest(),
        "size": len(new),
    }
    forged: dict[str, Any] = {name: new, name + ".disclosure.json": canonical.dumps(disclosure)}
    altered = reseal(content | forged, describe=True)
    code, report = verify_json(cli, write_zip(tmp_path / "forged-message.zip", altered))
    assert code == ExitCode.NOT_VERIFIED
    codes = error_codes(report)
    assert {"unit-commitment", "export-manifest", "signature-sshsig", "signature-ed25519"} <= codes


def test_signature_armour_is_checked_exactly(
    good: Path, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """The SSHSIG file is not covered by any manifest: a change that OpenSSH would shrug
    off (line breaks, spaces, base64 padding bits) is still an alteration."""
    content = members(good)
    armour = content[layout.SSHSIG]
    lines = armour.split(b"\n")
    variants = {
        "CRLF": armour.replace(b"\n", b"\r\n"),
        "trailing space": armour[:-1] + b" \n",
        "no final newline": armour[:-1],
        "extra blank line": armour + b"\n",
        "rewrapped": b"\n".join([lines[0], b"".join(lines[1:-2]), *lines[-2:]]),
        "leading space": b" " + armour,
    }
    for what, data in variants.items():
        assert data != armour, what
        path = write_zip(tmp_path / "armour.zip", content | {layout.SSHSIG: data})
        codes = check(cli, path, {"signature-sshsig"})
        assert codes == {"signature-sshsig"}, what


def test_unsigned_tag_manifest_is_checked_exactly(
    good: Path, cli: Runner, home: Path, tmp_path: Path
) -> None:
    """tagmanifest-sha512.txt is signed by nothing and listed by nothing: other
    spellings of the same lines are alterations too."""
    content = members(good)
    name = "tagmanifest-sha512.txt"
    data = content[name]
    first = data.split(b" ", 1)[0]
    variants = {
        "CRLF": data.replace(b"\n", b"\r\n"),
        "CR": data.replace(b"\n", b"\r"),
        "upper-case digest": data.replace(first, first.upper(), 1),
        "tab": data.replace(b" ", b"\t", 1),
        "two spaces": data.replace(b" ", b"  ", 1),
        "no final newline": data[:-1],
    }
    for what, altered in variants.items():
        assert altered != data, what
        path = write_zip(tmp_path / "tags.zip", content | {name: altered})
        codes = check(cli, path, {"manifest-noncanonical"})
        assert codes == {"manifest-noncanonical"}, what
