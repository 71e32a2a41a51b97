"""Deconfliction benchmark: add-and-deconflict latency, bulk import rate, PDQ index vs scan.

For each backend and size N: a fresh database (migrations), 6 agencies, one investigator each,
N/500 cases (through the services), then N random selectors preloaded with bulk inserts
(setup, timed but not a target). Then, through the real services:

* add-and-deconflict: 300 `add_selector` calls, each its own unit of work (half new values,
  half values held by another agency's case) plus 50 PDQ additions near a held PDQ;
* bulk import: `bulk_add_selectors` with 20,000 lines, 10 % already held elsewhere;
* PDQ lookup: `pdq.index_for(session).candidates` vs a Python scan of `selector_pdq`.

Run: .venv/bin/python benchmarks/deconfliction.py --sizes 100000 1000000 \
         --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import faiss
from bench_network import database, register_agencies
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import Engine, insert, select, update
from sqlalchemy import Table as SqlTable
from sqlalchemy.orm import Session, sessionmaker

from taskforce import migrate
from taskforce.cases import additions as case_additions
from taskforce.cases import pdq
from taskforce.cases import service as case_service
from taskforce.cases.models import Case, PdqBits, Selector, SelectorValue
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.cases.selectors import NormalisedSelector, normalise
from taskforce.core.caller import Caller
from taskforce.core.db import make_engine, unit_of_work
from taskforce.core.errors import Invalid
from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

console = Console(stderr=True)
TARGET_MEDIAN_MS = 5.0
TARGET_BULK_RATE = 20_000

AGENCIES = [
    ("GB-NCA", "GB", "Europe/London", "+442079460001"),
    ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567"),
    ("US-HSI", "US", "America/New_York", "+12025550123"),
    ("DE-BKA", "DE", "Europe/Berlin", "+4930123456"),
    ("FR-OFMIN", "FR", "Europe/Paris", "+33123456789"),
    ("ES-CNP", "ES", "Europe/Madrid", "+34911234567"),
]

# kind, weight (PDQ ~5 %)
KINDS = [
    ("email", 20),
    ("phone", 12),
    ("username", 12),
    ("ip", 12),
    ("url", 8),
    ("domain", 8),
    ("md5", 6),
    ("sha1", 6),
    ("sha256", 6),
    ("imei", 5),
    ("pdq", 5),
]
PLATFORMS = ["instagram", "telegram", "tiktok", "snapchat", "x"]


def _luhn(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return digits + str((10 - total % 10) % 10)


def random_value(rng: random.Random, kind: str) -> tuple[str, str | None]:
    """A random fictional raw value of `kind` (and its platform for usernames)."""
    word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 10)))
    n = rng.getrandbits(40)
    if kind == "email":
        return f"{word}.{n:x}@mail{rng.randint(1, 999)}.example.com", None
    if kind == "phone":
        return f"+447{rng.randint(400, 999)}{rng.randint(0, 999999):06d}", None
    if kind == "username":
        return f"{word}_{n:x}", rng.choice(PLATFORMS)
    if kind == "ip":
        octets = (rng.randint(11, 99), rng.randint(0, 255), rng.randint(0, 255), n % 254 + 1)
        return ".".join(map(str, octets)), None
    if kind == "url":
        return f"https://{word}{rng.randint(1, 9999)}.example.net/p/{n:x}", None
    if kind == "domain":
        return f"{word}{n:x}.example.org", None
    if kind in ("md5", "sha1", "sha256", "pdq"):
        width = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}[kind]
        return f"{rng.getrandbits(width * 4):0{width}x}", None
    if kind == "imei":
        return _luhn(f"{rng.randint(10**13, 10**14 - 1)}"), None
    raise ValueError(kind)


def valid_value(rng: random.Random, kind: str) -> tuple[str, str | None, NormalisedSelector]:
    """A random value that `normalise` accepts (some random phone numbers are not)."""
    while True:
        raw, platform = random_value(rng, kind)
        try:
            return raw, platform, normalise(kind, raw, platform=platform)
        except Invalid:
            continue


def flip_bits(hex_hash: str, rng: random.Random, count: int) -> str:
    value = int(hex_hash, 16)
    for bit in rng.sample(range(256), count):
        value ^= 1 << bit
    return f"{value:064x}"


@dataclass
class Held:
    kind: str
    raw: str
    platform: str | None
    agency: int


@dataclass
class World:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    callers: list[Caller]
    cases: list[list[uuid.UUID]]  # per agency
    case_agency: dict[uuid.UUID, int] = field(default_factory=dict)
    held: list[Held] = field(default_factory=list)  # sample of preloaded values
    held_pdq: list[Held] = field(default_factory=list)


@dataclass
class Result:
    backend: str
    size: int
    preload_s: float = 0.0
    preload_rate: float = 0.0
    commit_ms: float = 0.0
    add_median_ms: float = 0.0
    add_p95_ms: float = 0.0
    add_hits: int = 0
    pdq_add_median_ms: float = 0.0
    pdq_add_hits: int = 0
    bulk_rate: float = 0.0
    bulk_s: float = 0.0
    bulk_cpu_s: float = 0.0
    bulk_hits: int = 0
    bulk0_rate: float = 0.0
    bulk0_s: float = 0.0
    bulk0_cpu_s: float = 0.0
    add_cpu_ms: float = 0.0
    pdq_rows: int = 0
    index_sync_s: float = 0.0
    index_ms: float = 0.0
    scan_ms: float = 0.0


def setup_world(url: str, workdir: Path, n_cases: int) -> World:
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        allow_insecure_defaults=True,
        public_url="http://hub.example.org",
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(factory) as s:
        callers = [caller for caller, _ in register_agencies(s, AGENCIES)]
    world = World(settings, engine, factory, callers, [[] for _ in AGENCIES])
    levels = [SharingLevel.RED, SharingLevel.GREEN]
    for i in range(n_cases):
        a = i % len(AGENCIES)
        if i % 200 == 0:
            chunk = min(200, n_cases - i)
            with unit_of_work(factory) as s:
                for j in range(chunk):
                    agency = (i + j) % len(AGENCIES)
                    case = case_service.open_case(
                        s,
                        callers[agency],
                        CaseCreate(title=f"Operation {i + j}", sharing=levels[(i + j) % 2]),
                    )
                    world.cases[agency].append(case.id)
                    world.case_agency[case.id] = agency
        del a
    return world


def preload(world: World, n: int, rng: random.Random, batch: int = 10_000) -> float:
    """Insert n random selectors (one value row each) with Core bulk inserts; seconds taken."""
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    values_t = cast(SqlTable, SelectorValue.__table__)
    selectors_t = cast(SqlTable, Selector.__table__)
    pdq_t = cast(SqlTable, PdqBits.__table__)
    all_cases = [c for per in world.cases for c in per]
    now = datetime.now(UTC)
    sqlite = world.engine.dialect.name == "sqlite"
    seen: set[tuple[str, str]] = set()
    start = time.perf_counter()
    with Progress(
        TextColumn("preload"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("selectors"),
        TimeRemainingColumn(),
        console=console,
    ) as progress:
        task = progress.add_task("preload", total=n)
        done = 0
        with world.engine.connect() as conn:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA synchronous=OFF")  # type: ignore[union-attr]
            while done < n:
                values: list[dict[str, Any]] = []
                selectors: list[dict[str, Any]] = []
                pdqs: list[dict[str, Any]] = []
                while len(values) < min(batch, n - done):
                    kind = rng.choices(kinds, weights)[0]
                    raw, platform, norm = valid_value(rng, kind)
                    if (kind, norm.key) in seen:
                        continue
                    seen.add((kind, norm.key))
                    vid, sid = uuid.uuid4(), uuid.uuid4()
                    case_id = rng.choice(all_cases)
                    values.append(
                        {
                            "id": vid,
                            "kind": kind,
                            "key": norm.key,
                            "case_count": 1,
                            "is_common": False,
                        }
                    )
                    selectors.append(
                        {
                            "id": sid,
                            "case_id": case_id,
                            "value_id": vid,
                            "kind": kind,
                            "value": norm.value,
                            "platform": norm.platform,
                            "raw": raw,
                            "observed_at": None,
                            "note": "",
                            "noise_reason": None,
                            "added_by_id": None,
                            "added_at": now,
                        }
                    )
                    held = Held(kind, raw, platform, world.case_agency[case_id])
                    if kind == "pdq":
                        pdqs.append({"selector_id": sid, "bits": hex_to_bytes(norm.value)})
                        if len(world.held_pdq) < 2000:
                            world.held_pdq.append(held)
                    elif len(world.held) < 20_000 and rng.random() < 0.2:
                        world.held.append(held)
                with conn.begin():
                    conn.execute(insert(values_t), values)
                    conn.execute(insert(selectors_t), selectors)
                    if pdqs:
                        conn.execute(insert(pdq_t), pdqs)
                done += len(values)
                progress.update(task, completed=done)
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA synchronous=NORMAL")  # type: ignore[union-attr]
        if not sqlite:
            with world.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return time.perf_counter() - start


def _other_case(world: World, rng: random.Random, not_agency: int) -> tuple[int, uuid.UUID]:
    agency = rng.choice([a for a in range(len(AGENCIES)) if a != not_agency])
    return agency, rng.choice(world.cases[agency])


def _add(world: World, agency: int, case_id: uuid.UUID, data: SelectorCreate) -> tuple[float, int]:
    start = time.perf_counter()
    with unit_of_work(world.factory) as s:
        added = case_additions.add_selector(
            s, world.callers[agency], world.settings, case_id=case_id, data=data
        )
    return (time.perf_counter() - start) * 1000, len(added.hits)


def measure_commit_floor(world: World, count: int = 100) -> float:
    """Median ms of a one-row UPDATE and its commit: the database's floor for any write."""
    case_id = world.cases[0][0]
    timings = []
    for _ in range(count):
        start = time.perf_counter()
        with unit_of_work(world.factory) as s:
            s.execute(update(Case).where(Case.id == case_id).values(updated_at=datetime.now(UTC)))
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def measure_adds(world: World, rng: random.Random, result: Result, count: int = 300) -> None:
    kinds = [k for k, _ in KINDS if k != "pdq"]
    timings: list[float] = []
    hits = 0
    for _ in range(5):  # warm-up (connections, statement caches, PDQ index)
        agency, case_id = _other_case(world, rng, -1)
        raw, platform = valid_value(rng, "email")[:2]
        _add(world, agency, case_id, SelectorCreate(type="email", value=raw))
    cpu = time.process_time()
    for i in range(count):
        if i % 2 == 0:
            kind = rng.choice(kinds)
            raw, platform, _ = valid_value(rng, kind)
            agency, case_id = _other_case(world, rng, -1)
        else:
            held = world.held.pop(rng.randrange(len(world.held)))
            kind, raw, platform = held.kind, held.raw, held.platform
            agency, case_id = _other_case(world, rng, held.agency)
        data = SelectorCreate(type=kind, value=raw, platform=platform)
        ms, n = _add(world, agency, case_id, data)
        timings.append(ms)
        hits += n
    result.add_cpu_ms = (time.process_time() - cpu) * 1000 / count
    result.add_median_ms = statistics.median(timings)
    result.add_p95_ms = statistics.quantiles(timings, n=20)[18]
    result.add_hits = hits
    pdq_timings: list[float] = []
    pdq_hits = 0
    for _ in range(50):
        held = world.held_pdq.pop(rng.randrange(len(world.held_pdq)))
        near = flip_bits(held.raw, rng, rng.randint(1, 20))
        agency, case_id = _other_case(world, rng, held.agency)
        ms, n = _add(world, agency, case_id, SelectorCreate(type="pdq", value=near))
        pdq_timings.append(ms)
        pdq_hits += n
    result.pdq_add_median_ms = statistics.median(pdq_timings)
    result.pdq_add_hits = pdq_hits


def measure_bulk(
    world: World, rng: random.Random, count: int = 20_000, overlap_share: float = 0.10
) -> tuple[float, float, int, float]:
    """Import `count` lines into a new case; (selectors/s, seconds, hits, this process's CPU
    seconds: steadier than the wall clock on a shared machine, but blind to the server's)."""
    kinds = [k for k, _ in KINDS]
    weights = [w for _, w in KINDS]
    agency = 0
    with unit_of_work(world.factory) as s:
        case_id = case_service.open_case(
            s, world.callers[agency], CaseCreate(title="Bulk import", sharing=SharingLevel.RED)
        ).id
    overlap = [h for h in world.held if h.agency != agency]
    rows: list[tuple[int, dict[str, str]]] = []
    for line in range(2, count + 2):
        if rng.random() < overlap_share and overlap:
            held = overlap.pop()
            kind, raw, platform = held.kind, held.raw, held.platform
        else:
            kind = rng.choices(kinds, weights)[0]
            raw, platform, _ = valid_value(rng, kind)
        rows.append((line, {"type": kind, "value": raw, "platform": platform or ""}))
    start, cpu = time.perf_counter(), time.process_time()
    with unit_of_work(world.factory) as s:
        report = case_additions.bulk_add_selectors(
            s, world.callers[agency], world.settings, case_id=case_id, rows=rows
        )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if report.rejected:
        console.print(f"[yellow]bulk: {len(report.rejected)} rejected, e.g. {report.rejected[0]}")
    return count / seconds, seconds, report.hits, cpu


def measure_pdq_lookup(world: World, rng: random.Random, result: Result) -> None:
    threshold = world.settings.pdq_match_threshold
    queries = [
        hex_to_bytes(flip_bits(h.raw, rng, rng.randint(0, 20)))
        for h in rng.sample(world.held_pdq, 50)
    ]
    with world.factory() as s:
        index = pdq.index_for(s)
        index.forget_after(0)
        start = time.perf_counter()
        index.sync(s)
        result.index_sync_s = time.perf_counter() - start
        result.pdq_rows = len(index.index)
        start = time.perf_counter()
        found_index = [len(index.candidates(s, q, threshold)) for q in queries]
        result.index_ms = (time.perf_counter() - start) * 1000 / len(queries)
        scan_queries = queries[:10]
        start = time.perf_counter()
        found_scan = []
        for q in scan_queries:
            found_scan.append(
                sum(
                    1
                    for (bits,) in s.execute(select(PdqBits.bits))
                    if hamming(q, bytes(bits)) <= threshold
                )
            )
        result.scan_ms = (time.perf_counter() - start) * 1000 / len(scan_queries)
        if found_scan != found_index[: len(scan_queries)]:
            console.print(f"[red]index and scan disagree: {found_index[:10]} vs {found_scan}")


def run(backend: str, size: int, seed: int) -> Result:
    rng = random.Random(seed)
    result = Result(backend, size)
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        t0 = time.perf_counter()
        world = setup_world(url, Path(tmp), max(6, size // 500))
        console.print(
            f"[bold]{backend} N={size:,}[/]: {size // 500:,} cases set up in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        result.preload_s = preload(world, size, rng)
        result.preload_rate = size / result.preload_s
        console.print(
            f"preloaded {size:,} selectors in {result.preload_s:.1f} s "
            f"({result.preload_rate:,.0f}/s)"
        )
        pdq.index_for(world.factory()).forget_after(0)
        result.commit_ms = measure_commit_floor(world)
        measure_adds(world, rng, result)
        console.print(f"add-and-deconflict median {result.add_median_ms:.2f} ms")
        result.bulk_rate, result.bulk_s, result.bulk_hits, result.bulk_cpu_s = measure_bulk(
            world, rng
        )
        console.print(f"bulk import {result.bulk_rate:,.0f} selectors/s")
        result.bulk0_rate, result.bulk0_s, _, result.bulk0_cpu_s = measure_bulk(
            world, rng, overlap_share=0.0
        )
        console.print(f"bulk import, no overlap {result.bulk0_rate:,.0f} selectors/s")
        measure_pdq_lookup(world, rng, result)
        world.engine.dispose()
    return result


def rows_for(r: Result) -> list[tuple[str, str, str]]:
    speedup = r.scan_ms / r.index_ms if r.index_ms else float("inf")
    ok = "met" if r.add_median_ms <= TARGET_MEDIAN_MS else "missed"
    bulk_ok = "met" if r.bulk_rate >= TARGET_BULK_RATE else "missed"
    return [
        ("preload (setup, bulk insert)", f"{r.preload_s:.1f} s ({r.preload_rate:,.0f} sel/s)", ""),
        (
            "add-and-deconflict median",
            f"{r.add_median_ms:.2f} ms",
            f"≤ 5 ms: {ok} ({r.add_median_ms / TARGET_MEDIAN_MS:.2f}× target)",
        ),
        ("commit floor (1-row UPDATE + commit)", f"{r.commit_ms:.2f} ms", "median of 100"),
        ("add-and-deconflict p95", f"{r.add_p95_ms:.2f} ms", ""),
        ("add-and-deconflict client CPU", f"{r.add_cpu_ms:.2f} ms", "mean, this process"),
        ("hits created by 300 adds", f"{r.add_hits}", "150 adds reuse held values"),
        ("PDQ near add median (50)", f"{r.pdq_add_median_ms:.2f} ms", f"{r.pdq_add_hits} hits"),
        (
            "bulk import 20,000 lines",
            f"{r.bulk_rate:,.0f} sel/s ({r.bulk_s:.2f} s)",
            f"≥ 20,000/s: {bulk_ok}; {r.bulk_hits} hits; client CPU {r.bulk_cpu_s:.2f} s",
        ),
        (
            "bulk import, no held values",
            f"{r.bulk0_rate:,.0f} sel/s ({r.bulk0_s:.2f} s)",
            f"same, 0 hits: the import without hit notifications; client CPU {r.bulk0_cpu_s:.2f} s",
        ),
        (
            "PDQ index (faiss) per query",
            f"{r.index_ms:.2f} ms",
            f"{r.pdq_rows:,} PDQ rows; index load {r.index_sync_s:.2f} s",
        ),
        ("PDQ table scan per query", f"{r.scan_ms:.1f} ms", f"index {speedup:,.0f}× faster"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument(
        "--faiss-threads",
        type=int,
        default=0,
        help="faiss OpenMP threads (0: faiss' default, one per core)",
    )
    parser.add_argument(
        "--before",
        type=Path,
        help="a checkout of the code to compare with (e.g. a `git worktree` of an older main): "
        "its own copy of this script runs with its src/ first, back to back with this one for "
        "each size and backend, and both results are printed",
    )
    args = parser.parse_args(argv)
    if args.faiss_threads:
        faiss.omp_set_num_threads(args.faiss_threads)
    console.print(f"faiss OpenMP threads: {faiss.omp_get_max_threads()}")
    results: list[Result] = []
    before: list[str] = []
    for size in args.sizes:
        for backend in args.backends:
            if args.before:
                before.append(run_before(args.before, backend, size, args.seed))
            result = run(backend, size, args.seed)
            results.append(result)
            table = Table(title=f"{backend}, {size:,} selectors")
            for col in ("measure", "result", "target / note"):
                table.add_column(col)
            for row in rows_for(result):
                table.add_row(*row)
            console.print(table)
    out = sys.stdout
    for r in results:
        out.write(f"\n### {r.backend}, {r.size:,} preloaded selectors\n\n")
        out.write("| measure | result | target / note |\n|---|---|---|\n")
        for row in rows_for(r):
            out.write("| " + " | ".join(row) + " |\n")
    for text in before:
        out.write(f"\n#### before ({args.before})\n{text}")
    return 0


def run_before(tree: Path, backend: str, size: int, seed: int) -> str:
    """The older code's results (its markdown), measured just before this code's."""
    env = {**os.environ, "PYTHONPATH": str(tree.resolve() / "src")}
    script = tree / "benchmarks" / "deconfliction.py"
    args = ["--sizes", str(size), "--backends", backend, "--seed", str(seed)]
    console.print(f"[bold]before[/] ({tree}): {backend} N={size:,}")
    done = subprocess.run(  # noqa: S603 - our own script, with our own arguments
        [sys.executable, str(script), *args], env=env, stdout=subprocess.PIPE, text=True, check=True
    )  # its progress and errors on this stderr
    return done.stdout


if __name__ == "__main__":
    raise SystemExit(main())
