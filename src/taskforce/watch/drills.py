"""Unannounced reachability drills: does a 24/7 desk answer when nothing is happening?

The coordinator (MANAGE_ROTA) schedules a drill for one desk or for every active desk within a
window; each desk's send time is drawn at random inside the window, stored, and never shown to
anyone (pages and API show the window only), so a desk cannot know when it comes. The worker's
job (`drill_job`, `core.jobs`) sends the alert when it is due — e-mail to the agency's 24/7
address and its webhook if it has one, marked DRILL — with a link `/drills/{secret}`: 32
random bytes made at sending, of which only the sha256 is kept. Whoever opens the link sees the
drill and one button; pressing it records `acknowledged_at`. No login is needed: a drill
carries no case data, and the secret itself is what a forged request could not know. After
`drill_give_up_hours` the job records the desk as not reached.

Scheduling, sending, acknowledging and giving up are each audited.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.settings import Settings
from taskforce.rota.models import DutyDesk
from taskforce.watch.messages import local_time, utc_time
from taskforce.watch.models import Drill
from taskforce.watch.schemas import (
    DRILL_WINDOW_MAX_DAYS,
    DrillPublic,
    DrillRead,
    DrillSchedule,
    DrillState,
)
from taskforce.watch.service import CLAIM_LEASE, WATCH

# Who acknowledges from a drill's link: nobody logged in, only the holder of the link.
LINK_HOLDER = Caller(role=Role.READ_ONLY, channel="public", email="holder of a drill link")
ACKNOWLEDGER_MAX = 120


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def drill_reference(drill_id: uuid.UUID) -> str:
    return f"watch_drill:{drill_id}"


def drill_link(settings: Settings, secret: str) -> str:
    return f"{settings.public_url.rstrip('/')}/drills/{secret}"


def state_of(drill: Drill) -> DrillState:
    if drill.acknowledged_at is not None:
        return DrillState.ACKNOWLEDGED
    if drill.gave_up_at is not None:
        return DrillState.NOT_ACKNOWLEDGED
    if drill.sent_at is not None:
        return DrillState.SENT
    return DrillState.SCHEDULED


# --- scheduling (the coordinator) -------------------------------------------------------------


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise Invalid(field, "a time with its UTC offset, e.g. 2026-12-03T02:00:00Z")
    return value


def _desks(session: Session, code: str | None) -> list[tuple[DutyDesk, Agency]]:
    query = (
        select(DutyDesk, Agency)
        .join(Agency, Agency.id == DutyDesk.agency_id)
        .where(DutyDesk.is_active.is_(True), Agency.is_active.is_(True))
        .order_by(Agency.code)
    )
    if code is not None:
        query = query.where(Agency.code == code.strip().upper())
    found = [(desk, agency) for desk, agency in session.execute(query).all()]
    if not found:
        raise Invalid(
            "desk",
            f"no active 24/7 desk of agency {code.strip().upper()}"
            if code is not None
            else "no active 24/7 desk to drill",
        )
    return found


def active_desks(session: Session) -> list[tuple[str, str]]:
    """(agency code, name) of every active desk, for the schedule form."""
    rows = session.execute(
        select(Agency.code, Agency.name)
        .join(DutyDesk, DutyDesk.agency_id == Agency.id)
        .where(DutyDesk.is_active.is_(True), Agency.is_active.is_(True))
        .order_by(Agency.code)
    ).all()
    return [(code, name) for code, name in rows]


def schedule(
    session: Session,
    caller: Caller,
    data: DrillSchedule,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> list[Drill]:
    """One drill per desk chosen, each with its own random send time in the window (from now,
    if the window has begun). ``rng`` lets a test fix the draw; the default is the system's."""
    caller.require(Permission.MANAGE_ROTA)
    now = now or utcnow()
    start = _aware(data.window_start, "window_start")
    end = _aware(data.window_end, "window_end")
    if end <= start:
        raise Invalid("window_end", "after window_start")
    if end - start > timedelta(days=DRILL_WINDOW_MAX_DAYS):
        raise Invalid("window_end", f"at most {DRILL_WINDOW_MAX_DAYS} days after window_start")
    if end <= now + timedelta(minutes=1):
        raise Invalid("window_end", "in the future (at least a minute from now)")
    desks = _desks(session, data.desk or None)
    draw = rng or secrets.SystemRandom()
    earliest = max(start, now)
    span = int((end - earliest).total_seconds())
    made: list[Drill] = []
    for desk, agency in desks:
        send_at = earliest + timedelta(seconds=draw.randrange(max(span, 1)))
        drill = Drill(
            id=uuid.uuid4(),
            desk_id=desk.id,
            window_start=start,
            window_end=end,
            send_at=send_at,
            check_at=send_at,
            # a placeholder nobody knows; the link's secret is made when the drill is sent
            secret_hash=secret_hash(secrets.token_urlsafe(32)),
            acknowledged_by="",
            created_by=caller.label[:320],
            created_at=now,
        )
        session.add(drill)
        made.append(drill)
        audit.record(
            session,
            caller,
            action="watch.drill.schedule",
            operation=Operation.ALTERATION,
            subject_type="watch_drill",
            subject_id=drill.id,
            detail={
                "desk": agency.code,
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
            },
        )
    session.flush()
    return made


def _read(drill: Drill, agency: Agency) -> DrillRead:
    took = (
        int((drill.acknowledged_at - drill.sent_at).total_seconds())
        if drill.acknowledged_at is not None and drill.sent_at is not None
        else None
    )
    return DrillRead(
        id=drill.id,
        desk=agency.code,
        window_start=drill.window_start,
        window_end=drill.window_end,
        state=state_of(drill),
        sent_at=drill.sent_at,
        acknowledged_at=drill.acknowledged_at,
        acknowledged_by=drill.acknowledged_by,
        seconds_to_acknowledge=took,
        gave_up_at=drill.gave_up_at,
        created_by=drill.created_by,
        created_at=drill.created_at,
    )


def list_drills(session: Session, caller: Caller, *, limit: int = 200) -> list[DrillRead]:
    """The coordinator's list, newest window first: windows, never send times."""
    caller.require(Permission.MANAGE_ROTA)
    rows = session.execute(
        select(Drill, Agency)
        .join(DutyDesk, DutyDesk.id == Drill.desk_id)
        .join(Agency, Agency.id == DutyDesk.agency_id)
        .order_by(Drill.window_start.desc(), Drill.created_at.desc(), Agency.code)
        .limit(limit)
    ).all()
    return [_read(drill, agency) for drill, agency in rows]


# --- the worker: sending and giving up --------------------------------------------------------


def _send(session: Session, settings: Settings, drill: Drill, *, now: datetime) -> None:
    desk = session.get(DutyDesk, drill.desk_id)
    assert desk is not None
    agency = session.get(Agency, desk.agency_id)
    assert agency is not None
    secret = secrets.token_urlsafe(32)
    link = drill_link(settings, secret)
    hours = settings.drill_give_up_hours
    drill.secret_hash = secret_hash(secret)
    drill.sent_at = now
    drill.check_at = now + timedelta(hours=hours)
    subject = f"DRILL - reachability test of the 24/7 desk of {agency.code}: please acknowledge"
    body = "\n".join(
        [
            f"DRILL - THIS IS A REACHABILITY TEST of the 24/7 desk of {agency.code} "
            f"({agency.name}).",
            "There is no case and no urgent lead: nothing to do but acknowledge.",
            "",
            f"Sent:            {utc_time(now)} = "
            f"{local_time(now, desk.time_zone or agency.timezone, zone_name=True)}",
            "",
            "Acknowledge it by opening this link and pressing the button (no login needed):",
            link,
            "",
            f"The time it takes is measured; after {hours} hours the desk counts as not reached.",
            "",
        ]
    )
    reference = drill_reference(drill.id)
    outbox.enqueue_email(
        session,
        recipient=agency.contact_email,
        subject=subject,
        body=body,
        reference=reference,
        now=now,
    )
    channels = ["email"]
    if agency.webhook_url:
        payload = {
            "event": "watch.drill",
            "drill": str(drill.id),
            "drill_only": True,  # a test: no lead, no case
            "sent_at": now.isoformat(timespec="seconds"),
            "acknowledge_url": link,
        }
        outbox.enqueue_webhook(
            session,
            url=agency.webhook_url,
            event="watch.drill",
            body=json.dumps(payload, separators=(",", ":")),
            reference=reference,
            now=now,
        )
        channels.append("webhook")
    audit.record(
        session,
        WATCH,
        action="watch.drill.send",
        operation=Operation.DISCLOSURE,
        subject_type="watch_drill",
        subject_id=drill.id,
        recipients=[agency.code],
        detail={"channels": channels},
    )


def _give_up(session: Session, drill: Drill, *, now: datetime) -> None:
    drill.gave_up_at = now
    drill.check_at = None
    audit.record(
        session,
        WATCH,
        action="watch.drill.not_acknowledged",
        operation=Operation.ALTERATION,
        subject_type="watch_drill",
        subject_id=drill.id,
        detail={"sent_at": drill.sent_at.isoformat() if drill.sent_at else None},
    )


def _follow_up(session: Session, settings: Settings, drill_id: uuid.UUID, *, now: datetime) -> bool:
    drill = session.get(Drill, drill_id)
    if drill is None or drill.acknowledged_at is not None or drill.gave_up_at is not None:
        if drill is not None:
            drill.check_at = None
        return False
    if drill.sent_at is None:
        _send(session, settings, drill, now=now)
    else:
        _give_up(session, drill, now=now)
    session.flush()
    return True


def drill_job(settings: Settings) -> jobs.Job[Drill, uuid.UUID, None]:
    """The worker's job: send each drill at its drawn time, then, unacknowledged after
    `drill_give_up_hours`, record the desk as not reached. A run's `done` counts both."""
    return jobs.Job(
        name="watch.drill",
        model=Drill,
        lease_column=Drill.check_at,
        lease=CLAIM_LEASE,
        due=lambda now: [
            Drill.check_at <= now,
            Drill.acknowledged_at.is_(None),
            Drill.gave_up_at.is_(None),
        ],
        order=(Drill.check_at, Drill.id),
        take=lambda drill: drill.id,
        work=lambda _drill_id: None,
        record=lambda session, drill_id, _, now: _follow_up(session, settings, drill_id, now=now),
    )


# --- the link (no login) ----------------------------------------------------------------------


def _by_secret(
    session: Session, secret: str, *, lock: bool = False
) -> tuple[Drill, DutyDesk, Agency]:
    if not secret or len(secret) > 100:
        raise NotFound("drill")
    query = (
        select(Drill)
        .where(Drill.secret_hash == secret_hash(secret), Drill.sent_at.is_not(None))
        .execution_options(populate_existing=True)
    )
    if lock and is_postgres(session):
        query = query.with_for_update()
    drill = session.scalar(query)
    if drill is None:
        raise NotFound("drill")
    desk = session.get(DutyDesk, drill.desk_id)
    agency = session.get(Agency, desk.agency_id) if desk else None
    if desk is None or agency is None:
        raise NotFound("drill")
    return drill, desk, agency


def _public(drill: Drill, desk: DutyDesk, agency: Agency) -> DrillPublic:
    assert drill.sent_at is not None
    return DrillPublic(
        desk=agency.code,
        desk_name=agency.name,
        time_zone=desk.time_zone or agency.timezone,
        sent_at=drill.sent_at,
        state=state_of(drill),
        acknowledged_at=drill.acknowledged_at,
        acknowledged_by=drill.acknowledged_by,
        gave_up_at=drill.gave_up_at,
    )


def public_view(session: Session, secret: str) -> DrillPublic:
    """The drill behind a link; NotFound for any other secret (or one not sent yet)."""
    return _public(*_by_secret(session, secret))


def acknowledge(
    session: Session, secret: str, *, by: str = "", now: datetime | None = None
) -> DrillPublic:
    """The desk answers. Pressing twice keeps the first time; after the give-up the link only
    says that the drill closed unanswered (it stays counted as not acknowledged)."""
    drill, desk, agency = _by_secret(session, secret, lock=True)
    by = " ".join(by.split())
    if len(by) > ACKNOWLEDGER_MAX:
        raise Invalid("name", f"at most {ACKNOWLEDGER_MAX} characters")
    if drill.acknowledged_at is not None or drill.gave_up_at is not None:
        return _public(drill, desk, agency)
    now = now or utcnow()
    drill.acknowledged_at = now
    drill.acknowledged_by = by or "(name not given)"
    drill.check_at = None
    audit.record(
        session,
        LINK_HOLDER,
        action="watch.drill.acknowledge",
        operation=Operation.ALTERATION,
        subject_type="watch_drill",
        subject_id=drill.id,
        detail={
            "desk": agency.code,
            "seconds": int((now - drill.sent_at).total_seconds()) if drill.sent_at else None,
        },
    )
    session.flush()
    return _public(drill, desk, agency)
