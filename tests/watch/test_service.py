"""Urgent leads: who is alerted, what they are told (and not told), acknowledgement,
escalation to the coordinator and reminders — with an injected clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from watch_builders import (
    DETAILS,
    NL_HOOK,
    RECEIVED,
    WATCH_HOOK,
    Watch,
    make_coordinator,
    make_watch,
    open_lead,
)

from taskforce.core.audit import verify as audit
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.watch import escalation, messages, reading, service
from taskforce.watch.models import UrgentLead, UrgentLeadStep, UrgentLeadTarget

DUE = RECEIVED + timedelta(minutes=15)


def _targets(session: Session, lead: UrgentLead) -> dict[str, str]:
    return {a.code: t.reason for t, a in messages.lead_targets(session, lead.id)}


def _steps(session: Session, lead: UrgentLead) -> list[str]:
    rows = session.scalars(select(UrgentLeadStep).where(UrgentLeadStep.lead_id == lead.id))
    return sorted(s.step for s in rows)


def _messages(session: Session, lead: UrgentLead) -> list[OutboxMessage]:
    return outbox.messages_for(session, [f"urgent_lead:{lead.id}"])


def _actions(session: Session, lead: UrgentLead) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_id == lead.id)
            .order_by(AuditEntry.seq)
        )
    )


def _escalate(
    session: Session, factory: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    session.commit()  # the worker works in its own transactions
    handled = jobs.run(factory, escalation.escalation_job(settings), limit=50, now=now).done
    session.expire_all()
    return handled


# --- who is alerted ---------------------------------------------------------------------------


@pytest.mark.usefixtures("watch")
def test_every_police_agency_of_the_reporters_country_is_alerted_not_its_hotline(
    session: Session, settings: Settings
) -> None:
    lead = open_lead(session, settings, country="GB")
    assert _targets(session, lead) == {"GB-CEOP": "reporter_country", "GB-NCA": "reporter_country"}
    assert lead.ack_due_at == DUE
    assert lead.check_at == DUE
    assert lead.acknowledged_at is None
    assert lead.escalated_at is None
    mails = [m for m in _messages(session, lead) if m.channel == "email"]
    assert sorted(m.recipient for m in mails) == [
        "desk@gb-ceop.example.com",
        "desk@gb-nca.example.com",
    ]
    assert _steps(session, lead) == ["created", "notified", "notified"]
    assert _actions(session, lead) == ["report.urgent_lead.create"]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.subject_id == lead.id)).one()
    assert entry.operation == "disclosure"
    assert entry.recipients == ["GB-CEOP", "GB-NCA"]


@pytest.mark.usefixtures("watch")
def test_a_country_with_only_a_hotline_alerts_the_hotline(
    session: Session, settings: Settings
) -> None:
    lead = open_lead(session, settings, country="IE")
    assert _targets(session, lead) == {"IE-HL": "reporter_country"}


def test_a_country_without_member_goes_to_the_coordinator_at_once(
    session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country="FR")
    assert _targets(session, lead) == {"INT-WATCH": "no_member_agency"}
    view = reading.get_lead(session, watch.coord.caller, lead.id)
    [step] = [s for s in view.steps if s.step == "to_coordinator"]
    assert "no member agency in FR" in step.detail
    assert step.agency == "INT-WATCH"
    assert view.targets[0].why == "network coordinator: no member agency in FR"
    hook = next(m for m in _messages(session, lead) if m.channel == "webhook")
    assert hook.recipient == WATCH_HOOK


def test_no_country_goes_to_the_coordinator(
    session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country=None)
    assert _targets(session, lead) == {"INT-WATCH": "no_member_agency"}
    view = reading.get_lead(session, watch.coord.caller, lead.id)
    assert "no country given" in next(s.detail for s in view.steps if s.step == "to_coordinator")


@pytest.mark.usefixtures("watch")
def test_the_suspects_country_is_alerted_too(session: Session, settings: Settings) -> None:
    lead = open_lead(session, settings, country="GB", suspect="nl")
    assert lead.suspect_country == "NL"
    assert _targets(session, lead) == {
        "GB-CEOP": "reporter_country",
        "GB-NCA": "reporter_country",
        "NL-NP": "suspect_country",
    }
    hook = next(m for m in _messages(session, lead) if m.channel == "webhook")
    assert hook.recipient == NL_HOOK
    assert hook.subject == "urgent_lead.created"
    assert json.loads(hook.body) == {
        "event": "urgent_lead.created",
        "lead": str(lead.id),
        "kind": "danger",
        "ack_due_at": "2026-12-03T03:13:00+00:00",
        "url": f"http://hub.example.org/ui/leads/{lead.id}",
    }
    same = open_lead(session, settings, country="GB", suspect="GB")
    assert set(_targets(session, same)) == {"GB-CEOP", "GB-NCA"}


@pytest.mark.usefixtures("watch")
def test_a_suspect_country_without_member_still_brings_in_the_coordinator(
    session: Session, settings: Settings
) -> None:
    lead = open_lead(session, settings, country="GB", suspect="FR")
    assert _targets(session, lead) == {
        "GB-CEOP": "reporter_country",
        "GB-NCA": "reporter_country",
        "INT-WATCH": "no_member_agency",
    }


def test_nobody_to_tell_keeps_the_lead_due_until_a_coordinator_exists(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    make_watch(session, coordinator=False)
    lead = open_lead(session, settings, country="FR")
    assert _targets(session, lead) == {}
    assert _messages(session, lead) == []
    assert lead.check_at is not None
    assert lead.check_at <= RECEIVED
    view_steps = _steps(session, lead)
    assert view_steps == ["created", "unreachable"]
    # the worker finds nobody yet: no new step, tried again a minute later
    now = RECEIVED + timedelta(minutes=1)
    assert _escalate(session, session_factory, settings, now) == 1
    assert _steps(session, lead) == ["created", "unreachable"]
    lead = session.get(UrgentLead, lead.id)  # type: ignore[assignment]
    assert lead.check_at == now + timedelta(minutes=1)
    make_coordinator(session)
    later = now + timedelta(minutes=1)
    assert _escalate(session, session_factory, settings, later) == 1
    assert _targets(session, lead) == {"INT-WATCH": "escalation"}
    assert _steps(session, lead) == ["created", "escalated", "notified", "unreachable"]
    lead = session.get(UrgentLead, lead.id)  # type: ignore[assignment]
    assert lead.escalated_at == later


@pytest.mark.usefixtures("watch")
def test_opening_a_lead_twice_keeps_the_first(session: Session, settings: Settings) -> None:
    lead = open_lead(session, settings)
    again = service.open_lead(
        session,
        settings,
        report_id=lead.report_id,
        kind="danger",
        reason="again",
        reporter_country="NL",
        suspect_country=None,
        received_at=RECEIVED,
    )
    assert again.id == lead.id
    assert len(session.scalars(select(UrgentLeadTarget)).all()) == 2


# --- what they are told -----------------------------------------------------------------------


@pytest.mark.usefixtures("watch")
def test_messages_carry_times_and_link_but_no_report_content(
    session: Session, settings: Settings
) -> None:
    lead = open_lead(session, settings, country="GB", suspect="NL")
    messages = _messages(session, lead)
    assert len(messages) == 4  # three e-mails, NL's webhook
    for m in messages:
        text = m.subject + m.body
        for value in DETAILS.values():
            assert value not in text
        assert "Secret" not in text
    nl = next(m for m in messages if m.recipient == "desk@nl-np.example.com")
    assert nl.subject.startswith("URGENT lead: Child in immediate danger, reported from GB")
    assert "acknowledge by 03:13" in nl.subject
    assert "2026-12-03 02:58 UTC = 2026-12-03 03:58 CET, Europe/Amsterdam" in nl.body
    assert "2026-12-03 03:13 UTC = 2026-12-03 04:13 CET, Europe/Amsterdam" in nl.body
    assert "suspect's country (NL)" in nl.body
    assert f"http://hub.example.org/ui/leads/{lead.id}" in nl.body
    assert "escalates to the network coordinator (INT-WATCH)" in nl.body
    assert "no report content" in nl.body
    gb = next(m for m in messages if m.recipient == "desk@gb-nca.example.com")
    assert "02:58 GMT, Europe/London" in gb.body
    assert "Also alerted: GB-CEOP, NL-NP" in gb.body


def test_local_time_names_zone_and_abbreviation() -> None:
    assert messages.local_time(RECEIVED, "America/New_York") == "2026-12-02 21:58 EST"
    assert (
        messages.local_time(RECEIVED, "Asia/Kolkata", "%H:%M", zone_name=True)
        == "08:28 IST, Asia/Kolkata"
    )
    assert messages.local_time(RECEIVED, "Not/AZone", "%H:%M") == "02:58 UTC"
    assert messages.utc_time(RECEIVED) == "2026-12-03 02:58 UTC"


# --- reading ----------------------------------------------------------------------------------


def test_only_targeted_desks_see_a_lead(session: Session, settings: Settings, watch: Watch) -> None:
    lead = open_lead(session, settings)
    assert reading.is_target(session, watch.gb.caller, lead.report_id)
    assert not reading.is_target(session, watch.us.caller, lead.report_id)
    assert not reading.is_target(session, watch.coord.caller, lead.report_id)
    with pytest.raises(NotFound):
        reading.get_lead(session, watch.us.caller, lead.id)
    with pytest.raises(NotFound):
        service.acknowledge(session, watch.us.caller, lead.id)
    assert reading.list_leads(session, watch.us.caller) == []
    assert reading.unacknowledged_count(session, watch.us.caller) == 0
    with pytest.raises(Forbidden):
        reading.list_leads(session, watch.gb_reader.caller)
    assert reading.unacknowledged_count(session, watch.gb_reader.caller) == 0


def test_list_puts_unacknowledged_first_then_newest_and_is_audited(
    session: Session, settings: Settings, watch: Watch
) -> None:
    first = open_lead(session, settings, received_at=RECEIVED)
    second = open_lead(session, settings, kind="grooming", received_at=RECEIVED)
    third = open_lead(session, settings, received_at=RECEIVED)
    service.acknowledge(session, watch.gb.caller, third.id)
    assert reading.unacknowledged_count(session, watch.gb.caller) == 2
    open_ids = [s.id for s in reading.list_leads(session, watch.gb.caller)]
    assert open_ids == [second.id, first.id]
    all_ids = [s.id for s in reading.list_leads(session, watch.ceop.caller, state="all")]
    assert all_ids == [second.id, first.id, third.id]
    summary = reading.list_leads(session, watch.gb.caller)[0]
    assert summary.kind == "grooming"
    assert summary.kind_label == "Grooming, meeting planned"
    assert summary.targets == ["GB-CEOP", "GB-NCA"]
    assert summary.received_at == RECEIVED
    listed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "report.urgent_lead.list")
    ).all()
    assert [e.detail for e in listed] == [
        {"state": "open", "shown": 2},
        {"state": "all", "shown": 3},
        {"state": "open", "shown": 2},
    ]


def test_a_lead_shows_desks_steps_and_deliveries(
    session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country="GB", suspect="NL")
    hook = next(m for m in _messages(session, lead) if m.channel == "webhook")
    hook.attempts, hook.last_error = 2, f"HTTPStatusError: 502 for url '{NL_HOOK}'"
    mail = next(m for m in _messages(session, lead) if m.recipient == "desk@gb-nca.example.com")
    mail.attempts, mail.sent_at = 1, RECEIVED + timedelta(seconds=5)
    session.flush()
    view = reading.get_lead(session, watch.gb.caller, lead.id)
    assert [t.agency for t in view.targets] == ["GB-CEOP", "GB-NCA", "NL-NP"]
    nl = view.targets[2]
    assert nl.contact_phone == "+31201234567"
    assert nl.why == "suspect's country (NL)"
    assert nl.contact_desk == "NL-NP 24/7 desk"
    assert nl.timezone == "Europe/Amsterdam"
    assert [s.step for s in view.steps] == ["created", "notified", "notified", "notified"]
    by = {(m.channel, m.agency): m for m in view.messages}
    assert {m.purpose for m in view.messages} == {"alert"}
    assert by[("email", "GB-NCA")].status == "sent"
    assert by[("email", "GB-CEOP")].status == "queued"
    other_hook = by[("webhook", "NL-NP")]
    assert other_hook.status == "retrying"
    assert other_hook.recipient == "webhook of NL-NP"
    assert NL_HOOK not in (other_hook.last_error or "")
    assert "502" in (other_hook.last_error or "")
    own = reading.get_lead(session, watch.nl.caller, lead.id)
    own_hook = next(m for m in own.messages if m.channel == "webhook")
    assert own_hook.recipient == NL_HOOK
    assert _actions(session, lead).count("report.urgent_lead.read") == 2


# --- acknowledging ----------------------------------------------------------------------------


def test_a_targeted_desk_acknowledges_and_the_others_are_told(
    session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country="GB", suspect="NL")
    before = len(_messages(session, lead))
    acked = service.acknowledge(session, watch.ceop.caller, lead.id, note="  patrol sent  ")
    assert acked.acknowledged_at is not None
    assert acked.check_at is None
    assert acked.acknowledged_by == "analyst.gb-ceop@example.com (GB-CEOP)"
    assert acked.acknowledged_by_user_id == watch.ceop.user.id
    assert acked.acknowledged_by_agency_id == watch.ceop.caller.agency_id
    new = _messages(session, lead)[before:]
    mails = {m.recipient: m for m in new if m.channel == "email"}
    assert set(mails) == {"desk@gb-nca.example.com", "desk@nl-np.example.com"}
    assert mails["desk@nl-np.example.com"].subject.startswith("Urgent lead acknowledged by GB-CEOP")
    assert "analyst.gb-ceop@example.com (GB-CEOP)" in mails["desk@nl-np.example.com"].body
    assert "CET, Europe/Amsterdam" in mails["desk@nl-np.example.com"].body
    [hook] = [m for m in new if m.channel == "webhook"]
    assert json.loads(hook.body)["event"] == "urgent_lead.acknowledged"
    assert json.loads(hook.body)["acknowledged_by_agency"] == "GB-CEOP"
    view = reading.get_lead(session, watch.nl.caller, lead.id)
    assert view.note == "patrol sent"
    assert view.lead.acknowledged_by_agency == "GB-CEOP"
    assert [s.step for s in view.steps][-2:] == ["acknowledged", "ack_notified"]
    assert "told GB-NCA, NL-NP that GB-CEOP took it" in view.steps[-1].detail
    with pytest.raises(Conflict) as second:
        service.acknowledge(session, watch.gb.caller, lead.id)
    assert "already acknowledged by analyst.gb-ceop@example.com (GB-CEOP) at 2026-" in str(
        second.value
    )
    assert reading.unacknowledged_count(session, watch.gb.caller) == 0
    assert "report.urgent_lead.acknowledge" in _actions(session, lead)
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "report.urgent_lead.acknowledge")
    ).one()
    assert entry.actor_user_id == watch.ceop.user.id
    assert entry.operation == "alteration"


def test_a_note_is_at_most_1000_characters(
    session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings)
    with pytest.raises(Invalid) as too_long:
        service.acknowledge(session, watch.gb.caller, lead.id, note="x" * 1001)
    assert too_long.value.field == "note"
    service.acknowledge(session, watch.gb.caller, lead.id, note="x" * 1000)


def test_a_read_only_user_of_a_targeted_agency_may_not_acknowledge(
    session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings)
    with pytest.raises(Forbidden):
        service.acknowledge(session, watch.gb_reader.caller, lead.id)


# --- escalation and reminders -----------------------------------------------------------------


def test_escalates_to_the_coordinator_after_the_deadline_then_reminds_everyone(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    watch: Watch,
) -> None:
    lead = open_lead(session, settings, country="GB")
    assert _escalate(session, session_factory, settings, DUE - timedelta(seconds=1)) == 0
    assert _escalate(session, session_factory, settings, DUE + timedelta(seconds=30)) == 1
    lead = session.get(UrgentLead, lead.id)  # type: ignore[assignment]
    assert lead.escalated_at == DUE + timedelta(seconds=30)
    assert lead.check_at == DUE + timedelta(minutes=15, seconds=30)
    assert _targets(session, lead)["INT-WATCH"] == "escalation"
    view = reading.get_lead(session, watch.coord.caller, lead.id)
    escalated = next(s for s in view.steps if s.step == "escalated")
    assert escalated.detail == "not acknowledged within 15 minutes: escalated to INT-WATCH"
    assert [s.step for s in view.steps][-2:] == ["escalated", "notified"]
    assert view.targets[-1].why == "escalation: not acknowledged in time"
    to_watch = [m for m in _messages(session, lead) if "int-watch" in m.recipient]
    assert {m.channel for m in to_watch} == {"email", "webhook"}
    mail = next(m for m in to_watch if m.channel == "email")
    assert mail.subject.startswith("ESCALATED urgent lead: Child in immediate danger")
    assert "GB-CEOP (GB-CEOP 24/7 desk, +442079460002)" in mail.body
    assert "CET, Europe/Paris" in mail.body
    assert "Secret" not in mail.body
    assert json.loads(next(m for m in to_watch if m.channel == "webhook").body)["event"] == (
        "urgent_lead.escalated"
    )
    # nothing more until the next interval; then every desk, the coordinator too, is reminded
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=15)) == 0
    count = len(_messages(session, lead))
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=16)) == 1
    reminders = _messages(session, lead)[count:]
    assert sorted(m.recipient for m in reminders if m.channel == "email") == [
        "desk@gb-ceop.example.com",
        "desk@gb-nca.example.com",
        "desk@int-watch.example.com",
    ]
    assert all("overdue by 16 min" in m.subject for m in reminders if m.channel == "email")
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=31)) == 1
    assert _steps(session, lead).count("reminder") == 2
    purposes = [m.purpose for m in reading.get_lead(session, watch.gb.caller, lead.id).messages]
    assert purposes == ["alert"] * 2 + ["escalation"] * 2 + ["reminder"] * 8
    assert _steps(session, lead).count("escalated") == 1
    assert _actions(session, lead) == [
        "report.urgent_lead.create",
        "report.urgent_lead.escalate",
        "report.urgent_lead.read",
        "report.urgent_lead.remind",
        "report.urgent_lead.remind",
        "report.urgent_lead.read",
    ]
    # acknowledged: no reminder any more
    service.acknowledge(session, watch.coord.caller, lead.id)
    assert _escalate(session, session_factory, settings, DUE + timedelta(hours=5)) == 0
    assert _steps(session, lead).count("reminder") == 2
    assert audit.verify(session).ok


def test_no_escalation_once_acknowledged(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    watch: Watch,
) -> None:
    lead = open_lead(session, settings, country="GB")
    service.acknowledge(session, watch.gb.caller, lead.id)
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=1)) == 0
    assert "INT-WATCH" not in _targets(session, lead)
    assert "escalated" not in _steps(session, lead)


@pytest.mark.usefixtures("watch")
def test_a_lead_already_with_the_coordinator_escalates_without_a_second_target(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    lead = open_lead(session, settings, country="FR")
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=1)) == 1
    assert _targets(session, lead) == {"INT-WATCH": "no_member_agency"}
    assert _steps(session, lead).count("escalated") == 1


def test_without_coordinator_the_desks_are_reminded_until_one_is_registered(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    make_watch(session, coordinator=False)
    lead = open_lead(session, settings, country="GB")
    [alert, _] = _messages(session, lead)
    assert "reminders follow every 15 minutes" in alert.body
    assert "escalates" not in alert.body
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=1)) == 1
    assert _steps(session, lead) == [
        "created",
        "no_coordinator",
        "notified",
        "notified",
        "reminder",
    ]
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=16)) == 1
    assert _steps(session, lead).count("no_coordinator") == 1
    assert _steps(session, lead).count("reminder") == 2
    make_coordinator(session)
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=31)) == 1
    assert _targets(session, lead)["INT-WATCH"] == "escalation"
