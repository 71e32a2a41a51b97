"""An in-memory Hamming-distance index over 256-bit hashes (PDQ), built on faiss.

faiss' `IndexBinaryFlat.range_search` compares a query with every stored code in optimised
SIMD code and returns all codes *strictly below* the radius, so "distance ≤ t" is radius t+1.
Exhaustive comparison gives recall 1 by construction, which a forensic match list needs; at
1M hashes it answers a query in about 3 ms per core (see shared/reference/perf-baselines.md).
The caller keeps the index in step with the database; ids are the caller's integers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import faiss
import numpy as np
import numpy.typing as npt

BITS = 256
BYTES = BITS // 8


def hex_to_bytes(hex_hash: str) -> bytes:
    raw = bytes.fromhex(hex_hash)
    if len(raw) != BYTES:
        raise ValueError(f"expected {BITS} bits, got {len(raw) * 8}")
    return raw


class HammingIndex:
    """Append-only index of (id, 256-bit code); thread-safe for concurrent add and query."""

    def __init__(self) -> None:
        # Queries come one at a time (one per added selector): starting OpenMP threads for a
        # single query costs ~1.5 ms, scanning 50k codes on one core ~0.02 ms.
        faiss.omp_set_num_threads(1)
        self._index = faiss.IndexBinaryFlat(BITS)
        self._ids: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: Sequence[int], codes: Sequence[bytes]) -> None:
        if not ids:
            return
        matrix = np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), BYTES)
        with self._lock:
            self._index.add(matrix)
            self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])

    def query(self, code: bytes, max_distance: int) -> list[tuple[int, int]]:
        """All (id, distance) with distance ≤ max_distance, nearest first."""
        return self.query_many([code], max_distance)[0]

    def query_many(self, codes: Sequence[bytes], max_distance: int) -> list[list[tuple[int, int]]]:
        """`query` for many codes in one faiss call (a bulk import's PDQ lines)."""
        if not codes:
            return []
        queries = np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), BYTES)
        with self._lock:
            if self._index.ntotal == 0:
                return [[] for _ in codes]
            lims, distances, positions = self._index.range_search(queries, max_distance + 1)
            ids = self._ids[positions]
        found: list[list[tuple[int, int]]] = []
        for q in range(len(codes)):
            lo, hi = int(lims[q]), int(lims[q + 1])
            pairs = zip(ids[lo:hi].tolist(), distances[lo:hi].tolist(), strict=True)
            found.append([(int(i), int(d)) for i, d in sorted(pairs, key=lambda p: p[1])])
        return found


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
