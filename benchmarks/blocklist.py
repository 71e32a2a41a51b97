"""Block-list checker: lookups per second on one core against a 1M-entry list.

The list holds N entries on fictional domains (``*.example.com``/``.org``/``.net``): 80 %
exact URLs (``host/dir/page-N.jpg``, some with a query) and 20 % path prefixes
(``host/gallery-N``). The lookups are raw URLs as a provider meets them, in equal thirds:

* exact hits (the listed URL, spelt ``http://`` or ``https://``),
* prefix hits (a page two to four levels under a listed prefix),
* misses (a page on a listed host that is not listed, or a host that is not).

In the same run, on one thread:

* taskforce: `blocklist.checker.Checker.is_blocked(url)` — normalises the URL (fast path for
  URLs already in normal form, the full parser otherwise), then one dict lookup for the exact
  key and, on a host with prefix entries, one per path level;
* baseline: a plain Python ``set`` of the listed exact keys, asked ``key in listed`` with the
  key *already normalised outside the timing* — no parsing, no prefix entries. It is the
  floor a lookup cannot beat in CPython, not a usable checker (it misses every prefix hit).

A share of the lookups (``--messy``, default 5 %) is spelt unusually (upper-case host, default
port, an escaped letter) so the full parser is part of the measurement. The lookups are mostly
distinct URLs (the share is printed); the checker keeps no cache of answers.

Memory layout: a provider checks a URL it has just read from a request, so each URL is a new
string object, allocated in the order the URLs are asked (as the baseline's keys are). A second
checker row asks the same URLs as the objects built before the shuffle, scattered over the heap
(as this benchmark laid them out until 2026-12-02): every lookup then starts with a cache and TLB
miss on the URL itself, which the baseline never paid.

Run: .venv/bin/python benchmarks/blocklist.py --entries 1000000 --lookups 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import time

from rich.console import Console
from rich.table import Table

from taskforce.blocklist.checker import Checker, Match
from taskforce.blocklist.normalise import block_key

console = Console(width=140)
TLDS = ("example.com", "example.org", "example.net")


def build(entries: int, rng: random.Random) -> tuple[list[Match], list[str], list[str]]:
    """The list, and for the lookups: listed exact URLs and listed prefixes (as keys)."""
    hosts = [f"site{i}.{TLDS[i % 3]}" for i in range(max(entries // 50, 1))]
    listed: list[Match] = []
    exact: list[str] = []
    prefixes: list[str] = []
    for i in range(entries):
        host = hosts[rng.randrange(len(hosts))]
        if i % 5 == 4:
            key = f"{host}/gallery-{i}"
            prefixes.append(key)
            listed.append(Match(key, "prefix", "B"))
        else:
            query = f"?id={i}" if i % 7 == 0 else ""
            key = f"{host}/d{i % 97}/page-{i}.jpg{query}"
            exact.append(key)
            listed.append(Match(key, "exact", "A"))
    return listed, exact, prefixes


def lookups(
    count: int, exact: list[str], prefixes: list[str], messy: float, rng: random.Random
) -> list[tuple[str, str]]:
    """The URLs to ask, shuffled, each with its kind (for --by-kind)."""
    urls: list[tuple[str, str]] = []
    for i in range(count):
        kind = i % 3
        if kind == 0:
            url, label = "http://" + exact[rng.randrange(len(exact))], "exact hit"
        elif kind == 1:
            depth = rng.randrange(1, 4)
            tail = "/".join(f"p{rng.randrange(100)}" for _ in range(depth))
            url = f"https://{prefixes[rng.randrange(len(prefixes))]}/{tail}/img.jpg"
            label = "prefix hit"
        elif i % 2:  # one host in 150 of these is a listed one
            url = f"http://site{rng.randrange(10**6)}.example.org/d1/page-x.jpg"
            label = "miss, unlisted host"
        else:
            url = "http://" + exact[rng.randrange(len(exact))].replace("page-", "other-")
            label = "miss, listed host"
        if rng.random() < messy:
            label = "unusual spelling"
            scheme, _, rest = url.partition("://")
            host, _, path = rest.partition("/")
            url = f"{scheme.upper()}://{host.upper()}:{80 if scheme == 'http' else 443}/%70{path}"
            url = url.replace("/%70d", "/%64", 1) if "/%70d" in url else url.replace("/%70", "/")
        urls.append((url, label))
    rng.shuffle(urls)
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1_000_000)
    parser.add_argument("--messy", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed passes; the best is shown")
    parser.add_argument(
        "--by-kind", action="store_true", help="also time each kind of lookup on its own"
    )
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    rng = random.Random(args.seed)

    started = time.perf_counter()
    listed, exact, prefixes = build(args.entries, rng)
    asked_kinds = lookups(args.lookups, exact, prefixes, args.messy, rng)
    scattered = [url for url, _ in asked_kinds]
    urls = [url.encode().decode() for url in scattered]  # new objects, in the order asked
    checker = Checker(listed)
    build_s = time.perf_counter() - started

    load_before = os.getloadavg()[0]
    is_blocked = checker.is_blocked
    runs, cpu_runs, scattered_runs, scattered_cpu_runs = [], [], [], []
    for _ in range(args.repeat):
        for asked, wall, cpu_time in (
            (urls, runs, cpu_runs),
            (scattered, scattered_runs, scattered_cpu_runs),
        ):
            started, cpu = time.perf_counter(), time.process_time()
            found = [is_blocked(url) for url in asked]
            wall.append(time.perf_counter() - started)
            cpu_time.append(time.process_time() - cpu)
    checker_s, checker_cpu = min(runs), min(cpu_runs)
    scattered_s, scattered_cpu = min(scattered_runs), min(scattered_cpu_runs)
    hits = sum(1 for f in found if f is not None)
    prefix_hits = sum(1 for f in found if f is not None and f.match == "prefix")

    keys = [block_key(url) for url in urls]  # normalised outside the timing
    plain = {m.key for m in listed if m.match == "exact"}
    base_runs, base_cpu_runs = [], []
    for _ in range(args.repeat):
        started, cpu = time.perf_counter(), time.process_time()
        base_found = [key in plain for key in keys]
        base_runs.append(time.perf_counter() - started)
        base_cpu_runs.append(time.process_time() - cpu)
    base_s, base_cpu = min(base_runs), min(base_cpu_runs)
    base_hits = sum(base_found)

    # the checker agrees with a slow, obvious reading on a sample
    sample = rng.sample(range(len(urls)), min(2_000, len(urls)))
    exact_keys = plain
    prefix_keys = {m.key for m in listed if m.match == "prefix"}
    for i in sample:
        key = block_key(urls[i])
        path_only = key.split("?", 1)[0]
        expect = key in exact_keys or any(
            path_only == p or path_only.startswith(p + "/")
            for p in _prefixes_of(path_only)
            if p in prefix_keys
        )
        assert (found[i] is not None) == expect, urls[i]

    title = f"{args.entries:,} entries, {len(urls):,} lookups, one core, best of {args.repeat}"
    table = Table(title=title)
    columns = ("method", "wall s", "lookups/s (wall)", "CPU s", "lookups/CPU-s", "hits", "prefix")
    for column in columns:
        table.add_column(column, justify="right" if column != "method" else "left")
    table.add_row(
        "Checker.is_blocked(raw URL)",
        f"{checker_s:.2f}",
        f"{len(urls) / checker_s:,.0f}",
        f"{checker_cpu:.2f}",
        f"{len(urls) / checker_cpu:,.0f}",
        f"{hits:,}",
        f"{prefix_hits:,}",
    )
    table.add_row(
        "… URL objects scattered (layout until 2026-12-02)",
        f"{scattered_s:.2f}",
        f"{len(urls) / scattered_s:,.0f}",
        f"{scattered_cpu:.2f}",
        f"{len(urls) / scattered_cpu:,.0f}",
        f"{hits:,}",
        f"{prefix_hits:,}",
    )
    table.add_row(
        "set membership (normalised key)",
        f"{base_s:.2f}",
        f"{len(urls) / base_s:,.0f}",
        f"{base_cpu:.2f}",
        f"{len(urls) / base_cpu:,.0f}",
        f"{base_hits:,}",
        "—",
    )
    console.print(table)
    console.print(
        f"checker passes: {', '.join(f'{r:.2f}' for r in runs)} s; "
        f"build (list + lookups + index): {build_s:.1f} s; distinct URLs: "
        f"{len(set(urls)) / len(urls):.1%}; checker / baseline time: "
        f"{checker_s / base_s:.1f}×; target ≥ 500,000 lookups/s: "
        f"{'met' if len(urls) / checker_cpu >= 500_000 else 'NOT met'} (per CPU-second; "
        f"load average {load_before:.1f} before the passes, {os.getloadavg()[0]:.1f} after, "
        f"on {os.cpu_count()} cores)"
    )
    if args.by_kind:
        by_kind(checker, urls, [kind for _, kind in asked_kinds], args.repeat)


def by_kind(checker: Checker, urls: list[str], kinds: list[str], repeat: int) -> None:
    """CPU time per lookup for each kind, its URLs asked on their own (in order)."""
    groups: dict[str, list[str]] = {}
    for url, kind in zip(urls, kinds, strict=True):
        groups.setdefault(kind, []).append(url)
    table = Table(title="per kind (CPU time, best of each kind's own passes)")
    for column in ("kind", "lookups", "µs per lookup", "share of the time"):
        table.add_column(column, justify="right" if column != "kind" else "left")
    is_blocked = checker.is_blocked
    times: dict[str, float] = {}
    for kind, group in sorted(groups.items()):
        best = float("inf")
        for _ in range(repeat):
            cpu = time.process_time()
            for url in group:
                is_blocked(url)
            best = min(best, time.process_time() - cpu)
        times[kind] = best
    total = sum(times.values())
    for kind, group in sorted(groups.items()):
        table.add_row(
            kind,
            f"{len(group):,}",
            f"{times[kind] / len(group) * 1e6:.2f}",
            f"{times[kind] / total:.0%}",
        )
    table.add_row("all", f"{len(urls):,}", f"{total / len(urls) * 1e6:.2f}", "100%")
    console.print(table)


def _prefixes_of(path: str) -> list[str]:
    host, _, rest = path.partition("/")
    parts = rest.split("/")
    return [host + "/" + "/".join(parts[:i]) for i in range(len(parts) + 1)]


if __name__ == "__main__":
    main()
