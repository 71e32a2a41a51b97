"""Triage benchmark: `taskforce triage` against a one-process baseline, in the same run.

Makes a corpus of benign synthetic JPEGs (colour waves and noise, sizes from 640x480 to
4000x3000), then times, on the same files:

* the baseline: one process, Pillow decode -> `pdqhash.compute` -> hashlib (MD5, SHA-1, SHA-256);
* the JPEG decode floor: Pillow full decode only, one process;
* `taskforce triage` as a user runs it (a subprocess, fresh SQLite data folder, one empty hash
  set), which also computes the 8 dihedral PDQ hashes and EXIF and writes the report.

Prints files/s and MB/s for each, the ratio triage/baseline (target >= 3x on 2 cores), and the
distribution of Hamming distances between triage's PDQ and the baseline's (target: identical
for >= 95 % of files, never more than 8 bits apart).

Run: .venv/bin/python benchmarks/triage.py --files 500
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
SIZES = [((640, 480), 0.5), ((1280, 960), 0.3), ((2048, 1536), 0.15), ((4000, 3000), 0.05)]
TARGET_RATIO = 3.0


def make_corpus(folder: Path, count: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    sizes = [s for s, _ in SIZES]
    weights = [w for _, w in SIZES]
    total = 0
    for i in range(count):
        w, h = sizes[rng.choice(len(sizes), p=weights)]
        x = np.linspace(0, 1, w, dtype=np.float32)
        y = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        base = (np.sin(x * rng.uniform(2, 20)) * np.cos(y * rng.uniform(2, 20)) + 1) * 110
        noise = rng.normal(0, 12, (h, w)).astype(np.float32)
        channels = [base + noise, np.roll(base, int(rng.integers(1, w)), axis=1), base[::-1]]
        rgb = np.clip(np.stack(channels, axis=2), 0, 255).astype(np.uint8)
        path = folder / f"IMG_{i:05d}.jpg"
        Image.fromarray(rgb).save(path, "JPEG", quality=90)
        total += path.stat().st_size
    return total


def baseline(files: list[Path]) -> tuple[float, dict[str, str]]:
    start = time.perf_counter()
    hashes = {}
    for path in files:
        data = path.read_bytes()
        hashlib.md5(data, usedforsecurity=False)
        hashlib.sha1(data, usedforsecurity=False)
        hashlib.sha256(data)
        with Image.open(path) as image:
            vector, _quality = pdqhash.compute(np.asarray(image.convert("RGB")))
        hashes[str(path)] = np.packbits(vector.astype(np.uint8)).tobytes().hex()
    return time.perf_counter() - start, hashes


def decode_floor(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with Image.open(path) as image:
            image.load()
    return time.perf_counter() - start


def triage(folder: Path, workdir: Path) -> tuple[float, dict[str, str]]:
    env = {**os.environ, "TASKFORCE_DATA_DIR": str(workdir / "data")}
    env.pop("TASKFORCE_DATABASE_URL", None)
    exe = str(Path(sys.executable).parent / "taskforce")

    def run(*args: str) -> None:
        # our own CLI from this virtual environment, with arguments built here
        subprocess.run([exe, *args], env=env, check=True, capture_output=True)  # noqa: S603

    run("db", "upgrade")
    run(
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
    run("hashset", "create", "Empty", "--agency", "BENCH")
    out = workdir / "report"
    start = time.perf_counter()
    run("triage", str(folder), "--out", str(out), "--agency", "BENCH")
    seconds = time.perf_counter() - start
    with (out / "results.csv").open(newline="") as f:
        return seconds, {r["path"]: r["pdq"] for r in csv.DictReader(f)}


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = work / "corpus"
        corpus.mkdir()
        console.print(f"making {args.files} synthetic JPEGs …")
        size = make_corpus(corpus, args.files, args.seed)
        files = sorted(corpus.iterdir())
        mb = size / 1e6
        floor_s = decode_floor(files)
        base_s, base_pdq = baseline(files)
        triage_s, triage_pdq = triage(corpus, work)
    distances = Counter(distance(base_pdq[p], triage_pdq[p]) for p in base_pdq)
    identical = distances.get(0, 0) / len(files)
    ratio = base_s / triage_s
    table = Table(title=f"triage of {len(files)} JPEGs, {mb:,.0f} MB, {os.cpu_count()} cores")
    for column in ("run", "seconds", "files/s", "MB/s", "vs baseline"):
        table.add_column(column)
    rows = [
        ("JPEG decode floor (Pillow, 1 process)", floor_s),
        ("baseline: Pillow -> pdqhash -> hashlib, 1 process", base_s),
        ("taskforce triage (all cores, 8 orientations, report)", triage_s),
    ]
    for name, seconds in rows:
        table.add_row(
            name,
            f"{seconds:.2f}",
            f"{len(files) / seconds:,.1f}",
            f"{mb / seconds:,.1f}",
            f"{base_s / seconds:.2f}x",
        )
    console.print(table)
    verdict = "met" if ratio >= TARGET_RATIO else "missed"
    console.print(f"speed: {ratio:.2f}x the baseline (target >= {TARGET_RATIO}x): {verdict}")
    spread = ", ".join(f"{d} bits: {n}" for d, n in sorted(distances.items()))
    ok = identical >= 0.95 and max(distances) <= 8
    console.print(
        f"PDQ vs baseline: {identical:.1%} identical; {spread} "
        f"(target >= 95 % identical, max 8): {'met' if ok else 'missed'}"
    )
    print(
        f"| files | MB | decode floor files/s | baseline files/s | triage files/s | ratio | "
        f"PDQ identical | max bits |\n|---|---|---|---|---|---|---|---|\n"
        f"| {len(files)} | {mb:,.0f} | {len(files) / floor_s:,.1f} | {len(files) / base_s:,.1f}"
        f" | {len(files) / triage_s:,.1f} | {ratio:.2f}x | {identical:.1%} | {max(distances)} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
