"""The graph of an agency's sites and what they share, and the brands and distribution groups
it proposes. Pure (networkx, no database): rows of sightings in, clusters with the evidence
for every link out, the same rows giving the same answer every time.

Sites are linked by the indicators they share, each weighted by its kind (a wallet, a merchant
account or a payment-page template says "the same business"; an e-mail, a messenger handle or
an affiliate id says it less; an IP or an analytics id only hints) times how rare it is (an
indicator on two sites counts fully, one on every site half: log(N / df), scaled). Common
infrastructure never joins everything: an indicator on more sites than the cap (`Limits.cap`:
an absolute number for every kind, and for an IP, an analytics id or a processor's name also a
share of the sites) is noise, listed as such and linking nothing; and a link needs `min_link`
of weight, so one shared IP or one analytics id alone links no two sites.

The site-to-site projection is accumulated indicator by indicator (the pairs of its sites),
never by networkx's bipartite projection, which walks every site's neighbourhood and holds a
graph of 100,000 sites in memory twice.

**Brands** are sites that are one shop under many names: linked by the same template AND the
same wallet or merchant account, or by two payment indicators (connected components of those
links). **Distribution groups** are brands run on the same payment and infrastructure:
communities (Louvain, fixed seed, each connected component on its own) of the graph whose nodes
are brands and whose edge weights are the summed site links between them; a community of one
brand is not a group.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import networkx as nx
import numpy as np

from taskforce.commerce.kinds import IndicatorKind

# how much one shared indicator of a kind says that two sites are the same business
KIND_WEIGHT: dict[str, float] = {
    IndicatorKind.WALLET: 3.0,
    IndicatorKind.MERCHANT: 3.0,
    IndicatorKind.TEMPLATE: 3.0,
    IndicatorKind.EMAIL: 2.0,
    IndicatorKind.MESSENGER: 2.0,
    IndicatorKind.AFFILIATE: 2.0,
    IndicatorKind.ANALYTICS: 1.0,
    IndicatorKind.IP: 1.0,
    IndicatorKind.PROCESSOR: 0.5,  # a processor's name is shared by every one of its customers
}
PAYMENT = frozenset({IndicatorKind.WALLET.value, IndicatorKind.MERCHANT.value})
TEMPLATE = IndicatorKind.TEMPLATE.value
MAX_LINKS = 500  # a brand keeps its strongest links (a brand of mirrors has thousands)
BRAND = "brand"
GROUP = "distribution_group"


# kinds that are infrastructure many unrelated sites share (a CDN's address, a popular
# analytics id, a processor's name): over a share of the sites they are noise too
INFRASTRUCTURE = frozenset(
    {IndicatorKind.IP.value, IndicatorKind.ANALYTICS.value, IndicatorKind.PROCESSOR.value}
)


@dataclass(frozen=True)
class Limits:
    """What counts as noise and as a link. The defaults are documented in docs/commercial.md."""

    max_sites: int = 500  # an indicator on more sites than this is common infrastructure
    max_share: float = 0.2  # an infrastructure indicator on more than this share of the sites...
    min_share_cap: int = 10  # ...(but never fewer than this many) is too
    min_link: float = 1.5  # the weight two sites must share to be linked
    resolution: float = 1.0  # Louvain's: higher gives smaller groups
    seed: int = 18

    def cap(self, kind: str, sites: int) -> int:
        """The most sites an indicator of this kind may be on and still link them. Payment
        and contact indicators have only the absolute cap: a merchant account behind half of
        an agency's sites is the finding, not noise."""
        if kind in INFRASTRUCTURE:
            return min(self.max_sites, max(self.min_share_cap, int(self.max_share * sites)))
        return self.max_sites


@dataclass(frozen=True)
class Sighting:
    """One indicator on one site, with when it was first and last seen there."""

    site: str
    indicator: str
    kind: str
    value: str
    first_seen: datetime | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True)
class Shared:
    """One indicator two linked sites share, and the weight it gives the link."""

    indicator: str
    kind: str
    value: str
    weight: float


@dataclass(frozen=True)
class Link:
    """Two linked sites and what they share. In a group, the strongest link between two of
    its brands stands for all of them: `pairs` says how many site pairs of those two brands
    are linked."""

    a: str  # the smaller site id
    b: str
    weight: float
    shared: tuple[Shared, ...]  # strongest first
    pairs: int = 1

    def evidence(self) -> dict[str, object]:
        """The link as stored (`CommerceGroup.links`)."""
        return {
            "a": self.a,
            "b": self.b,
            "weight": self.weight,
            "pairs": self.pairs,
            "shared": [s.indicator for s in self.shared],
            "evidence": [
                {"indicator": s.indicator, "kind": s.kind, "value": s.value, "weight": s.weight}
                for s in self.shared
            ],
        }


@dataclass(frozen=True)
class Cluster:
    """A brand or a distribution group: its sites, the indicators at least two of them share,
    its links (a brand's inside it; a group's between its brands) and, for a group, the keys
    of its brands. `key` is stable across runs: it comes from the indicator that binds the
    most of its sites, so a group that grows keeps it."""

    kind: str  # brand | distribution_group
    key: str
    label: str
    sites: tuple[str, ...]
    indicators: tuple[str, ...]
    links: tuple[Link, ...]
    brands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Noise:
    """Common infrastructure: an indicator on too many sites to say anything about them."""

    indicator: str
    kind: str
    value: str
    sites: int


@dataclass
class Result:
    sites: int
    indicators: int
    links: int
    cap: int  # the absolute cap
    infrastructure_cap: int  # the cap of an IP, an analytics id, a processor's name
    brands: list[Cluster] = field(default_factory=list)  # of 2+ sites, or inside a group
    groups: list[Cluster] = field(default_factory=list)
    noise: list[Noise] = field(default_factory=list)

    def brand_of(self, key: str) -> Cluster:
        return next(b for b in self.brands if b.key == key)


class _Union:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _key(prefix: str, anchor: str, used: set[str], fallback: str) -> str:
    key = hashlib.sha256(f"{prefix}:{anchor}".encode()).hexdigest()[:16]
    if key in used:  # the anchor binds two clusters: the smallest site tells them apart
        key = hashlib.sha256(f"{prefix}:{anchor}:{fallback}".encode()).hexdigest()[:16]
    used.add(key)
    return key


class _Graph:
    """The indexed rows: sites and indicators numbered in sorted id order (determinism), and
    weights in thousandths (integers: sums do not depend on their order)."""

    def __init__(self, rows: Iterable[Sighting], limits: Limits) -> None:
        on: dict[str, set[str]] = defaultdict(set)
        about: dict[str, tuple[str, str]] = {}
        for row in rows:
            on[row.indicator].add(row.site)
            about[row.indicator] = (row.kind, row.value)
        self.site_ids = sorted({s for sites in on.values() for s in sites})
        self.ind_ids = sorted(on)
        site_no = {s: n for n, s in enumerate(self.site_ids)}
        self.kind = [about[i][0] for i in self.ind_ids]
        self.value = [about[i][1] for i in self.ind_ids]
        self.members = [sorted(site_no[s] for s in on[i]) for i in self.ind_ids]
        del on, about
        self.n = len(self.site_ids)
        self.scale = math.log(self.n / 2) if self.n > 2 else 0.0
        self.milli = np.zeros(len(self.ind_ids), dtype=np.int64)
        self.noise: list[int] = []
        self.site_inds: list[list[int]] = [[] for _ in range(self.n)]
        for i, sites in enumerate(self.members):
            if len(sites) > limits.cap(self.kind[i], self.n):
                self.noise.append(i)
                continue
            self.milli[i] = self._milli(self.kind[i], len(sites))
            for s in sites:
                self.site_inds[s].append(i)
        self._shared: dict[int, Shared] = {}
        self._evidence: dict[tuple[int, ...], tuple[Shared, ...]] = {}

    def _milli(self, kind: str, df: int) -> int:
        """The kind's weight times rarity: 1 on two sites, falling with log(N / df) to one
        half on every site (below the cap an indicator still says something)."""
        idf = 1.0 if self.scale <= 0 else max(0.0, min(1.0, math.log(self.n / df) / self.scale))
        return round(1000 * KIND_WEIGHT.get(kind, 1.0) * (0.5 + 0.5 * idf))

    def weight(self, i: int) -> float:
        return int(self.milli[i]) / 1000

    def pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every site pair sharing a linking indicator: the pair keys (a * n + b, a < b,
        sorted, unique), where each pair's indicators start in the third array, and the
        indicators (ascending within a pair). Accumulated indicator by indicator."""
        n = self.n
        keys: list[np.ndarray] = []
        owners: list[np.ndarray] = []
        triangles: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for i, sites in enumerate(self.members):
            m = len(sites)
            if m < 2 or self.milli[i] <= 0:
                continue
            tri = triangles.get(m)
            if tri is None:
                tri = triangles[m] = np.triu_indices(m, 1)
            arr = np.asarray(sites, dtype=np.int64)
            keys.append(arr[tri[0]] * n + arr[tri[1]])
            owners.append(np.full(len(tri[0]), i, dtype=np.int64))
        if not keys:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        every = np.concatenate(keys)
        order = np.argsort(every, kind="stable")
        every = every[order]
        inds = np.concatenate(owners)[order]
        starts = np.flatnonzero(np.r_[True, every[1:] != every[:-1]])
        return every[starts], starts, inds

    def shared_of(self, inds: np.ndarray) -> tuple[Shared, ...]:
        key = tuple(int(i) for i in inds)
        found = self._evidence.get(key)
        if found is None:
            for i in key:
                if i not in self._shared:
                    self._shared[i] = Shared(
                        self.ind_ids[i], self.kind[i], self.value[i], self.weight(i)
                    )
            ordered = sorted(key, key=lambda i: (-self.milli[i], self.ind_ids[i]))
            found = self._evidence[key] = tuple(self._shared[i] for i in ordered)
        return found

    def binding(self, sites: list[int], by_brand: list[int] | None = None) -> int | None:
        """The indicator that binds most of these sites (or of their brands): the anchor of
        the cluster's key and label."""
        counts: Counter[int] = Counter()
        if by_brand is None:
            for s in sites:
                counts.update(self.site_inds[s])
        else:
            seen: set[tuple[int, int]] = set()
            for s, brand in zip(sites, by_brand, strict=True):
                for i in self.site_inds[s]:
                    if (brand, i) not in seen:
                        seen.add((brand, i))
                        counts[i] += 1
        shared = [(c, i) for i, c in counts.items() if c >= 2]
        if not shared:
            return None
        return min(shared, key=lambda ci: (-ci[0], -self.milli[ci[1]], self.ind_ids[ci[1]]))[1]

    def shared_indicators(self, sites: list[int]) -> tuple[str, ...]:
        counts: Counter[int] = Counter()
        for s in sites:
            counts.update(self.site_inds[s])
        return tuple(sorted(self.ind_ids[i] for i, c in counts.items() if c >= 2))


def build(rows: Iterable[Sighting], limits: Limits | None = None) -> Result:
    """Brands, distribution groups and common infrastructure of these sightings."""
    limits = limits or Limits()
    g = _Graph(rows, limits)
    n = g.n
    keys, starts, inds = g.pairs()
    ends = np.r_[starts[1:], len(inds)].astype(np.int64)
    if len(keys):
        weight = np.add.reduceat(g.milli[inds], starts)
        payment = np.isin(np.asarray(g.kind, dtype=object)[inds], list(PAYMENT))
        template = np.asarray(g.kind, dtype=object)[inds] == TEMPLATE
        payments = np.add.reduceat(payment.astype(np.int64), starts)
        templates = np.add.reduceat(template.astype(np.int64), starts)
    else:
        weight = payments = templates = np.zeros(0, dtype=np.int64)
    kept = np.flatnonzero(weight >= round(limits.min_link * 1000))
    a_of, b_of = keys // max(n, 1), keys % max(n, 1)

    brands = _Union(n)
    same_shop = kept[(payments[kept] >= 2) | ((payments[kept] >= 1) & (templates[kept] >= 1))]
    for a, b in zip(a_of[same_shop].tolist(), b_of[same_shop].tolist(), strict=True):
        brands.join(a, b)
    # brands numbered by their smallest site (sites are numbered in id order)
    roots = [brands.find(s) for s in range(n)]
    brand_no: dict[int, int] = {}
    for r in roots:
        brand_no.setdefault(r, len(brand_no))
    brand_of = np.asarray([brand_no[r] for r in roots], dtype=np.int64)
    brand_sites: list[list[int]] = [[] for _ in brand_no]
    for s, b in enumerate(brand_of.tolist()):
        brand_sites[b].append(s)

    def make_link(j: int, pairs: int = 1) -> Link:
        return Link(
            a=g.site_ids[int(a_of[j])],
            b=g.site_ids[int(b_of[j])],
            weight=int(weight[j]) / 1000,
            shared=g.shared_of(inds[starts[j] : ends[j]]),
            pairs=pairs,
        )

    ba, bb = brand_of[a_of[kept]], brand_of[b_of[kept]]
    inside = kept[ba == bb]
    cross = kept[ba != bb]
    lo = np.minimum(ba[ba != bb], bb[ba != bb])
    hi = np.maximum(ba[ba != bb], bb[ba != bb])
    brand_pair = lo * max(len(brand_sites), 1) + hi
    # the strongest link of each brand pair stands for all of them (ties: the smaller pair)
    order = np.lexsort((keys[cross], -weight[cross], brand_pair))
    pair_sorted = brand_pair[order]
    firsts = np.flatnonzero(np.r_[True, pair_sorted[1:] != pair_sorted[:-1]])
    counts = np.diff(np.r_[firsts, len(order)])
    between = {}
    if len(order):
        summed = np.add.reduceat(weight[cross][order], firsts)
        for f, c, total in zip(firsts.tolist(), counts.tolist(), summed.tolist(), strict=True):
            between[(int(lo[order[f]]), int(hi[order[f]]))] = (int(total), int(cross[order[f]]), c)

    result = Result(
        sites=n,
        indicators=len(g.ind_ids),
        links=len(kept),
        cap=limits.max_sites,
        infrastructure_cap=limits.cap(IndicatorKind.IP, n),
    )
    result.noise = sorted(
        (Noise(g.ind_ids[i], g.kind[i], g.value[i], len(g.members[i])) for i in g.noise),
        key=lambda x: (-x.sites, x.indicator),
    )
    communities = _communities({k: v[0] for k, v in between.items()}, limits)
    grouped = {b for c in communities for b in c}
    used: set[str] = set()

    inside_of: dict[int, list[int]] = defaultdict(list)
    inside_order = np.lexsort((keys[inside], -weight[inside], brand_of[a_of[inside]]))
    for j in inside[inside_order].tolist():
        links = inside_of[int(brand_of[a_of[j]])]
        if len(links) < MAX_LINKS:
            links.append(j)

    brand_key: dict[int, str] = {}
    for b, sites in enumerate(brand_sites):
        if len(sites) < 2 and b not in grouped:
            continue
        anchor = g.binding(sites) if len(sites) > 1 else None
        first = g.site_ids[sites[0]]
        key = _key(BRAND, g.ind_ids[anchor] if anchor is not None else first, used, first)
        brand_key[b] = key
        label = f"{g.kind[anchor]} {g.value[anchor]}" if anchor is not None else first
        result.brands.append(
            Cluster(
                kind=BRAND,
                key=key,
                label=f"{len(sites)} site{'s' if len(sites) > 1 else ''}: {label}"[:200],
                sites=tuple(g.site_ids[s] for s in sites),
                indicators=g.shared_indicators(sites),
                links=tuple(
                    make_link(j) for j in sorted(inside_of.get(b, []), key=keys.__getitem__)
                ),
            )
        )

    community_of = {b: c for c, members in enumerate(communities) for b in members}
    pairs_of: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for x, y in between:
        if x in community_of and community_of[x] == community_of.get(y):
            pairs_of[community_of[x]].append((x, y))
    for c, community in enumerate(communities):
        sites = sorted(s for b in community for s in brand_sites[b])
        anchor = g.binding(sites, [int(brand_of[s]) for s in sites])
        first = g.site_ids[sites[0]]
        key = _key(GROUP, g.ind_ids[anchor] if anchor is not None else first, used, first)
        label = f"{g.kind[anchor]} {g.value[anchor]}" if anchor is not None else first
        stand_for = [between[pair] for pair in sorted(pairs_of.get(c, []))]
        result.groups.append(
            Cluster(
                kind=GROUP,
                key=key,
                label=f"{len(community)} brands, {len(sites)} sites: {label}"[:200],
                sites=tuple(g.site_ids[s] for s in sites),
                indicators=g.shared_indicators(sites),
                links=tuple(make_link(j, c) for _, j, c in stand_for),
                brands=tuple(sorted(brand_key[b] for b in community)),
            )
        )
    result.brands.sort(key=lambda c: c.sites[0])
    result.groups.sort(key=lambda c: c.sites[0])
    return result


def _communities(between: dict[tuple[int, int], int], limits: Limits) -> list[list[int]]:
    """Communities of two or more brands: Louvain on each connected component of the brand
    graph (a fixed seed, nodes and edges added in sorted order, so runs agree)."""
    whole: nx.Graph[int] = nx.Graph()
    whole.add_weighted_edges_from((a, b, w) for (a, b), w in sorted(between.items()))
    components = [sorted(c) for c in nx.connected_components(whole)]
    component_of = {node: c for c, nodes in enumerate(components) for node in nodes}
    edges: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for (a, b), w in sorted(between.items()):
        edges[component_of[a]].append((a, b, w))
    found: list[list[int]] = []
    for c, nodes in enumerate(components):
        if len(nodes) <= 2:
            found.append(nodes)
            continue
        sub: nx.Graph[int] = nx.Graph()
        sub.add_nodes_from(nodes)
        sub.add_weighted_edges_from(edges[c])
        parts = nx.community.louvain_communities(
            sub, weight="weight", resolution=limits.resolution, seed=limits.seed
        )
        found.extend(sorted(part) for part in parts if len(part) >= 2)
    found.sort(key=lambda c: c[0])
    return found
