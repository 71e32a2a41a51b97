"""Multi-index hashing: exact Hamming range search over millions of 256-bit codes.

A flat scan compares a query with every stored code (faiss: ~36 queries/s per core at 10M).
Multi-index hashing (Norouzi, Punjani & Fleet, CVPR 2012) looks at a few thousand candidates
instead, and is still exact:

Cut the code into m disjoint chunks of b bits. If two codes are within distance r, their
distances on the chunks add up to at most r. Write r = m·s + a with 0 ≤ a < m. Were each of
the first a+1 chunks more than s bits apart and each later chunk more than s−1 bits apart,
the total would be at least (a+1)(s+1) + (m−a−1)·s = m·s + a + 1 > r. So one of the first a+1
chunks is within s bits, or a later chunk within s−1 bits. Looking up, in one table per chunk,
every key within that radius of the query's chunk therefore finds every code within r (bits
beyond m·b only make the true distance larger); each candidate is then checked on all 256
bits. Nothing is approximate: tests compare with brute force at the boundary.

Layout per table h: `positions[h]` holds the stored codes' positions ordered by their chunk-h
key, `offsets[h, k]` where key k's run starts — a compressed-sparse-row table, 4 bytes per code
and per key, so 10M codes with 11 tables of 2²³ keys take ~1.1 GiB with the codes themselves.
Adding codes merges them into every table (an `np.insert` per table, no re-sort of what is
there); the merged tables replace the old ones atomically, so queries never wait on a merge.
The search loop itself is compiled (`core.mih_kernel`); tables may be memory-mapped read-only
(`core.pdq_shared`), which the search only reads and a merge copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np
import numpy.typing as npt

BITS = 256
WORDS = BITS // 64

Words = npt.NDArray[np.uint64]  # (n, 4): a code as four big-endian 64-bit words
Ints = npt.NDArray[np.int64]
Found = tuple[Ints, Ints, npt.NDArray[np.int32]]  # (query row, position, distance) triples


def words_of(codes: bytes | npt.NDArray[np.uint8], count: int) -> Words:
    """Codes (`count` × 32 bytes, as stored) as (count, 4) native 64-bit words."""
    return (
        np.frombuffer(codes, dtype=">u8", count=count * WORDS)
        .reshape(count, WORDS)
        .astype(np.uint64)
    )


def chunk_bits_for(size: int) -> int:
    """Chunk width for an index of `size` codes: about log2(size), so a key's run holds about
    one code (the paper's rule), within what 4-byte offsets per key keep small."""
    if size < 1 << 18:
        return 16
    if size < 1 << 22:
        return 20
    return 23


@cache
def flip_masks(bits: int, radius: int) -> npt.NDArray[np.int64]:
    """Every `bits`-wide mask with at most `radius` bits set (0 first)."""
    masks = [0]
    for flipped in range(1, radius + 1):
        masks.extend(sum(1 << i for i in chosen) for chosen in combinations(range(bits), flipped))
    return np.array(masks, dtype=np.int64)


def chunk_key(words: Words, h: int, bits: int) -> npt.NDArray[np.int64]:
    """Key of chunk h: code bits [h·bits, (h+1)·bits), most significant first."""
    word, offset = divmod(h * bits, 64)
    spill = offset + bits - 64
    if spill <= 0:
        value = words[:, word] >> np.uint64(-spill)
    else:
        value = (words[:, word] << np.uint64(spill)) | (words[:, word + 1] >> np.uint64(64 - spill))
    return (value & np.uint64((1 << bits) - 1)).astype(np.int64)


@dataclass(frozen=True)
class MultiIndex:
    """One immutable generation of the per-chunk tables over `codes[:size]` (positions 0…size-1).

    Immutable so that readers need no lock: `added` returns the next generation and the
    owner publishes it by swapping one reference (see `core.hamming.HammingIndex`).
    """

    bits: int
    size: int
    codes: Words  # may have spare rows beyond `size`, filled by later generations
    positions: npt.NDArray[np.int32]  # (tables, size)
    offsets: npt.NDArray[np.int32]  # (tables, 2**bits + 1)

    @property
    def tables(self) -> int:
        return int(self.positions.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the codes and tables (what resident memory grows by)."""
        return self.codes.nbytes + self.positions.nbytes + self.offsets.nbytes

    @classmethod
    def build(cls, words: Words, bits: int | None = None) -> MultiIndex:
        size = len(words)
        codes = np.empty((size, WORDS), dtype=np.uint64)
        codes[:] = words
        return _build(codes, size, bits or chunk_bits_for(size))

    def added(self, words: Words, bits: int | None = None) -> MultiIndex:
        """The next generation: these codes appended at positions size, size+1, …

        Each table gets the new codes inserted at the end of their keys' runs; nothing already
        there is re-sorted. When the index has outgrown its chunk width it is laid out again
        with wider chunks (as a hash table doubles: rare, and amortised over the adds)."""
        if not len(words):
            return self
        size = self.size + len(words)
        codes = self._room_for(size)
        codes[self.size : size] = words
        wanted = bits or chunk_bits_for(size)
        if wanted != self.bits:
            return _build(codes, size, wanted)
        return _merge(self, codes, size)

    def _room_for(self, size: int) -> Words:
        """The codes array with room for `size` codes: grown by half when full, so appends
        copy each code a bounded number of times; readers of older generations only read
        rows below their own size, which a later generation never rewrites."""
        if self.codes.shape[0] >= size:
            return self.codes
        codes = np.empty((max(size, int(self.codes.shape[0] * 1.5)), WORDS), dtype=np.uint64)
        codes[: self.size] = self.codes[: self.size]
        return codes

    def search(self, queries: Words, radius: int) -> Found:
        """All (query row, position, distance) with distance ≤ radius, in no particular order."""
        if radius < 0 or not len(queries) or not self.size:
            return _nothing()
        # Imported here: numba takes ~0.3 s to import, which processes that never search
        # (a triage of an empty folder, most CLI commands) should not pay.
        from taskforce.core import mih_kernel

        radii = self._chunk_radii(radius)
        masks = flip_masks(self.bits, max(radii))
        counts = np.array([len(flip_masks(self.bits, r)) if r >= 0 else 0 for r in radii])
        keys = np.stack([chunk_key(queries, h, self.bits) for h in range(self.tables)], axis=1)
        rows, positions, distances = mih_kernel.search(
            self.codes, self.positions, self.offsets, keys, masks, counts, queries, radius
        )
        # A code near the query is usually found through several chunks.
        _, first = np.unique(rows * self.size + positions, return_index=True)
        return rows[first], positions[first], distances[first]

    def _chunk_radii(self, radius: int) -> list[int]:
        """Radius to probe in each chunk (r = m·s + a: s for the first a+1, s−1 after)."""
        within, rest = divmod(radius, self.tables)
        return [within if h <= rest else within - 1 for h in range(self.tables)]


def _nothing() -> Found:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)


def _build(codes: Words, size: int, bits: int) -> MultiIndex:
    tables = BITS // bits
    positions = np.empty((tables, size), dtype=np.int32)
    offsets = np.zeros((tables, (1 << bits) + 1), dtype=np.int32)
    order = np.arange(size, dtype=np.int64)
    for h in range(tables):
        keys = chunk_key(codes[:size], h, bits)
        # Sorting key·2³² + position orders by key, then position: np.sort's SIMD quicksort on
        # distinct 64-bit values is several times faster than a stable argsort.
        packed = np.sort((keys << 32) | order)
        positions[h] = (packed & 0xFFFFFFFF).astype(np.int32)
        np.cumsum(np.bincount(keys, minlength=1 << bits), out=offsets[h, 1:])
    return MultiIndex(bits, size, codes, positions, offsets)


def _merge(old: MultiIndex, codes: Words, size: int) -> MultiIndex:
    """`old` plus codes[old.size:size], each inserted at the end of its key's run."""
    positions = np.empty((old.tables, size), dtype=np.int32)
    offsets = np.empty(old.offsets.shape, dtype=old.offsets.dtype)  # not a memmap subclass
    order = np.arange(size - old.size, dtype=np.int64)
    for h in range(old.tables):
        keys = chunk_key(codes[old.size : size], h, old.bits)
        packed = np.sort((keys << 32) | order)
        where = old.offsets[h][(packed >> 32) + 1]
        positions[h] = np.insert(old.positions[h], where, (packed & 0xFFFFFFFF) + old.size)
        offsets[h, 0] = 0
        np.cumsum(np.bincount(keys, minlength=1 << old.bits), out=offsets[h, 1:])
        offsets[h] += old.offsets[h]
    return MultiIndex(old.bits, size, codes, positions, offsets)


def brute_force(codes: Words, queries: Words, radius: int) -> Found:
    """The same answer by comparing every pair: the reference the tests hold `search` to."""
    rows, positions, distances = [], [], []
    for q in range(len(queries)):
        d = np.zeros(len(codes), dtype=np.int32)
        for w in range(WORDS):
            d += np.bitwise_count(codes[:, w] ^ queries[q, w])
        hit = np.flatnonzero(d <= radius)
        rows.append(np.full(len(hit), q, dtype=np.int64))
        positions.append(hit.astype(np.int64))
        distances.append(d[hit])
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int32)
    return np.concatenate(rows), np.concatenate(positions), np.concatenate(distances)
