"""Time to acknowledge per desk: drills and real leads, median and 90th percentile, what each
caller may see, and the CSV/JSON downloads."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import statistics as stdlib
import uuid
from datetime import datetime, timedelta

import pytest
from builders import Person, make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from watch_builders import RECEIVED, Watch, open_lead
from watch_rota_builders import duty_desk

from taskforce.agencies import service as agency_service
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role, system_caller
from taskforce.core.errors import Forbidden, Invalid
from taskforce.core.settings import Settings
from taskforce.rota.models import DutyDesk
from taskforce.watch import statistics
from taskforce.watch.models import Drill, UrgentLead
from taskforce.watch.schemas import DeskStatistics, StatisticsRead

DAY = RECEIVED.replace(hour=0, minute=0)
NOW = DAY + timedelta(days=1)


def _drill(
    session: Session,
    desk: DutyDesk,
    sent: datetime,
    *,
    took: timedelta | None = None,
    gave_up: bool = False,
) -> Drill:
    drill = Drill(
        desk_id=desk.id,
        window_start=sent - timedelta(hours=1),
        window_end=sent + timedelta(hours=1),
        send_at=sent,
        sent_at=sent,
        check_at=None if took or gave_up else sent + timedelta(hours=4),
        secret_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
        acknowledged_at=sent + took if took else None,
        acknowledged_by="desk officer" if took else "",
        gave_up_at=sent + timedelta(hours=4) if gave_up else None,
    )
    session.add(drill)
    session.flush()
    return drill


def _ack(lead: UrgentLead, person: Person, at: datetime) -> None:
    lead.acknowledged_at = at
    lead.acknowledged_by_agency_id = person.caller.agency_id
    lead.acknowledged_by = person.caller.label
    lead.check_at = None


@pytest.fixture
def figures(session: Session, settings: Settings, watch: Watch) -> Watch:
    nl = duty_desk(session, "NL-NP")
    gb = duty_desk(session, "GB-NCA")
    # NL: drills answered after 1, 2, 3, 4 and 10 minutes, one given up, one still waiting,
    # one from before the period
    for n, minutes in enumerate((1, 2, 3, 4, 10)):
        _drill(session, nl, DAY + timedelta(hours=n), took=timedelta(minutes=minutes))
    _drill(session, nl, DAY + timedelta(hours=6), gave_up=True)
    _drill(session, nl, NOW - timedelta(minutes=30))
    _drill(session, nl, DAY - timedelta(days=40), took=timedelta(minutes=99))
    # GB: one drill in 90 seconds
    _drill(session, gb, DAY + timedelta(hours=2), took=timedelta(seconds=90))
    # leads: GB-NCA takes one after 6 minutes (GB-CEOP, alerted too, "taken elsewhere");
    # one nobody takes; NL-NP (suspect's country) takes one after 12 minutes
    taken = open_lead(session, settings, country="GB", now=RECEIVED)
    _ack(taken, watch.gb, RECEIVED + timedelta(minutes=6))
    later = RECEIVED + timedelta(hours=1)
    open_lead(session, settings, country="GB", received_at=later, now=later)
    latest = RECEIVED + timedelta(hours=2)
    by_nl = open_lead(session, settings, country="GB", suspect="NL", received_at=latest, now=latest)
    _ack(by_nl, watch.nl, RECEIVED + timedelta(hours=2, minutes=12))
    session.flush()
    return watch


def _row(figures: StatisticsRead, code: str) -> DeskStatistics:
    return next(r for r in figures.desks if r.desk == code)


@pytest.mark.usefixtures("figures")
def test_drills_and_leads_per_desk_with_median_and_90th_percentile(
    session: Session, settings: Settings
) -> None:
    read = statistics.time_to_acknowledge(session, system_caller(), settings, now=NOW)
    assert read.start == NOW - timedelta(days=30)
    assert read.end == NOW
    nl = _row(read, "NL-NP")
    times = [60.0, 120.0, 180.0, 240.0, 600.0]
    assert nl.drills.alerts == 7
    assert nl.drills.acknowledged == 5
    assert nl.drills.not_acknowledged == 1
    assert nl.drills.pending == 1
    assert nl.drills.median_seconds == 180.0
    assert nl.drills.p90_seconds == stdlib.quantiles(times, n=10, method="inclusive")[8]
    assert nl.drills.p90_seconds == pytest.approx(456.0)  # inclusive: 240 + 0.6 * 360
    assert nl.leads.alerts == 1
    assert nl.leads.acknowledged == 1
    assert nl.leads.median_seconds == 720.0
    assert nl.leads.p90_seconds == 720.0  # a single time is its own 90th percentile
    gb = _row(read, "GB-NCA")
    assert gb.drills.median_seconds == 90.0
    assert (gb.leads.alerts, gb.leads.acknowledged) == (3, 1)
    assert gb.leads.median_seconds == 360.0
    assert gb.leads.not_acknowledged == 1  # the lead nobody took, past its deadline
    assert gb.leads.taken_elsewhere == 1  # NL-NP took the third
    ceop = _row(read, "GB-CEOP")  # no duty desk, but alerted: its own row
    assert ceop.leads.taken_elsewhere == 2
    assert ceop.leads.acknowledged == 0
    assert ceop.leads.median_seconds is None
    assert ceop.drills.alerts == 0


@pytest.mark.usefixtures("figures")
def test_a_lead_inside_its_deadline_is_pending_not_missed(
    session: Session, settings: Settings
) -> None:
    early = RECEIVED + timedelta(hours=1, minutes=5)  # the open lead arrived at +1 h
    read = statistics.time_to_acknowledge(
        session, system_caller(), settings, start=DAY, end=early, now=early
    )
    gb = _row(read, "GB-NCA")
    assert gb.leads.pending == 1
    assert gb.leads.not_acknowledged == 0


@pytest.mark.usefixtures("figures")
def test_the_period_selects_alerts_by_when_they_were_sent(
    session: Session, settings: Settings
) -> None:
    read = statistics.time_to_acknowledge(
        session,
        system_caller(),
        settings,
        start=DAY - timedelta(days=41),
        end=DAY - timedelta(days=39),
        now=NOW,
    )
    assert [r.desk for r in read.desks] == ["NL-NP"]
    assert _row(read, "NL-NP").drills.median_seconds == 99 * 60


def test_a_desk_sees_only_its_own_row_and_reads_are_audited(
    session: Session, settings: Settings, figures: Watch
) -> None:
    read = statistics.time_to_acknowledge(session, figures.nl.caller, settings, now=NOW)
    assert [r.desk for r in read.desks] == ["NL-NP"]
    us = statistics.time_to_acknowledge(session, figures.us.caller, settings, now=NOW)
    assert [(r.desk, r.drills.alerts, r.leads.alerts) for r in us.desks] == [("US-HSI", 0, 0)]
    entry = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "watch.statistics.read")
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).one()
    assert entry.detail is not None
    assert entry.detail["scope"] == "own desk"


def test_without_an_agency_only_the_coordinator_sees_figures(
    session: Session, settings: Settings
) -> None:
    from taskforce.core.caller import Caller

    with pytest.raises(Forbidden):
        statistics.time_to_acknowledge(
            session, Caller(role=Role.INVESTIGATOR, channel="api"), settings, now=NOW
        )


@pytest.mark.usefixtures("figures")
@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (NOW, NOW, "end"),
        (NOW - timedelta(days=400), NOW, "end"),
        (NOW.replace(tzinfo=None), None, "start"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    session: Session, settings: Settings, start: datetime, end: datetime | None, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        statistics.time_to_acknowledge(
            session, system_caller(), settings, start=start, end=end, now=NOW
        )
    assert refused.value.field == field


@pytest.mark.usefixtures("figures")
def test_csv_has_two_rows_per_desk_in_seconds(session: Session, settings: Settings) -> None:
    read = statistics.time_to_acknowledge(session, system_caller(), settings, now=NOW)
    rows = list(csv.DictReader(io.StringIO(statistics.to_csv(read))))
    assert len(rows) == 2 * len(read.desks)
    nl_drill = next(r for r in rows if r["desk"] == "NL-NP" and r["source"] == "drill")
    assert nl_drill["median_seconds"] == "180.0"
    assert nl_drill["p90_seconds"] == "456.0"
    assert nl_drill["not_acknowledged"] == "1"
    ceop = next(r for r in rows if r["desk"] == "GB-CEOP" and r["source"] == "lead")
    assert ceop["median_seconds"] == ""


# --- the page and the API -------------------------------------------------------------------------


@pytest.mark.usefixtures("figures")
def test_the_page_shows_the_coordinator_every_desk_with_downloads(
    session: Session, client: TestClient
) -> None:
    hub = agency_service.get_by_code(session, "INT-WATCH")
    admin = make_person(session, hub, role=Role.NETWORK_ADMIN, email="admin@int-watch.example.com")
    web_login(client, session, admin)
    query = f"from={(DAY - timedelta(days=1)):%Y-%m-%d}&to={DAY:%Y-%m-%d}"
    page = client.get(f"/ui/watch/statistics?{query}")
    assert page.status_code == 200
    assert "NL-NP" in page.text
    assert "GB-NCA" in page.text
    assert "method=&#39;inclusive&#39;" in page.text or "method='inclusive'" in page.text
    assert "Drills" in page.text  # the coordinator's tab
    data = client.get(f"/ui/watch/statistics?{query}&format=json")
    assert data.headers["content-type"].startswith("application/json")
    nl = next(d for d in json.loads(data.text)["desks"] if d["desk"] == "NL-NP")
    assert nl["drills"]["median_seconds"] == 180.0
    sheet = client.get(f"/ui/watch/statistics?{query}&format=csv")
    assert sheet.headers["content-type"].startswith("text/csv")
    assert sheet.text.startswith("desk,name,source,alerts")
    bad = client.get("/ui/watch/statistics?from=yesterday")
    assert bad.status_code == 422
    assert "a date like" in bad.text


def test_a_desk_sees_its_own_row_on_the_page(
    session: Session, client: TestClient, figures: Watch
) -> None:
    web_login(client, session, figures.nl)
    page = client.get(f"/ui/watch/statistics?from={DAY:%Y-%m-%d}&to={DAY:%Y-%m-%d}")
    assert page.status_code == 200
    assert "NL-NP" in page.text
    assert "GB-NCA" not in page.text
    assert "/ui/watch/drills" not in page.text  # not the coordinator


def test_the_api_gives_the_figures(
    session: Session, settings: Settings, client: TestClient, figures: Watch
) -> None:
    from builders import token_for

    headers = token_for(session, settings, figures.gb)
    start = (DAY - timedelta(days=1)).isoformat()
    end = NOW.isoformat()
    answer = client.get(
        "/api/v1/watch/statistics", params={"start": start, "end": end}, headers=headers
    )
    assert answer.status_code == 200
    body = answer.json()
    assert [d["desk"] for d in body["desks"]] == ["GB-NCA"]
    assert body["desks"][0]["leads"]["median_seconds"] == 360.0
    refused = client.get(
        "/api/v1/watch/statistics", params={"start": end, "end": start}, headers=headers
    )
    assert refused.status_code == 422
