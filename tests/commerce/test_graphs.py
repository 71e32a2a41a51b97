"""Graph runs on the database (SQLite and PostgreSQL): two distribution groups behind five
brands recovered exactly from sightings written through the models, the shared CDN address set
aside as common infrastructure, links that name their shared indicators, history across runs
under a stable key, the group view and its drawing, and the owner-only, audited access."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import defusedxml.ElementTree as SafeET
import pytest
from builders import Network
from graph_builders import CDN_IP, GROUPS, PROCESSOR, T0, rows, site_hosts
from site_history_builders import Page, make_crawl, make_site
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import graph, graphs, kinds
from taskforce.commerce.models import CommerceGroup, CommerceSite
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller
from taskforce.core.errors import Forbidden, NotFound

NOW = T0 + timedelta(days=30)


def plant(session: Session, caller: Caller, **kw: bool) -> dict[str, CommerceSite]:
    """One site per host, each crawled once with one page carrying its indicators."""
    found: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    seen: dict[str, datetime] = {}
    for row in rows(**kw):
        found[row.site].append((row.kind, row.value, ""))
        seen.setdefault(row.site, row.seen)
    sites = {}
    for host in sorted(found):
        site = make_site(session, caller, f"https://{host}/")
        make_crawl(
            session, site, seen[host], [Page(f"https://{host}/pay", found=tuple(found[host]))]
        )
        sites[host] = site
    return sites


def hosts_of(group: CommerceGroup, sites: dict[str, CommerceSite]) -> frozenset[str]:
    by_id = {str(s.id): h for h, s in sites.items()}
    return frozenset(by_id[i] for i in group.site_ids)


def planted(level: str) -> set[frozenset[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for host, (group, brand) in site_hosts().items():
        out[group if level == "group" else brand].add(host)
    return {frozenset(v) for v in out.values()}


def test_two_groups_behind_five_brands_recovered_exactly(
    session: Session, network: Network
) -> None:
    sites = plant(session, network.gb.caller)
    run = graphs.compute(session, network.gb.caller.agency_id, NOW)  # type: ignore[arg-type]
    assert (run.sites, run.groups, run.brands) == (12, 2, 5)
    listed = graphs.latest_groups(session, network.gb.caller)
    assert [g.kind for g in listed] == ["distribution_group"] * 2
    assert {hosts_of(g, sites) for g in listed} == planted("group")
    brands = session.scalars(
        select(CommerceGroup).where(CommerceGroup.run_id == run.id, CommerceGroup.kind == "brand")
    ).all()
    assert {hosts_of(b, sites) for b in brands} == planted("brand")
    for brand in brands:  # every brand under the group holding its sites
        parent = session.get(CommerceGroup, brand.parent_id)
        assert parent is not None
        assert set(brand.site_ids) <= set(parent.site_ids)
    assert listed[0].label.startswith("amber-1.example and 6 more")
    where = graphs.memberships(session, network.gb.caller, [sites["amber-2.example"].id])
    amber = where[sites["amber-2.example"].id]
    assert amber.brand is not None
    assert amber.group is not None
    assert amber.brand.parent_id == amber.group.id
    assert len(graphs.memberships(session, network.gb.caller)) == 12
    assert graphs.memberships(session, network.us.caller) == {}
    assert len(GROUPS) == 2


def test_a_shared_cdn_address_does_not_merge_them_and_is_listed(
    session: Session, network: Network
) -> None:
    plant(session, network.gb.caller, cross_email=True)
    graphs.compute(session, network.gb.caller.agency_id, NOW)  # type: ignore[arg-type]
    common = graphs.latest_common(session, network.gb.caller)
    assert {(i.kind, i.value) for i in common} == {("ip", CDN_IP), ("processor", PROCESSOR)}
    listed = graphs.latest_groups(session, network.gb.caller)
    assert sorted(len(g.site_ids) for g in listed) == [5, 7]


def test_the_evidence_of_a_link_names_the_shared_indicators(
    session: Session, network: Network
) -> None:
    sites = plant(session, network.gb.caller)
    graphs.compute(session, network.gb.caller.agency_id, NOW)  # type: ignore[arg-type]
    north = next(
        g for g in graphs.latest_groups(session, network.gb.caller) if len(g.site_ids) == 7
    )
    view = graphs.group_view(session, network.gb.caller, north.id)
    between = [lk for lk in view.links if lk.pairs > 1]  # the group's, between its brands
    assert len(between) == 3
    for link in between:
        assert {(e.kind, e.value) for e in link.evidence} == {
            ("merchant", "MID-NORTH-0001"),
            ("affiliate", "north-billing"),
        }
        assert link.weight == pytest.approx(sum(e.weight for e in link.evidence))
    amber = [lk for lk in view.links if lk.a.startswith("amber") and lk.b.startswith("amber")]
    assert len(amber) == 3
    assert {e.kind for e in amber[0].evidence} == {"template", "wallet", "merchant", "affiliate"}
    assert all(CDN_IP not in {e.value for e in lk.evidence} for lk in view.links)
    # the view: sites with hosts, indicators with when seen and on how many, its brands
    assert [s.host for s in view.sites] == sorted(
        h for h in sites if h.split("-")[0] in GROUPS["north"]
    )
    merchant = next(i for i in view.indicators if i.kind == "merchant")
    assert (merchant.value, merchant.sites, merchant.common) == ("MID-NORTH-0001", 7, False)
    assert merchant.first_seen_at < merchant.last_seen_at
    cdn = next(i for i in view.indicators if i.value == CDN_IP)
    assert cdn.common
    assert cdn.sites == 7
    assert len(view.brands) == 3
    assert view.latest
    brand_view = graphs.group_view(session, network.gb.caller, view.brands[0].id)
    assert brand_view.parent is not None
    assert brand_view.parent.id == north.id
    # the drawing: one node per site and per indicator not set aside, parsed safely
    svg = graphs.svg(view)
    root = SafeET.fromstring(svg)
    nodes = root.find("{http://www.w3.org/2000/svg}g[@class='nodes']")
    assert nodes is not None
    shown = [i for i in view.indicators if not i.common]
    assert len(nodes) == 7 + len(shown)
    assert CDN_IP not in svg


def test_history_keeps_the_key_as_a_group_grows(session: Session, network: Network) -> None:
    caller = network.gb.caller
    plant(session, caller)
    first = graphs.compute(session, caller.agency_id, NOW)  # type: ignore[arg-type]
    north = next(g for g in graphs.latest_groups(session, caller) if len(g.site_ids) == 7)
    newcomer = make_site(session, caller, "https://amber-9.example/")
    make_crawl(
        session,
        newcomer,
        NOW,
        [
            Page(
                "https://amber-9.example/pay",
                found=(
                    ("template", "amber-template-fingerprint", ""),
                    ("wallet", "bc1qamberwallet0000000000", ""),
                    ("merchant", "MID-NORTH-0001", ""),
                ),
            )
        ],
    )
    second = graphs.compute(session, caller.agency_id, NOW + timedelta(days=1))  # type: ignore[arg-type]
    assert second.id != first.id
    points = graphs.history(session, caller, north.key)
    assert [(p.run_id, p.sites, p.brands) for p in points] == [(first.id, 7, 3), (second.id, 8, 3)]
    older = graphs.group_view(session, caller, north.id)
    assert not older.latest
    assert [p.sites for p in older.history] == [7, 8]
    assert graphs.history(session, network.us.caller, north.key) == []


def test_another_agency_gets_an_audited_not_found(session: Session, network: Network) -> None:
    plant(session, network.gb.caller)
    graphs.compute(session, network.gb.caller.agency_id, NOW)  # type: ignore[arg-type]
    group = graphs.latest_groups(session, network.gb.caller)[0]
    assert graphs.latest_groups(session, network.us.caller) == []
    with pytest.raises(NotFound):
        graphs.group_view(session, network.us.caller, group.id)
    refused = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "commerce.group.read", AuditEntry.outcome == "not_found"
        )
    ).all()
    assert [r.subject_id for r in refused] == [group.id]
    assert all(r.outcome == "not_found" for r in refused)
    with pytest.raises(Forbidden):
        graphs.group_view(session, network.gb_reader.caller, group.id)
    common = session.scalar(
        select(CommerceGroup).where(CommerceGroup.kind == "common_infrastructure")
    )
    assert common is not None
    with pytest.raises(NotFound):  # listed by latest_common, not a group to open
        graphs.group_view(session, network.gb.caller, common.id)
    graphs.group_view(session, network.gb_analyst.caller, group.id)
    read = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "commerce.group.read", AuditEntry.outcome == "ok"
        )
    ).all()
    assert [r.subject_id for r in read] == [group.id]


def test_an_agency_without_sightings_gets_an_empty_run(session: Session, network: Network) -> None:
    run = graphs.compute_for(session, network.gb.caller, NOW)
    assert (run.sites, run.groups, run.brands, run.links) == (0, 0, 0, 0)
    assert graphs.latest_groups(session, network.gb.caller) == []
    assert graphs.latest_common(session, network.gb.caller) == []


def test_a_label_shows_a_template_fingerprint_short() -> None:
    fingerprint = "ab12" * 16  # 64 hex digits, as the template engine makes them
    cluster = graph.Cluster(
        kind="brand",
        key="k",
        label=f"2 sites: template {fingerprint}",
        sites=("s1", "s2"),
        indicators=(),
        links=(),
    )
    label = graphs._label(cluster, {"s1": "b.example", "s2": "a.example"})
    assert label == "a.example and 1 more — template ab12ab12ab12…"
    assert kinds.shown("wallet", fingerprint) == fingerprint
