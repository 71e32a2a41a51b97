"""Time to removal: how long hosting providers took to remove reported content, by provider,
country or month, with the median and the 90th percentile.
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import pycountry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.hosting.models import HostingProvider
from taskforce.takedown.models import TakedownNotice

# --- past deadline ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PastDeadline:
    agency: Agency
    notices: int
    oldest_deadline: datetime


def past_deadline(session: Session, caller: Caller, *, now: datetime) -> list[PastDeadline]:
    """The coordinator's view: open notices whose host let the deadline pass, per sending
    agency, the longest overdue first (counts only, no URLs)."""
    caller.require(Permission.OVERSEE_NETWORK)
    rows = session.execute(
        select(TakedownNotice.agency_id, func.count(), func.min(TakedownNotice.deadline_at))
        .where(TakedownNotice.status == "open", TakedownNotice.deadline_at < now)
        .group_by(TakedownNotice.agency_id)
    ).all()
    agencies = agency_service.agencies_by_id(session, {a for a, _, _ in rows})
    out = [PastDeadline(agencies[a], int(n), oldest) for a, n, oldest in rows if a in agencies]
    return sorted(out, key=lambda row: row.oldest_deadline)


# --- time to removal ------------------------------------------------------------------------


@dataclass(frozen=True)
class RemovalRow:
    key: str  # a country code or a provider's name
    label: str
    notices: int
    removed: int
    still_online: int
    median_hours: float | None
    p90_hours: float | None
    within_24h: float | None  # share of removed notices removed within a day
    within_72h: float | None


def _percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `share` of values at or
    below it (what "90 % were removed within" means)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def removal_statistics(
    session: Session,
    caller: Caller,
    *,
    by: Literal["country", "provider"] = "country",
    since: datetime | None = None,
) -> tuple[list[RemovalRow], RemovalRow]:
    """Time from notice to removal, per hosting country or provider, with the network-wide
    row. Figures over every member's notices (counts and times only, no URLs)."""
    caller.require(Permission.READ)
    query = select(
        TakedownNotice.hosting_country,
        TakedownNotice.provider_id,
        TakedownNotice.status,
        TakedownNotice.created_at,
        TakedownNotice.removed_at,
    ).where(TakedownNotice.status != "withdrawn")
    if since is not None:
        since = since if since.tzinfo else since.replace(tzinfo=UTC)  # a bare date is UTC
        query = query.where(TakedownNotice.created_at >= since)
    groups: dict[str, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    everything: list[tuple[str, datetime, datetime | None]] = []
    providers: set[uuid.UUID] = set()
    for country, provider_id, status, created, removed in session.execute(query):
        key = (country or "") if by == "country" else (str(provider_id) if provider_id else "")
        if provider_id:
            providers.add(provider_id)
        groups[key].append((status, created, removed))
        everything.append((status, created, removed))
    names = (
        {
            str(p.id): p.name
            for p in session.scalars(
                select(HostingProvider).where(HostingProvider.id.in_(providers))
            )
        }
        if by == "provider" and providers
        else {}
    )
    rows = [_row(key, _group_label(by, key, names), items) for key, items in groups.items()]
    rows.sort(key=lambda r: (-r.notices, r.label))
    audit.record(
        session,
        caller,
        action="takedown.statistics",
        operation=Operation.CONSULTATION,
        detail={"by": by, "groups": len(rows)},
    )
    return rows, _row("", "All", everything)


def _group_label(by: str, key: str, names: dict[str, str]) -> str:
    if not key:
        return "country unknown" if by == "country" else "provider unknown"
    if by == "provider":
        return names.get(key, key)
    country = pycountry.countries.get(alpha_2=key)
    return str(getattr(country, "common_name", None) or country.name) if country else key


def _row(key: str, label: str, items: list[tuple[str, datetime, datetime | None]]) -> RemovalRow:
    hours = [
        (removed - created).total_seconds() / 3600
        for status, created, removed in items
        if status == "removed" and removed is not None
    ]
    return RemovalRow(
        key=key,
        label=label,
        notices=len(items),
        removed=len(hours),
        still_online=sum(1 for status, _, _ in items if status == "open"),
        median_hours=statistics.median(hours) if hours else None,
        p90_hours=_percentile(hours, 0.9) if hours else None,
        within_24h=sum(h <= 24 for h in hours) / len(hours) if hours else None,
        within_72h=sum(h <= 72 for h in hours) / len(hours) if hours else None,
    )
