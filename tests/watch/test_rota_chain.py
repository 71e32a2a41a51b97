"""Urgent leads follow the network's rota: what no member covers goes to the desk on duty for
the network (awake in another zone at 3 a.m.), what nobody acknowledges passes to the desk on
duty, then the next desk, then the coordinator — each step in UTC and the desk's own time.

The rota here (Thursday 3 December 2026, winter time everywhere):
US-HSI 13:00-01:00 New York (18:00-06:00 UTC), NL-NP 07:00-19:00 Amsterdam (06:00-18:00 UTC).
The lead arrives 02:58 UTC: 03:58 in Paris, 21:58 the evening before in New York.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from watch_builders import RECEIVED, Watch, open_lead
from watch_rota_builders import duty_desk, duty_rule

from taskforce.core.audit.models import AuditEntry
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.rota import service as rota_service
from taskforce.watch import escalation, messages, reading, service
from taskforce.watch.models import UrgentLead, UrgentLeadStep

DUE = RECEIVED + timedelta(minutes=15)


@pytest.fixture
def rota(session: Session, watch: Watch) -> Watch:
    us = duty_desk(session, "US-HSI")
    nl = duty_desk(session, "NL-NP")
    duty_rule(session, us, "13:00", "01:00")
    duty_rule(session, nl, "07:00", "19:00")
    return watch


def _targets(session: Session, lead: UrgentLead) -> dict[str, str]:
    return {a.code: t.reason for t, a in messages.lead_targets(session, lead.id)}


def _steps(session: Session, lead: UrgentLead, kind: str) -> list[UrgentLeadStep]:
    return list(
        session.scalars(
            select(UrgentLeadStep)
            .where(UrgentLeadStep.lead_id == lead.id, UrgentLeadStep.step == kind)
            .order_by(UrgentLeadStep.at)
        )
    )


def _mails(session: Session, lead: UrgentLead) -> list[OutboxMessage]:
    return [
        m for m in outbox.messages_for(session, [f"urgent_lead:{lead.id}"]) if m.channel == "email"
    ]


def _escalate(
    session: Session, factory: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    session.commit()  # the worker works in its own transactions
    handled = jobs.run(factory, escalation.escalation_job(settings), limit=50, now=now).done
    session.expire_all()
    return handled


@pytest.mark.usefixtures("rota")
def test_a_3am_lead_without_member_goes_to_the_desk_awake_in_another_zone(
    session: Session, settings: Settings
) -> None:
    lead = open_lead(session, settings, country="FR", now=RECEIVED)
    assert _targets(session, lead) == {"US-HSI": "on_duty_desk"}  # not the coordinator
    [step] = _steps(session, lead, "to_duty_desk")
    assert step.at == RECEIVED
    assert step.detail.startswith("no member agency in FR: sent to US-HSI, on duty")
    assert "2026-12-02 21:58 EST, America/New_York at the desk" in step.detail
    assert "on duty until 2026-12-03 06:00 UTC" in step.detail
    [mail] = _mails(session, lead)
    assert mail.recipient == "desk@us-hsi.example.com"
    assert "on duty for the network: no member agency in FR" in mail.body
    assert "2026-12-02 21:58 EST" in mail.body  # received, on the desk's clock
    assert "passes to the next desk on duty for the network, then to the network" in mail.body
    assert "Secret-Wren" not in mail.body  # never the report's content
    recipients = session.scalars(
        select(AuditEntry.recipients).where(
            AuditEntry.subject_id == lead.id, AuditEntry.action == "report.urgent_lead.create"
        )
    ).one()
    assert recipients == ["US-HSI"]


def test_the_desk_on_duty_sees_the_lead_and_why_it_has_it(
    session: Session, settings: Settings, rota: Watch
) -> None:
    lead = open_lead(session, settings, country="FR", now=RECEIVED)
    view = reading.get_lead(session, rota.us.caller, lead.id)
    assert [t.why for t in view.targets] == ["on duty for the network (the rota)"]
    assert "Sent to the desk on duty" in [s.label for s in view.steps]


@pytest.mark.usefixtures("rota")
def test_unacknowledged_it_passes_to_the_next_desk_then_to_the_coordinator(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    lead = open_lead(session, settings, country="FR", now=RECEIVED)
    assert _escalate(session, session_factory, settings, DUE - timedelta(seconds=1)) == 0
    assert _escalate(session, session_factory, settings, DUE) == 1
    assert _targets(session, lead) == {"US-HSI": "on_duty_desk", "NL-NP": "next_desk"}
    [step] = _steps(session, lead, "to_next_desk")
    assert step.at == DUE
    # nobody else is on duty at 03:13 UTC: the next desk to come on duty has it
    assert step.detail.startswith("not acknowledged within 15 minutes: passed to NL-NP")
    assert "04:13 CET, Europe/Amsterdam at the desk" in step.detail
    assert "on duty from 2026-12-03 06:00 UTC" in step.detail
    passed = next(m for m in _mails(session, lead) if m.recipient == "desk@nl-np.example.com")
    assert passed.subject.startswith("URGENT lead passed to your desk")
    assert "Your deadline:   2026-12-03 03:28 UTC = 2026-12-03 04:28 CET" in passed.body
    assert lead.escalated_at is None
    assert lead.check_at == DUE + timedelta(minutes=15)

    later = DUE + timedelta(minutes=15)
    assert _escalate(session, session_factory, settings, later) == 1
    assert _targets(session, lead)["INT-WATCH"] == "escalation"
    assert lead.escalated_at == later
    [escalated] = _steps(session, lead, "escalated")
    assert escalated.detail == "not acknowledged within 15 minutes: escalated to INT-WATCH"
    assert _escalate(session, session_factory, settings, later + timedelta(minutes=15)) == 1
    [reminder] = _steps(session, lead, "reminder")
    assert reminder.detail == (
        "not acknowledged, 30 min after the deadline: reminded US-HSI, NL-NP, INT-WATCH"
    )
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == lead.id).order_by(AuditEntry.seq)
    ).all()
    assert actions == [
        "report.urgent_lead.create",
        "report.urgent_lead.pass_on",
        "report.urgent_lead.escalate",
        "report.urgent_lead.remind",
    ]


@pytest.mark.usefixtures("rota")
def test_a_covered_countrys_lead_goes_to_the_desk_on_duty_then_the_next_then_the_coordinator(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    lead = open_lead(session, settings, country="GB", now=RECEIVED)
    assert _targets(session, lead) == {"GB-CEOP": "reporter_country", "GB-NCA": "reporter_country"}
    assert _escalate(session, session_factory, settings, DUE) == 1
    assert _targets(session, lead)["US-HSI"] == "on_duty_desk"
    [on_duty] = _steps(session, lead, "to_duty_desk")
    assert "passed to US-HSI, on duty for the network (2026-12-02 22:13 EST" in on_duty.detail
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=15)) == 1
    assert _targets(session, lead)["NL-NP"] == "next_desk"
    assert lead.escalated_at is None
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=30)) == 1
    assert _targets(session, lead)["INT-WATCH"] == "escalation"
    assert lead.escalated_at == DUE + timedelta(minutes=30)


def test_the_rota_desk_that_acknowledges_stops_the_chain(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, rota: Watch
) -> None:
    lead = open_lead(session, settings, country="FR", now=RECEIVED)
    service.acknowledge(session, rota.us.caller, lead.id, note="call-back arranged")
    assert _escalate(session, session_factory, settings, DUE + timedelta(hours=1)) == 0
    assert _targets(session, lead) == {"US-HSI": "on_duty_desk"}


@pytest.mark.usefixtures("watch")
def test_a_gap_in_the_rota_sends_the_lead_to_the_coordinator_at_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    nl = duty_desk(session, "NL-NP")
    duty_rule(session, nl, "07:00", "19:00")  # nobody on duty at 02:58 UTC
    lead = open_lead(session, settings, country="FR", now=RECEIVED)
    assert _targets(session, lead) == {"INT-WATCH": "no_member_agency"}
    [step] = _steps(session, lead, "to_coordinator")
    assert "no desk is on duty for the network (a gap in the rota)" in step.detail
    # at the deadline the next desk to come on duty has it too, then the coordinator escalates
    assert _escalate(session, session_factory, settings, DUE) == 1
    assert _targets(session, lead) == {"INT-WATCH": "no_member_agency", "NL-NP": "next_desk"}
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=15)) == 1
    assert lead.escalated_at == DUE + timedelta(minutes=15)
    assert len(_steps(session, lead, "escalated")) == 1


@pytest.mark.usefixtures("watch")
def test_without_an_active_desk_the_watch_works_as_before(
    session: Session, settings: Settings
) -> None:
    duty_desk(session, "NL-NP", active=False)
    lead = open_lead(session, settings, country="FR", now=RECEIVED)
    assert _targets(session, lead) == {"INT-WATCH": "no_member_agency"}
    [step] = _steps(session, lead, "to_coordinator")
    assert (
        step.detail == "no member agency in FR: sent to the network coordinator INT-WATCH at once"
    )
    assert _steps(session, lead, "to_duty_desk") == []


@pytest.mark.usefixtures("watch")
def test_the_next_desk_is_one_awake_now_rather_than_one_still_asleep(session: Session) -> None:
    us = duty_desk(session, "US-HSI")
    nl = duty_desk(session, "NL-NP")
    ie = duty_desk(session, "IE-HL")
    duty_rule(session, us, "13:00", "01:00")  # 18:00-06:00 UTC
    duty_rule(session, ie, "02:30", "03:30", time_zone="UTC")  # came on duty before `since`
    duty_rule(session, nl, "07:00", "19:00")  # 06:00 UTC: comes later
    rota = rota_service.load(session)
    us_agency = service.on_duty_now(session, rota, RECEIVED)[0].agency
    since = RECEIVED
    now = DUE
    chosen = service.next_desk(session, rota, since=since, now=now, alerted={us_agency.id})
    assert chosen is not None
    assert chosen.agency.code == "IE-HL"  # on duty now and not alerted
    awake = {d.agency.code for d in service.on_duty_now(session, rota, now)}
    assert awake == {"US-HSI", "IE-HL"}
    ie_agency = next(
        d.agency for d in service.on_duty_now(session, rota, now) if d.agency.code == "IE-HL"
    )
    later = service.next_desk(
        session, rota, since=since, now=now, alerted={us_agency.id, ie_agency.id}
    )
    assert later is not None
    assert later.agency.code == "NL-NP"  # nobody else awake: the one coming next
    assert later.starts_at == datetime.fromisoformat("2026-12-03T06:00:00+00:00")
