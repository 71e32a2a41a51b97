"""Graph runs of an agency: its sightings loaded, the pure graph (`commerce.graph`) run over
them, and the run kept with its brands, distribution groups and common infrastructure, every
run kept so a group has history ("the same group, now 3 more sites": groups keep their key).
Reading a group (its sites, its indicators with when each was seen, its links with their
evidence, its brands or its group, and a drawing) is the owner agency's alone, and audited.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.commerce import drawing, graph, kinds
from taskforce.commerce.models import (
    CommerceGraphRun,
    CommerceGroup,
    CommerceIndicator,
    CommerceSighting,
    CommerceSite,
)
from taskforce.commerce.service import own_row
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid

BRAND = graph.BRAND
GROUP = graph.GROUP
COMMON = "common_infrastructure"  # one row a run: the indicators too common to link anything
COMMON_KEY = "common"


# --- computing ------------------------------------------------------------------------------


def sightings(session: Session, owner_agency_id: uuid.UUID) -> list[graph.Sighting]:
    """Every indicator on every site of the agency, once a pair, with when it was first and
    last seen on that site."""
    rows = session.execute(
        select(
            CommerceSighting.site_id,
            CommerceSighting.indicator_id,
            CommerceIndicator.kind,
            CommerceIndicator.value,
            func.min(CommerceSighting.seen_at),
            func.max(CommerceSighting.seen_at),
        )
        .join(CommerceIndicator, CommerceIndicator.id == CommerceSighting.indicator_id)
        .join(CommerceSite, CommerceSite.id == CommerceSighting.site_id)
        .where(
            sharing.authored_by(CommerceIndicator.owner_agency_id, owner_agency_id),
            sharing.authored_by(CommerceSite.owner_agency_id, owner_agency_id),
        )
        .group_by(
            CommerceSighting.site_id,
            CommerceSighting.indicator_id,
            CommerceIndicator.kind,
            CommerceIndicator.value,
        )
    )
    return [
        graph.Sighting(str(site), str(ind), kind, value, first, last)
        for site, ind, kind, value, first, last in rows
    ]


def _hosts(session: Session, owner_agency_id: uuid.UUID) -> dict[str, str]:
    return {
        str(i): host
        for i, host in session.execute(
            select(CommerceSite.id, CommerceSite.host).where(
                sharing.authored_by(CommerceSite.owner_agency_id, owner_agency_id)
            )
        )
    }


def _label(cluster: graph.Cluster, hosts: dict[str, str]) -> str:
    """The first host in alphabetical order, how many more, and what binds them (the
    engine's label)."""
    first = min(hosts.get(s, s) for s in cluster.sites)
    more = f" and {len(cluster.sites) - 1} more" if len(cluster.sites) > 1 else ""
    binding = cluster.label.split(": ", 1)[1] if ": " in cluster.label else ""
    if binding == cluster.sites[0]:
        binding = ""
    kind, _, value = binding.partition(" ")
    binding = f"{kind} {kinds.shown(kind, value)}" if value else binding
    return f"{first}{more}" + (f" — {binding}" if binding else "")


def compute(
    session: Session,
    owner_agency_id: uuid.UUID,
    now: datetime | None = None,
    limits: graph.Limits | None = None,
) -> CommerceGraphRun:
    """Run the agency's graph and keep the run with its groups (earlier runs stay)."""
    now = now or utcnow()
    started = time.perf_counter()
    rows = sightings(session, owner_agency_id)
    result = graph.build(rows, limits)
    run = CommerceGraphRun(
        owner_agency_id=owner_agency_id,
        computed_at=now,
        sites=result.sites,
        indicators=result.indicators,
        links=result.links,
        brands=len(result.brands),
        groups=len(result.groups),
    )
    session.add(run)
    session.flush()
    hosts = _hosts(session, owner_agency_id)
    parent_of: dict[str, uuid.UUID] = {}
    for cluster in result.groups:
        row = _row(run, cluster, hosts, parent_id=None)
        session.add(row)
        session.flush()
        parent_of.update((key, row.id) for key in cluster.brands)
    for cluster in result.brands:
        session.add(_row(run, cluster, hosts, parent_id=parent_of.get(cluster.key)))
    if result.noise:
        session.add(
            CommerceGroup(
                run_id=run.id,
                owner_agency_id=owner_agency_id,
                kind=COMMON,
                key=COMMON_KEY,
                label=f"{len(result.noise)} indicators on too many sites to link them",
                site_ids=[],
                indicator_ids=[n.indicator for n in result.noise],
                links=[],
            )
        )
    run.seconds = round(time.perf_counter() - started, 3)
    session.flush()
    return run


def _row(
    run: CommerceGraphRun,
    cluster: graph.Cluster,
    hosts: dict[str, str],
    parent_id: uuid.UUID | None,
) -> CommerceGroup:
    return CommerceGroup(
        run_id=run.id,
        owner_agency_id=run.owner_agency_id,
        kind=cluster.kind,
        parent_id=parent_id,
        label=_label(cluster, hosts)[:200],
        key=cluster.key,
        site_ids=list(cluster.sites),
        indicator_ids=list(cluster.indicators),
        links=[link.evidence() for link in cluster.links],
    )


def compute_for(session: Session, caller: Caller, now: datetime | None = None) -> CommerceGraphRun:
    """An analyst asks for the agency's graph to be computed now."""
    caller.require(Permission.INVESTIGATE_SITES)
    if caller.agency_id is None:
        raise Invalid("agency", "only a member agency's staff compute its graph")
    run = compute(session, caller.agency_id, now)
    audit.record(
        session,
        caller,
        action="commerce.graph.compute",
        operation=Operation.COLLECTION,
        subject_type="commerce_graph_run",
        subject_id=run.id,
        subject_agency_id=caller.agency_id,
        detail={"sites": run.sites, "groups": run.groups, "brands": run.brands},
    )
    return run


# --- reading --------------------------------------------------------------------------------


def latest_run(session: Session, caller: Caller) -> CommerceGraphRun | None:
    caller.require(Permission.INVESTIGATE_SITES)
    return session.scalar(
        select(CommerceGraphRun)
        .where(sharing.owned_by(CommerceGraphRun.owner_agency_id, caller))
        .order_by(CommerceGraphRun.computed_at.desc(), CommerceGraphRun.id)
        .limit(1)
    )


def latest_groups(session: Session, caller: Caller) -> list[CommerceGroup]:
    """The distribution groups of the agency's latest run, largest first, then the brands in
    no group (common infrastructure is `latest_common`)."""
    run = latest_run(session, caller)
    if run is None:
        return []
    rows = list(
        session.scalars(
            select(CommerceGroup).where(
                CommerceGroup.run_id == run.id, CommerceGroup.kind.in_((GROUP, BRAND))
            )
        )
    )
    audit.record(
        session,
        caller,
        action="commerce.graph.read",
        operation=Operation.CONSULTATION,
        subject_type="commerce_graph_run",
        subject_id=run.id,
        subject_agency_id=run.owner_agency_id,
    )
    groups = sorted((g for g in rows if g.kind == GROUP), key=lambda g: (-len(g.site_ids), g.key))
    alone = sorted(
        (g for g in rows if g.kind == BRAND and g.parent_id is None),
        key=lambda g: (-len(g.site_ids), g.key),
    )
    return groups + alone


def latest_common(session: Session, caller: Caller) -> list[CommerceIndicator]:
    """The indicators the latest run set aside as common infrastructure."""
    run = latest_run(session, caller)
    if run is None:
        return []
    row = session.scalar(
        select(CommerceGroup).where(CommerceGroup.run_id == run.id, CommerceGroup.kind == COMMON)
    )
    if row is None:
        return []
    return _indicators(session, caller, row.indicator_ids)


def _indicators(session: Session, caller: Caller, ids: list[str]) -> list[CommerceIndicator]:
    found: list[CommerceIndicator] = []
    as_ids = [uuid.UUID(i) for i in ids]
    for start in range(0, len(as_ids), 500):
        found += session.scalars(
            select(CommerceIndicator).where(
                CommerceIndicator.id.in_(as_ids[start : start + 500]),
                sharing.owned_by(CommerceIndicator.owner_agency_id, caller),
            )
        )
    return sorted(found, key=lambda i: (i.kind, i.value))


@dataclass(frozen=True)
class Membership:
    """Where a site stands in the latest run: its brand (None: a site alone) and the
    distribution group of that brand (None: a brand in no group)."""

    brand: CommerceGroup | None
    group: CommerceGroup | None


def memberships(
    session: Session, caller: Caller, site_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, Membership]:
    """The latest run's brand and group of each site (of these sites, or of every site in a
    brand or group): the sites list's and a site page's "group" column, audited with the
    page that shows it."""
    run = latest_run(session, caller)
    if run is None:
        return {}
    rows = list(
        session.scalars(
            select(CommerceGroup).where(
                CommerceGroup.run_id == run.id, CommerceGroup.kind.in_((GROUP, BRAND))
            )
        )
    )
    groups = {g.id: g for g in rows if g.kind == GROUP}
    wanted = {str(s) for s in site_ids} if site_ids is not None else None
    found: dict[uuid.UUID, Membership] = {}
    for brand in (g for g in rows if g.kind == BRAND):
        group = groups.get(brand.parent_id) if brand.parent_id else None
        for site in brand.site_ids:
            if wanted is None or site in wanted:
                found[uuid.UUID(site)] = Membership(
                    brand if len(brand.site_ids) > 1 else None, group
                )
    return found


def own_group(session: Session, caller: Caller, group_id: uuid.UUID) -> CommerceGroup:
    """A brand or group of the caller's agency; any other id (the row of common
    infrastructure included) is the same audited 'not found'."""
    return own_row(
        session,
        caller,
        CommerceGroup,
        group_id,
        action="commerce.group.read",
        subject_type="commerce_group",
        missing="group",
        where=(CommerceGroup.kind.in_((GROUP, BRAND)),),
    )


@dataclass(frozen=True)
class SiteRow:
    id: uuid.UUID
    host: str
    label: str
    url: str
    status: str
    last_crawled_at: datetime | None
    brand_id: uuid.UUID | None  # in a distribution group's view: the site's brand


@dataclass(frozen=True)
class IndicatorRow:
    id: uuid.UUID
    kind: str
    value: str
    detail: str
    first_seen_at: datetime  # on the group's sites
    last_seen_at: datetime
    sites: int  # how many of the group's sites carry it
    common: bool  # set aside as common infrastructure in this run


@dataclass(frozen=True)
class Evidence:
    indicator_id: str
    kind: str
    value: str
    weight: float


@dataclass(frozen=True)
class LinkRow:
    a: str  # host
    b: str
    a_id: str
    b_id: str
    weight: float
    pairs: int  # site pairs this link stands for (between two brands of a group)
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class HistoryPoint:
    run_id: uuid.UUID
    computed_at: datetime
    sites: int
    brands: int  # of a distribution group; 0 for a brand
    group_id: uuid.UUID


@dataclass(frozen=True)
class GroupView:
    group: CommerceGroup
    run: CommerceGraphRun
    latest: bool  # from the agency's latest run
    sites: list[SiteRow]
    indicators: list[IndicatorRow]
    links: list[LinkRow]  # a group's between its brands, then each brand's inside it
    brands: list[CommerceGroup]  # of a distribution group
    parent: CommerceGroup | None  # a brand's distribution group
    history: list[HistoryPoint]
    carries: list[tuple[str, str]]  # (site id, indicator id): the drawing's edges


def group_view(session: Session, caller: Caller, group_id: uuid.UUID) -> GroupView:
    """Everything the group page shows; the read is audited."""
    group = own_group(session, caller, group_id)
    run = session.get(CommerceGraphRun, group.run_id)
    assert run is not None
    latest = latest_run(session, caller)
    brands = (
        sorted(
            session.scalars(select(CommerceGroup).where(CommerceGroup.parent_id == group.id)),
            key=lambda b: (-len(b.site_ids), b.key),
        )
        if group.kind == GROUP
        else []
    )
    parent = session.get(CommerceGroup, group.parent_id) if group.parent_id else None
    brand_of = {s: b.id for b in brands for s in b.site_ids}
    site_ids = [uuid.UUID(s) for s in group.site_ids]
    sites: list[SiteRow] = []
    for start in range(0, len(site_ids), 500):
        sites += [
            SiteRow(
                s.id, s.host, s.label, s.url, s.status, s.last_crawled_at, brand_of.get(str(s.id))
            )
            for s in session.scalars(
                select(CommerceSite).where(
                    CommerceSite.id.in_(site_ids[start : start + 500]),
                    sharing.owned_by(CommerceSite.owner_agency_id, caller),
                )
            )
        ]
    sites.sort(key=lambda s: (s.host, str(s.id)))
    common = set(
        session.scalar(
            select(CommerceGroup.indicator_ids).where(
                CommerceGroup.run_id == run.id, CommerceGroup.kind == COMMON
            )
        )
        or []
    )
    indicators, carries = _group_indicators(session, caller, site_ids, common)
    hosts = {str(s.id): s.host for s in sites}
    links = [_link(link, hosts) for link in group.links]
    for brand in brands:
        links += [_link(link, hosts) for link in brand.links]
    audit.record(
        session,
        caller,
        action="commerce.group.read",
        operation=Operation.CONSULTATION,
        subject_type="commerce_group",
        subject_id=group.id,
        subject_agency_id=group.owner_agency_id,
        detail={"kind": group.kind, "key": group.key, "sites": len(sites)},
    )
    return GroupView(
        group=group,
        run=run,
        latest=latest is not None and latest.id == run.id,
        sites=sites,
        indicators=indicators,
        links=links,
        brands=brands,
        parent=parent,
        history=_history(session, caller, group.key, group.kind),
        carries=carries,
    )


def _group_indicators(
    session: Session, caller: Caller, site_ids: list[uuid.UUID], common: set[str]
) -> tuple[list[IndicatorRow], list[tuple[str, str]]]:
    """The indicators on these sites: when each was first and last seen on them, on how many;
    and which site carries which (the drawing's edges)."""
    spans: dict[uuid.UUID, list[Any]] = {}
    carries: set[tuple[str, str]] = set()
    for start in range(0, len(site_ids), 500):
        chunk = site_ids[start : start + 500]
        for site, ind, first, last in session.execute(
            select(
                CommerceSighting.site_id,
                CommerceSighting.indicator_id,
                func.min(CommerceSighting.seen_at),
                func.max(CommerceSighting.seen_at),
            )
            .where(CommerceSighting.site_id.in_(chunk))
            .group_by(CommerceSighting.site_id, CommerceSighting.indicator_id)
        ):
            carries.add((str(site), str(ind)))
            span = spans.setdefault(ind, [first, last, 0])
            span[0], span[1], span[2] = min(span[0], first), max(span[1], last), span[2] + 1
    rows = [
        IndicatorRow(
            i.id,
            i.kind,
            i.value,
            i.detail,
            spans[i.id][0],
            spans[i.id][1],
            spans[i.id][2],
            str(i.id) in common,
        )
        for i in _indicators(session, caller, [str(k) for k in spans])
    ]
    rows.sort(key=lambda r: (r.common, -r.sites, r.kind, r.value))
    return rows, sorted(carries)


def _link(stored: dict[str, Any], hosts: dict[str, str]) -> LinkRow:
    return LinkRow(
        a=hosts.get(stored["a"], stored["a"]),
        b=hosts.get(stored["b"], stored["b"]),
        a_id=stored["a"],
        b_id=stored["b"],
        weight=float(stored["weight"]),
        pairs=int(stored.get("pairs", 1)),
        evidence=tuple(
            Evidence(e["indicator"], e["kind"], e["value"], float(e["weight"]))
            for e in stored.get("evidence", [])
        ),
    )


def _history(session: Session, caller: Caller, key: str, kind: str) -> list[HistoryPoint]:
    rows = session.execute(
        select(CommerceGroup, CommerceGraphRun.computed_at)
        .join(CommerceGraphRun, CommerceGraphRun.id == CommerceGroup.run_id)
        .where(
            CommerceGroup.key == key,
            CommerceGroup.kind == kind,
            sharing.owned_by(CommerceGroup.owner_agency_id, caller),
        )
        .order_by(CommerceGraphRun.computed_at, CommerceGraphRun.id)
    ).all()
    points = []
    for group, computed_at in rows:
        brands = 0
        if kind == GROUP:
            brands = (
                session.scalar(
                    select(func.count())
                    .select_from(CommerceGroup)
                    .where(CommerceGroup.parent_id == group.id)
                )
                or 0
            )
        points.append(
            HistoryPoint(group.run_id, computed_at, len(group.site_ids), brands, group.id)
        )
    return points


def history(session: Session, caller: Caller, key: str) -> list[HistoryPoint]:
    """A group's (or a brand's) size over the agency's runs, oldest first."""
    caller.require(Permission.INVESTIGATE_SITES)
    if not key or len(key) > 64:
        raise Invalid("key", "must be a group key of at most 64 characters")
    kind = session.scalar(
        select(CommerceGroup.kind)
        .where(
            CommerceGroup.key == key,
            CommerceGroup.kind.in_((GROUP, BRAND)),
            sharing.owned_by(CommerceGroup.owner_agency_id, caller),
        )
        .limit(1)
    )
    return _history(session, caller, key, kind) if kind else []


# --- the drawing ----------------------------------------------------------------------------


def svg(view: GroupView) -> str:
    """The group drawn: its sites and the indicators on them (common infrastructure left out:
    it would join every node), each site labelled by its host."""
    shown = {str(i.id): i for i in view.indicators if not i.common}
    nodes = [
        drawing.Node(
            id=str(s.id),
            kind="site",
            label=s.host,
            title=f"site {s.host}" + (f" ({s.label})" if s.label else ""),
        )
        for s in view.sites
    ]
    nodes += [
        drawing.Node(
            id=key,
            kind=i.kind,
            label=kinds.shown(i.kind, i.value),
            title=f"{i.kind} {i.value}: on {i.sites} site{'s' if i.sites != 1 else ''}, "
            f"{i.first_seen_at:%Y-%m-%d} to {i.last_seen_at:%Y-%m-%d}",
        )
        for key, i in shown.items()
    ]
    edges = [drawing.Edge(site, ind) for site, ind in view.carries if ind in shown]
    return drawing.svg(nodes, edges, title=view.group.label or view.group.key)
