"""The stored tree gives the same proofs as an in-memory tree, reading O(log² n) nodes."""

from __future__ import annotations

from pathlib import Path

from custody import merkle
from custody.logtree import TreeStore


class _Counting(TreeStore):
    reads = 0

    def node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super().node(level, index)


def test_incremental_store_matches_memory_tree(tmp_path: Path) -> None:
    store = _Counting(tmp_path / "tree")
    leaves: list[bytes] = []
    for n in range(1, 70):
        leaf = merkle.leaf_hash(n.to_bytes(4, "big"))
        leaves.append(leaf)
        store.append_leaf(leaf, n)
        assert store.is_consistent_with(n)
        memory = merkle.LeafList(leaves)
        assert merkle.root(store, n) == merkle.root(memory, n)
        for i in (0, n // 2, n - 1):
            assert merkle.inclusion_proof(store, i, n) == merkle.inclusion_proof(memory, i, n)
        for m in (1, (n + 1) // 2, n):
            assert merkle.consistency_proof(store, m, n) == merkle.consistency_proof(memory, m, n)
    store.close()


def test_proof_reads_grow_logarithmically(tmp_path: Path) -> None:
    size = 5000
    store = _Counting(tmp_path / "tree")
    store.rebuild([merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)])
    store.reads = 0
    merkle.inclusion_proof(store, 1234, size)
    bits = size.bit_length()
    assert store.reads <= bits * bits  # O(log² n) in the worst case, far below n
    store.close()


def test_inconsistent_store_is_detected(tmp_path: Path) -> None:
    store = TreeStore(tmp_path / "tree")
    store.rebuild([merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b"), merkle.leaf_hash(b"c")])
    assert store.is_consistent_with(3)
    assert not store.is_consistent_with(4)
    (tmp_path / "tree" / "0").write_bytes(b"\x00" * 40)
    assert not store.is_consistent_with(3)
