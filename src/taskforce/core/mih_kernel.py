"""The multi-index search loop, compiled (numba): one pass per query, no temporary arrays.

Done with numpy, a radius-31 query at 10M codes builds arrays of its ~2,800 table keys, their
runs and ~3,300 candidate positions, then gathers each candidate's 32 bytes, each step one pass
over memory: about 13 passes per candidate, and the two cores share one memory bus (two
threads gave 1.2x). Here each key's run is walked and each candidate checked on all 256 bits
as soon as it is found, so a candidate costs one random read of its code; the loop releases
the GIL, so threads scale with cores. Compiled once per process (cached on disk when the
package folder is writable).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


def _ctpop(_typingctx: Any, _value: Any) -> Any:
    """The CPU's popcount instruction (llvm.ctpop), which numba does not expose for integers."""
    signature = types.uint64(types.uint64)

    def codegen(_context: Any, builder: ir.IRBuilder, _sig: Any, args: Any) -> Any:
        return builder.ctpop(args[0])

    return signature, codegen


_popcount: Any = intrinsic(_ctpop)


_get_or_insert_function: Any = cgutils.get_or_insert_function  # untyped in numba


def _prefetch_address(_typingctx: Any, _address: Any) -> Any:
    """Ask the CPU to start loading the cache line at an address (llvm.prefetch): a hint
    that never faults and never waits, so the next pass finds its reads already under way."""
    signature = types.void(types.intp)

    def codegen(context: Any, builder: ir.IRBuilder, _sig: Any, args: Any) -> Any:
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        function = _get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32]),
            "llvm.prefetch.p0",
        )
        read, keep, data = ir.Constant(int32, 0), ir.Constant(int32, 3), ir.Constant(int32, 1)
        builder.call(function, [builder.inttoptr(args[0], byte_pointer), read, keep, data])
        return context.get_dummy_value()

    return signature, codegen


_prefetch: Any = intrinsic(_prefetch_address)


@numba.njit(nogil=True, cache=True)
def search(
    codes: npt.NDArray[np.uint64],
    positions: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int32],
    keys: npt.NDArray[np.int64],
    masks: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    queries: npt.NDArray[np.uint64],
    radius: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int32]]:
    """(query row, position, distance) for every code within `radius`, once per table that
    finds it: query q looks up, in table h, keys[q, h] ^ masks[m] for m < counts[h].

    Each query goes in three passes, each its own function — its keys' runs, their positions,
    the candidates' codes — so that the reads of a pass do not wait on each other and the CPU
    keeps many cache misses in flight. Measured at 10M codes: walking run by run, checking
    each candidate as found, was 1.1x numpy; the three passes in one loop body 1.2x; as three
    functions 2.1x (the compiled loops are tighter); prefetching each next pass's reads from the
    one before, another 7-13%."""
    probes = 0
    for h in range(counts.shape[0]):
        probes += counts[h]
    starts = np.empty(probes, np.int64)
    ends = np.empty(probes, np.int64)
    tables = np.empty(probes, np.int64)
    live = np.empty(probes, np.int64)
    candidates = np.empty(4 * probes, np.int64)
    hit_positions = np.empty(4 * probes, np.int64)
    hit_distances = np.empty(4 * probes, np.int32)
    capacity = 1024
    rows = np.empty(capacity, np.int64)
    found = np.empty(capacity, np.int64)
    distances = np.empty(capacity, np.int32)
    n = 0
    for q in range(queries.shape[0]):
        slot, total = _runs(offsets, positions, keys[q], masks, counts, starts, ends, tables)
        if total > candidates.shape[0]:
            candidates = np.empty(2 * total, np.int64)
            hit_positions = np.empty(2 * total, np.int64)
            hit_distances = np.empty(2 * total, np.int32)
        c = _gather(positions, codes, starts, ends, tables, slot, live, candidates)
        hits = _check(codes, candidates, c, queries[q], radius, hit_positions, hit_distances)
        if n + hits > capacity:
            capacity = 2 * (n + hits)
            rows = _grown(rows, capacity)
            found = _grown(found, capacity)
            distances = _grown(distances, capacity)
        rows[n : n + hits] = q
        found[n : n + hits] = hit_positions[:hits]
        distances[n : n + hits] = hit_distances[:hits]
        n += hits
    return rows[:n].copy(), found[:n].copy(), distances[:n].copy()


@numba.njit(nogil=True, cache=True)
def _grown(values: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    bigger = np.empty(capacity, values.dtype)
    bigger[: values.shape[0]] = values
    return bigger


@numba.njit(nogil=True, cache=True)
def _check(
    codes: npt.NDArray[np.uint64],
    candidates: npt.NDArray[np.int64],
    count: int,
    query: npt.NDArray[np.uint64],
    radius: int,
    hit_positions: npt.NDArray[np.int64],
    hit_distances: npt.NDArray[np.int32],
) -> int:
    """Candidates within `radius` of the query, checked on all 256 bits; how many."""
    q0, q1, q2, q3 = query[0], query[1], query[2], query[3]
    hits = 0
    for i in range(count):
        p = candidates[i]
        d = (
            _popcount(codes[p, 0] ^ q0)
            + _popcount(codes[p, 1] ^ q1)
            + _popcount(codes[p, 2] ^ q2)
            + _popcount(codes[p, 3] ^ q3)
        )
        if d <= radius:
            hit_positions[hits] = p
            hit_distances[hits] = d
            hits += 1
    return hits


@numba.njit(nogil=True, cache=True)
def _runs(
    offsets: npt.NDArray[np.int32],
    positions: npt.NDArray[np.int32],
    keys: npt.NDArray[np.int64],
    masks: npt.NDArray[np.int64],
    counts: npt.NDArray[np.int64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    tables: npt.NDArray[np.int64],
) -> tuple[int, int]:
    """Where each probed key's run starts and ends; (how many keys, how many codes). The
    first position of each run is prefetched for `_gather`."""
    slot = 0
    total = 0
    base = positions.ctypes.data
    row = positions.shape[1] * positions.itemsize
    for h in range(counts.shape[0]):
        key = keys[h]
        for m in range(counts[h]):
            probe = key ^ masks[m]
            starts[slot] = offsets[h, probe]
            ends[slot] = offsets[h, probe + 1]
            tables[slot] = h
            _prefetch(base + h * row + starts[slot] * positions.itemsize)
            total += ends[slot] - starts[slot]
            slot += 1
    return slot, total


@numba.njit(nogil=True, cache=True)
def _gather(
    positions: npt.NDArray[np.int32],
    codes: npt.NDArray[np.uint64],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    tables: npt.NDArray[np.int64],
    slots: int,
    live: npt.NDArray[np.int64],
    candidates: npt.NDArray[np.int64],
) -> int:
    """The runs' positions, into `candidates`; how many. Runs hold about one code each: they
    are read a column at a time over the runs still long enough, without a branch per run
    (mispredicted, it would empty the pipeline and with it the reads in flight). Each
    candidate's code is prefetched for `_check`."""
    base = codes.ctypes.data
    row = codes.shape[1] * codes.itemsize
    active = 0
    for s in range(slots):
        live[active] = s
        active += ends[s] > starts[s]
    c = 0
    column = 0
    while active:
        still = 0
        for j in range(active):
            s = live[j]
            position = positions[tables[s], starts[s] + column]
            candidates[c] = position
            _prefetch(base + position * row)
            c += 1
            live[still] = s
            still += ends[s] > starts[s] + column + 1
        active = still
        column += 1
    return c
