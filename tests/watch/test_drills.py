"""Reachability drills: the coordinator schedules, the worker sends at a hidden random moment,
the desk acknowledges from the link without logging in, or is recorded as not reached."""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest
from builders import Person, make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from watch_builders import RECEIVED, Watch
from watch_rota_builders import duty_desk

from taskforce.agencies import service as agency_service
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.watch import drills
from taskforce.watch.models import Drill
from taskforce.watch.schemas import DrillSchedule, DrillState

START = RECEIVED.replace(hour=0, minute=0)  # 2026-12-03 00:00 UTC
END = START + timedelta(hours=8)
NOW = START - timedelta(hours=1)


@pytest.fixture
def admin(session: Session, watch: Watch) -> Person:
    """The network admin at the coordinator's desk (MANAGE_ROTA)."""
    hub = agency_service.get_by_code(session, watch.coord.caller.agency_code or "")
    return make_person(session, hub, role=Role.NETWORK_ADMIN, email="admin@int-watch.example.com")


@pytest.fixture
def desks(session: Session, watch: Watch) -> Watch:
    duty_desk(session, "NL-NP", time_zone="Europe/Amsterdam")
    duty_desk(session, "GB-NCA", time_zone="Europe/London")
    duty_desk(session, "US-HSI", time_zone="America/New_York", active=False)
    return watch


def _schedule(
    session: Session, admin: Person, desk: str | None = "NL-NP", seed: int = 7
) -> list[Drill]:
    data = DrillSchedule(desk=desk, window_start=START, window_end=END)
    return drills.schedule(session, admin.caller, data, now=NOW, rng=random.Random(seed))


def _run(
    session: Session, factory: sessionmaker[Session], settings: Settings, now: datetime
) -> int:
    session.commit()  # the worker works in its own transactions
    done = jobs.run(factory, drills.drill_job(settings), limit=50, now=now).done
    session.expire_all()
    return done


def _mail(session: Session, drill: Drill) -> OutboxMessage:
    [mail] = [
        m
        for m in outbox.messages_for(session, [drills.drill_reference(drill.id)])
        if m.channel == "email"
    ]
    return mail


def _secret(mail: OutboxMessage) -> str:
    found = re.search(r"/drills/([A-Za-z0-9_-]+)", mail.body)
    assert found
    return found.group(1)


@pytest.mark.usefixtures("desks")
def test_a_drill_is_sent_at_a_random_moment_in_the_window_never_shown(
    session: Session, admin: Person
) -> None:
    [drill] = _schedule(session, admin)
    assert START <= drill.send_at < END
    assert drill.check_at == drill.send_at
    assert drill.sent_at is None
    [other] = _schedule(session, admin, seed=8)
    assert other.send_at != drill.send_at  # each its own draw
    [row, _] = drills.list_drills(session, admin.caller)
    assert row.state == DrillState.SCHEDULED
    assert row.desk == "NL-NP"
    assert "send_at" not in row.model_dump()
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == drill.id)
    ).all()
    assert actions == ["watch.drill.schedule"]


@pytest.mark.usefixtures("desks")
def test_every_active_desk_gets_its_own_drill(session: Session, admin: Person) -> None:
    made = _schedule(session, admin, desk=None)
    codes = sorted(d.desk for d in drills.list_drills(session, admin.caller))
    assert codes == ["GB-NCA", "NL-NP"]  # US-HSI's desk is not active
    assert len({d.send_at for d in made}) == 2


@pytest.mark.usefixtures("desks")
def test_only_the_coordinator_schedules_and_lists_drills(session: Session, watch: Watch) -> None:
    data = DrillSchedule(desk="NL-NP", window_start=START, window_end=END)
    with pytest.raises(Forbidden):
        drills.schedule(session, watch.nl.caller, data, now=NOW)
    with pytest.raises(Forbidden):
        drills.list_drills(session, watch.coord.caller)  # an analyst at the hub
    assert session.scalars(select(Drill)).all() == []


@pytest.mark.usefixtures("desks")
@pytest.mark.parametrize(
    ("desk", "start", "end", "field", "rule"),
    [
        ("NL-NP", START, START, "window_end", "after window_start"),
        ("NL-NP", START, START + timedelta(days=32), "window_end", "at most 31 days"),
        ("NL-NP", NOW - timedelta(hours=3), NOW, "window_end", "in the future"),
        ("NL-NP", START.replace(tzinfo=None), END, "window_start", "UTC offset"),
        ("FR-XX", START, END, "desk", "no active 24/7 desk of agency FR-XX"),
        ("US-HSI", START, END, "desk", "no active 24/7 desk of agency US-HSI"),
    ],
)
def test_a_bad_drill_is_refused_naming_the_field(
    session: Session,
    admin: Person,
    desk: str,
    start: datetime,
    end: datetime,
    field: str,
    rule: str,
) -> None:
    data = DrillSchedule(desk=desk, window_start=start, window_end=end)
    with pytest.raises(Invalid) as refused:
        drills.schedule(session, admin.caller, data, now=NOW)
    assert refused.value.field == field
    assert rule in str(refused.value)
    assert session.scalars(select(Drill)).all() == []


@pytest.mark.usefixtures("desks")
def test_the_worker_sends_the_drill_then_the_desk_acknowledges_from_the_link(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, admin: Person
) -> None:
    [drill] = _schedule(session, admin)
    send_at = drill.send_at
    assert _run(session, session_factory, settings, send_at - timedelta(seconds=1)) == 0
    assert _run(session, session_factory, settings, send_at) == 1
    drill = session.get_one(Drill, drill.id)
    assert drill.sent_at == send_at
    assert drill.check_at == send_at + timedelta(hours=settings.drill_give_up_hours)
    mail = _mail(session, drill)
    assert mail.recipient == "desk@nl-np.example.com"
    assert mail.subject.startswith("DRILL")
    assert "no case and no urgent lead" in mail.body
    secret = _secret(mail)
    assert len(secret) >= 43  # 32 random bytes
    assert drill.secret_hash == drills.secret_hash(secret)
    hook = next(
        m
        for m in outbox.messages_for(session, [drills.drill_reference(drill.id)])
        if m.channel == "webhook"
    )
    assert '"drill_only":true' in hook.body
    assert secret in hook.body

    view = drills.public_view(session, secret)
    assert view.state == DrillState.SENT
    assert view.desk == "NL-NP"
    answered = send_at + timedelta(minutes=3, seconds=30)
    done = drills.acknowledge(session, secret, by="  Sgt. Example  ", now=answered)
    assert done.state == DrillState.ACKNOWLEDGED
    assert done.acknowledged_by == "Sgt. Example"
    again = drills.acknowledge(session, secret, now=answered + timedelta(minutes=5))
    assert again.acknowledged_at == answered  # pressing twice keeps the first time
    [row] = drills.list_drills(session, admin.caller)
    assert row.seconds_to_acknowledge == 210
    # nothing left for the worker: it never gives up an acknowledged drill
    assert _run(session, session_factory, settings, send_at + timedelta(hours=5)) == 0
    assert session.get_one(Drill, drill.id).gave_up_at is None
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == drill.id).order_by(AuditEntry.seq)
    ).all()
    assert actions == ["watch.drill.schedule", "watch.drill.send", "watch.drill.acknowledge"]


@pytest.mark.usefixtures("desks")
def test_an_unanswered_drill_is_given_up_and_its_link_says_so(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, admin: Person
) -> None:
    [drill] = _schedule(session, admin)
    _run(session, session_factory, settings, drill.send_at)
    secret = _secret(_mail(session, drill))
    late = drill.send_at + timedelta(hours=settings.drill_give_up_hours)
    assert _run(session, session_factory, settings, late - timedelta(seconds=1)) == 0
    assert _run(session, session_factory, settings, late) == 1
    drill = session.get_one(Drill, drill.id)
    assert drill.gave_up_at == late
    assert drill.check_at is None
    view = drills.acknowledge(session, secret, now=late + timedelta(minutes=1))
    assert view.state == DrillState.NOT_ACKNOWLEDGED
    assert session.get_one(Drill, drill.id).acknowledged_at is None


@pytest.mark.usefixtures("desks")
def test_a_wrong_or_unsent_secret_finds_nothing(session: Session, admin: Person) -> None:
    _schedule(session, admin)
    for secret in ("", "x" * 43, "x" * 500):
        with pytest.raises(NotFound):
            drills.public_view(session, secret)


# --- pages --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("desks")
def test_the_link_page_needs_no_login_and_records_the_answer(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    admin: Person,
    client: TestClient,
) -> None:
    [drill] = _schedule(session, admin)
    _run(session, session_factory, settings, drill.send_at)
    secret = _secret(_mail(session, drill))
    page = client.get(f"/drills/{secret}")
    assert page.status_code == 200
    assert "DRILL" in page.text
    assert "Acknowledge the drill" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in page.headers
    assert "window" not in page.text.lower()  # nothing of the plan behind the drill
    posted = client.post(f"/drills/{secret}", data={"name": "Duty officer"}, follow_redirects=False)
    assert posted.status_code == 303
    session.expire_all()
    assert session.get_one(Drill, drill.id).acknowledged_by == "Duty officer"
    assert "Acknowledged" in client.get(f"/drills/{secret}").text
    assert client.get("/drills/not-a-secret").status_code == 404


@pytest.mark.usefixtures("desks")
def test_the_coordinator_schedules_from_the_drills_page(
    session: Session, admin: Person, client: TestClient
) -> None:
    csrf = web_login(client, session, admin)
    page = client.get("/ui/watch/drills")
    assert page.status_code == 200
    assert "every active desk" in page.text
    assert "NL-NP" in page.text
    assert "US-HSI" not in page.text  # not an active desk
    # far ahead of any clock this test runs on: the window must not have ended
    form = {"csrf_token": csrf, "desk": "NL-NP", "window_start": "2099-01-01T00:00"}
    refused = client.post("/ui/watch/drills", data={**form, "window_end": "2098-12-31T00:00"})
    assert refused.status_code == 422
    assert "after window_start" in refused.text
    assert session.scalars(select(Drill)).all() == []
    done = client.post(
        "/ui/watch/drills", data={**form, "window_end": "2099-01-01T08:00"}, follow_redirects=False
    )
    assert done.status_code == 303
    listing = client.get("/ui/watch/drills").text
    assert "2099-01-01 00:00 UTC" in listing
    assert "Scheduled" in listing
    [drill] = session.scalars(select(Drill)).all()
    assert drill.send_at.strftime("%H:%M:%S") not in listing  # the send time stays hidden


@pytest.mark.usefixtures("desks")
def test_a_desk_may_not_open_the_drills_page(
    session: Session, watch: Watch, client: TestClient
) -> None:
    web_login(client, session, watch.nl)
    assert client.get("/ui/watch/drills").status_code == 403


@pytest.mark.usefixtures("desks")
def test_the_api_schedules_and_lists_drills_for_the_coordinator_only(
    session: Session, settings: Settings, admin: Person, watch: Watch, client: TestClient
) -> None:
    from builders import token_for

    # far ahead of any clock this test runs on: the window must not have ended
    body = {"window_start": "2099-01-01T00:00:00Z", "window_end": "2099-01-01T08:00:00Z"}
    made = client.post(
        "/api/v1/watch/drills", json=body, headers=token_for(session, settings, admin)
    )
    assert made.status_code == 201
    assert sorted(d["desk"] for d in made.json()) == ["GB-NCA", "NL-NP"]
    assert all("send_at" not in d for d in made.json())
    listed = client.get("/api/v1/watch/drills", headers=token_for(session, settings, admin))
    assert len(listed.json()) == 2
    desk = token_for(session, settings, watch.nl)
    assert client.post("/api/v1/watch/drills", json=body, headers=desk).status_code == 403
    assert client.get("/api/v1/watch/drills", headers=desk).status_code == 403
    bad = client.post(
        "/api/v1/watch/drills",
        json={**body, "desk": "FR-XX"},
        headers=token_for(session, settings, admin),
    )
    assert bad.status_code == 422
    assert "desk" in bad.text
