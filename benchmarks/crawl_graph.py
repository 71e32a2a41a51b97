"""The graph at scale (issue 18: 100,000 sites and 500,000 indicators, graph building and
community detection in ≤ 60 s and ≤ 4 GiB).

A synthetic agency (seeded; fictional values only) is made in the run: distribution groups of
2 to 12 brands, each brand 2 to 8 sites sharing a template fingerprint and a wallet or two, each
group a merchant account and an affiliate id on all its sites; a tenth of the sites alone.
Around them, what a real graph holds: common infrastructure (CDN addresses on thousands of
sites, popular analytics ids, processors' names), shared-hosting addresses on a few dozen random
sites, e-mails and wallets reused across two unrelated groups (the links Louvain must cut), and
each site's own e-mails, messenger handles and analytics ids, up to 500,000 indicators.

Measured in the same run:

* the baseline: connected components of the unweighted site–indicator graph in networkx (what
  "sites sharing anything are one group" gives: every site in one component, through the CDN);
* `commerce.graph.build`: noise, the weighted projection, brands and Louvain's groups.

Each with its wall time and the process's peak RSS after it (`resource.getrusage`: the synthetic
rows are included, so the figure is an upper bound), and the planted brands and groups against
the found ones: pairwise precision and recall, and the share of planted groups found exactly.
Exits non-zero when a target is missed or precision or recall falls under 0.95.

`graph_table(quick)` returns the rows for `benchmarks/crawl.py`; run on its own it prints them.

Run: .venv/bin/python benchmarks/crawl_graph.py [--quick] [--sites 100000] [--indicators 500000]
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterable
from math import comb

import networkx as nx

from taskforce.commerce import graph
from taskforce.commerce.graph import Sighting

TARGET_SECONDS = 60.0
TARGET_GIB = 4.0
MIN_RECOVERY = 0.95  # pairwise precision and recall of the planted groups and brands


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthetic(
    sites: int, indicators: int, seed: int = 18
) -> tuple[list[Sighting], dict[str, str], dict[str, str]]:
    """Sightings, and each planted site's brand and group."""
    rnd = random.Random(seed)
    names = [f"s{n:06d}.example" for n in range(sites)]
    order = names[:]
    rnd.shuffle(order)
    lone = sites // 10
    brand_of: dict[str, str] = {}
    group_of: dict[str, str] = {}
    on: dict[tuple[str, str], list[str]] = {}  # (kind, value) → sites

    def see(kind: str, value: str, hosts: Iterable[str]) -> None:
        on.setdefault((kind, value), []).extend(hosts)

    pos, b, g = lone, 0, 0
    while pos < sites:
        brands: list[list[str]] = []
        for _ in range(rnd.randint(2, 12)):
            size = rnd.randint(2, 8)
            members = order[pos : pos + size]
            pos += size
            if len(members) < 2:
                break
            brands.append(members)
        if len(brands) < 2:
            break
        for members in brands:
            see("template", f"{b:08x}" * 8, members)
            for w in range(rnd.randint(1, 2)):
                see("wallet", f"bc1qplanted{b:07d}w{w}", members)
            for host in members:
                brand_of[host] = f"b{b}"
                group_of[host] = f"g{g}"
            b += 1
        everyone = [h for members in brands for h in members]
        see("merchant", f"MID-{g:06d}", everyone)
        see("affiliate", f"aff={g:06d}", everyone)
        g += 1
    # common infrastructure: over the caps, listed as noise
    for n in range(40):
        see("ip", f"198.51.100.{n}", rnd.sample(names, rnd.randint(2_000, 8_000)))
    for n in range(10):
        see("analytics", f"UA-{n:06d}-1", rnd.sample(names, rnd.randint(1_000, 5_000)))
    for n in range(8):
        see("processor", f"ExamplePay {n}", rnd.sample(names, 10_000))
    # shared hosting: weak, below the caps
    for n in range(sites // 50):
        see("ip", f"203.0.{n // 256}.{n % 256}", rnd.sample(names, rnd.randint(10, 40)))
    # the same contact or wallet on two unrelated groups' sites
    planted = [h for h in names if h in group_of]
    for n in range(sites // 200):
        see("email", f"reused{n}@mail.example", rnd.sample(planted, 2))
    for n in range(sites // 500):
        see("wallet", f"bc1qreused{n:07d}", rnd.sample(planted, 2))
    # each site's own, up to the number of indicators asked for
    kinds = ("email", "messenger", "analytics")
    n = 0
    while len(on) < indicators:
        host = names[n % sites]
        kind = kinds[n % 3]
        see(kind, f"{kind}-{n}@{host}", [host])
        n += 1
    rows = [
        Sighting(host, f"{kind}:{value}", kind, value)
        for (kind, value), hosts in on.items()
        for host in set(hosts)
    ]
    return rows, brand_of, group_of


def recovery(found: list[tuple[str, ...]], planted: dict[str, str]) -> tuple[float, float, float]:
    """Pairwise precision and recall of the found clusters against the planted ones, and the
    share of planted clusters found exactly."""
    site_found = {s: n for n, sites in enumerate(found) for s in sites}
    cells = Counter((site_found[s], p) for s, p in planted.items() if s in site_found)
    together = sum(comb(c, 2) for c in cells.values())
    found_pairs = sum(comb(len(sites), 2) for sites in found)
    sizes = Counter(planted.values())
    planted_pairs = sum(comb(c, 2) for c in sizes.values())
    exact_sets = {frozenset(sites) for sites in found}
    by_planted: dict[str, set[str]] = {}
    for s, p in planted.items():
        by_planted.setdefault(p, set()).add(s)
    exact = sum(1 for members in by_planted.values() if frozenset(members) in exact_sets)
    return (
        together / found_pairs if found_pairs else 0.0,
        together / planted_pairs if planted_pairs else 0.0,
        exact / len(by_planted) if by_planted else 0.0,
    )


def baseline(rows: list[Sighting]) -> list[tuple[str, ...]]:
    """Connected components of the unweighted site–indicator graph: the sites of each."""
    g: nx.Graph[tuple[str, str]] = nx.Graph()
    g.add_edges_from((("s", r.site), ("i", r.indicator)) for r in rows)
    return [
        tuple(sorted(name for side, name in component if side == "s"))
        for component in nx.connected_components(g)
    ]


def graph_table(quick: bool = False, sites: int = 0, indicators: int = 0) -> list[dict[str, str]]:
    """The measured rows: step, scale, wall and CPU seconds, peak RSS (MiB), recovery,
    verdict (the target is judged on wall time)."""
    sites = sites or (10_000 if quick else 100_000)
    indicators = indicators or sites * 5
    t = time.perf_counter()
    rows, brand_of, group_of = synthetic(sites, indicators)
    made = time.perf_counter() - t
    scale = f"{sites:,} sites, {indicators:,} indicators, {len(rows):,} sightings"
    out = [
        {
            "step": "synthetic rows (setup, not measured)",
            "scale": scale,
            "seconds": f"{made:.1f}",
            "cpu_seconds": "",
            "peak_mib": f"{_peak_mib():,.0f}",
            "recovery": "",
            "verdict": "",
        }
    ]
    gc.collect()
    t, cpu = time.perf_counter(), time.process_time()
    components = baseline(rows)
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    precision, recall, exact = recovery(components, group_of)
    largest = max(len(c) for c in components)
    out.append(
        {
            "step": "baseline: connected components, unweighted (networkx)",
            "scale": scale,
            "seconds": f"{spent:.1f}",
            "cpu_seconds": f"{cpu:.1f}",
            "peak_mib": f"{_peak_mib():,.0f}",
            "recovery": f"groups P {precision:.3f} R {recall:.3f} exact {exact:.1%}; "
            f"largest component {largest:,} sites",
            "verdict": "",
        }
    )
    del components
    gc.collect()
    t, cpu = time.perf_counter(), time.process_time()
    result = graph.build(rows)
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    peak = _peak_mib()
    gp, gr, ge = recovery([c.sites for c in result.groups], group_of)
    bp, br, be = recovery([c.sites for c in result.brands], brand_of)
    fast = spent <= TARGET_SECONDS and peak <= TARGET_GIB * 1024
    found = min(gp, gr, bp, br) >= MIN_RECOVERY
    out.append(
        {
            "step": "commerce.graph.build: noise, projection, brands, Louvain",
            "scale": scale,
            "seconds": f"{spent:.1f}",
            "cpu_seconds": f"{cpu:.1f}",
            "peak_mib": f"{peak:,.0f}",
            "recovery": f"groups P {gp:.3f} R {gr:.3f} exact {ge:.1%}; "
            f"brands P {bp:.3f} R {br:.3f} exact {be:.1%}; "
            f"{len(result.groups):,} groups, {len(result.brands):,} brands, "
            f"{result.links:,} links, {len(result.noise)} noise",
            "verdict": f"{'meets' if fast else 'MISSES'} ≤ {TARGET_SECONDS:.0f} s and "
            f"≤ {TARGET_GIB:.0f} GiB; planted groups and brands "
            f"{'recovered' if found else 'NOT RECOVERED'} (P and R ≥ {MIN_RECOVERY})",
        }
    )
    return out


def markdown(rows: list[dict[str, str]]) -> str:
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[h] for h in head) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 sites, 50,000 indicators")
    parser.add_argument("--sites", type=int, default=0)
    parser.add_argument("--indicators", type=int, default=0)
    args = parser.parse_args()
    rows = graph_table(args.quick, args.sites, args.indicators)
    print(markdown(rows))
    verdict = rows[-1]["verdict"]
    return 1 if "MISSES" in verdict or "NOT RECOVERED" in verdict else 0


if __name__ == "__main__":
    sys.exit(main())
