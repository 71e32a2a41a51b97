"""The figures of a small month with known answers (threshold 3): what is counted, what is
not, what is suppressed, and the rates' denominators."""

from __future__ import annotations

import pytest
from observatory_builders import NOV, NOW, OCT, THRESHOLD
from sqlalchemy.orm import Session

from taskforce.observatory import denominators, figures
from taskforce.observatory.models import InternetUsers
from taskforce.observatory.schemas import Figures


def compute(session: Session) -> Figures:
    return figures.compute(session, start=OCT, end=NOV, threshold=THRESHOLD, now=NOW)


@pytest.mark.usefixtures("month")
def test_reports_by_hosting_country(session: Session) -> None:
    result = compute(session)
    assert result.period == "2026-10"
    by = {r.country: r for r in result.reports_by_country}
    assert set(by) == {"NL", "DE", "GB", "ZZ"}
    # received: NL 5 DE 4 GB 2 ZZ 3 = 14; GB below 3, so ZZ (the smallest shown) goes too
    assert result.reports_received == 14
    assert (by["NL"].received, by["DE"].received) == (5, 4)
    assert by["GB"].received is None
    assert by["ZZ"].received is None
    # confirmed (latest verdict illegal material): NL 3, DE 4, GB 1 = 8; GB hidden, NL too
    assert result.reports_confirmed == 8
    assert by["DE"].confirmed == 4
    assert by["GB"].confirmed is None
    assert by["NL"].confirmed is None
    assert by["ZZ"].name == "Not located"
    assert by["DE"].name == "Germany"
    assert [r.country for r in result.reports_by_country][:2] == ["NL", "DE"]


@pytest.mark.usefixtures("month")
def test_rates_only_where_a_denominator_exists(session: Session) -> None:
    session.add(InternetUsers(country="DE", users=80_000_000, year=2024, source="ITU (test)"))
    session.flush()
    result = compute(session)
    by = {r.country: r for r in result.reports_by_country}
    rate = by["DE"].confirmed_per_internet_users
    assert rate is not None
    assert rate.per_million == 0.05
    assert rate.low < 0.05 < rate.high
    people = by["DE"].confirmed_per_people
    assert people is not None
    assert people.per_million == round(4 / denominators.people()["DE"] * 1e6, 3)
    assert by["NL"].confirmed_per_internet_users is None  # suppressed count
    assert by["ZZ"].confirmed_per_people is None
    assert result.denominators.internet_users_source == "ITU (test)"
    assert result.denominators.internet_users_countries == 1
    assert "countryinfo" in result.denominators.people_source


@pytest.mark.usefixtures("month")
def test_without_internet_users_the_rate_is_omitted(session: Session) -> None:
    result = compute(session)
    assert all(r.confirmed_per_internet_users is None for r in result.reports_by_country)
    assert result.denominators.internet_users_source is None


@pytest.mark.usefixtures("month")
def test_time_to_removal_by_hosting_country(session: Session) -> None:
    by = {r.country: r for r in compute(session).removal_by_country}
    nl = by["NL"]
    assert nl.removed == 4
    assert (nl.median_hours, nl.p90_hours) == (25.0, 37.0)
    # open at October's end past the deadline: two still open, one removed in November
    assert nl.open_past_deadline == 3
    de = by["DE"]
    assert de.removed is None
    assert de.median_hours is None
    assert de.p90_hours is None


@pytest.mark.usefixtures("month")
def test_children_identified_and_hits_per_month(session: Session) -> None:
    result = compute(session)
    children = {m.month: m.value for m in result.children_identified}
    assert next(iter(children)) == "2025-11"
    assert list(children)[-1] == "2026-10"
    assert len(children) == 12
    assert children["2026-10"] == 3
    assert children["2026-09"] is None  # one: suppressed
    hits = {m.month: m.value for m in result.hits_between_agencies}
    assert hits["2026-10"] == 3  # the hit inside GB is not between agencies
    assert hits["2026-08"] is None


@pytest.mark.usefixtures("month")
def test_a_higher_threshold_suppresses_everything_small(session: Session) -> None:
    result = figures.compute(session, start=OCT, end=NOV, threshold=10, now=NOW)
    assert result.reports_received == 14
    assert all(r.received is None for r in result.reports_by_country)
    assert result.reports_confirmed is None
    assert all(m.value is None for m in result.children_identified)


def test_an_empty_period(session: Session) -> None:
    result = figures.compute(session, start=OCT, end=NOV, threshold=10, now=NOW)
    assert result.reports_received is None
    assert result.reports_by_country == []
    assert result.removal_by_country == []
