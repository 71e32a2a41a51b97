"""The previous, numpy-only candidate check of `core.mih` (until the numba loop replaced it),
kept here so that `pdq_index.py` measures the compiled search against it in the same run."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from taskforce.core.mih import WORDS, Found, Ints, MultiIndex, Words, chunk_key, flip_masks

PROBES_PER_BATCH = 2_000_000  # bounds a search's working memory (~100 MB) for any radius


def search(index: MultiIndex, queries: Words, radius: int) -> Found:
    """`MultiIndex.search` as it was: every step one numpy pass over all candidates."""
    radii = index._chunk_radii(radius)
    per_query = sum(len(flip_masks(index.bits, r)) for r in radii if r >= 0)
    batch = max(1, PROBES_PER_BATCH // max(per_query, 1))
    rows, positions, distances = [], [], []
    for first in range(0, len(queries), batch):
        found = _search(index, queries[first : first + batch], radius)
        rows.append(found[0] + first)
        positions.append(found[1])
        distances.append(found[2])
    return np.concatenate(rows), np.concatenate(positions), np.concatenate(distances)


def _probes(index: MultiIndex, queries: Words, radius: int) -> Ints:
    stride = (1 << index.bits) + 1
    groups = []
    for h, chunk_radius in enumerate(index._chunk_radii(radius)):
        if chunk_radius < 0:
            continue
        masks = flip_masks(index.bits, chunk_radius)
        groups.append((chunk_key(queries, h, index.bits)[:, None] ^ masks[None, :]) + h * stride)
    return np.concatenate(groups, axis=1)


def _search(index: MultiIndex, queries: Words, radius: int) -> Found:
    probes = _probes(index, queries, radius)
    slots = probes.shape[1]
    flat_offsets = index.offsets.reshape(-1)
    starts = flat_offsets[probes].astype(np.int64)
    lengths = (flat_offsets[probes + 1] - starts).reshape(-1)
    starts += (probes // ((1 << index.bits) + 1)) * index.size
    starts = starts.reshape(-1)
    flat_positions = index.positions.reshape(-1)
    active = np.flatnonzero(lengths)
    found_positions: list[npt.NDArray[np.int32]] = []
    found_rows: list[Ints] = []
    column = 0
    while active.size:
        found_positions.append(flat_positions[starts[active] + column])
        found_rows.append(active // slots)
        column += 1
        active = active[lengths[active] > column]
    if not found_positions:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0, dtype=np.int32)
    positions = np.concatenate(found_positions).astype(np.int64)
    rows = np.concatenate(found_rows)
    as_records = index.codes.view(np.dtype((np.void, 8 * WORDS))).reshape(-1)
    candidates = as_records.take(positions).view(np.uint64).reshape(-1, WORDS)
    distances = np.zeros(len(positions), dtype=np.int32)
    for w in range(WORDS):
        distances += np.bitwise_count(candidates[:, w] ^ queries[:, w].take(rows))
    keep = distances <= radius
    positions, rows, distances = positions[keep], rows[keep], distances[keep]
    _, first = np.unique(rows * index.size + positions, return_index=True)
    return rows[first], positions[first], distances[first]
