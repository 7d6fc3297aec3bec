"""RFC 6962 / RFC 9162 Merkle trees: roots, inclusion and consistency proofs.

Hashing: leaf = SHA-256(0x00 || entry bytes), node = SHA-256(0x01 || left || right),
the empty tree hashes to SHA-256(""). Proof generation works over any
:class:`NodeSource` that returns the hash of an aligned complete subtree; verification
follows RFC 9162 sections 2.1.3.2 and 2.1.4.2. :class:`RootBuilder` computes a root over
leaves given one at a time, without keeping them.

Policy on edge cases (pinned against transparency-dev's vectors): every hash is exactly
32 bytes; a consistency proof from size 0 is refused as meaningless; ``size1 == size2``
needs an empty proof and equal roots.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly less than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Gives the hash of the complete subtree ``[index * 2**level, (index + 1) * 2**level)``."""

    def node(self, level: int, index: int) -> bytes:
        """Return the hash of one aligned complete subtree."""
        ...


class LeafList:
    """A :class:`NodeSource` over leaf hashes in memory, with complete levels built once."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.levels: list[list[bytes]] = [list(leaves)]
        while len(self.levels[-1]) > 1:
            prev = self.levels[-1]
            self.levels.append(
                [node_hash(prev[i], prev[i + 1]) for i in range(0, len(prev) - 1, 2)]
            )

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self.levels[level][index]


class RootBuilder:
    """The RFC 6962 root of leaf hashes given one at a time, in O(log n) memory.

    It keeps one hash for each complete subtree of the tree so far: the subtrees whose
    sizes are the 1 bits of the leaf count, largest (leftmost) first. Adding a leaf merges
    equal-sized subtrees, as a binary counter carries; :meth:`root` folds them from the
    right, which is MTH (RFC 9162 section 2.1.1): its left part is always the largest
    power-of-two subtree. ``RootBuilder`` over leaves ``L`` gives ``root(LeafList(L),
    len(L))`` without holding ``L``.
    """

    __slots__ = ("_keep", "_size", "_stack", "kept")

    def __init__(self, keep_level: int | None = None) -> None:
        self._stack: list[bytes] = []
        self._size = 0
        self._keep = keep_level or -1
        self.kept: list[bytes] = []
        """With ``keep_level`` L: the hash of each complete aligned run of 2**L leaves, in
        order, as it is formed (no extra hashing: it is an intermediate of :meth:`add`)."""

    @property
    def size(self) -> int:
        """The number of leaves added."""
        return self._size

    def add(self, leaf: bytes) -> None:
        """Add the next leaf hash (already hashed with :func:`leaf_hash`)."""
        node, n, level = leaf, self._size, 0
        while n & 1:  # each trailing 1 bit is a subtree of the same size as ``node``
            node = node_hash(self._stack.pop(), node)
            n >>= 1
            level += 1
            if level == self._keep:
                self.kept.append(node)
        self._stack.append(node)
        self._size += 1

    def tail(self, level: int) -> bytes | None:
        """MTH of the last ``size % 2**level`` leaves (the incomplete run after the last
        complete one), or ``None`` when there is none."""
        rest = self._size & ((1 << level) - 1)
        if not rest:
            return None
        parts = self._stack[len(self._stack) - rest.bit_count() :]
        node = parts[-1]
        for left in reversed(parts[:-1]):
            node = node_hash(left, node)
        return node

    def root(self) -> bytes:
        """The root of the leaves added so far (``EMPTY_ROOT`` for none)."""
        if not self._stack:
            return EMPTY_ROOT
        node = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            node = node_hash(left, node)
        return node


def subtree_hash(src: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves ``[start, end)``, where ``start`` is aligned as in an RFC 6962 tree."""
    n = end - start
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        level = n.bit_length() - 1
        return src.node(level, start >> level)
    k = _split(n)
    return node_hash(subtree_hash(src, start, start + k), subtree_hash(src, start + k, end))


def root(src: NodeSource, size: int) -> bytes:
    """Root hash of the first ``size`` leaves."""
    return subtree_hash(src, 0, size)


def inclusion_proof(src: NodeSource, index: int, size: int) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]), leaf sibling first.

    Raises:
        ValueError: ``index`` is not below ``size``.
    """
    if not 0 <= index < size:
        raise ValueError(f"index {index} not in a tree of size {size}")
    proof: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(subtree_hash(src, start + k, end))
            end = start + k
        else:
            proof.append(subtree_hash(src, start, start + k))
            start = start + k
    proof.reverse()
    return proof


def consistency_proof(src: NodeSource, size1: int, size2: int) -> list[bytes]:
    """RFC 9162 PROOF(size1, D[0:size2]).

    Raises:
        ValueError: the sizes are not ``0 < size1 <= size2``.
    """
    if not 0 < size1 <= size2:
        raise ValueError(f"no consistency proof from {size1} to {size2}")
    return _subproof(src, size1, 0, size2, True)


def _subproof(src: NodeSource, m: int, start: int, end: int, whole: bool) -> list[bytes]:
    n = end - start
    if m == n:
        return [] if whole else [subtree_hash(src, start, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(src, m, start, start + k, whole), subtree_hash(src, start + k, end)]
    return [*_subproof(src, m - k, start + k, end, False), subtree_hash(src, start, start + k)]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """Check an inclusion proof (RFC 9162 section 2.1.3.2)."""
    if index < 0 or index >= size or len(leaf) != 32 or len(expected_root) != 32:
        return False
    if any(len(p) != 32 for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> bool:
    """Check a consistency proof (RFC 9162 section 2.1.4.2)."""
    if len(root1) != 32 or len(root2) != 32 or any(len(p) != 32 for p in proof):
        return False
    if size1 <= 0 or size2 < size1:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if not proof:
        return False
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0
