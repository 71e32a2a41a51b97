"""`POST /api/v1/match` against a database holding N known hashes, by batch size.

For each backend: a fresh database (migrations), 3 agencies and an investigator each, `--sets` hash
sets spread over them (half GREEN, half RED, so the caller sees some and not others), then N
random entries preloaded with Core bulk inserts (MD5, SHA-1, SHA-256 each; a PDQ on 20 %).
Then, through the real route (in-process ASGI: token check, unit of work, audit entry), the
caller asks batches of 1, 15, 100, 1,000 and 10,000 files: 40 % known MD5s, 20 % known SHA-256s,
20 % unknown, 20 % PDQ hashes 1–20 bits from a known one. Every answer is checked: each known
file of a visible set is found, nothing of an invisible set is. Meanwhile (SQLite) another
agency's case read is timed while a 10,000-file match runs: the write lock a request holds is
what stalled the hub (issue 11, finding 4).

Run: .venv/bin/python benchmarks/match.py --entries 1000000 --backends sqlite postgresql
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from bench_network import database, register_agencies
from fastapi.testclient import TestClient
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, insert, text
from sqlalchemy import Table as SqlTable
from sqlalchemy.orm import Session, sessionmaker

from taskforce import migrate
from taskforce.app import create_app
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller
from taskforce.core.db import make_engine, unit_of_work
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry, HashSet
from taskforce.hashsets.schemas import HashSetCreate

console = Console(stderr=True)
AGENCIES = [
    ("GB-NCA", "GB", "Europe/London", "+442079460001"),
    ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567"),
    ("US-HSI", "US", "America/New_York", "+12025550123"),
]
BATCHES = (1, 15, 100, 1000, 10_000)


@dataclass
class World:
    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    callers: list[Caller]
    sets: list[tuple[uuid.UUID, bool]] = field(default_factory=list)  # (id, visible to GB)
    known: list[tuple[str, str, str, str | None, bool]] = field(default_factory=list)
    visible_names: set[str] = field(default_factory=set)  # of the sets, to the first agency


@dataclass
class Row:
    backend: str
    batch: int
    median_ms: float
    p95_ms: float
    per_file_ms: float
    matched: int


def setup_world(url: str, workdir: Path, n_sets: int) -> World:
    settings = Settings(
        data_dir=workdir,
        database_url=url,
        allow_insecure_defaults=True,
        public_url="http://hub.example.org",
        worker="external",
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    factory = sessionmaker(engine, expire_on_commit=False)
    with unit_of_work(factory) as s:
        callers = [caller for caller, _ in register_agencies(s, AGENCIES)]
    world = World(settings, engine, factory, callers)
    with unit_of_work(factory) as s:
        for i in range(n_sets):
            owner = i % len(AGENCIES)
            green = i % 2 == 0
            created = hashset_service.create_hash_set(
                s,
                callers[owner],
                HashSetCreate(
                    name=f"Known set {i}", sharing=SharingLevel.GREEN if green else SharingLevel.RED
                ),
            )
            world.sets.append((created.id, green or owner == 0))
            if green or owner == 0:
                world.visible_names.add(created.name)
        case_service.open_case(s, callers[1], CaseCreate(title="Operation Read"))
    return world


def _hex(rng: random.Random, width: int) -> str:
    return f"{rng.getrandbits(width * 4):0{width}x}"


def preload(world: World, n: int, rng: random.Random, batch: int = 20_000) -> float:
    """n random entries over the sets with Core bulk inserts; seconds taken."""
    table = cast(SqlTable, HashEntry.__table__)
    started = time.perf_counter()
    done = 0
    while done < n:
        rows: list[dict[str, Any]] = []
        for _ in range(min(batch, n - done)):
            set_id, visible = world.sets[rng.randrange(len(world.sets))]
            md5, sha1, sha256 = _hex(rng, 32), _hex(rng, 40), _hex(rng, 64)
            pdq = _hex(rng, 64) if rng.random() < 0.2 else None
            rows.append(
                {
                    "hash_set_id": set_id,
                    "entry_key": _hex(rng, 64),
                    "md5": md5,
                    "sha1": sha1,
                    "sha256": sha256,
                    "pdq": pdq,
                    "pdq_quality": 100 if pdq else None,
                    "source": "bench",
                    "victim_identified": False,
                }
            )
            if rng.random() < 0.02:  # a sample to ask for
                world.known.append((md5, sha1, sha256, pdq, visible))
        with world.engine.begin() as conn:
            conn.execute(insert(table), rows)
        done += len(rows)
        console.print(f"  preloaded {done:,}/{n:,}", end="\r")
    with world.engine.begin() as conn:
        if world.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))  # as autovacuum would; the hub never runs it on SQLite
        conn.execute(
            HashSet.__table__.update().values(entry_count=n // len(world.sets))  # type: ignore[attr-defined]
        )
    console.print()
    return time.perf_counter() - started


def flip(hex_hash: str, rng: random.Random, bits: int) -> str:
    value = int(hex_hash, 16)
    for b in rng.sample(range(256), bits):
        value ^= 1 << b
    return f"{value:064x}"


def queries(world: World, rng: random.Random, n: int) -> tuple[list[dict[str, str]], int]:
    """n files to ask about, and how many must match (known, in a visible set)."""
    out: list[dict[str, str]] = []
    expected = 0
    with_pdq = [k for k in world.known if k[3]]
    for i in range(n):
        share = i % 5
        if share in (0, 1):
            md5, _, _, _, visible = rng.choice(world.known)
            out.append({"md5": md5})
        elif share == 2:
            _, _, sha256, _, visible = rng.choice(world.known)
            out.append({"sha256": sha256})
        elif share == 3:
            out.append({"md5": _hex(rng, 32)})
            visible = False
        else:
            _, _, _, pdq, visible = rng.choice(with_pdq)
            out.append({"pdq": flip(pdq or "", rng, rng.randint(1, 20))})
        expected += int(visible)
    return out, expected


def measure(
    world: World,
    client: TestClient,
    headers: dict[str, str],
    rng: random.Random,
    backend: str,
    repeat: int,
) -> list[Row]:
    rows = []
    for size in BATCHES:
        times: list[float] = []
        matched = 0
        for _ in range(repeat if size < 10_000 else max(1, repeat // 3)):
            body, expected = queries(world, rng, size)
            started = time.perf_counter()
            r = client.post("/api/v1/match", json={"hashes": body}, headers=headers)
            times.append((time.perf_counter() - started) * 1000)
            assert r.status_code == 200, r.text
            answers = r.json()
            matched = sum(1 for a in answers if a["matches"])
            assert matched == expected, f"{matched} matched, {expected} expected"
            seen = {m["hash_set"] for a in answers for m in a["matches"]}
            assert seen <= world.visible_names, f"invisible sets answered: {seen}"
        times.sort()
        rows.append(
            Row(
                backend,
                size,
                statistics.median(times),
                times[min(len(times) - 1, int(len(times) * 0.95))],
                statistics.median(times) / size,
                matched,
            )
        )
        console.print(f"  {backend} batch {size:>6,}: median {rows[-1].median_ms:,.1f} ms")
    return rows


def read_during_match(
    world: World,
    client: TestClient,
    headers: dict[str, str],
    reader: dict[str, str],
    rng: random.Random,
) -> tuple[float, float, list[int]]:
    """(match ms, slowest case-list ms of another agency asked every 50 ms meanwhile, and its
    answers other than 200)."""
    body, _ = queries(world, rng, 10_000)
    slowest = 0.0
    refused: list[int] = []
    done = threading.Event()

    def read() -> None:
        nonlocal slowest
        with TestClient(client.app, raise_server_exceptions=False) as other:  # type: ignore[arg-type]
            while not done.is_set():
                started = time.perf_counter()
                status = other.get("/api/v1/cases", headers=reader).status_code
                slowest = max(slowest, (time.perf_counter() - started) * 1000)
                if status != 200:
                    refused.append(status)
                time.sleep(0.05)

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(0.2)
    started = time.perf_counter()
    assert client.post("/api/v1/match", json={"hashes": body}, headers=headers).status_code == 200
    took = (time.perf_counter() - started) * 1000
    done.set()
    thread.join()
    return took, slowest, refused


def run(backend: str, entries: int, n_sets: int, repeat: int, seed: int) -> tuple[list[Row], str]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        console.print(f"[bold]{backend}[/]: {entries:,} entries in {n_sets} sets")
        world = setup_world(url, Path(tmp), n_sets)
        seconds = preload(world, entries, rng)
        console.print(f"  preload {seconds:,.0f} s ({entries / seconds:,.0f}/s)")
        app = create_app(world.settings, world.engine)
        with unit_of_work(world.factory) as s:
            tokens = []
            for who in (0, 1):
                user = auth_service.user_by_id(s, cast(uuid.UUID, world.callers[who].user_id))
                assert user is not None
                issued = auth_service.create_token(s, world.callers[who], world.settings, user=user)
                tokens.append({"Authorization": f"Bearer {issued.secret}"})
        with TestClient(app) as client:
            started = time.perf_counter()
            client.post("/api/v1/match", json={"hashes": [{"pdq": "0" * 64}]}, headers=tokens[0])
            console.print(f"  PDQ index loaded in {time.perf_counter() - started:,.1f} s")
            rows = measure(world, client, tokens[0], rng, backend, repeat)
            note = ""
            if backend == "sqlite":
                took, slowest, refused = read_during_match(world, client, tokens[0], tokens[1], rng)
                note = (
                    f"SQLite: a 10,000-file match took {took:,.0f} ms; another agency's "
                    f"case list asked meanwhile took at most {slowest:,.0f} ms, "
                    f"answers other than 200: {refused or 'none'}"
                )
                console.print(f"  {note}")
        world.engine.dispose()
    return rows, note


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--sets", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    rows: list[Row] = []
    notes: list[str] = []
    for backend in args.backends:
        found, note = run(backend, args.entries, args.sets, args.repeat, args.seed)
        rows += found
        notes += [note] if note else []
    table = Table(title=f"POST /api/v1/match, {args.entries:,} known entries")
    for column in ("backend", "files asked", "median", "p95", "per file", "matched"):
        table.add_column(column, justify="right")
    print("| backend | files asked | median | p95 | per file | matched |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = (
            r.backend,
            f"{r.batch:,}",
            f"{r.median_ms:,.1f} ms",
            f"{r.p95_ms:,.1f} ms",
            f"{r.per_file_ms:.3f} ms",
            f"{r.matched:,}",
        )
        table.add_row(*cells)
        print("| " + " | ".join(cells) + " |")
    for note in notes:
        print(f"\n{note}")
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
