"""The rota engine: the gap finder over 60 desks and 90 days, and "who is on duty at T".

A synthetic network shaped like the 24/7 network's: 60 member desks in their real zones
(Europe, the Americas, Asia-Pacific, Africa; 38 of them change their clocks), each on its own
office hours with evening and weekend cover at some, two rotations (a daily European night
watch, a weekly Pacific weekend), an operation's temporary schedule, overrides (swaps, sick
days, an added desk), unavailability, every desk's public holidays (with subdivisions), and
five coverage requirements. The 90 days from 1 March 2027 cross every northern and southern
spring and autumn change of that year's first half.

Measured in one run, against the naive reference (`engine.minute_scan_gaps`, which decides
each minute on its own from the definitions) and checked to agree with it:

* `gaps` over the 90 days: cold (holiday tables not yet built) once, then warm (median);
* `on_duty` at random instants (median, 99th percentile), against the minute scan's
  decision for the same instant.

Exits non-zero when the answers differ or a target (gaps ≤ 200 ms, on duty ≤ 2 ms) is missed.

Run: .venv/bin/python benchmarks/rota.py
"""

from __future__ import annotations

import argparse
import random
import statistics
import time as clock
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import ParamSpec, TypeVar

from rich.console import Console
from rich.table import Table

from taskforce.rota import clocks, engine
from taskforce.rota.engine import (
    Desk,
    FixedShift,
    Override,
    Requirement,
    Rota,
    Rotation,
    Rule,
    Temporary,
    Unavailable,
)

console = Console(stderr=True, width=150)

# (country, subdivision, zone, languages) — 60 desks of member-like countries.
DESKS = [
    ("NL", None, "Europe/Amsterdam", "nl en"),
    ("BE", None, "Europe/Brussels", "nl fr en"),
    ("DE", "BY", "Europe/Berlin", "de en"),
    ("DE", "BE", "Europe/Berlin", "de en"),
    ("FR", None, "Europe/Paris", "fr en"),
    ("ES", None, "Europe/Madrid", "es en"),
    ("PT", None, "Europe/Lisbon", "pt en"),
    ("IT", None, "Europe/Rome", "it en"),
    ("GB", "ENG", "Europe/London", "en"),
    ("IE", None, "Europe/Dublin", "en ga"),
    ("DK", None, "Europe/Copenhagen", "da en"),
    ("SE", None, "Europe/Stockholm", "sv en"),
    ("NO", None, "Europe/Oslo", "no en"),
    ("FI", None, "Europe/Helsinki", "fi sv en"),
    ("PL", None, "Europe/Warsaw", "pl en"),
    ("CZ", None, "Europe/Prague", "cs en"),
    ("AT", None, "Europe/Vienna", "de en"),
    ("CH", "ZH", "Europe/Zurich", "de fr it en"),
    ("GR", None, "Europe/Athens", "el en"),
    ("RO", None, "Europe/Bucharest", "ro en"),
    ("HU", None, "Europe/Budapest", "hu en"),
    ("EE", None, "Europe/Tallinn", "et en"),
    ("LV", None, "Europe/Riga", "lv en"),
    ("LT", None, "Europe/Vilnius", "lt en"),
    ("SK", None, "Europe/Bratislava", "sk en"),
    ("SI", None, "Europe/Ljubljana", "sl en"),
    ("HR", None, "Europe/Zagreb", "hr en"),
    ("BG", None, "Europe/Sofia", "bg en"),
    ("LU", None, "Europe/Luxembourg", "fr de en"),
    ("MT", None, "Europe/Malta", "mt en"),
    ("CY", None, "Asia/Nicosia", "el en"),
    ("UA", None, "Europe/Kyiv", "uk en"),
    ("IS", None, "Atlantic/Reykjavik", "is en"),
    ("US", "NY", "America/New_York", "en es"),
    ("US", "CA", "America/Los_Angeles", "en es"),
    ("CA", "ON", "America/Toronto", "en fr"),
    ("MX", None, "America/Mexico_City", "es en"),
    ("BR", None, "America/Sao_Paulo", "pt en"),
    ("AR", None, "America/Argentina/Buenos_Aires", "es"),
    ("CL", None, "America/Santiago", "es en"),
    ("CO", None, "America/Bogota", "es"),
    ("PE", None, "America/Lima", "es"),
    ("CR", None, "America/Costa_Rica", "es en"),
    ("DO", None, "America/Santo_Domingo", "es"),
    ("AU", "NSW", "Australia/Sydney", "en"),
    ("AU", "WA", "Australia/Perth", "en"),
    ("NZ", None, "Pacific/Auckland", "en"),
    ("JP", None, "Asia/Tokyo", "ja en"),
    ("KR", None, "Asia/Seoul", "ko en"),
    ("PH", None, "Asia/Manila", "en"),
    ("SG", None, "Asia/Singapore", "en"),
    ("LK", None, "Asia/Colombo", "en"),
    ("ID", None, "Asia/Jakarta", "id en"),
    ("TH", None, "Asia/Bangkok", "th en"),
    ("IL", None, "Asia/Jerusalem", "he en"),
    ("TR", None, "Europe/Istanbul", "tr en"),
    ("MA", None, "Africa/Casablanca", "ar fr"),
    ("ZA", None, "Africa/Johannesburg", "en"),
    ("NG", None, "Africa/Lagos", "en"),
    ("KE", None, "Africa/Nairobi", "en sw"),
]
POWERS = [
    "preservation",
    "emergency_disclosure",
    "subscriber_data",
    "traffic_data",
    "content_data",
    "locate_suspect",
    "technical_advice",
]
WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
START = datetime(2027, 3, 1, tzinfo=UTC)
DAYS = 90


def hm(text: str) -> time | None:
    return None if text == "24:00" else time.fromisoformat(text)


def network(seed: int) -> Rota:
    rng = random.Random(seed)
    desks = []
    for n, (country, subdivision, key, languages) in enumerate(DESKS):
        powers = {"preservation"} | set(rng.sample(POWERS[1:], rng.randint(1, 4)))
        if n % 9 == 4:
            powers.discard("preservation")  # a few desks cannot preserve themselves
        code = f"{country}-{subdivision or n}"
        desks.append(
            Desk(
                uuid.UUID(int=rng.getrandbits(128)),
                code,
                key,
                country,
                subdivision,
                frozenset(languages.split()),
                frozenset(powers),
                True,
            )
        )

    def rule(desk: Desk | None, days: frozenset[int], start: str, end: str, key: str) -> Rule:
        return Rule(
            uuid.UUID(int=rng.getrandbits(128)),
            desk.id if desk else None,
            None,
            days,
            hm(start),  # type: ignore[arg-type]
            hm(end),
            key,
        )

    rules = []
    for n, desk in enumerate(desks):
        opens = rng.choice(["07:30", "08:00", "08:30", "09:00"])
        rules.append(
            rule(desk, WEEKDAYS, opens, rng.choice(["17:00", "18:00", "19:00"]), desk.time_zone)
        )
        if n % 3 == 0:
            rules.append(rule(desk, WEEKDAYS, "19:00", "23:30", desk.time_zone))
        if n % 4 == 1:
            rules.append(rule(desk, WEEKEND, "10:00", "16:00", desk.time_zone))
        if n % 10 == 7:
            rules.append(
                rule(desk, frozenset({4}), "22:00", "06:00", desk.time_zone)
            )  # Friday nights
    by_code = {d.code: d for d in desks}
    night = Rotation(
        uuid.uuid4(),
        "European night watch",
        "daily",
        1,
        "Europe/Brussels",
        datetime(2027, 1, 4, 22, tzinfo=UTC),
        tuple(d.id for d in desks[:6]),
    )
    pacific = Rotation(
        uuid.uuid4(),
        "Pacific weekend",
        "weekly",
        1,
        "Australia/Sydney",
        datetime(2027, 1, 1, 13, tzinfo=UTC),
        tuple(by_code[c].id for c in ["AU-NSW", "AU-WA", f"NZ-{46}", f"JP-{47}"]),
    )
    rules.append(
        Rule(uuid.uuid4(), None, night.id, frozenset(range(7)), time(23), time(7), night.time_zone)
    )
    rules.append(Rule(uuid.uuid4(), None, pacific.id, WEEKEND, time(0), None, pacific.time_zone))

    def moment() -> datetime:
        return START + timedelta(minutes=15 * rng.randrange(DAYS * 96))

    overrides = []
    for _ in range(12):
        lo = moment()
        hi = lo + timedelta(hours=rng.choice([4, 8, 24, 72]))
        a, b = rng.sample(desks, 2)
        add, remove = rng.choice([(a.id, None), (None, a.id), (a.id, b.id)])
        overrides.append(Override(uuid.uuid4(), lo, hi, add, remove))
    unavailable = []
    for _ in range(12):
        lo = moment()
        hours = rng.choice([3, 24, 24 * 5])
        unavailable.append(
            Unavailable(rng.choice(desks).id, lo, lo + timedelta(hours=hours), "training")
        )
    op_start = datetime(2027, 4, 19, 6, tzinfo=UTC)
    operation = Temporary(
        uuid.uuid4(),
        "Operation",
        op_start,
        op_start + timedelta(days=3),
        tuple(
            FixedShift(
                d.id, op_start + timedelta(hours=8 * i), op_start + timedelta(hours=8 * i + 8)
            )
            for i, d in enumerate(rng.sample(desks, 9))
        ),
    )
    requirements = (
        Requirement(uuid.uuid4(), "Any desk on duty", None, None),
        Requirement(uuid.uuid4(), "Preservation", "preservation", None),
        Requirement(uuid.uuid4(), "Preservation in English", "preservation", "en"),
        Requirement(uuid.uuid4(), "Preservation in Spanish", "preservation", "es"),
        Requirement(uuid.uuid4(), "Emergency disclosure in French", "emergency_disclosure", "fr"),
    )
    return Rota(
        tuple(desks),
        (night, pacific),
        tuple(rules),
        tuple(overrides),
        (operation,),
        tuple(unavailable),
        requirements,
    )


P = ParamSpec("P")
T = TypeVar("T")


def timed(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> tuple[float, T]:
    started = clock.perf_counter()
    result = fn(*args, **kwargs)
    return clock.perf_counter() - started, result


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=15, help="warm gap-finder runs")
    parser.add_argument("--instants", type=int, default=500, help="on-duty questions")
    parser.add_argument("--scan-days", type=int, default=DAYS, help="days the minute scan does")
    args = parser.parse_args(argv)
    rota = network(args.seed)
    end = START + timedelta(days=DAYS)
    loads = [load()]

    engine.holiday_table.cache_clear()
    clocks._local_instant.cache_clear()
    clocks.window.cache_clear()
    cold, found = timed(engine.gaps, rota, START, end)
    warm, warm_cpu = [], []
    for _ in range(args.rounds):
        cpu = clock.thread_time()
        warm.append(timed(engine.gaps, rota, START, end)[0])
        warm_cpu.append(clock.thread_time() - cpu)
    gaps_ms = statistics.median(warm) * 1000

    rng = random.Random(args.seed)
    instants = [START + timedelta(minutes=rng.randrange(DAYS * 1440)) for _ in range(args.instants)]
    scan = engine._Scan(rota)
    on_times, on_cpu, scan_times, disagree = [], [], [], 0
    for at in instants:
        cpu = clock.thread_time()
        took, shifts = timed(engine.on_duty, rota, at)
        on_cpu.append(clock.thread_time() - cpu)
        on_times.append(took)
        took, desks = timed(scan.on_duty, at)
        scan_times.append(took)
        disagree += {s.desk_id for s in shifts} != desks
    on_times.sort()
    on_ms = statistics.median(on_times) * 1000
    on_p99 = on_times[int(len(on_times) * 0.99) - 1] * 1000
    on_cpu.sort()
    cpu_ms = statistics.median(on_cpu) * 1000, on_cpu[int(len(on_cpu) * 0.99) - 1] * 1000
    scan_on_ms = statistics.median(scan_times) * 1000
    fortnight = [timed(engine.shifts, rota, at, at + timedelta(days=14))[0] for at in instants[:50]]
    following = [timed(engine.next_on_duty, rota, at)[0] for at in instants[:50]]
    loads.append(load())

    scan_end = START + timedelta(days=args.scan_days)
    console.print(f"minute scan over {args.scan_days} days …")
    scan_s, reference = timed(engine.minute_scan_gaps, rota, START, scan_end)
    engine_part = engine.gaps(rota, START, scan_end)
    agree = engine_part == reference
    scan_ms = scan_s * 1000 * DAYS / args.scan_days
    loads.append(load())

    shifts = engine.shifts(rota, START, end)
    by_req = {r.id: 0 for r in rota.requirements}
    for g in found:
        by_req[g.requirement_id] += 1
    table = Table(title=f"Rota engine, {len(rota.desks)} desks, {DAYS} days from {START:%Y-%m-%d}")
    for column in ("operation", "engine", "minute scan (baseline)", "ratio", "target", "met"):
        table.add_column(column, justify="right" if column != "operation" else "left")
    scan_label = f"{scan_ms:,.0f} ms" + ("" if args.scan_days == DAYS else " (extrapolated)")
    gaps_ratio = f"{scan_ms / gaps_ms:,.0f}×"
    on_ratio = f"{scan_on_ms / on_ms:.1f}×"
    rows = [
        ("gaps, 90 days, warm (median)", f"{gaps_ms:.1f} ms", scan_label, gaps_ratio,
         "≤ 200 ms", gaps_ms <= 200),
        ("gaps, 90 days, warm, CPU time (median)",
         f"{statistics.median(warm_cpu) * 1000:.1f} ms", "", "", "", True),
        ("gaps, 90 days, cold (first call)", f"{cold * 1000:.1f} ms", "", "", "", True),
        ("on duty at T (median)", f"{on_ms:.3f} ms", f"{scan_on_ms:.3f} ms", on_ratio,
         "≤ 2 ms", on_ms <= 2),
        ("on duty at T (99th percentile)", f"{on_p99:.3f} ms", "", "", "", True),
        ("on duty at T, CPU time (median / 99th percentile)",
         f"{cpu_ms[0]:.3f} / {cpu_ms[1]:.3f} ms", "", "", "", True),
        ("shifts, 14 days (the timeline; median)",
         f"{statistics.median(fortnight) * 1000:.1f} ms", "", "", "", True),
        ("next on duty after T, 7-day horizon (median)",
         f"{statistics.median(following) * 1000:.1f} ms", "", "", "", True),
    ]  # fmt: skip
    lines = [
        "| operation | engine | minute scan (baseline) | ratio | target | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, value, base, ratio, target, met in rows:
        table.add_row(name, value, base, ratio, target, "yes" if met else "NO")
        lines.append(
            f"| {name} | {value} | {base} | {ratio} | {target} | {'yes' if met else 'no'} |"
        )
    console.print(table)
    facts = (
        f"{len(rota.rules)} rules, {len(rota.rotations)} rotations, {len(rota.overrides)} "
        f"overrides, {len(rota.unavailable)} unavailabilities, 1 temporary schedule; "
        f"{len(shifts):,} shifts, {len(engine.off_duty(rota, START, end))} off-duty spans; "
        f"gaps per requirement: "
        + ", ".join(f"{r.name} {by_req[r.id]}" for r in rota.requirements)
        + f". Minute scan over {args.scan_days} days: {scan_s:.1f} s, "
        + ("the same gaps" if agree else "DIFFERENT gaps")
        + f"; on duty at {len(instants)} instants: "
        + ("the same desks" if not disagree else f"{disagree} DIFFERENT")
        + " (the scan decides the instant only; `on_duty` also gives each shift's start and"
        + " end within a day either side)"
        + f". Load average (start, after on duty, end): {' · '.join(loads)}."
    )
    console.print(facts)
    print("\n".join([*lines, "", facts]))
    ok = agree and not disagree and all(row[-1] for row in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
