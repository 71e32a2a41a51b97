"""Time to acknowledge, per desk: how fast each 24/7 desk answers drills and real urgent leads.

For a drill, the time runs from its sending to the press of the link's button; a drill given
up (`drill_give_up_hours`) counts as not acknowledged. For a lead, it runs from the moment the
lead was sent to that desk (its `UrgentLeadTarget.added_at`: at once, on escalation, or when
the rota passed it on) to the desk's acknowledgement. A lead another desk took first counts as
taken elsewhere; one nobody took, past the acknowledgement deadline, as not acknowledged; one
still inside it as pending. Alerts are counted in the period by when they were sent.

Median and 90th percentile come from the standard library (`statistics.median`,
`statistics.quantiles(n=10, method="inclusive")`), as the page's footnote says.

The coordinator (OVERSEE_NETWORK) sees every desk; anyone else with an agency sees its own
desk's row. Each read is audited.
"""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Forbidden, Invalid
from taskforce.core.settings import Settings
from taskforce.rota.models import DutyDesk
from taskforce.watch.models import Drill, UrgentLead, UrgentLeadTarget
from taskforce.watch.schemas import (
    STATISTICS_MAX_DAYS,
    STATISTICS_METHOD,
    AckFigures,
    DeskStatistics,
    StatisticsRead,
)

DEFAULT_DAYS = 30


def percentile_90(times: Sequence[float]) -> float | None:
    if not times:
        return None
    if len(times) == 1:
        return float(times[0])
    return float(statistics.quantiles(times, n=10, method="inclusive")[8])


def median(times: Sequence[float]) -> float | None:
    return float(statistics.median(times)) if times else None


@dataclass
class _Tally:
    times: list[float] = field(default_factory=list)
    alerts: int = 0
    not_acknowledged: int = 0
    taken_elsewhere: int = 0
    pending: int = 0

    def figures(self) -> AckFigures:
        return AckFigures(
            alerts=self.alerts,
            acknowledged=len(self.times),
            not_acknowledged=self.not_acknowledged,
            taken_elsewhere=self.taken_elsewhere,
            pending=self.pending,
            median_seconds=median(self.times),
            p90_seconds=percentile_90(self.times),
        )


def period(
    start: datetime | None, end: datetime | None, *, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end): by default the last 30 days up to now."""
    end = end or now
    start = start or end - timedelta(days=DEFAULT_DAYS)
    for name, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise Invalid(name, "a time with its UTC offset, e.g. 2026-12-01T00:00:00Z")
    if end <= start:
        raise Invalid("end", "after start")
    if end - start > timedelta(days=STATISTICS_MAX_DAYS):
        raise Invalid("end", f"at most {STATISTICS_MAX_DAYS} days after start")
    return start, end


def _drills(
    session: Session, start: datetime, end: datetime, only: uuid.UUID | None
) -> dict[uuid.UUID, _Tally]:
    query = (
        select(DutyDesk.agency_id, Drill)
        .join(DutyDesk, DutyDesk.id == Drill.desk_id)
        .where(Drill.sent_at >= start, Drill.sent_at < end)
    )
    if only is not None:
        query = query.where(DutyDesk.agency_id == only)
    tallies: dict[uuid.UUID, _Tally] = defaultdict(_Tally)
    for agency_id, drill in session.execute(query).all():
        tally = tallies[agency_id]
        tally.alerts += 1
        if drill.acknowledged_at is not None and drill.sent_at is not None:
            tally.times.append(max((drill.acknowledged_at - drill.sent_at).total_seconds(), 0.0))
        elif drill.gave_up_at is not None:
            tally.not_acknowledged += 1
        else:
            tally.pending += 1
    return tallies


def _leads(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    only: uuid.UUID | None,
    *,
    now: datetime,
) -> dict[uuid.UUID, _Tally]:
    query = (
        select(UrgentLeadTarget.agency_id, UrgentLeadTarget.added_at, UrgentLead)
        .join(UrgentLead, UrgentLead.id == UrgentLeadTarget.lead_id)
        .where(UrgentLeadTarget.added_at >= start, UrgentLeadTarget.added_at < end)
    )
    if only is not None:
        query = query.where(UrgentLeadTarget.agency_id == only)
    allowed = timedelta(minutes=settings.urgent_ack_minutes)
    tallies: dict[uuid.UUID, _Tally] = defaultdict(_Tally)
    for agency_id, alerted_at, lead in session.execute(query).all():
        tally = tallies[agency_id]
        tally.alerts += 1
        if lead.acknowledged_at is None:
            deadline = max(lead.ack_due_at or alerted_at, alerted_at + allowed)
            if now >= deadline:
                tally.not_acknowledged += 1
            else:
                tally.pending += 1
        elif lead.acknowledged_by_agency_id == agency_id:
            tally.times.append(max((lead.acknowledged_at - alerted_at).total_seconds(), 0.0))
        else:
            tally.taken_elsewhere += 1
    return tallies


def time_to_acknowledge(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    now: datetime | None = None,
) -> StatisticsRead:
    """Per desk, drills and leads alerted in [start, end): the coordinator's whole table, or
    the caller's own desk's row."""
    now = now or utcnow()
    start, end = period(start, end, now=now)
    if caller.can(Permission.OVERSEE_NETWORK):
        only = None
    elif caller.agency_id is not None:
        only = caller.agency_id
    else:
        raise Forbidden("only a desk's own people or the network coordinator see these figures")
    drills = _drills(session, start, end, only)
    leads = _leads(session, settings, start, end, only, now=now)
    ids = set(drills) | set(leads)
    if only is not None:
        ids.add(only)
    agencies = (
        {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(ids)))} if ids else {}
    )
    rows = [
        DeskStatistics(
            desk=agency.code,
            name=agency.name,
            drills=drills.get(agency.id, _Tally()).figures(),
            leads=leads.get(agency.id, _Tally()).figures(),
        )
        for agency in sorted(agencies.values(), key=lambda a: a.code)
    ]
    audit.record(
        session,
        caller,
        action="watch.statistics.read",
        operation=Operation.CONSULTATION,
        subject_type="watch_statistics",
        detail={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "desks": len(rows),
            "scope": "network" if only is None else "own desk",
        },
    )
    session.flush()
    return StatisticsRead(start=start, end=end, method=STATISTICS_METHOD, desks=rows)


CSV_COLUMNS = (
    "desk",
    "name",
    "source",
    "alerts",
    "acknowledged",
    "not_acknowledged",
    "taken_elsewhere",
    "pending",
    "median_seconds",
    "p90_seconds",
)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _text(value: str) -> str:
    """A name a spreadsheet would take for a formula is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def to_csv(figures: StatisticsRead) -> str:
    """Two rows per desk (drills, leads); times in seconds, empty where there is none."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in figures.desks:
        for source, f in (("drill", row.drills), ("lead", row.leads)):
            writer.writerow(
                [
                    row.desk,
                    _text(row.name),
                    source,
                    f.alerts,
                    f.acknowledged,
                    f.not_acknowledged,
                    f.taken_elsewhere,
                    f.pending,
                    _cell(f.median_seconds),
                    _cell(f.p90_seconds),
                ]
            )
    return buffer.getvalue()
