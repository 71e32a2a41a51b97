"""Handovers between 24/7 desks: the shift and the incoming desk come from the rota, the
content from the records; only the incoming desk acknowledges; the chain shows any later
edit; an unacknowledged handover escalates to the coordinator once. Fixed clock throughout."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from builders import csrf_field, make_person, token_for, web_login
from conftest import migrated_engine
from fastapi.testclient import TestClient
from handover_builders import GB_ENDS, US_ENDS, Network, make_network
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner
from watch_builders import RECEIVED, open_lead

from taskforce.agencies import service as agency_service
from taskforce.cli import app
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.inbox import service as inbox
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.settings import Settings
from taskforce.watch import handovers, hashing, reminders
from taskforce.watch import web as watch_web
from taskforce.watch.models import Handover
from taskforce.watch.schemas import HandoverState, HandoverWrite

BEFORE_END = GB_ENDS - timedelta(minutes=20)  # 21:40 UTC: GB-NCA writes its handover
DUE = GB_ENDS + timedelta(minutes=30)


@pytest.fixture
def net(session: Session) -> Network:
    return make_network(session)


def _write(session: Session, settings: Settings, net: Network, **fields: object) -> Handover:
    data = HandoverWrite.model_validate(
        {"notes": "Lantern: the provider calls back at 23:00"} | fields
    )
    return handovers.write(session, settings, net.watch.gb.caller, data, now=BEFORE_END)


def _actions(session: Session, subject: object) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.subject_id == subject)
            .order_by(AuditEntry.seq)
        )
    )


# --- the draft: whose shift, who takes over, what is open -------------------------------------


def test_the_draft_names_the_shift_the_incoming_desk_and_what_is_open(
    session: Session, settings: Settings, net: Network
) -> None:
    lead = open_lead(session, settings, country="GB")  # GB-NCA and GB-CEOP alerted at 02:58
    other = open_lead(session, settings, country="NL")  # not GB's
    turn = handovers.draft(session, net.watch.gb.caller, now=BEFORE_END)
    assert turn.desk == "GB-NCA"
    assert (turn.shift_starts_at, turn.shift_ends_at) == (GB_ENDS - timedelta(hours=8), GB_ENDS)
    assert turn.incoming == ["US-HSI"]
    assert [entry["lead"] for entry in turn.leads] == [str(lead.id)]
    [entry] = turn.leads
    assert entry["kind"] == "danger"
    assert entry["reporter_country"] == "GB"
    assert entry["received_at"] == RECEIVED.isoformat(timespec="seconds")
    assert entry["acknowledged_at"] is None
    assert "Secret" not in str(turn)  # never the report's content
    assert str(other.id) not in str(turn)
    assert [(p["reference"], p["status"]) for p in turn.preservations] == [
        ("PR-GB-2026-0007", "sent")
    ]
    assert turn.written == []


def test_a_handover_can_be_written_shortly_after_the_shift_but_not_by_a_desk_off_duty(
    session: Session, net: Network
) -> None:
    late = handovers.draft(session, net.watch.gb.caller, now=GB_ENDS + timedelta(minutes=90))
    assert late.shift_ends_at == GB_ENDS
    with pytest.raises(Invalid) as off:
        handovers.draft(session, net.watch.gb.caller, now=GB_ENDS + timedelta(hours=3))
    assert off.value.field == "desk"
    with pytest.raises(Invalid) as gap:  # US-HSI hands over to NL-NP; NL-NP's last has no one
        handovers.draft(session, net.watch.nl.caller, now=US_ENDS + timedelta(hours=7))
    assert gap.value.field == "to_desk"
    assert handovers.draft(session, net.watch.us.caller, now=US_ENDS).incoming == ["NL-NP"]


# --- writing ----------------------------------------------------------------------------------


def test_writing_stores_the_chosen_records_alerts_the_incoming_desk_and_is_audited(
    session: Session, settings: Settings, net: Network
) -> None:
    lead = open_lead(session, settings, country="GB")
    handover = _write(session, settings, net)
    us = net.desks["US-HSI"]
    assert handover.to_desk_id == us.id
    assert handover.from_desk_id == net.desks["GB-NCA"].id
    assert handover.shift_ends_at == GB_ENDS
    assert handover.written_at == BEFORE_END
    assert handover.written_by == "investigator.gb-nca@example.com (GB-NCA)"
    assert [e["lead"] for e in handover.open_leads] == [str(lead.id)]
    assert [p["reference"] for p in handover.pending_preservations] == ["PR-GB-2026-0007"]
    assert handover.ack_due_at == DUE
    assert handover.check_at == DUE
    assert handover.previous_digest == ""
    assert handover.digest == hashing.digest_of("", hashing.content(handover))

    [mail] = outbox.messages_for(session, [f"watch_handover:{handover.id}"])
    assert mail.recipient == "desk@us-hsi.example.com"
    assert "Handover from GB-NCA" in mail.subject
    assert f"/ui/watch/handovers/{handover.id}" in mail.body
    assert "17:30 EST" in mail.body  # the incoming desk's own clock
    assert "provider calls back" not in mail.body  # notes are read behind login
    [notice] = inbox.notices(session, net.watch.us.caller.agency_id)  # type: ignore[arg-type]
    assert notice.kind == "watch.handover"
    assert notice.link == f"/ui/watch/handovers/{handover.id}"
    assert _actions(session, handover.id) == ["watch.handover.write"]


def test_the_writer_chooses_among_its_own_records_and_refusals_save_nothing(
    session: Session, settings: Settings, net: Network
) -> None:
    lead = open_lead(session, settings, country="GB")
    foreign = open_lead(session, settings, country="NL")
    refusals: list[tuple[dict[str, object], str]] = [
        ({"notes": "x" * (handovers.NOTES_MAX + 1)}, "notes"),
        ({"to_desk": "NL-NP"}, "to_desk"),
        ({"leads": [str(foreign.id)]}, "leads"),
        ({"preservations": ["PR-NL-2026-0001"]}, "preservations"),
    ]
    for fields, field in refusals:
        with pytest.raises(Invalid) as refused:
            _write(session, settings, net, **fields)
        assert refused.value.field == field
    assert session.scalars(select(Handover)).all() == []
    with pytest.raises(Forbidden):
        handovers.write(
            session, settings, net.watch.gb_reader.caller, HandoverWrite(), now=BEFORE_END
        )
    ceop = agency_service.get_by_code(session, "GB-CEOP")
    no_desk = make_person(session, ceop)  # keeps watch, but GB-CEOP has no desk on the rota
    with pytest.raises(NotFound):
        handovers.draft(session, no_desk.caller, now=BEFORE_END)

    handover = _write(session, settings, net, leads=[str(lead.id)], preservations=[])
    assert handover.pending_preservations == []
    assert len(handover.open_leads) == 1
    with pytest.raises(Conflict, match="already handed the shift"):
        _write(session, settings, net)


def test_leads_acknowledged_by_the_desk_during_its_shift_are_handed_over_too(
    session: Session, settings: Settings, net: Network
) -> None:
    early = open_lead(session, settings, country="GB")
    early.acknowledged_at = RECEIVED + timedelta(minutes=5)  # before the shift began
    early.acknowledged_by_agency_id = net.watch.gb.caller.agency_id
    during = open_lead(session, settings, country="GB")
    during.acknowledged_at = GB_ENDS - timedelta(hours=2)
    during.acknowledged_by_agency_id = net.watch.gb.caller.agency_id
    session.flush()
    [entry] = handovers.draft(session, net.watch.gb.caller, now=BEFORE_END).leads
    assert entry["lead"] == str(during.id)
    assert entry["acknowledged_by"] == "GB-NCA"


# --- reading and acknowledging ----------------------------------------------------------------


def test_only_the_incoming_desk_acknowledges_and_only_the_two_desks_and_coordinator_read(
    session: Session, settings: Settings, net: Network
) -> None:
    handover = _write(session, settings, net)
    later = GB_ENDS + timedelta(minutes=10)
    for person in (net.watch.gb, net.watch.us, net.admin):
        assert handovers.get(session, person.caller, handover.id, now=later).to_desk == "US-HSI"
    with pytest.raises(NotFound):
        handovers.get(session, net.watch.nl.caller, handover.id)
    assert handovers.list_handovers(session, net.watch.nl.caller) == []
    assert len(handovers.list_handovers(session, net.admin.caller)) == 1
    for person in (net.watch.gb, net.watch.nl, net.admin):
        with pytest.raises(NotFound):
            handovers.acknowledge(session, person.caller, handover.id, now=later)

    taken = handovers.acknowledge(session, net.watch.us.caller, handover.id, now=later)
    assert taken.acknowledged_at == later
    assert taken.acknowledged_by == "investigator.us-hsi@example.com (US-HSI)"
    assert taken.check_at is None
    assert handovers.get(session, net.watch.gb.caller, handover.id, now=later).state == (
        HandoverState.ACKNOWLEDGED
    )
    with pytest.raises(Conflict, match="already acknowledged"):
        handovers.acknowledge(session, net.watch.us.caller, handover.id, now=later)
    assert _actions(session, handover.id) == [
        "watch.handover.write",
        "watch.handover.read",
        "watch.handover.read",
        "watch.handover.read",
        "watch.handover.acknowledge",
        "watch.handover.read",
    ]
    [listed] = handovers.list_handovers(session, net.watch.us.caller, now=later)
    assert listed.state == HandoverState.ACKNOWLEDGED


# --- the chain --------------------------------------------------------------------------------


def _three(session: Session, settings: Settings, net: Network) -> list[Handover]:
    """GB-NCA to US-HSI, US-HSI to NL-NP the next morning, then NL-NP's handover of its 3
    December shift to GB-NCA, written last though its shift was the first: the chain is the
    order of writing."""
    first = _write(session, settings, net)
    second = handovers.write(
        session,
        settings,
        net.watch.us.caller,
        HandoverWrite(notes="quiet night"),
        now=US_ENDS - timedelta(minutes=5),
    )
    third = handovers.write(
        session,
        settings,
        net.watch.nl.caller,
        HandoverWrite(notes="all calm"),
        now=GB_ENDS - timedelta(hours=8, minutes=10),
    )
    assert third.to_desk_id == net.desks["GB-NCA"].id
    return [first, second, third]


def test_the_chain_links_every_handover_and_verifies(
    session: Session, settings: Settings, net: Network
) -> None:
    first, second, third = _three(session, settings, net)
    assert (second.previous_digest, third.previous_digest) == (first.digest, second.digest)
    result = hashing.verify(session)
    assert result.ok
    assert (result.checked, result.total) == (3, 3)


def test_a_changed_handover_is_named_by_verify(
    session: Session, settings: Settings, net: Network
) -> None:
    _first, second, _third = _three(session, settings, net)
    session.execute(update(Handover).where(Handover.id == second.id).values(notes="nothing open"))
    session.expire_all()
    result = hashing.verify(session)
    assert result.broken is not None
    assert result.broken == second.id
    assert "content does not match" in result.problem
    assert result.checked == 1


def test_a_handover_rewritten_whole_or_removed_is_named(
    session: Session, settings: Settings, net: Network
) -> None:
    """The audit log recorded each digest when it was written: a handover removed from the end
    of the chain, or rewritten with a digest to match, is still found."""
    first, second, third = _three(session, settings, net)
    session.execute(delete(Handover).where(Handover.id == third.id))
    session.expire_all()
    last = hashing.verify(session)
    assert last.broken == third.id
    assert "the audit log saw it written, but it is gone" in last.problem

    forged = dict(hashing.content(first), notes="nothing open")
    session.execute(
        update(Handover)
        .where(Handover.id == first.id)
        .values(notes="nothing open", digest=hashing.digest_of("", forged))
    )
    session.expire_all()
    rewritten = hashing.verify(session)
    assert rewritten.broken == first.id
    assert "not the one the audit log recorded" in rewritten.problem

    session.execute(delete(Handover).where(Handover.id == first.id))
    session.expire_all()
    gone = hashing.verify(session)
    assert gone.broken == second.id
    assert "names no handover" in gone.problem


# --- escalation -------------------------------------------------------------------------------


def _escalate(
    session: Session, factory: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    session.commit()
    done = jobs.run(factory, handovers.escalation_job(settings), limit=50, now=now).done
    session.expire_all()
    return done


def test_an_unacknowledged_handover_escalates_to_the_coordinator_once(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, net: Network
) -> None:
    handover = _write(session, settings, net)
    hub = net.admin.caller.agency_id
    assert hub is not None
    assert _escalate(session, session_factory, settings, DUE - timedelta(minutes=1)) == 0
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=2)) == 1
    session.refresh(handover)
    assert handover.escalated_at == DUE + timedelta(minutes=2)
    assert handover.check_at is None
    assert handover.acknowledged_at is None
    [notice] = inbox.notices(session, hub)
    assert notice.kind == "watch.handover_overdue"
    assert "GB-NCA → US-HSI" in notice.title
    assert "2 min overdue" in notice.title
    mails = outbox.messages_for(session, [f"watch_handover:{handover.id}"])
    assert sorted(m.recipient for m in mails) == [
        "desk@int-watch.example.com",
        "desk@us-hsi.example.com",
    ]
    assert "watch.handover.escalate" in _actions(session, handover.id)
    assert _escalate(session, session_factory, settings, DUE + timedelta(hours=3)) == 0
    # the incoming desk may still take it, late: the coordinator and the outgoing desk are told
    handovers.acknowledge(session, net.watch.us.caller, handover.id, now=DUE + timedelta(hours=3))
    gb = net.watch.gb.caller.agency_id
    assert gb is not None
    for agency_id in (hub, gb):
        assert inbox.notices(session, agency_id)[0].title == "Handover GB-NCA → US-HSI acknowledged"


def test_an_acknowledged_handover_never_escalates(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, net: Network
) -> None:
    handover = _write(session, settings, net)
    handovers.acknowledge(session, net.watch.us.caller, handover.id, now=GB_ENDS)
    assert _escalate(session, session_factory, settings, DUE + timedelta(minutes=5)) == 0
    hub = net.admin.caller.agency_id
    assert hub is not None
    assert inbox.notices(session, hub) == []  # never escalated: the coordinator hears nothing
    gb = net.watch.gb.caller.agency_id
    assert gb is not None
    [told] = inbox.notices(session, gb)
    assert told.kind == "watch.handover_acknowledged"
    assert told.body == "By investigator.us-hsi@example.com (US-HSI) at 2026-12-03 22:00 UTC."


# --- the API ----------------------------------------------------------------------------------


def test_the_api_writes_lists_reads_and_acknowledges(
    client: TestClient,
    session: Session,
    settings: Settings,
    net: Network,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [BEFORE_END]
    monkeypatch.setattr(handovers, "utcnow", lambda: clock[0])
    open_lead(session, settings, country="GB")
    gb = token_for(session, settings, net.watch.gb)
    us = token_for(session, settings, net.watch.us)
    nl = token_for(session, settings, net.watch.nl)

    draft = client.get("/api/v1/watch/handovers/draft", headers=gb)
    assert draft.status_code == 200, draft.text
    assert draft.json()["incoming"] == ["US-HSI"]
    bad = client.post("/api/v1/watch/handovers", headers=gb, json={"to_desk": "NL-NP"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "to_desk"
    extra = client.post("/api/v1/watch/handovers", headers=gb, json={"content": "x"})
    assert extra.status_code == 422
    written = client.post("/api/v1/watch/handovers", headers=gb, json={"notes": "call IE"})
    assert written.status_code == 201, written.text
    body = written.json()
    assert (body["from_desk"], body["to_desk"], body["state"]) == ("GB-NCA", "US-HSI", "waiting")
    assert len(body["open_leads"]) == 1
    hid = body["id"]

    assert client.get(f"/api/v1/watch/handovers/{hid}", headers=nl).status_code == 404
    assert client.get("/api/v1/watch/handovers", headers=nl).json() == []
    assert (
        client.post(f"/api/v1/watch/handovers/{hid}/acknowledge", headers=gb, json={}).status_code
        == 404
    )
    clock[0] = DUE + timedelta(minutes=1)
    assert client.get(f"/api/v1/watch/handovers/{hid}", headers=us).json()["state"] == "overdue"
    taken = client.post(f"/api/v1/watch/handovers/{hid}/acknowledge", headers=us, json={})
    assert taken.status_code == 200
    assert taken.json()["state"] == "acknowledged"
    again = client.post(f"/api/v1/watch/handovers/{hid}/acknowledge", headers=us, json={})
    assert again.status_code == 409
    [listed] = client.get("/api/v1/watch/handovers", headers=gb).json()
    assert listed["id"] == hid


# --- the command line -------------------------------------------------------------------------


def test_the_command_line_writes_lists_acknowledges_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    monkeypatch.setattr(handovers, "utcnow", lambda: BEFORE_END)
    run = CliRunner()
    assert run.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(Settings())
    with unit_of_work(make_sessionmaker(engine)) as session:
        make_network(session)

    refused = run.invoke(app, ["watch", "handover", "write", "--agency", "GB-NCA", "--to", "FR"])
    assert refused.exit_code == 2
    assert "to_desk: FR does not take over from GB-NCA" in refused.output
    assert "Traceback" not in refused.output
    wrote = run.invoke(
        app, ["watch", "handover", "write", "--agency", "gb-nca", "--notes", "call IE at 23:00"]
    )
    assert wrote.exit_code == 0, wrote.output
    assert "GB-NCA → US-HSI, shift ends 2026-12-03 22:00 UTC" in wrote.output
    assert "1 pending preservation(s)" in wrote.output
    handover_id = wrote.output.split()[1].rstrip(":")

    listed = run.invoke(app, ["watch", "handover", "list", "--agency", "US-HSI", "--open"])
    assert listed.exit_code == 0, listed.output
    assert handover_id in listed.output
    assert "waiting, due 2026-12-03 22:30 UTC" in listed.output
    assert (
        run.invoke(app, ["watch", "handover", "ack", handover_id, "--agency", "NL-NP"]).exit_code
        == 1
    )
    acked = run.invoke(app, ["watch", "handover", "ack", handover_id, "--agency", "US-HSI"])
    assert acked.exit_code == 0, acked.output
    assert "acknowledged at 2026-12-03 21:40 UTC" in acked.output
    assert "no handovers" in run.invoke(app, ["watch", "handover", "list", "--open"]).output

    verified = run.invoke(app, ["watch", "handover", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "1 handover(s) verified" in verified.output
    with engine.begin() as connection:
        connection.execute(update(Handover).values(notes="nothing to say"))
    broken = run.invoke(app, ["watch", "handover", "verify"])
    assert broken.exit_code == 1
    assert f"handover {handover_id}" in broken.output
    assert "does not match its digest" in broken.output
    engine.dispose()


# --- the pages --------------------------------------------------------------------------------


def _clock(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setattr(handovers, "utcnow", lambda: at)
    monkeypatch.setattr(watch_web, "utcnow", lambda: at)


def test_the_pages_write_a_prefilled_handover_and_only_the_incoming_desk_acknowledges(
    client: TestClient,
    session: Session,
    settings: Settings,
    net: Network,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clock(monkeypatch, BEFORE_END)
    lead = open_lead(session, settings, country="GB")
    web_login(client, session, net.watch.gb)
    form = client.get("/ui/watch/handovers/new")
    assert form.status_code == 200
    assert "US-HSI" in form.text
    assert f'name="leads" value="{lead.id}" checked' in form.text
    assert 'name="preservations" value="PR-GB-2026-0007" checked' in form.text
    assert "Secret" not in form.text
    token = csrf_field(form.text)

    refused = client.post(
        "/ui/watch/handovers",
        data={"csrf_token": token, "to_desk": "NL-NP", "leads": [str(lead.id)], "notes": "kept"},
    )
    assert refused.status_code == 422
    assert "does not take over from GB-NCA" in refused.text
    assert ">kept</textarea>" in refused.text  # what was typed survives
    assert f'value="{lead.id}" checked' in refused.text
    assert 'value="PR-GB-2026-0007">' in refused.text  # unticked stays unticked
    written = client.post(
        "/ui/watch/handovers",
        data={
            "csrf_token": token,
            "to_desk": "US-HSI",
            "leads": [str(lead.id)],
            "notes": "<b>call IE</b> at 23:00",
        },
        follow_redirects=False,
    )
    assert written.status_code == 303, written.text
    page = client.get(written.headers["location"])
    assert page.status_code == 200
    assert "Handover GB-NCA → US-HSI" in page.text
    assert "&lt;b&gt;call IE&lt;/b&gt;" in page.text
    assert "Pending preservations (0)" in page.text
    assert "Only US-HSI, the incoming desk, acknowledges it." in page.text
    listed = client.get("/ui/watch/handovers")
    assert "GB-NCA → US-HSI" in listed.text
    assert "Waiting" in listed.text
    path = written.headers["location"]
    assert client.post(f"{path}/acknowledge", data={"csrf_token": token}).status_code == 404

    client.cookies.clear()
    _clock(monkeypatch, DUE + timedelta(minutes=1))
    web_login(client, session, net.watch.us)
    page = client.get(path)
    assert "Not acknowledged — overdue" in page.text
    token = csrf_field(page.text)
    done = client.post(f"{path}/acknowledge", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get(path)
    assert "Acknowledged by investigator.us-hsi@example.com (US-HSI)" in page.text
    assert "after the deadline" in page.text
    again = client.post(f"{path}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409

    client.cookies.clear()
    web_login(client, session, net.watch.nl)
    assert client.get(path).status_code == 404
    off = client.get("/ui/watch/handovers/new")  # NL-NP is not on duty at 22:31
    assert off.status_code == 200
    assert "is not on duty" in off.text
    assert '<form method="post" action="/ui/watch/handovers"' not in off.text


# --- the reminder before a shift ends ---------------------------------------------------------


def _remind(
    session: Session, factory: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    session.commit()
    sent = reminders.remind_due(factory, settings, now=now)
    session.expire_all()
    return sent


def test_a_desk_is_reminded_once_before_its_shift_ends_unless_it_handed_over(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, net: Network
) -> None:
    gb = net.watch.gb.caller.agency_id
    assert gb is not None
    assert _remind(session, session_factory, settings, GB_ENDS - timedelta(minutes=16)) == 0
    assert _remind(session, session_factory, settings, GB_ENDS - timedelta(minutes=14)) == 1
    [notice] = inbox.notices(session, gb)
    assert notice.kind == "watch.handover_reminder"
    assert notice.title == "Your shift ends at 2026-12-03 22:00 UTC: write the handover"
    assert notice.link == "/ui/watch/handovers/new"
    [mail] = outbox.messages_for(session, ["duty_desk:GB-NCA"])
    assert mail.recipient == "desk@gb-nca.example.com"
    assert "22:00 GMT, Europe/London" in mail.body
    assert _remind(session, session_factory, settings, GB_ENDS - timedelta(minutes=5)) == 0

    # US-HSI writes its handover early: no reminder at the end of its shift
    handovers.write(
        session, settings, net.watch.us.caller, HandoverWrite(), now=US_ENDS - timedelta(hours=1)
    )
    assert _remind(session, session_factory, settings, US_ENDS - timedelta(minutes=10)) == 0
    us = net.watch.us.caller.agency_id
    assert us is not None
    assert [n.kind for n in inbox.notices(session, us)] == []


# --- desks writing at once --------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def committed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, Settings]]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield engine, engine.info_settings  # type: ignore[attr-defined]


def test_desks_writing_at_once_extend_one_chain(committed: tuple[Engine, Settings]) -> None:
    """Three desks hand over in the same instant, each in its own connection (as separate
    processes would): the chain takes them one after the other and never forks."""
    engine, settings = committed
    with unit_of_work(make_sessionmaker(engine)) as session:
        net = make_network(session)
    writers = [
        (net.watch.gb.caller, BEFORE_END),
        (net.watch.us.caller, US_ENDS - timedelta(minutes=5)),
        (net.watch.nl.caller, GB_ENDS - timedelta(hours=8, minutes=10)),
    ]
    barrier = threading.Barrier(len(writers))
    errors: list[BaseException] = []

    def write(caller: Caller, now: datetime) -> None:
        factory = make_sessionmaker(engine)
        try:
            barrier.wait(timeout=10)
            with unit_of_work(factory) as session:
                handovers.write(session, settings, caller, HandoverWrite(), now=now)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=w) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with unit_of_work(make_sessionmaker(engine)) as session:
        result = hashing.verify(session)
        assert result.problem == ""
        assert (result.checked, result.total) == (3, 3)
        heads = session.scalars(select(Handover.previous_digest)).all()
        assert sorted(heads).count("") == 1
