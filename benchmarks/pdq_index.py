"""PDQ index: radius-31 search over 1M and 10M hashes, taskforce's index beside a flat scan.

For each size N, N random 256-bit hashes are stored (PDQ hashes of real pictures are close to
uniform: the hasher thresholds at the median, so each bit is set about half the time) and
10,000 queries are asked: half planted within distance 0–31 of a stored hash (flipped bits at
random positions), half random. In the same run:

* taskforce: `core.hamming.HammingIndex` (multi-index hashing + a faiss flat tail), queried in
  batches of 1,000 from one thread and from one thread per core; its resident memory is the
  growth of the process's RSS over the build.
* baseline: faiss `IndexBinaryFlat.range_search` (exhaustive SIMD scan, all cores) — exact by
  construction, so its answer is the brute-force truth the recall is computed against.

Then a live add: single hashes are added one call at a time until the tail has been merged
into the main index at least once, each found by a query right after its add.

Run: .venv/bin/python benchmarks/pdq_index.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from taskforce.core.hamming import TAIL_LIMIT, HammingIndex

console = Console(stderr=True, width=150)
RADIUS = 31
BATCH = 1_000
GIB = 2**30


def rss() -> int:
    """Resident memory of this process, bytes."""
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def planted_queries(
    stored: npt.NDArray[np.uint8], count: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Half: a stored hash with 0–31 random bits flipped (and which one); half: random."""
    near = count // 2
    queries = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    sources = rng.integers(0, len(stored), near)
    for i, source in enumerate(sources):
        bits = np.unpackbits(stored[source])
        flips = rng.choice(256, int(rng.integers(0, RADIUS + 1)), replace=False)
        bits[flips] ^= 1
        queries[i] = np.packbits(bits)
    return queries, sources


@dataclass
class Row:
    size: int
    build_s: float
    memory: int
    one_thread_qps: float
    threads_qps: float
    baseline_qps: float
    recall: float
    extra: int
    planted_found: int
    planted: int
    matches: int
    add_median_us: float
    add_max_s: float
    adds: int


def pairs(found: list[list[tuple[int, int]]]) -> set[tuple[int, int]]:
    return {(q, hit) for q, matches in enumerate(found) for hit, _distance in matches}


def run(size: int, queries_count: int, threads: int, seed: int) -> Row:
    rng = np.random.default_rng(seed)
    stored = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    queries, sources = planted_queries(stored, queries_count, rng)
    query_codes = [q.tobytes() for q in queries]

    console.print(f"[bold]{size:,} hashes[/]: building taskforce's index …")
    before = rss()
    started = time.perf_counter()
    index = HammingIndex()
    step = 1_000_000
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("add", total=size)
        for first in range(0, size, step):
            chunk = stored[first : first + step]
            index.add(list(range(first, first + len(chunk))), [row.tobytes() for row in chunk])
            progress.update(task, completed=first + len(chunk))
    build_s = time.perf_counter() - started
    memory = rss() - before

    def ask(first: int) -> list[list[tuple[int, int]]]:
        return index.query_many(query_codes[first : first + BATCH], RADIUS)

    starts = range(0, queries_count, BATCH)
    started = time.perf_counter()
    ours = [m for first in starts for m in ask(first)]
    one_thread_qps = queries_count / (time.perf_counter() - started)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        ours_threaded = [m for batch in pool.map(ask, starts) for m in batch]
    threads_qps = queries_count / (time.perf_counter() - started)
    assert ours_threaded == ours

    console.print("  live add: single hashes until the tail has been merged …")
    add_times = []
    adds = TAIL_LIMIT + 100
    new = rng.integers(0, 256, size=(adds, 32), dtype=np.uint8)
    for i, code in enumerate(new):
        t0 = time.perf_counter()
        index.add([size + i], [code.tobytes()])
        add_times.append(time.perf_counter() - t0)
        if i % 997 == 0 or i == adds - 1:
            assert (size + i, 0) in index.query(code.tobytes(), 0), "added hash not found"

    console.print("  baseline: faiss IndexBinaryFlat range search (all cores) …")
    faiss.omp_set_num_threads(threads)
    flat = faiss.IndexBinaryFlat(256)
    flat.add(stored)
    started = time.perf_counter()
    lims, _distances, labels = flat.range_search(queries, RADIUS + 1)  # strictly below
    baseline_qps = queries_count / (time.perf_counter() - started)
    truth = {
        (q, int(label)) for q in range(queries_count) for label in labels[lims[q] : lims[q + 1]]
    }
    del flat

    found = pairs(ours)
    planted = len(sources)
    planted_found = sum(1 for q, source in enumerate(sources.tolist()) if (q, source) in found)
    return Row(
        size=size,
        build_s=build_s,
        memory=memory,
        one_thread_qps=one_thread_qps,
        threads_qps=threads_qps,
        baseline_qps=baseline_qps,
        recall=len(found & truth) / len(truth) if truth else 1.0,
        extra=len(found - truth),
        planted_found=planted_found,
        planted=planted,
        matches=len(truth),
        add_median_us=statistics.median(add_times) * 1e6,
        add_max_s=max(add_times),
        adds=adds,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args(argv)

    rows = [run(size, args.queries, args.threads, args.seed) for size in args.sizes]

    table = Table(title=f"PDQ range search, radius {RADIUS}, {args.queries:,} queries")
    for column in (
        "hashes",
        "build",
        "index memory",
        "q/s 1 thread",
        f"q/s {args.threads} threads",
        "faiss flat q/s",
        "ratio",
        "recall",
        "extra",
        "single add median / max",
    ):
        table.add_column(column, justify="right")
    lines = [
        f"| hashes | build | index memory | q/s, 1 thread | q/s, {args.threads} threads "
        f"| faiss flat q/s ({args.threads} threads) | ratio | recall | extra matches "
        "| single add: median / max |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        cells = [
            f"{r.size:,}",
            f"{r.build_s:.1f} s",
            f"{r.memory / GIB:.2f} GiB",
            f"{r.one_thread_qps:,.0f}",
            f"{r.threads_qps:,.0f}",
            f"{r.baseline_qps:,.0f}",
            f"{r.threads_qps / r.baseline_qps:,.0f}×",
            f"{r.recall:.4f}",
            f"{r.extra}",
            f"{r.add_median_us:.0f} µs / {r.add_max_s:.2f} s",
        ]
        table.add_row(*cells)
        lines.append("| " + " | ".join(cells) + " |")
    console.print(table)
    for r in rows:
        console.print(
            f"{r.size:,}: {r.matches:,} matches in all; {r.planted_found:,} of {r.planted:,} "
            f"planted queries found their source; {r.adds:,} single adds, each "
            "found by the next query"
        )
    print("\n".join(lines))
    return 0 if all(r.recall == 1.0 and r.extra == 0 for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
