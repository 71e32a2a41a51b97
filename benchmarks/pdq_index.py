"""PDQ index: radius-31 search over 1M and 10M hashes, taskforce's index beside a flat scan.

For each size N, N random 256-bit hashes are stored (PDQ hashes of real pictures are close to
uniform: the hasher thresholds at the median, so each bit is set about half the time) and
10,000 queries are asked: half planted within distance 0–31 of a stored hash (flipped bits at
random positions), half random. In the same run:

* taskforce: `core.hamming.HammingIndex` (multi-index hashing, compiled search loop, a faiss
  flat tail), queried in batches of 1,000 from one thread and from one thread per core, first
  from its own memory, then from the same tables published to files and memory-mapped
  (`core.pdq_shared`, what the server's processes share); its resident memory is the growth
  of the process's RSS over the build.
* baseline 1: the same tables searched by the previous numpy-only search
  (`pdq_numpy_search.py`), interleaved with the above; its answers must be identical.
* baseline 2: faiss `IndexBinaryFlat.range_search` (exhaustive SIMD scan, all cores) — exact by
  construction, the brute-force truth recall is computed against, on every k-th query
  (`--flat-queries`: at 10M the scan takes ~15 ms a query).
* memory of four processes (`--processes`): each maps the published tables (shared) or reads
  them into its own memory (private, what building its own index costs), touches every page,
  and its Pss (proportional set size: shared pages divided among their users) and RSS are read
  from /proc/<pid>/smaps_rollup while all are alive; a process that only imports is the floor.

Then a live add: single hashes are added one call at a time until the tail has been merged
into the main index at least once, each found by a query right after its add.

Run: .venv/bin/python benchmarks/pdq_index.py --sizes 1000000 10000000
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt
from rich.console import Console
from rich.progress import Progress

from taskforce.core import pdq_shared
from taskforce.core.hamming import TAIL_LIMIT, HammingIndex
from taskforce.core.mih import Found, MultiIndex, Words, words_of

# benchmarks/pdq_numpy_search.py, beside this script (on sys.path when run as a script)
numpy_search: Callable[[MultiIndex, Words, int], Found] = importlib.import_module(
    "pdq_numpy_search"
).search

console = Console(stderr=True, width=150)
RADIUS = 31
BATCH = 1_000
GIB = 2**30
Search = Callable[[Words, int], Found]


def rss() -> int:
    """Resident memory of this process, bytes."""
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def planted_queries(
    stored: npt.NDArray[np.uint8], count: int, rng: np.random.Generator
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Even rows: a stored hash with 0–31 random bits flipped (and which one); odd: random."""
    queries = rng.integers(0, 256, size=(count, 32), dtype=np.uint8)
    sources = rng.integers(0, len(stored), (count + 1) // 2)
    for i, source in enumerate(sources):
        bits = np.unpackbits(stored[source])
        flips = rng.choice(256, int(rng.integers(0, RADIUS + 1)), replace=False)
        bits[flips] ^= 1
        queries[2 * i] = np.packbits(bits)
    return queries, sources


@dataclass
class Row:
    size: int
    build_s: float
    memory: int
    qps: dict[str, tuple[float, float]]  # search → (1 thread, all threads), best of rounds
    per_cpu: dict[str, float]  # search → queries per CPU-second on 1 thread, best of rounds
    baseline_qps: float
    flat_queries: int
    recall: float
    extra: int
    planted_found: int
    planted: int
    matches: int
    add_median_us: float
    add_max_s: float
    adds: int
    pss: dict[str, tuple[int, int]]  # mode → (total Pss, total RSS) of the processes
    load: list[str]


def as_pairs(found: Found) -> set[tuple[int, int]]:
    rows, positions, _distances = found
    return set(zip(rows.tolist(), positions.tolist(), strict=True))


def timed(search: Search, words: Words, threads: int) -> tuple[float, float, Found]:
    """Queries per second (wall clock) and per CPU-second (the threads' own CPU time: less
    swayed by other processes on a shared machine), in batches of BATCH; the answers."""
    starts = range(0, len(words), BATCH)
    cpu: list[float] = []

    def ask(first: int) -> Found:
        before = time.thread_time()
        rows, positions, distances = search(words[first : first + BATCH], RADIUS)
        cpu.append(time.thread_time() - before)
        return rows + first, positions, distances

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(ask, starts))
    elapsed = time.perf_counter() - started
    rows, positions, distances = (np.concatenate(c) for c in zip(*parts, strict=True))
    return len(words) / elapsed, len(words) / sum(cpu), (rows, positions, distances)


def process_memory(folder: Path, processes: int) -> dict[str, tuple[int, int]]:
    """Total (Pss, RSS) of `processes` processes holding the published tables each way."""
    out = {}
    for mode in ("imports only", "private", "shared (mapped)"):
        children = [
            subprocess.Popen(  # noqa: S603 - this interpreter running this script
                [sys.executable, __file__, "--child", mode, str(folder)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(processes)
        ]
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        pss = rss_total = 0
        for child in children:
            for line in Path(f"/proc/{child.pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss_total += int(line.split()[1]) * 1024
        for child in children:
            assert child.stdin is not None
            child.stdin.close()
            child.wait()
        out[mode] = (pss, rss_total)
    return out


def child(mode: str, folder: Path) -> None:
    """One process of `process_memory`: hold the tables, touch every page, wait."""
    arrays: list[npt.NDArray[Any]] = []
    if mode == "private":  # read into this process's memory, not mapped
        names = ("codes", "positions", "offsets", "ids")
        arrays = [np.load(folder / f"{name}.npy") for name in names]
    elif mode == "shared (mapped)":
        loaded = pdq_shared.load(folder)
        assert loaded is not None
        arrays = [loaded[0].codes, loaded[0].positions, loaded[0].offsets, loaded[1]]
    if arrays:
        touched = sum(int(a.reshape(-1).view(np.uint8)[::4096].sum()) for a in arrays)
        assert touched >= 0
    print("ready", flush=True)
    sys.stdin.read()


def run(
    size: int, queries_count: int, flat_every: int, threads: int, processes: int, seed: int
) -> Row:
    rng = np.random.default_rng(seed)
    stored = rng.integers(0, 256, size=(size, 32), dtype=np.uint8)
    queries, sources = planted_queries(stored, queries_count, rng)
    words = words_of(queries, len(queries))
    load = [load_average()]

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
    main, ids = index.main_part()
    assert main is not None
    assert len(ids) == size  # all in the main part: the tail is empty

    shared_dir = Path(tempfile.mkdtemp(prefix="pdq-index-"))
    folder = pdq_shared.publish(shared_dir, "bench", main, ids)
    mapped = pdq_shared.load(folder)
    assert mapped is not None
    searches: dict[str, Search] = {
        "numpy (before)": lambda w, r: numpy_search(main, w, r),
        "compiled": main.search,
        "compiled, mapped": mapped[0].search,
    }
    console.print("  queries, interleaved: numpy search, compiled, compiled on mapped tables …")
    main.search(words[:10], RADIUS)
    mapped[0].search(words[:10], RADIUS)
    best: dict[str, list[float]] = {name: [0.0, 0.0] for name in searches}
    per_cpu: dict[str, float] = dict.fromkeys(searches, 0.0)
    answers: dict[str, set[tuple[int, int]]] = {}
    for _round in range(2):
        for name, search in searches.items():
            for slot, count in enumerate((1, threads)):
                qps, cpu_qps, found = timed(search, words, count)
                best[name][slot] = max(best[name][slot], qps)
                if count == 1:
                    per_cpu[name] = max(per_cpu[name], cpu_qps)
                answers.setdefault(name, as_pairs(found))
                assert as_pairs(found) == answers[name]
    ours = answers["compiled"]
    assert answers["numpy (before)"] == ours == answers["compiled, mapped"]
    load.append(load_average())

    console.print(f"  memory of {processes} processes: imports only, private, shared …")
    pss = process_memory(folder, processes)
    del mapped, searches
    pdq_shared.discard_above(shared_dir, "bench", -1)
    shared_dir.rmdir()

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

    sample = np.arange(0, queries_count, flat_every)
    console.print(f"  baseline: faiss IndexBinaryFlat range search, {len(sample):,} queries …")
    faiss.omp_set_num_threads(threads)
    flat = faiss.IndexBinaryFlat(256)
    flat.add(stored)
    started = time.perf_counter()
    lims, _distances, labels = flat.range_search(queries[sample], RADIUS + 1)  # strictly below
    baseline_qps = len(sample) / (time.perf_counter() - started)
    truth = {
        (int(q), int(label))
        for i, q in enumerate(sample)
        for label in labels[lims[i] : lims[i + 1]]
    }
    del flat
    load.append(load_average())

    sampled = {(q, p) for q, p in ours if q % flat_every == 0}
    planted_found = sum(1 for i, source in enumerate(sources.tolist()) if (2 * i, source) in ours)
    return Row(
        size=size,
        build_s=build_s,
        memory=memory,
        qps={name: (one, many) for name, (one, many) in best.items()},
        per_cpu=per_cpu,
        baseline_qps=baseline_qps,
        flat_queries=len(sample),
        recall=len(sampled & truth) / len(truth) if truth else 1.0,
        extra=len(sampled - truth),
        planted_found=planted_found,
        planted=len(sources),
        matches=len(truth),
        add_median_us=statistics.median(add_times) * 1e6,
        add_max_s=max(add_times),
        adds=adds,
        pss=pss,
        load=load,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--queries", type=int, default=10_000)
    parser.add_argument(
        "--flat-queries", type=int, default=1_000, help="how many the flat scan answers"
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return 0

    flat_every = max(1, args.queries // args.flat_queries) | 1  # odd: planted and random rows
    rows = [
        run(size, args.queries, flat_every, args.threads, args.processes, args.seed)
        for size in args.sizes
    ]
    t = args.threads
    lines = [
        f"PDQ range search, radius {RADIUS}, {args.queries:,} queries in batches of {BATCH:,}, "
        f"q/s on 1 / {t} threads (best of 2 interleaved rounds):",
        "",
        "| hashes | build | index memory | numpy search (before) | compiled | compiled, mapped "
        f"| ratio, {t} threads | faiss flat ({t} threads) | recall (flat sample) | extra "
        "| single add: median / max | load average (start, after queries, end) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        qps = {name: f"{one:,.0f} / {many:,.0f}" for name, (one, many) in r.qps.items()}
        ratio = r.qps["compiled"][1] / r.qps["numpy (before)"][1]
        cells = [
            f"{r.size:,}",
            f"{r.build_s:.1f} s",
            f"{r.memory / GIB:.2f} GiB",
            qps["numpy (before)"],
            qps["compiled"],
            qps["compiled, mapped"],
            f"{ratio:.2f}×",
            f"{r.baseline_qps:,.0f} ({r.flat_queries:,} queries)",
            f"{r.recall:.4f}",
            f"{r.extra}",
            f"{r.add_median_us:.0f} µs / {r.add_max_s:.2f} s",
            " · ".join(r.load),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Queries per CPU-second of the searching thread (1 thread, best of 2):",
        "",
        "| hashes | numpy search (before) | compiled | compiled, mapped | ratio |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        c = r.per_cpu
        lines.append(
            f"| {r.size:,} | {c['numpy (before)']:,.0f} | {c['compiled']:,.0f} "
            f"| {c['compiled, mapped']:,.0f} | {c['compiled'] / c['numpy (before)']:.2f}× |"
        )
    lines += [
        "",
        f"Memory of {args.processes} processes holding the index's tables, touched in full "
        "(sums of /proc/<pid>/smaps_rollup):",
        "",
        "| hashes | processes hold | Pss, all | RSS, all | Pss above imports only |",
        "|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        floor = r.pss["imports only"][0]
        for mode, (pss, resident) in r.pss.items():
            lines.append(
                f"| {r.size:,} | {mode} | {pss / GIB:.2f} GiB | {resident / GIB:.2f} GiB "
                f"| {(pss - floor) / GIB:.2f} GiB |"
            )
    lines.append("")
    for r in rows:
        lines.append(
            f"{r.size:,}: {r.matches:,} matches to the {r.flat_queries:,} flat-scanned queries; "
            f"{r.planted_found:,} of {r.planted:,} planted queries found their source; the three "
            f"searches gave identical answers to all {args.queries:,}; {r.adds:,} single adds, "
            "each found by the next query."
        )
    print("\n".join(lines))
    ok = all(r.recall == 1.0 and r.extra == 0 and r.planted_found == r.planted for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
