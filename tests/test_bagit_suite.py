"""BagIt 1.0 validation against the Library of Congress conformance suite, read in place
(../shared/vectors/bagit/v1.0: ``valid/`` bags must pass, ``invalid/`` bags must fail,
``warning/`` bags must pass, perhaps with warnings), cross-checked with bagit-python.

The suite is run twice over :class:`custody.bagcheck.FolderBag`:

- by RFC 8493 alone (:func:`custody.bagcheck.check_generic_bag`): every verdict matches
  the suite, and the error codes of each bag are pinned (``GENERIC_ERRORS``);
- by a custody bundle's rules (the defaults of :func:`custody.bagcheck.check_bag`, which
  the bundle verifier uses): pinned too (``CUSTODY_ERRORS``), so that the generic mode
  can never weaken them.

Where a verdict differs, and why:

| bag                                   | suite   | generic | custody rules | bagit-python |
|---------------------------------------|---------|---------|---------------|--------------|
| valid/basicBag                        | valid   | valid   | invalid (1)   | valid        |
| invalid/bagit-with-invalid-whitespace | invalid | invalid | invalid       | valid (2)    |

(1) A custody bundle must carry SHA-256 and SHA-512 payload and tag manifests and a
    bag-info.txt with Payload-Oxum; basicBag has SHA-512 manifests only and no bag-info.txt,
    both of which RFC 8493 allows.
(2) bagit-python strips the whitespace around the labels and values of bagit.txt, so it
    reads ``BagIt-Version : 1.0`` as version 1.0; RFC 8493 section 2.1.1 gives the two
    lines exactly, and custody refuses it (``bag-declaration``).

Both ``same-filename-listed-twice-*`` bags also carry stale tag manifests (the digest of
bagit.txt listed there is that of the BagIt 0.97 declaration), and the ``different-hashes``
one a space after ``1.0``: custody reports those faults too (``tag-altered``,
``bag-declaration``), bagit-python stops at the duplicate. The ``same-hash`` bag's README
allows accepting it with a warning, but the suite files it as invalid, as custody does: a
path listed twice is a malformed manifest whatever the digests.

The suite's bags use SHA-256 and SHA-512 only, so the generic mode verifies nothing else;
an MD5 or SHA-1 manifest is a warning (``manifest-unchecked``), and a bag with no SHA-256
or SHA-512 manifest fails.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from custody import bagcheck, bagfiles
from custody.bundle import layout
from custody.errors import InputError
from custody.report import Report, Severity

from .conftest import VECTORS, Runner, make_case, vectors

SUITE = VECTORS / "bagit" / "v1.0"
# folder -> whether its bags are valid (linux-only holds invalid bags for POSIX systems)
VERDICTS = {"valid": True, "invalid": False, "warning": True}
if sys.platform == "linux":
    VERDICTS["linux-only"] = False

# Every error code custody reports for each bag, by RFC 8493 alone.
GENERIC_ERRORS: dict[str, set[str]] = {
    "valid/basicBag": set(),
    "invalid/bagit-with-invalid-whitespace": {"bag-declaration"},
    "invalid/notAllManifestsListAllFiles": {"file-unlisted"},
    "invalid/same-filename-listed-twice-with-different-hashes": {
        "bag-declaration",
        "manifest-malformed",
        "tag-altered",
    },
    "invalid/same-filename-listed-twice-with-the-same-hash": {"manifest-malformed", "tag-altered"},
}
# The same under a custody bundle's rules (check_bag's defaults).
CUSTODY_ERRORS: dict[str, set[str]] = {
    "valid/basicBag": {"manifest-missing", "bag-info"},
    "invalid/bagit-with-invalid-whitespace": {"bag-declaration"},
    "invalid/notAllManifestsListAllFiles": {"manifest-missing", "file-unlisted", "bag-info"},
    "invalid/same-filename-listed-twice-with-different-hashes": {
        "bag-declaration",
        "manifest-malformed",
        "tag-altered",
    },
    "invalid/same-filename-listed-twice-with-the-same-hash": {
        "manifest-malformed",
        "file-unaccounted",  # the bag's "debug" file: allowed by RFC 8493, not in a bundle
        "tag-altered",
    },
}
# Where custody's verdict differs from the suite's: bag -> why (see the table above).
CUSTODY_DIFFERS = {
    "valid/basicBag": "SHA-512 manifests only and no bag-info.txt: not a custody bundle",
}
# Where bagit-python's verdict differs from the suite's: bag -> why.
BAGIT_PY_DIFFERS = {
    "invalid/bagit-with-invalid-whitespace": "bagit-python strips whitespace in bagit.txt",
}


def _suite_bags() -> list[str]:
    if not SUITE.is_dir():
        return []
    return sorted(
        f"{folder}/{bag.name}"
        for folder in VERDICTS
        if (SUITE / folder).is_dir()
        for bag in (SUITE / folder).iterdir()
        if bag.is_dir()
    )


BAGS = _suite_bags()


def _expected(bag: str) -> bool:
    return VERDICTS[bag.split("/")[0]]


def _errors(report: Report) -> set[str]:
    return {f.code for f in report.findings if f.severity is Severity.ERROR}


def _generic(root: Path) -> Report:
    report = Report(str(root))
    bagcheck.check_generic_bag(bagcheck.FolderBag(root), report)
    return report


def _bagit_py(root: Path) -> bool:
    """bagit-python's verdict: ``bagit.py --validate`` exits 0."""
    script = Path(sys.executable).parent / "bagit.py"
    if not script.exists():
        pytest.skip("bagit-python is not installed")
    proc = subprocess.run(
        [sys.executable, str(script), "--validate", "--quiet", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode == 0


# -- the conformance suite ---------------------------------------------------------------


@pytest.mark.parametrize("bag", BAGS)
def test_suite_verdict_by_rfc8493(bag: str) -> None:
    report = _generic(vectors("bagit", "v1.0", bag))
    assert report.ok is _expected(bag), report.to_dict()
    if bag in GENERIC_ERRORS:
        assert _errors(report) == GENERIC_ERRORS[bag]


@pytest.mark.parametrize("bag", BAGS)
def test_suite_verdict_by_custody_rules(bag: str) -> None:
    """The bundle verifier's rules: stricter than the suite where CUSTODY_DIFFERS says."""
    report = Report(bag)
    bagcheck.check_bag(bagcheck.FolderBag(vectors("bagit", "v1.0", bag)), report)
    assert report.ok is (_expected(bag) and bag not in CUSTODY_DIFFERS), report.to_dict()
    if bag in CUSTODY_ERRORS:
        assert _errors(report) == CUSTODY_ERRORS[bag]


@pytest.mark.parametrize("bag", BAGS)
def test_suite_verdict_by_bagit_python(bag: str) -> None:
    """bagit-python agrees with the suite and with custody, except where pinned."""
    root = vectors("bagit", "v1.0", bag)
    theirs = _bagit_py(root)
    differs = bag in BAGIT_PY_DIFFERS
    assert theirs is (_expected(bag) is not differs)
    assert (theirs is _generic(root).ok) is not differs


def test_suite_is_complete() -> None:
    """Every bag pinned above is present, and every bag present is pinned."""
    if not SUITE.is_dir():
        pytest.skip("peer vectors not present")
    assert set(BAGS) == set(GENERIC_ERRORS) == set(CUSTODY_ERRORS)
    assert set(CUSTODY_DIFFERS) | set(BAGIT_PY_DIFFERS) <= set(BAGS)


# -- bags made here ------------------------------------------------------------------------


def _manifest(files: dict[str, bytes], alg: str) -> bytes:
    return bagfiles.manifest((n, hashlib.new(alg, d).hexdigest()) for n, d in files.items())


def _make_bag(
    root: Path,
    payload: dict[str, bytes],
    *,
    algorithms: tuple[str, ...] = bagfiles.ALGORITHMS,
    declaration: bytes = bagfiles.DECLARATION,
    bag_info: bool = True,
) -> Path:
    """A bag in the form custody writes (or with the given parts changed)."""
    tags = {"bagit.txt": declaration}
    if bag_info:
        oxum = bagfiles.payload_oxum({n: len(d) for n, d in payload.items()})
        tags["bag-info.txt"] = bagfiles.bag_info([("Payload-Oxum", oxum)])
    for alg in algorithms:
        tags[f"manifest-{alg}.txt"] = _manifest(payload, alg)
    for alg in algorithms:
        tags[f"tagmanifest-{alg}.txt"] = _manifest(tags, alg)
    for name, data in {**payload, **tags}.items():
        path = root.joinpath(*name.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


PAYLOAD = {"data/a.txt": b"alpha\n", "data/sub/b.bin": bytes(range(256))}


def test_bag_in_custody_form_passes_every_check(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    report = Report("bag")
    bagcheck.check_bag(bagcheck.FolderBag(root), report)
    assert report.ok and not report.findings, report.to_dict()
    assert report.checked == {"payload_files": 2}
    assert _generic(root).findings == []
    assert _bagit_py(root)


def test_custody_bundle_is_a_generic_bag(tmp_path: Path, home: Path, cli: Runner) -> None:
    """A real bundle, unzipped: the bundle rules, RFC 8493 alone and bagit-python agree."""
    case = make_case(tmp_path, cli, files=2)
    out = tmp_path / "bundle.zip"
    code, _, err = cli("bundle", "create", str(out), "--artifact", "1", "--case", str(case))
    assert code == 0, err
    root = tmp_path / "unzipped"
    with zipfile.ZipFile(out) as zf:
        zf.extractall(root)  # our own bundle, just written
    bag = bagcheck.FolderBag(root)
    report = Report("bundle")
    bagcheck.check_bag(bag, report, extra_tag_files=(*layout.SIGNATURES, layout.VERIFY_TXT))
    bagcheck.require_tags(bag, report, layout.TAG_FILES)
    assert report.findings == [], report.to_dict()
    assert _generic(root).findings == []
    assert _bagit_py(root)
    (root / "bagit.txt").write_bytes(bagfiles.DECLARATION.replace(b"\n", b"\r\n"))
    strict = Report("bundle")
    bagcheck.check_bag(bagcheck.FolderBag(root), strict, extra_tag_files=layout.SIGNATURES)
    assert {"bag-declaration", "tag-altered", "file-unaccounted"} <= _errors(strict)


def test_flipped_bit_in_payload_is_found(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    path = root / "data" / "sub" / "b.bin"
    data = bytearray(path.read_bytes())
    data[100] ^= 0x01
    path.write_bytes(bytes(data))
    assert _errors(_generic(root)) == {"file-altered"}
    assert not _bagit_py(root)


@pytest.mark.parametrize(
    "declaration",
    [
        b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n",
        b"BagIt-Version: 1.0\rTag-File-Character-Encoding: UTF-8\r",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8",
        b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: utf-8\n",
    ],
    ids=["crlf", "cr", "no-final-newline", "lower-case-encoding"],
)
def test_generic_mode_accepts_any_valid_declaration(tmp_path: Path, declaration: bytes) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD, declaration=declaration)
    assert _generic(root).findings == []
    report = Report("bag")
    bagcheck.check_bag(bagcheck.FolderBag(root), report)
    assert _errors(report) == {"bag-declaration"}  # a bundle's declaration is exact


def test_generic_mode_reads_tag_files_in_the_declared_encoding(tmp_path: Path) -> None:
    root = tmp_path / "bag"
    (root / "data").mkdir(parents=True)
    (root / "data" / "café.txt").write_bytes(b"latte\n")
    digest = hashlib.sha512(b"latte\n").hexdigest()
    (root / "bagit.txt").write_bytes(
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n"
    )
    (root / "manifest-sha512.txt").write_bytes(f"{digest}  data/café.txt\n".encode("latin-1"))
    assert _generic(root).findings == []
    (root / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
    assert _errors(_generic(root)) == {"manifest-malformed"}  # é in Latin-1 is not UTF-8


def test_generic_mode_warns_of_manifests_it_cannot_verify(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD, algorithms=("sha256",))
    (root / "manifest-md5.txt").write_bytes(_manifest(PAYLOAD, "md5"))
    report = _generic(root)
    assert report.ok
    assert [(f.severity, f.code) for f in report.findings] == [
        (Severity.WARNING, "manifest-unchecked")
    ]
    (root / "manifest-sha256.txt").unlink()
    assert "manifest-missing" in _errors(_generic(root))  # an MD5-only bag is not verified


def test_generic_mode_checks_optional_parts_when_present(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD, algorithms=("sha512",), bag_info=False)
    (root / "tagmanifest-sha512.txt").unlink()
    (root / "notes").mkdir()
    (root / "notes" / "extra.txt").write_bytes(b"a tag file of our own\n")
    assert _generic(root).findings == []
    (root / "bag-info.txt").write_bytes(b"Payload-Oxum: 1.1\n")
    assert _errors(_generic(root)) == {"bag-info"}
    (root / "bag-info.txt").write_bytes(b"Source-Organization: us\n")
    assert _generic(root).findings == []
    custody = Report("bag")
    bagcheck.check_bag(bagcheck.FolderBag(root), custody)
    assert _errors(custody) == {"manifest-missing", "file-unaccounted", "bag-info"}


def test_generic_mode_refuses_a_data_file(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", {}, algorithms=("sha256",))
    (root / "data").write_bytes(b"not a folder\n")
    assert _errors(_generic(root)) == {"payload-folder"}


def test_unknown_algorithm_is_a_usage_error(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    with pytest.raises(ValueError, match="md5"):
        bagcheck.check_bag(bagcheck.FolderBag(root), Report("bag"), algorithms=("md5",))


# -- FolderBag refuses links and special files -------------------------------------------


def test_folder_bag_refuses_a_symlinked_file(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    (tmp_path / "outside").write_bytes(b"secret\n")
    (root / "data" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(bagfiles.HostileBagError, match="symbolic link"):
        bagcheck.FolderBag(root)


def test_folder_bag_refuses_a_symlinked_folder(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    (tmp_path / "elsewhere").mkdir()
    (root / "data" / "more").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(bagfiles.HostileBagError, match="symbolic link"):
        bagcheck.FolderBag(root)


def test_folder_bag_refuses_a_fifo(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    os.mkfifo(root / "data" / "pipe")
    with pytest.raises(bagfiles.HostileBagError, match="special file"):
        bagcheck.FolderBag(root)


def test_folder_bag_refuses_a_name_that_is_not_utf8(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    fd = os.open(os.fsencode(root / "data") + b"/\xff.txt", os.O_WRONLY | os.O_CREAT, 0o600)
    os.close(fd)
    with pytest.raises(bagfiles.HostileBagError, match="not UTF-8"):
        bagcheck.FolderBag(root)


def test_folder_bag_needs_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError):
        bagcheck.FolderBag(tmp_path / "file")
    with pytest.raises(InputError):
        bagcheck.FolderBag(tmp_path / "missing")


def test_folder_bag_may_be_reached_through_a_link(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    (tmp_path / "alias").symlink_to(root, target_is_directory=True)
    assert _generic(tmp_path / "alias").findings == []


def _swap_for_link(root: Path) -> None:
    path = root / "data" / "a.txt"
    (root.parent / "outside").write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(root.parent / "outside")


def _swap_folder_for_link(root: Path) -> None:
    (root / "data" / "sub").rename(root.parent / "moved")
    (root / "data" / "sub").symlink_to(root.parent / "moved", target_is_directory=True)


def _replace_file(root: Path) -> None:
    path = root / "data" / "a.txt"
    (root / "new").write_bytes(b"omega\n")
    (root / "new").replace(path)  # same size, another inode


def _grow_file(root: Path) -> None:
    with (root / "data" / "a.txt").open("ab") as fh:
        fh.write(b"more\n")


@pytest.mark.parametrize(
    ("name", "change"),
    [
        ("data/a.txt", _swap_for_link),
        ("data/sub/b.bin", _swap_folder_for_link),
        ("data/a.txt", _replace_file),
        ("data/a.txt", _grow_file),
    ],
    ids=["file-to-link", "folder-to-link", "replaced", "grown"],
)
def test_folder_bag_refuses_a_file_changed_after_listing(
    tmp_path: Path, name: str, change: Callable[[Path], None]
) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    bag = bagcheck.FolderBag(root)
    change(root)
    with pytest.raises(bagfiles.HostileBagError, match="changed"):
        bag.digest(name)
    with pytest.raises(bagfiles.HostileBagError, match="changed"):
        bag.read(name)


def test_folder_bag_reads_within_a_limit(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    bag = bagcheck.FolderBag(root)
    assert bag.read("data/a.txt") == b"alpha\n"
    assert bag.read("data/none") is None
    assert bag.size("data/sub/b.bin") == 256
    assert bag.digest("data/a.txt").sha512 == hashlib.sha512(b"alpha\n").hexdigest()
    with pytest.raises(InputError, match="over 100"):
        bag.read("data/sub/b.bin", 100)


# -- bagfiles: the text files --------------------------------------------------------------

H256 = "a" * 64


def _one(path_field: str, sep: str = " ") -> dict[str, str]:
    line = f"{H256}{sep}{path_field}\n".encode()
    return bagfiles.parse_manifest(line, "sha256", "manifest-sha256.txt")


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("data/100%25.txt", "data/100%.txt"),
        ("data/100%2525.txt", "data/100%25.txt"),  # decoded once, not twice
        ("data/a%2Fb.txt", "data/a%2Fb.txt"),  # only %, CR and LF are encoded
        ("data/a%20b.txt", "data/a%20b.txt"),
        ("data/100%.txt", "data/100%.txt"),  # a bare % is taken as written
        ("data/caf\u00e9 cr\u00e8me.txt", "data/caf\u00e9 cr\u00e8me.txt"),
    ],
    ids=["percent", "percent-once", "slash-literal", "space-literal", "bare-percent", "unicode"],
)
def test_percent_encoded_paths(field: str, path: str) -> None:
    assert _one(field) == {path: H256}


@pytest.mark.parametrize("field", ["data/a%0Ab", "data/a%0db", "data/a%0D%0Ab"])
def test_percent_encoded_line_breaks_are_refused(field: str) -> None:
    """RFC 8493 allows them; custody refuses names with control characters."""
    with pytest.raises(bagfiles.HostileBagError, match="control character"):
        _one(field)


def test_manifest_round_trips_percent_signs() -> None:
    data = bagfiles.manifest([("data/50%/x.txt", H256)])
    assert data == f"{H256} data/50%25/x.txt\n".encode()
    assert bagfiles.parse_manifest(data, "sha256", "m") == {"data/50%/x.txt": H256}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (f"{H256} data/a\n", {"data/a": H256}),
        (f"{H256}  data/a\n", {"data/a": H256}),
        (f"{H256}\tdata/a\n", {"data/a": H256}),
        (f"{H256} \t data/a\n", {"data/a": H256}),
        (f"{H256.upper()} data/a\n", {"data/a": H256}),
        (f"{H256} data/a b\n", {"data/a b": H256}),
        (f"{H256} data/a \n", {"data/a ": H256}),  # trailing space belongs to the name
        (f"{H256} data/a\r\n{H256} data/b\r\n", {"data/a": H256, "data/b": H256}),
        (f"{H256} data/a\r{H256} data/b\r", {"data/a": H256, "data/b": H256}),
        (f"{H256} data/a\n{H256} data/b", {"data/a": H256, "data/b": H256}),
        (f"{H256} data/a\u2028b\n", {"data/a\u2028b": H256}),  # not a line break in BagIt
        ("", {}),
    ],
    ids=[
        "space",
        "two-spaces",
        "tab",
        "mixed",
        "upper-case-hex",
        "inner-space",
        "trailing-space",
        "crlf",
        "cr",
        "no-final-newline",
        "u2028",
        "empty",
    ],
)
def test_manifest_whitespace_forms(data: str, expected: dict[str, str]) -> None:
    assert bagfiles.parse_manifest(data.encode(), "sha256", "m") == expected


@pytest.mark.parametrize(
    "data",
    [
        f" {H256} data/a\n",
        f"{H256}data/a\n",
        f"{H256} \n",
        f"{H256} data/a\n\n{H256} data/b\n",
        f"{H256[:-1]} data/a\n",
        f"{'g' * 64} data/a\n",
        f"{H256} data/a\x0c{H256} data/b\n",  # a form feed is no line break: a bad name
        f"\ufeff{H256} data/a\n",
    ],
    ids=[
        "leading-space",
        "no-separator",
        "no-path",
        "blank-line",
        "short-digest",
        "not-hex",
        "form-feed",
        "bom",
    ],
)
def test_malformed_manifest_lines(data: str) -> None:
    with pytest.raises(bagfiles.BagFormatError):
        bagfiles.parse_manifest(data.encode(), "sha256", "m")


@pytest.mark.parametrize(
    "data",
    [
        f"{H256} data/a\n{H256} data/a\n",
        f"{H256} data/a\n{'b' * 64} data/a\n",
        f"{H256} data/a\n{H256.upper()} data/a\n",
        f"{H256} data/100%\n{H256} data/100%25\n",  # the same name once decoded
    ],
    ids=["same-digest", "different-digest", "same-digest-other-case", "same-once-decoded"],
)
def test_duplicate_paths_are_malformed(data: str) -> None:
    with pytest.raises(bagfiles.BagFormatError, match="twice") as info:
        bagfiles.parse_manifest(data.encode(), "sha256", "m")
    assert not isinstance(info.value, bagfiles.HostileBagError)


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd",
        "//server/share/x",
        "../x",
        "data/../../x",
        "data/./x",
        "data//x",
        "data/x/",
        "data\\x",
        "..\\x",
        "C:\\x",
        "C:/x",
        "c:x",
        "data/a\x00b",
        "data/a\x1bb",
        "data/a\x7fb",
        "data/a\x85b",
    ],
    ids=[
        "absolute",
        "unc",
        "dotdot",
        "dotdot-inside",
        "dot",
        "empty-segment",
        "trailing-slash",
        "backslash",
        "backslash-dotdot",
        "drive-backslash",
        "drive-slash",
        "drive-relative",
        "nul",
        "escape",
        "del",
        "nel",
    ],
)
def test_hostile_paths_are_refused(path: str) -> None:
    with pytest.raises(bagfiles.HostileBagError):
        bagfiles.check_path(path)
    with pytest.raises(bagfiles.HostileBagError):
        bagfiles.parse_manifest(f"{H256} {path}\n".encode(), "sha256", "m")


def test_hostile_path_in_a_bag_is_refused_not_reported(tmp_path: Path) -> None:
    root = _make_bag(tmp_path / "bag", PAYLOAD)
    with (root / "manifest-sha512.txt").open("ab") as fh:
        fh.write(f"{'0' * 128} data/../../etc/passwd\n".encode())
    with pytest.raises(bagfiles.HostileBagError):
        _generic(root)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (bagfiles.DECLARATION, "utf-8"),
        (b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n", "utf-8"),
        (b"BagIt-Version: 1.0\rTag-File-Character-Encoding: UTF-8", "utf-8"),
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: utf-16\n", "utf-16"),
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n", "iso8859-1"),
    ],
    ids=["custody", "crlf", "cr-unterminated", "utf-16", "latin-1"],
)
def test_valid_declarations(data: bytes, encoding: str) -> None:
    assert bagfiles.parse_declaration(data) == encoding


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xef\xbb\xbf" + bagfiles.DECLARATION,
        b"BagIt-Version : 1.0\nTag-File-Character-Encoding : UTF-8\n",
        b"BagIt-Version: 1.0 \nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version:  1.0\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version:\t1.0\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8 \n",
        b" BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        b"bagit-version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version: 1.0\n",
        b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\nExtra: 1\n",
        b"BagIt-Version: 1.0\n\nTag-File-Character-Encoding: UTF-8\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: \n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: KLINGON-1\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: rot13\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: unicode_escape\n",
        b"BagIt-Version: 1.0\nTag-File-Character-Encoding: \xff\n",
    ],
    ids=[
        "empty",
        "bom",
        "space-before-colon",
        "space-after-version",
        "two-spaces",
        "tab",
        "space-after-encoding",
        "leading-space",
        "label-case",
        "version-0.97",
        "one-line",
        "order",
        "blank-third-line",
        "third-line",
        "blank-line-between",
        "no-encoding",
        "unknown-encoding",
        "bytes-codec",
        "python-only-codec",
        "not-utf8",
    ],
)
def test_invalid_declarations(data: bytes) -> None:
    with pytest.raises(bagfiles.BagFormatError):
        bagfiles.parse_declaration(data)


def test_bag_info_forms() -> None:
    data = b"Payload-Oxum: 6.1\r\nExternal-Description: one\r\n  two\rContact-Name: Ana\n"
    assert bagfiles.parse_bag_info(data) == {
        "Payload-Oxum": ["6.1"],
        "External-Description": ["one two"],
        "Contact-Name": ["Ana"],
    }
    assert bagfiles.parse_bag_info(b"A: 1\nA: 2\n") == {"A": ["1", "2"]}
    for bad in (b"  continued\nA: 1\n", b"no colon\n", b": no label\n", b"A: \xff\n"):
        with pytest.raises(bagfiles.BagFormatError):
            bagfiles.parse_bag_info(bad)
