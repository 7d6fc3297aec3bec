"""The unit index of a chat import: proofs through it equal the full tree's, a bundle
made through it is the bundle made without it, and a wrong index is never believed.

The import and the bundles are real ``custody`` commands on a WhatsApp export of 700
messages (three runs of 256 leaves, the last one short) with attachments in a zip.
"""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path
from typing import Any

import pytest

from custody import commitments, merkle, unitindex
from custody.bundle import indexed, plan_chat
from custody.bundle.indexed import IndexedTree
from custody.case import open_case
from custody.errors import ExitCode
from custody.units import UnitLists, digests_of

from .test_bundle import World, description, exhibit, make_world, verify_json

SIZES = [1, 2, 255, 256, 257, 511, 512, 700, 1025]
MESSAGES = 700


def _units(n: int, seed: int) -> tuple[bytes, bytes, list[str]]:
    """Index file and commitment list of ``n`` random units; and their commitments."""
    rng = random.Random(seed)
    listing, disclosures = io.BytesIO(), io.BytesIO()
    recorder = unitindex.IndexRecorder()
    lists = UnitLists(listing, disclosures, recorder)
    out = []
    for i in range(n):
        data = rng.randbytes(rng.randrange(1, 40))
        out.append(lists.commit("test-unit", f"u:{i}", digests_of(data)))
    assert lists.root() == commitments.commitments_root(out)
    return recorder.to_bytes(lists.builder), listing.getvalue(), out


@pytest.mark.parametrize("n", SIZES)
def test_root_builder_keeps_every_run_and_the_tail(n: int) -> None:
    rng = random.Random(n)
    leaves = [rng.randbytes(32) for _ in range(n)]
    builder = merkle.RootBuilder(keep_level=8)
    for leaf in leaves:
        builder.add(leaf)
    runs = [leaves[i : i + 256] for i in range(0, n, 256)]
    expected = [merkle.root(merkle.LeafList(r), len(r)) for r in runs]
    tail = builder.tail(8)
    assert builder.kept == expected[: n // 256]
    assert tail == (expected[-1] if n % 256 else None)
    assert builder.root() == merkle.root(merkle.LeafList(leaves), n)


@pytest.mark.parametrize("n", SIZES)
def test_proofs_through_the_index_equal_the_full_trees(n: int) -> None:
    data, listing, cs = _units(n, seed=n)
    index = unitindex.UnitIndex(data)
    assert (index.count, index.messages, index.chunk_count) == (n, 0, -(-n // 256))
    full = merkle.LeafList([merkle.leaf_hash(bytes.fromhex(c[7:])) for c in cs])
    tree = IndexedTree(index, io.BytesIO(listing))
    picks = {0, n - 1, n // 2, min(255, n - 1), min(256, n - 1), min(257, n - 1)}
    for i in sorted(picks):
        assert merkle.inclusion_proof(tree, i, n) == merkle.inclusion_proof(full, i, n), i
    assert merkle.root(tree, n) == merkle.root(full, n)


def test_an_index_of_other_units_is_caught_by_its_run_hash() -> None:
    data, _, _ = _units(300, seed=1)
    _, other_listing, _ = _units(300, seed=2)
    tree = IndexedTree(unitindex.UnitIndex(data), io.BytesIO(other_listing))
    with pytest.raises(indexed._Mismatch):
        tree.node(0, 5)


@pytest.mark.parametrize(
    "cut", [b"", b"CUSTIDX2" + bytes(24), bytes(40)], ids=["empty", "magic", "short"]
)
def test_malformed_index_files_are_refused(cut: bytes) -> None:
    with pytest.raises(ValueError):
        unitindex.UnitIndex(cut)


# -- through the commands ------------------------------------------------------------


def _export(root: Path) -> Path:
    """A zipped WhatsApp export: MESSAGES messages, every 50th with a photo attached."""
    lines, media = [], {}
    for i in range(MESSAGES):
        hh, mm = divmod(i, 60)
        who = ("Ana Lima", "Bruno Costa")[i % 2]
        stamp = f"{1 + hh // 24:02d}/11/2026, {hh % 24:02d}:{mm:02d}"
        if i % 50 == 7:
            name = f"IMG-20261101-WA{i:04d}.jpg"
            media[name] = b"\xff\xd8\xff\xe0 photo " + str(i).encode()
            lines.append(f"{stamp} - {who}: {name} (file attached)")
        else:
            lines.append(f"{stamp} - {who}: message number {i}")
    path = root / "WhatsApp Chat with Bruno Costa.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("WhatsApp Chat with Bruno Costa.txt", "\n".join(lines) + "\n")
        for name, data in media.items():
            zf.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> World:
    w = make_world(tmp_path_factory.mktemp("bundle-index"))
    imported = w.json("import", str(_export(w.root)), "--case", str(w.case))
    w.seqs["big"], w.import_id = imported["entry"], imported["import_id"]
    return w


def _index_path(w: World) -> Path:
    (path,) = [
        p
        for p in unitindex.cache_dir(open_case(w.case)).iterdir()
        if unitindex.UnitIndex(p.read_bytes()).messages == MESSAGES
    ]
    index = unitindex.open_index(open_case(w.case), path.stem)
    assert index is not None
    index.close()
    return path


# message 0, both sides of the first two run boundaries, one with a photo, the last
PICKS = ("0", "250", "251", "257", "507", "699")


def _bundle(w: World) -> Path:
    args = [a for n in PICKS for a in ("--message", w.message(int(n)))]
    return w.bundle(*args)


def _units_of(path: Path, seq: int) -> list[dict[str, Any]]:
    ex = exhibit(description(path), seq)
    return sorted(
        (i for i in ex["items"] if i["role"] in ("message", "attachment")),
        key=lambda i: i["index"],
    )


def test_import_writes_an_index_that_case_verify_accepts(big: World) -> None:
    path = _index_path(big)
    index = unitindex.UnitIndex(path.read_bytes())
    assert index.count == MESSAGES + MESSAGES // 50  # a unit for each message and photo
    code, out, err = big.run("verify", "--case", str(big.case), "--deep", "--json")
    assert code == ExitCode.OK, (out, err)


def test_bundle_through_the_index_reads_no_whole_set(
    big: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def whole_set(*_: object, **__: object) -> None:
        raise AssertionError("the whole commitment list was read")

    monkeypatch.setattr(plan_chat, "read_set", whole_set)
    monkeypatch.setattr(plan_chat.ChatPlanner, "message_docs", whole_set)
    path = _bundle(big)
    units = _units_of(path, big.seqs["big"])
    assert [u["unit"] for u in units if u["role"] == "message"] == [
        big.message(int(n)) for n in PICKS
    ]
    photos = [big.message(int(n)) + ":0" for n in PICKS if int(n) % 50 == 7]
    assert [u["unit"] for u in units if u["role"] == "attachment"] == photos
    assert len(photos) == 2
    code, report = verify_json(big, path)
    assert code == ExitCode.OK, report["findings"]


def test_the_index_changes_nothing_in_the_bundle(big: World, tmp_path: Path) -> None:
    with_index = _units_of(_bundle(big), big.seqs["big"])
    path = _index_path(big)
    kept = tmp_path / "index"
    path.rename(kept)
    try:
        without = _units_of(_bundle(big), big.seqs["big"])
    finally:
        kept.rename(path)
    assert with_index == without
    assert all(u["proof"] for u in with_index)


@pytest.mark.parametrize("where", ["offsets", "runs", "swapped"])
def test_a_wrong_index_is_not_believed(big: World, tmp_path: Path, where: str) -> None:
    path = _index_path(big)
    good = path.read_bytes()
    index = unitindex.UnitIndex(good)
    bad = bytearray(good)
    if where == "offsets":  # message 257's line said to start elsewhere
        at = index._messages + 8 * 257
        bad[at : at + 8] = (index.message_span(257)[0] + 3).to_bytes(8, "little")
    elif where == "runs":  # every run's hash changed
        for j in range(index.chunk_count):
            bad[index._chunks + 32 * j] ^= 0x01
    else:  # the index of another import under this one's name
        other = make_world(tmp_path / "other")
        other.json("import", str(_export(other.root)), "--case", str(other.case))
        bad = bytearray(_index_path(other).read_bytes())
        assert bad != good
    path.chmod(0o644)
    path.write_bytes(bytes(bad))
    try:
        bundle = _bundle(big)
    finally:
        path.write_bytes(good)
    code, report = verify_json(big, bundle)
    assert code == ExitCode.OK, report["findings"]
    assert [u["unit"] for u in _units_of(bundle, big.seqs["big"]) if u["role"] == "message"] == [
        big.message(int(n)) for n in PICKS
    ]


def test_an_index_for_no_artifact_is_an_unexpected_file(big: World) -> None:
    stray = unitindex.cache_dir(open_case(big.case)) / ("ab" * 32 + ".idx")
    stray.write_bytes(b"CUSTIDX1")
    try:
        code, out, _ = big.run("verify", "--case", str(big.case), "--json")
    finally:
        stray.unlink()
    assert code == ExitCode.NOT_VERIFIED
    assert "extra-file" in {f["code"] for f in json.loads(out)["findings"]}
