"""The STIX 2.1 export at scale (issue 17: 1,000,000 GREEN selectors streamed in ≤ 60 s and
≤ 500 MiB), against a plain JSON dump of the same rows in the same run.

A scratch database (SQLite in a temp folder; also PostgreSQL with `--postgres`) built by the
migrations gets `--rows` GREEN selectors spread over `--cases` cases of two agencies, inserted
in bulk (Core executemany, no deconfliction: the export reads, it does not match). Values are
synthetic and benign: example.com URLs, domains and addresses, 2001:db8::/32 addresses,
fictional wallets, hashes of counters; one selector in twenty is a phone number, which has no
STIX form and is counted as skipped.

Each measurement runs in a fresh child process (spawn), which reports its own peak RSS
(`resource.getrusage`), so the parent's seeding does not count:

* the baseline: `SELECT` the selectors (id, kind, value, platform, added_at, case id) streamed
  with a server-side cursor and written as one JSON array, row by row;
* `interop.service.export_stix`: the releasability joins, the bundle streamed to a file (the
  five TLP markings, identities, an indicator per selector, files and relationships for hash
  selectors, a grouping per case), the signature, the export record and the audit entry.

A table on stderr, the same as Markdown on stdout (for docs/benchmarks.md). Exits non-zero when
the export misses 60 s or 500 MiB.

Run: .venv/bin/python benchmarks/export.py [--rows 1000000] [--cases 1000] [--postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_network import database, register_agencies
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, select
from sqlalchemy.orm import sessionmaker

from taskforce import migrate
from taskforce.agencies.models import Agency
from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.core.caller import agency_operator
from taskforce.core.db import make_engine, unit_of_work
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

console = Console(stderr=True, width=150)
TARGET_S = 60.0
TARGET_MIB = 500.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
AGENCIES = [
    ("GB-NCA", "GB", "Europe/London", "+442079460001"),
    ("NL-NP", "NL", "Europe/Amsterdam", "+31201234567"),
]
CHUNK = 20_000


def settings_for(folder: Path, url: str) -> Settings:
    return Settings(
        data_dir=folder,
        database_url=url,
        allow_insecure_defaults=True,
        public_url="http://hub.example.org",
        worker="external",
    )


def value_of(i: int) -> tuple[str, str]:
    """The i-th synthetic selector: (kind, canonical value)."""
    slot = i % 20
    if slot < 6:
        return "url", f"http://site{i % 50_000}.example.com/gallery/{i}"
    if slot < 10:
        return "domain", f"d{i}.example.net"
    if slot < 13:
        return "email", f"user{i}@example.com"
    if slot < 16:
        return "ip", f"2001:db8::{i >> 16:x}:{i & 0xFFFF:x}"
    if slot == 16:
        return "crypto_wallet", "0x" + hashlib.sha1(f"w{i}".encode()).hexdigest()  # noqa: S324
    if slot == 17:
        return "md5", hashlib.md5(f"f{i}".encode()).hexdigest()  # noqa: S324
    if slot == 18:
        return "sha256", hashlib.sha256(f"f{i}".encode()).hexdigest()
    return "phone", f"+44207{i:07d}"


def seed(factory: sessionmaker[Any], rows: int, cases: int) -> None:
    with unit_of_work(factory) as session:
        register_agencies(session, AGENCIES)
    with unit_of_work(factory) as session:
        owners = [
            session.scalars(select(Agency.id).where(Agency.code == c)).one() for c, *_ in AGENCIES
        ]
        case_ids = [uuid.uuid4() for _ in range(cases)]
        session.execute(
            insert(Case),
            [
                {
                    "id": case_ids[n],
                    "reference": f"BENCH-{n:06d}",
                    "title": f"Benchmark case {n}",
                    "summary": "",
                    "offence_types": ["csam-distribution"],
                    "owner_agency_id": owners[n % len(owners)],
                    "sharing": SharingLevel.GREEN,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for n in range(cases)
            ],
        )
    for start in range(0, rows, CHUNK):
        values, selectors = [], []
        for i in range(start, min(rows, start + CHUNK)):
            kind, value = value_of(i)
            value_id = uuid.uuid4()
            values.append({"id": value_id, "kind": kind, "key": value, "case_count": 1})
            selectors.append(
                {
                    "id": uuid.uuid4(),
                    "case_id": case_ids[i % cases],
                    "value_id": value_id,
                    "kind": kind,
                    "value": value,
                    "raw": value,
                    "note": "",
                    "added_at": T0 + timedelta(seconds=i),
                }
            )
        with unit_of_work(factory) as session:
            session.execute(insert(SelectorValue), values)
            session.execute(insert(Selector), selectors)


def _peak_mib() -> float:
    """This process's peak resident memory. /proc's VmHWM is the high-water mark of this
    process's own address space; getrusage's ru_maxrss also keeps the parent's from before
    exec, which is the seeding's, not the export's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _cpu_s() -> float:
    """CPU seconds this process used (user + system): on a shared machine, the part of the
    wall time that is the work's own."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _dump(folder: str, url: str, target: str, done: Any) -> None:
    """The baseline, in its own process: the same rows as a plain JSON array."""
    engine = make_engine(settings_for(Path(folder), url))
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    started, cpu = time.perf_counter(), _cpu_s()
    count = 0
    stmt = select(
        Selector.id,
        Selector.kind,
        Selector.value,
        Selector.platform,
        Selector.added_at,
        Selector.case_id,
    )
    with engine.connect() as conn, Path(target).open("wb") as out:
        out.write(b"[")
        result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)
        for part in result.partitions():
            text = ",".join(
                encode(
                    {
                        "id": str(r[0]),
                        "kind": r[1],
                        "value": r[2],
                        "platform": r[3],
                        "added_at": r[4].isoformat(),
                        "case_id": str(r[5]),
                    }
                )
                for r in part
            )
            out.write((("," if count else "") + text).encode())
            count += len(part)
        out.write(b"]")
    took = time.perf_counter() - started
    done.put((took, Path(target).stat().st_size, count, _peak_mib(), _cpu_s() - cpu))


def _export(folder: str, url: str, target: str, done: Any) -> None:
    """The STIX export, in its own process, as `taskforce export stix` runs it."""
    from taskforce.interop import service

    settings = settings_for(Path(folder), url)
    factory = sessionmaker(make_engine(settings), expire_on_commit=False)
    started, cpu = time.perf_counter(), _cpu_s()
    with unit_of_work(factory) as session, Path(target).open("wb") as out:
        agency = session.scalars(select(Agency).where(Agency.code == "GB-NCA")).one()
        caller = agency_operator(agency.id, agency.code, agency.country)
        result = service.export_stix(session, caller, settings, out, now=NOW)
    counts = result.counts
    took = time.perf_counter() - started
    done.put((took, result.bytes, result.objects, _peak_mib(), _cpu_s() - cpu, counts))


def measure(target: Any, *args: str) -> Any:
    context = multiprocessing.get_context("spawn")
    done = context.Queue()
    child = context.Process(target=target, args=(*args, done))
    child.start()
    answer = done.get()
    child.join()
    if child.exitcode:
        raise SystemExit(f"{target.__name__} failed with exit code {child.exitcode}")
    return answer


def run(backend: str, rows: int, cases: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
        settings = settings_for(Path(tmp), url)
        engine = make_engine(settings)
        migrate.upgrade(settings, engine)
        factory = sessionmaker(engine, expire_on_commit=False)
        started = time.perf_counter()
        seed(factory, rows, cases)
        engine.dispose()
        console.print(
            f"[bold]{backend}[/]: seeded {rows:,} selectors in {cases:,} cases in "
            f"{time.perf_counter() - started:.0f} s"
        )
        dump_s, dump_bytes, dump_rows, dump_mib, dump_cpu = measure(
            _dump, tmp, url, f"{tmp}/dump.json"
        )
        stix_s, stix_bytes, objects, stix_mib, stix_cpu, counts = measure(
            _export, tmp, url, f"{tmp}/bundle.json"
        )
    return {
        "backend": backend,
        "rows": rows,
        "dump_s": dump_s,
        "dump_bytes": dump_bytes,
        "dump_rows": dump_rows,
        "dump_mib": dump_mib,
        "dump_cpu": dump_cpu,
        "stix_cpu": stix_cpu,
        "load": os.getloadavg()[0],
        "stix_s": stix_s,
        "stix_bytes": stix_bytes,
        "objects": objects,
        "stix_mib": stix_mib,
        "skipped": counts["skipped"],
    }


def report(results: list[dict[str, Any]]) -> bool:
    table = Table(title="STIX export vs plain JSON dump (each in a fresh process)")
    header = [
        "backend",
        "selectors",
        "what",
        "seconds",
        "CPU s",
        "MiB written",
        "objects",
        "peak RSS MiB",
    ]
    for name in header:
        table.add_column(name, justify="right")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    ok = True
    for r in results:
        for what, s, cpu, size, objects, mib in (
            (
                "JSON dump",
                r["dump_s"],
                r["dump_cpu"],
                r["dump_bytes"],
                r["dump_rows"],
                r["dump_mib"],
            ),
            (
                "STIX export",
                r["stix_s"],
                r["stix_cpu"],
                r["stix_bytes"],
                r["objects"],
                r["stix_mib"],
            ),
        ):
            cells = [
                r["backend"],
                f"{r['rows']:,}",
                what,
                f"{s:.1f}",
                f"{cpu:.1f}",
                f"{size / 2**20:,.0f}",
                f"{objects:,}",
                f"{mib:,.0f}",
            ]
            table.add_row(*cells)
            lines.append("| " + " | ".join(cells) + " |")
        ratio = r["stix_s"] / r["dump_s"] if r["dump_s"] else float("inf")
        cpu_ratio = r["stix_cpu"] / r["dump_cpu"] if r["dump_cpu"] else float("inf")
        skipped = ", ".join(f"{k} {v:,}" for k, v in r["skipped"].items()) or "none"
        lines.append(
            f"| {r['backend']} | | ratio STIX/dump | {ratio:.1f}× | {cpu_ratio:.1f}× | | "
            f"skipped: {skipped} | load {r['load']:.1f} |"
        )
        table.add_row(r["backend"], "", "ratio", f"{ratio:.1f}×", f"{cpu_ratio:.1f}×", "", "", "")
        ok = ok and r["stix_s"] <= TARGET_S and r["stix_mib"] <= TARGET_MIB
    console.print(table)
    print("\n".join(lines))
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=1_000)
    parser.add_argument("--postgres", action="store_true", help="also on PostgreSQL")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    results = [run(b, args.rows, args.cases) for b in backends]
    if not report(results):
        console.print(f"[red]missed the target: ≤ {TARGET_S:.0f} s and ≤ {TARGET_MIB:.0f} MiB[/]")
        sys.exit(1)


if __name__ == "__main__":
    main()
