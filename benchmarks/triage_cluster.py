"""Triage across machines, on one machine: the local pool against a 2-worker loopback cluster.

Makes benign synthetic JPEGs (`triage.py`'s photos, 0.3 and 1.2 MP), starts a Dask scheduler
and a `dask worker` with 2 single-threaded processes on 127.0.0.1, as a lab would (they stay up
between runs, so their start is reported but not counted), then runs `taskforce triage` as a
user does (a subprocess, fresh SQLite data folder, an empty hash set) alternately without and with
`--scheduler`, on the same files, each `--rounds` times. Prints the median files/s of each, the
ratio cluster/local, and whether the two reports hold the same rows.

On one machine the cluster cannot win: it has the same 2 cores, plus a round trip through the
scheduler per batch and a coordinator process that walks and writes while the workers hash.
The number says what the distribution costs; a lab gains when the workers are other machines.

Run: .venv/bin/python benchmarks/triage_cluster.py --files 200 --rounds 3
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

# benchmarks/triage.py, beside this script (the folder is on sys.path when run as a script)
photo = importlib.import_module("triage").photo
console = Console(stderr=True)
SIZES = ((640, 480), (1280, 960))  # 0.3 and 1.2 MP, alternately


def make_corpus(folder: Path, count: int, seed: int) -> int:
    """`count` synthetic photos (triage.py's), half 0.3 MP and half 1.2 MP; their bytes."""
    total = 0
    for i in range(count):
        data = photo(np.random.default_rng(seed * 100_000 + i), *SIZES[i % 2])
        (folder / f"IMG_{i:05d}.jpg").write_bytes(data)
        total += len(data)
    return total


BIN = Path(sys.executable).parent


def _cli(env: dict[str, str], *args: str) -> None:
    # our own CLI from this virtual environment, with arguments built here
    subprocess.run([str(BIN / "taskforce"), *args], env=env, check=True, capture_output=True)  # noqa: S603


def _setup(workdir: Path) -> dict[str, str]:
    env = {**os.environ, "TASKFORCE_DATA_DIR": str(workdir / "data")}
    env.pop("TASKFORCE_DATABASE_URL", None)
    _cli(env, "db", "upgrade")
    _cli(
        env,
        "agency",
        "add",
        "BENCH",
        "--name",
        "Bench",
        "--country",
        "GB",
        "--timezone",
        "Europe/London",
        "--phone",
        "+442079460000",
        "--email",
        "desk@bench.example.com",
    )
    _cli(env, "hashset", "create", "Empty", "--agency", "BENCH")
    return env


def _start_cluster(workdir: Path, workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    info = workdir / "scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    logs = (workdir / "cluster.log").open("wb")
    dask = str(BIN / "dask")
    where = ["--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(info)]
    scheduler = subprocess.Popen(  # noqa: S603
        [dask, "scheduler", "--no-dashboard", *where],
        env=env,
        stdout=logs,
        stderr=logs,
    )
    while not info.exists() or not info.read_text():
        time.sleep(0.1)
    time.sleep(0.2)
    options = ["--nthreads", "1", "--nworkers", str(workers), "--no-dashboard"]
    worker = subprocess.Popen(  # noqa: S603
        [dask, "worker", "--scheduler-file", str(info), "--host", "127.0.0.1", *options],
        env=env,
        stdout=logs,
        stderr=logs,
    )
    logs.close()
    from distributed import Client  # here: the local runs must not pay for it

    address = json.loads(info.read_text())["address"]
    with Client(address, set_as_default=False) as client:  # type: ignore[no-untyped-call]
        client.wait_for_workers(workers, timeout=120)
    return address, [worker, scheduler]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="cluster worker processes")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    if args.files < 1 or args.rounds < 1 or args.workers < 1:
        parser.error("--files, --rounds and --workers must be at least 1")

    with tempfile.TemporaryDirectory(prefix="triage-cluster-") as tmp:
        workdir = Path(tmp)
        corpus = workdir / "corpus"
        corpus.mkdir()
        size = make_corpus(corpus, args.files, args.seed)
        env = _setup(workdir)
        started = time.perf_counter()
        address, processes = _start_cluster(workdir, args.workers)
        cluster_start = time.perf_counter() - started
        load_before = os.getloadavg()
        seconds: dict[str, list[float]] = {"local": [], "cluster": []}
        reports: dict[str, str] = {}
        try:
            for r in range(args.rounds):
                for kind in ("local", "cluster") if r % 2 == 0 else ("cluster", "local"):
                    out = workdir / f"{kind}-{r}"
                    extra = ["--scheduler", address] if kind == "cluster" else []
                    start = time.perf_counter()
                    _cli(env, "triage", str(corpus), "--out", str(out), "--agency", "BENCH", *extra)
                    seconds[kind].append(time.perf_counter() - start)
                    reports[kind] = (out / "results.csv").read_text()
        finally:
            for p in processes:
                p.terminate()
                p.wait(timeout=30)
        load_after = os.getloadavg()

    median = {k: statistics.median(v) for k, v in seconds.items()}
    rate = {k: args.files / median[k] for k in median}
    table = Table(title=f"{args.files} files, {size / 1e6:.0f} MB, {args.rounds} rounds each")
    for column in ("run", "median s", "files/s", "all runs (s)"):
        table.add_column(column)
    for kind in ("local", "cluster"):
        runs = " ".join(f"{s:.2f}" for s in seconds[kind])
        table.add_row(kind, f"{median[kind]:.2f}", f"{rate[kind]:.1f}", runs)
    console.print(table)
    same = reports["local"] == reports["cluster"]
    console.print(
        f"cluster/local: {rate['cluster'] / rate['local']:.2f}x; same rows: {same}; cluster "
        f"start (not counted): {cluster_start:.1f} s; load average before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f}; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
