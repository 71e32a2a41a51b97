"""A published month's figures as the pages receive them, written by hand so that every case a
page draws is there: countries above the threshold, suppressed ones, a not-located row, a
country with no internet-user figure, suppressed months."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from taskforce.observatory import service
from taskforce.observatory.models import Snapshot
from taskforce.observatory.schemas import (
    CountryRemoval,
    CountryReports,
    Denominators,
    Figures,
    MonthValue,
    Rate,
)

PUBLISHED_AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def _months(values: list[int | None]) -> list[MonthValue]:
    labels = ["2025-12"] + [f"2026-{m:02d}" for m in range(1, 12)]
    return [MonthValue(month=m, value=v) for m, v in zip(labels, values, strict=True)]


def figures(period: str = "2026-11") -> Figures:
    year, month = (int(p) for p in period.split("-"))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    rate = Rate(per_million=4.2, low=3.1, high=5.6)
    return Figures(
        period=period,
        period_start=start,
        period_end=end,
        computed_at=PUBLISHED_AT,
        threshold=10,
        reports_received=1234,
        reports_confirmed=987,
        reports_by_country=[
            CountryReports(
                country="NL",
                name="Netherlands",
                received=420,
                confirmed=390,
                confirmed_per_internet_users=Rate(per_million=23.4, low=21.1, high=25.8),
                confirmed_per_people=Rate(per_million=21.9, low=19.8, high=24.2),
            ),
            CountryReports(
                country="US",
                name="United States",
                received=300,
                confirmed=250,
                confirmed_per_internet_users=rate,
                confirmed_per_people=rate,
            ),
            CountryReports(
                country="DE",
                name="Germany",
                received=120,
                confirmed=95,
                confirmed_per_internet_users=None,
                confirmed_per_people=rate,
            ),
            CountryReports(
                country="FR",
                name="France",
                received=40,
                confirmed=31,
                confirmed_per_internet_users=rate,
                confirmed_per_people=rate,
            ),
            CountryReports(
                country="BR",
                name="Brazil",
                received=22,
                confirmed=12,
                confirmed_per_internet_users=rate,
                confirmed_per_people=rate,
            ),
            CountryReports(
                country="LU",
                name="Luxembourg",
                received=None,
                confirmed=None,
                confirmed_per_internet_users=None,
                confirmed_per_people=None,
            ),
            CountryReports(
                country="ZZ",
                name="Not located",
                received=15,
                confirmed=None,
                confirmed_per_internet_users=None,
                confirmed_per_people=None,
            ),
        ],
        removal_by_country=[
            CountryRemoval(
                country="NL",
                name="Netherlands",
                removed=380,
                median_hours=30.5,
                p90_hours=70.0,
                open_past_deadline=12,
            ),
            CountryRemoval(
                country="US",
                name="United States",
                removed=200,
                median_hours=58.0,
                p90_hours=160.0,
                open_past_deadline=None,
            ),
            CountryRemoval(
                country="LU",
                name="Luxembourg",
                removed=None,
                median_hours=None,
                p90_hours=None,
                open_past_deadline=None,
            ),
        ],
        children_identified=_months([12, None, 15, 18, None, 22, 30, 11, 14, 19, 25, 16]),
        hits_between_agencies=_months([40, 52, 61, 38, 45, 70, 66, 59, 73, 80, 77, 91]),
        denominators=Denominators(
            internet_users_source="ITU (synthetic test figures)",
            internet_users_year=2025,
            internet_users_countries=4,
            people_source="countryinfo (static population figures)",
        ),
    )


def publish(session: Session, result: Figures, at: datetime = PUBLISHED_AT) -> Snapshot:
    """Store a month as the coordinator's publication would (its canonical JSON hashed)."""
    data = result.model_dump(mode="json")
    row = Snapshot(
        period=result.period,
        published_at=at,
        threshold=result.threshold,
        figures=data,
        sha256=service.digest(data),
    )
    session.add(row)
    session.commit()
    return row
