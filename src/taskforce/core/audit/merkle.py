"""RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing, the math behind the audit log's
signed tree heads.

A leaf's hash is SHA-256(0x00 || data), an interior node's SHA-256(0x01 || left || right); the
tree over n leaves splits at the largest power of two below n (RFC 9162 §2.1.1). Because the
tree is fixed by its leaves' order, a signed head (size, root) commits to every entry *and*
their order: altering, removing, reordering or appending in the middle changes the root, and a
database holding fewer leaves than a head's size has been truncated.

`Frontier` keeps only the roots of the perfect subtrees along the right edge (at most 64
hashes), so the sealer extends the tree by one leaf in O(log n) and stores its state in one row.
Proofs (§2.1.3, §2.1.4) let a federation peer check that a later head extends an earlier one
without receiving the entries.

Written here rather than taken from a library: the hashing is a dozen lines of the RFC, and the
incremental frontier stored in the database is what no Merkle library offers; the results are
checked against `pymerkle`'s RFC 9162 trees in the tests.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The right edge of a tree: the roots of its perfect subtrees, largest (leftmost) first.

    Their heights are the set bits of `size`, so the hashes alone describe the state."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} edge subtrees")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        # merge equal-height neighbours: one merge per trailing one bit of the old size
        size = self.size
        while size & 1:
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            size >>= 1
        self.size += 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for subtree in reversed(self.hashes[:-1]):
            root = node_hash(subtree, root)
        return root

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def to_hex(self) -> list[str]:
        return [h.hex() for h in self.hashes]

    @classmethod
    def from_hex(cls, size: int, hashes: Sequence[str]) -> Frontier:
        return cls(size, [bytes.fromhex(h) for h in hashes])


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over the leaf hashes (RFC 9162 §2.1.1)."""
    frontier = Frontier()
    frontier.extend(leaves)
    return frontier.root()


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree over `leaves` (§2.1.3.1)."""
    if not 0 <= index < len(leaves):
        raise ValueError("index outside the tree")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(leaves[:k], index), root(leaves[k:])]
    return [*inclusion_proof(leaves[k:], index - k), root(leaves[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], head: bytes
) -> bool:
    """§2.1.3.2: whether `leaf` sits at `index` in the tree of `size` leaves with root `head`."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == head


def consistency_proof(leaves: Sequence[bytes], old_size: int) -> list[bytes]:
    """The proof that the tree over `leaves` extends its first `old_size` leaves (§2.1.4.1)."""
    if not 0 < old_size <= len(leaves):
        raise ValueError("old size must be between 1 and the tree size")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """§2.1.4.2: whether the tree (`new_size`, `new_root`) extends (`old_size`, `old_root`)."""
    if old_size == new_size:
        return not proof and old_root == new_root
    if not 0 < old_size < new_size:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
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
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
