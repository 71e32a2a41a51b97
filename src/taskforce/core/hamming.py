"""An in-memory Hamming-distance index over 256-bit hashes (PDQ): exact, fast at 10M, live.

Two parts. New codes go to a small *tail*, a faiss `IndexBinaryFlat` that compares the query
with each of its codes in SIMD code (at most `TAIL_LIMIT` of them: ~0.1 ms a query). When the
tail is full it is merged into the *main* part, a multi-index-hashing table (`core.mih`) that
answers a radius-31 query against 10M codes from a few thousand candidates. Both parts are
exact, so the index returns every stored code within the distance (recall 1, which a forensic
match list needs) however large it grows, and an add is visible to the next query at once.

Writers are serialised; a merge builds the next main generation without blocking readers,
which keep answering from the previous main part plus the full tail until one swap publishes
both. The caller keeps the index in step with the database; ids are the caller's integers.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import faiss
import numpy as np
import numpy.typing as npt

from taskforce.core.mih import MultiIndex, words_of

BITS = 256
BYTES = BITS // 8
TAIL_LIMIT = 65_536


def hex_to_bytes(hex_hash: str) -> bytes:
    raw = bytes.fromhex(hex_hash)
    if len(raw) != BYTES:
        raise ValueError(f"expected {BITS} bits, got {len(raw) * 8}")
    return raw


def _matrix(codes: Sequence[bytes]) -> npt.NDArray[np.uint8]:
    return np.frombuffer(b"".join(codes), dtype=np.uint8).reshape(len(codes), BYTES)


class HammingIndex:
    """Append-only index of (id, 256-bit code); thread-safe for concurrent add and query."""

    def __init__(self, tail_limit: int = TAIL_LIMIT) -> None:
        # Queries come one at a time (one per added selector): starting OpenMP threads for a
        # single query costs ~1.5 ms, scanning 50k codes on one core ~0.02 ms.
        faiss.omp_set_num_threads(1)
        self._tail_limit = tail_limit
        self._write_lock = threading.Lock()  # one writer at a time
        self._read_lock = threading.Lock()  # guards the references below and the faiss tail
        self._main: MultiIndex | None = None
        self._main_ids: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._tail = faiss.IndexBinaryFlat(BITS)
        self._tail_ids: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._tail_codes: list[npt.NDArray[np.uint8]] = []

    def __len__(self) -> int:
        with self._read_lock:
            return len(self._main_ids) + len(self._tail_ids)

    @property
    def nbytes(self) -> int:
        """Memory held by codes, tables and ids."""
        with self._read_lock:
            main = 0 if self._main is None else self._main.nbytes
            return main + self._main_ids.nbytes + 2 * len(self._tail_ids) * (BYTES + 8)

    def add(self, ids: Sequence[int], codes: Sequence[bytes]) -> None:
        if not ids:
            return
        matrix = _matrix(codes)
        new_ids = np.asarray(ids, dtype=np.int64)
        with self._write_lock:
            with self._read_lock:
                if len(self._tail_ids) + len(new_ids) < self._tail_limit:
                    self._tail.add(matrix)
                    self._tail_ids = np.concatenate([self._tail_ids, new_ids])
                    self._tail_codes.append(matrix)
                    return
                main, main_ids = self._main, self._main_ids
                pending_ids = np.concatenate([self._tail_ids, new_ids])
                pending = np.concatenate([*self._tail_codes, matrix])
            # The slow part, without the read lock: readers go on with main + tail.
            words = words_of(pending, len(pending))
            merged = MultiIndex.build(words) if main is None else main.added(words)
            with self._read_lock:
                self._main = merged
                self._main_ids = np.concatenate([main_ids, pending_ids])
                self._tail.reset()
                self._tail_ids = np.empty(0, dtype=np.int64)
                self._tail_codes = []

    def truncate(self, max_id: int) -> None:
        """Drop the codes whose id is above `max_id` (ids must have been added in increasing
        order): the database rolled them back. Cheap while they are all in the tail; reaching
        into the main part means building it again from the codes that stay."""
        with self._write_lock, self._read_lock:
            keep_tail = int(np.searchsorted(self._tail_ids, max_id, side="right"))
            if keep_tail < len(self._tail_ids):
                kept = np.concatenate([*self._tail_codes, np.empty((0, BYTES), np.uint8)])
                kept = kept[:keep_tail]
                self._tail.reset()
                self._tail.add(kept)
                self._tail_ids = self._tail_ids[:keep_tail]
                self._tail_codes = [kept]
            keep_main = int(np.searchsorted(self._main_ids, max_id, side="right"))
            if self._main is not None and keep_main < len(self._main_ids):
                self._main = MultiIndex.build(self._main.codes[:keep_main]) if keep_main else None
                self._main_ids = self._main_ids[:keep_main]

    def main_part(self) -> tuple[MultiIndex | None, npt.NDArray[np.int64]]:
        """The main part and its ids (ascending), as one generation: what a process shares."""
        with self._read_lock:
            return self._main, self._main_ids

    def code_of(self, code_id: int) -> bytes | None:
        """The stored code of `code_id`, if held."""
        with self._read_lock:
            at = int(np.searchsorted(self._main_ids, code_id))
            held = at < len(self._main_ids) and self._main_ids[at] == code_id
            if self._main is not None and held:
                return np.asarray(self._main.codes[at], dtype=">u8").tobytes()
            at = int(np.searchsorted(self._tail_ids, code_id))
            if at < len(self._tail_ids) and self._tail_ids[at] == code_id:
                tail = np.concatenate([*self._tail_codes, np.empty((0, BYTES), np.uint8)])
                return bytes(tail[at].tobytes())
            return None

    def adopt(self, main: MultiIndex, ids: npt.NDArray[np.int64]) -> bool:
        """Answer from `main` (another process's generation: ids ascending, every id up to
        ids[-1]) in place of this index's own main part and of its tail codes up to ids[-1].
        False, and nothing changes, where this index's main part reaches as far already."""
        last = int(ids[-1])
        with self._write_lock, self._read_lock:
            if len(self._main_ids) and int(self._main_ids[-1]) > last:
                return False
            if len(self._main_ids) and int(self._main_ids[-1]) == last and self._main is main:
                return False
            keep = int(np.searchsorted(self._tail_ids, last, side="right"))
            if keep:
                later = np.concatenate([*self._tail_codes, np.empty((0, BYTES), np.uint8)])
                later = later[keep:]
                self._tail.reset()
                self._tail.add(later)
                self._tail_ids = self._tail_ids[keep:]
                self._tail_codes = [later]
            self._main = main
            self._main_ids = ids
            return True

    def query(self, code: bytes, max_distance: int) -> list[tuple[int, int]]:
        """All (id, distance) with distance ≤ max_distance, nearest first."""
        return self.query_many([code], max_distance)[0]

    def query_many(self, codes: Sequence[bytes], max_distance: int) -> list[list[tuple[int, int]]]:
        """`query` for many codes at once (a bulk import's PDQ lines, a triage batch)."""
        if not codes:
            return []
        queries = _matrix(codes)
        found: list[list[tuple[int, int]]] = [[] for _ in codes]
        with self._read_lock:
            main, main_ids = self._main, self._main_ids
            if self._tail.ntotal:
                lims, distances, positions = self._tail.range_search(queries, max_distance + 1)
                tail_ids = self._tail_ids[positions]
                for q in range(len(codes)):
                    lo, hi = int(lims[q]), int(lims[q + 1])
                    found[q].extend(
                        zip(
                            tail_ids[lo:hi].tolist(),
                            distances[lo:hi].astype(int).tolist(),
                            strict=True,
                        )
                    )
        if main is not None:
            rows, positions, distances = main.search(words_of(queries, len(codes)), max_distance)
            for row, found_id, distance in zip(
                rows.tolist(), main_ids[positions].tolist(), distances.tolist(), strict=True
            ):
                found[row].append((found_id, distance))
        return [sorted(pairs, key=lambda p: (p[1], p[0])) for pairs in found]


def hamming(a: bytes, b: bytes) -> int:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()
