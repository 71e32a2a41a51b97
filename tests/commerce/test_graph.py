"""The pure graph: brands and distribution groups recovered, common infrastructure listed as
noise and linking nothing, evidence on every link, the same answer every time."""

from __future__ import annotations

from graph_builders import CDN_IP, GROUPS, PROCESSOR, rows, site_hosts

from taskforce.commerce import graph
from taskforce.commerce.graph import Limits, Sighting


def sightings(**kw: bool) -> list[Sighting]:
    return [
        Sighting(r.site, f"{r.kind}:{r.value}", r.kind, r.value, r.seen, r.seen) for r in rows(**kw)
    ]


def planted(level: str) -> set[frozenset[str]]:
    hosts = site_hosts()
    out: dict[str, set[str]] = {}
    for host, (group, brand) in hosts.items():
        out.setdefault(group if level == "group" else brand, set()).add(host)
    return {frozenset(v) for v in out.values()}


def test_two_groups_behind_five_brands_recovered_exactly() -> None:
    result = graph.build(sightings())
    assert {frozenset(b.sites) for b in result.brands} == planted("brand")
    assert {frozenset(g.sites) for g in result.groups} == planted("group")
    assert result.sites == 12
    for group in result.groups:
        brands = {frozenset(result.brand_of(k).sites) for k in group.brands}
        assert frozenset().union(*brands) == frozenset(group.sites)
    assert len(result.groups) == len(GROUPS)


def test_the_shared_cdn_ip_and_processor_are_noise_and_link_nothing() -> None:
    result = graph.build(sightings())
    noise = {(n.kind, n.value): n.sites for n in result.noise}
    assert noise == {("ip", CDN_IP): 12, ("processor", PROCESSOR): 12}
    for cluster in [*result.brands, *result.groups]:
        for link in cluster.links:
            assert all(s.kind not in ("ip", "processor") for s in link.shared)
            assert all(s.value != "UA-000000-1" for s in link.shared)  # too weak alone


def test_a_reused_email_across_groups_does_not_merge_them() -> None:
    result = graph.build(sightings(cross_email=True))
    assert {frozenset(g.sites) for g in result.groups} == planted("group")


def test_every_link_names_its_shared_indicators_and_their_weights() -> None:
    result = graph.build(sightings())
    amber = next(b for b in result.brands if "amber-1.example" in b.sites)
    assert len(amber.links) == 3  # three sites, every pair linked
    link = amber.links[0]
    kinds = [s.kind for s in link.shared]
    assert kinds[:2] in (["template", "wallet"], ["wallet", "template"])
    assert set(kinds) == {"template", "wallet", "merchant", "affiliate"}
    assert link.weight == round(sum(s.weight for s in link.shared), 3)
    assert link.evidence()["shared"] == [s.indicator for s in link.shared]
    north = next(g for g in result.groups if "amber-1.example" in g.sites)
    assert north.links
    assert all({s.kind for s in lk.shared} == {"merchant", "affiliate"} for lk in north.links)
    assert "merchant:MID-NORTH-0001" in north.indicators
    # one link per pair of brands stands for the site pairs between them (3x2 + 3x2 + 2x2)
    assert len(north.links) == 3
    assert sum(lk.pairs for lk in north.links) == 16


def test_deterministic_and_keys_stable_when_a_group_grows() -> None:
    first = graph.build(sightings())
    again = graph.build(list(reversed(sightings())))
    assert first == again
    grown = sightings() + [
        Sighting("amber-0.example", i, k, v)
        for i, k, v in [
            ("template:amber-template-fingerprint", "template", "amber-template-fingerprint"),
            ("wallet:bc1qamberwallet0000000000", "wallet", "bc1qamberwallet0000000000"),
            ("merchant:MID-NORTH-0001", "merchant", "MID-NORTH-0001"),
        ]
    ]
    later = graph.build(grown)
    keys = {g.key: len(g.sites) for g in first.groups}
    later_keys = {g.key: len(g.sites) for g in later.groups}
    assert set(keys) == set(later_keys)
    assert sorted(later_keys.values()) == sorted([5, 8])
    assert {b.key for b in first.brands} == {b.key for b in later.brands}


def test_an_absolute_cap_makes_any_kind_noise() -> None:
    result = graph.build(sightings(), Limits(max_sites=6))
    assert ("merchant", "MID-NORTH-0001") in {(n.kind, n.value) for n in result.noise}
    assert ("merchant", "MID-SOUTH-0001") not in {(n.kind, n.value) for n in result.noise}


def test_empty_and_lonely_sites() -> None:
    assert graph.build([]).groups == []
    alone = graph.build([Sighting("a.example", "w", "wallet", "bc1qx")])
    assert alone.sites == 1
    assert alone.brands == []
    assert alone.groups == []
