"""The observatory's figures for a period, aggregated in the database (GROUP BY and sums),
never row by row: a month of a year of reports at 1,000 a day computes in milliseconds
(benchmarks/observatory.py).

- Reports: URL reports received in the period by hosting country ("ZZ": not located, or not
  yet located), a duplicate of another report not counted again; confirmed: those whose latest
  assessment is illegal material.
- Time to removal: takedown notices closed as removed in the period, hours from the notice to
  the removal (median, 90th percentile) by the host's country; notices still open past their
  deadline at the period's end.
- Children identified (victims identified or safeguarded) and hits between two different
  agencies, per month, for the twelve months up to the period's end.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from taskforce.cases.models import Hit
from taskforce.observatory import denominators
from taskforce.observatory.schemas import (
    CountryRemoval,
    CountryReports,
    Figures,
    MonthValue,
    Rate,
)
from taskforce.observatory.suppression import durations, per_million, suppress, with_total
from taskforce.reports.models import Report, ReportAssessment
from taskforce.series.models import Victim, VictimStatus
from taskforce.takedown.models import TakedownNotice

CONFIRMED = "illegal_material"
MONTHS = 12


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def label(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def compute(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    threshold: int,
    now: datetime,
    period: str | None = None,
) -> Figures:
    """The figures of [start, end), suppressed at `threshold`; `period` names them (default:
    the month of `start`)."""
    if end <= start:
        raise ValueError("the period ends after it starts")
    reports, received, confirmed = _reports(session, start, end, threshold)
    return Figures(
        period=period or label(start),
        period_start=start,
        period_end=end,
        computed_at=now,
        threshold=threshold,
        reports_received=received,
        reports_confirmed=confirmed,
        reports_by_country=reports,
        removal_by_country=_removal(session, start, end, threshold),
        children_identified=_monthly(
            session,
            Victim.identified_at,
            Victim.status.in_((VictimStatus.IDENTIFIED, VictimStatus.SAFEGUARDED)),
            end,
            threshold,
        ),
        hits_between_agencies=_monthly(
            session, Hit.created_at, Hit.a_agency_id != Hit.b_agency_id, end, threshold
        ),
        denominators=denominators.described(session),
    )


def _latest_assessment() -> ColumnElement[str | None]:
    """The report's latest verdict (one index probe per report on report_id)."""
    return (
        select(ReportAssessment.assessment)
        .where(ReportAssessment.report_id == Report.id)
        .order_by(ReportAssessment.created_at.desc())
        .limit(1)
        .correlate(Report)
        .scalar_subquery()
    )


def _reports(
    session: Session, start: datetime, end: datetime, threshold: int
) -> tuple[list[CountryReports], int | None, int | None]:
    country = func.coalesce(Report.hosting_country, denominators.NOT_LOCATED)
    confirmed = func.sum(case((_latest_assessment() == CONFIRMED, 1), else_=0))
    rows = session.execute(
        select(country, func.count(), confirmed)
        .where(
            Report.kind == "url",
            Report.duplicate_of_id.is_(None),
            Report.created_at >= start,
            Report.created_at < end,
        )
        .group_by(country)
    ).all()
    codes = [str(c) for c, _, _ in rows]
    received_cells, received = with_total(
        [int(n) for _, n, _ in rows], sum(int(n) for _, n, _ in rows), threshold
    )
    confirmed_cells, confirmed_total = with_total(
        [int(k or 0) for _, _, k in rows], sum(int(k or 0) for _, _, k in rows), threshold
    )
    users = denominators.internet_users(session)
    people = denominators.people()
    found = []
    for code, shown, sure in zip(codes, received_cells, confirmed_cells, strict=True):
        located = code != denominators.NOT_LOCATED
        found.append(
            CountryReports(
                country=code,
                name=denominators.country_name(code),
                received=shown,
                confirmed=sure,
                confirmed_per_internet_users=_rate(sure, users.get(code) if located else None),
                confirmed_per_people=_rate(sure, people.get(code) if located else None),
            )
        )
    # the largest first; suppressed rows after, by code (their order would say something)
    found.sort(key=lambda r: (r.received is None, -(r.received or 0), r.country))
    return found, received, confirmed_total


def _rate(count: int | None, population: int | None) -> Rate | None:
    rate = per_million(count, population)
    return None if rate is None else Rate(per_million=rate[0], low=rate[1], high=rate[2])


def _hours(dialect: str) -> ColumnElement[Any]:
    """Hours from a notice to its removal, computed by the database."""
    removed, created = TakedownNotice.removed_at, TakedownNotice.created_at
    if dialect == "postgresql":
        return func.extract("epoch", removed - created) / 3600.0
    return (func.julianday(removed) - func.julianday(created)) * 24.0


def _removal(
    session: Session, start: datetime, end: datetime, threshold: int
) -> list[CountryRemoval]:
    country = func.coalesce(TakedownNotice.hosting_country, denominators.NOT_LOCATED)
    hours = _hours(session.get_bind().dialect.name)
    removed: dict[str, list[float]] = defaultdict(list)
    for code, value in session.execute(
        select(country, hours)
        .where(
            TakedownNotice.status == "removed",
            TakedownNotice.removed_at >= start,
            TakedownNotice.removed_at < end,
        )
        .order_by(country, hours)
    ):
        removed[str(code)].append(max(float(value), 0.0))
    # open at the period's end: issued before it, not removed by then, deadline passed (a
    # notice withdrawn since is not counted: its withdrawal time is not kept on the notice)
    still_open = or_(
        TakedownNotice.status == "open",
        and_(TakedownNotice.status == "removed", TakedownNotice.removed_at >= end),
    )
    late = dict(
        session.execute(
            select(country, func.count())
            .where(TakedownNotice.created_at < end, TakedownNotice.deadline_at < end, still_open)
            .group_by(country)
        ).all()
    )
    result = []
    for code in sorted(set(removed) | {str(c) for c in late}):
        times = removed.get(code, [])
        median, p90 = durations(times, threshold)
        result.append(
            CountryRemoval(
                country=code,
                name=denominators.country_name(code),
                removed=suppress(len(times), threshold),
                median_hours=median,
                p90_hours=p90,
                open_past_deadline=suppress(int(late.get(code, 0)), threshold),
            )
        )
    result.sort(key=lambda r: (r.removed is None, -(r.removed or 0), r.country))
    return result


def _monthly(
    session: Session,
    column: InstrumentedAttribute[datetime | None] | InstrumentedAttribute[datetime],
    condition: ColumnElement[bool],
    end: datetime,
    threshold: int,
) -> list[MonthValue]:
    """Counts per calendar month for the twelve months up to `end` (the month holding the
    last instant before it), oldest first, as one row of sums."""
    last = month_start(end) if end == month_start(end) else add_months(month_start(end), 1)
    bounds = [add_months(last, -MONTHS + i) for i in range(MONTHS + 1)]
    sums = [
        func.sum(case((and_(column >= bounds[i], column < bounds[i + 1]), 1), else_=0))
        for i in range(MONTHS)
    ]
    row = session.execute(
        select(*sums).where(condition, column >= bounds[0], column < min(bounds[-1], end))
    ).one()
    return [
        MonthValue(month=label(bounds[i]), value=suppress(int(row[i] or 0), threshold))
        for i in range(MONTHS)
    ]
