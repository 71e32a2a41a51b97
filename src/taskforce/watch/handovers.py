"""Handovers between 24/7 desks: at the end of its shift the outgoing desk leaves the incoming
one what is still open (urgent leads, preservations about to expire, notes), and the incoming
desk acknowledges it; one left unacknowledged escalates to the network coordinator.

When a shift ends and who takes over is the rota's answer (`rota.engine.shifts`), not the
writer's: a desk writes for the shift it is on (or ended less than `GRACE` ago) to a desk on
duty at that shift's end, or to the first one coming on after it.

What a handover carries is taken from the records, never typed in: the writer picks which of
its desk's open leads (references, kinds, countries, deadlines; never report content) and
pending preservations to include, and adds notes. Handovers form one hash chain
(`watch.hashing`): each `digest` is sha256(previous digest + canonical JSON of the content),
so `hashing.verify` names the first handover changed, removed or inserted after the fact.

The incoming desk is told by e-mail (`core.outbox`) and in its inbox (`core.inbox`); it has
`handover_ack_minutes` from the shift's end (or the writing, if later) to acknowledge. The
escalation job (`escalation_job`, on `core.jobs`, `check_at` as its lease) tells the
coordinator of each one that passed that deadline, once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session, aliased

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.inbox import service as inbox
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.preservation import service as preservation_service
from taskforce.rota import engine
from taskforce.rota import service as rota_service
from taskforce.rota.models import DutyDesk
from taskforce.watch.hashing import chain_head, content, digest_of
from taskforce.watch.messages import tell_coordinator, tell_incoming, utc_time
from taskforce.watch.models import Handover, UrgentLead, UrgentLeadTarget
from taskforce.watch.schemas import (
    HANDOVER_NOTES_MAX,
    HandoverRead,
    HandoverState,
    HandoverWrite,
    TurnRead,
    kind_label,
)
from taskforce.watch.service import CLAIM_LEASE, WATCH
from taskforce.watch.status import shift_span, successors

NOTES_MAX = HANDOVER_NOTES_MAX
GRACE = timedelta(hours=2)  # a handover may still be written this long after the shift ended
NO_COORDINATOR_RETRY = timedelta(minutes=5)
HORIZON = timedelta(days=8)  # how far ahead a shift's end and its successor are looked for
_CHAIN_LOCK = "watch-handover-chain"


# --- whose desk, whose turn -------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    desk: DutyDesk
    agency: Agency
    starts_at: datetime
    ends_at: datetime
    incoming: tuple[tuple[DutyDesk, Agency], ...]


def own_desk(session: Session, caller: Caller) -> tuple[DutyDesk, Agency]:
    """The caller's agency's desk on the rota (a caller with none has nothing to hand over)."""
    caller.require(Permission.KEEP_WATCH)
    if caller.agency_id is None:
        raise NotFound("duty desk")
    row = session.execute(
        select(DutyDesk, Agency)
        .join(Agency, Agency.id == DutyDesk.agency_id)
        .where(DutyDesk.agency_id == caller.agency_id)
    ).first()
    if row is None:
        raise NotFound("duty desk")
    return row[0], row[1]


def _desks(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[DutyDesk, Agency]]:
    if not ids:
        return {}
    rows = session.execute(
        select(DutyDesk, Agency)
        .join(Agency, Agency.id == DutyDesk.agency_id)
        .where(DutyDesk.id.in_(list(ids)))
    )
    return {desk.id: (desk, agency) for desk, agency in rows}


def turn_of(session: Session, desk: DutyDesk, agency: Agency, now: datetime) -> Turn:
    """The desk's shift on at `now` (or ended less than `GRACE` ago) and the desks that take
    over at its end: those on duty at that instant, or else the first to come on after it."""
    found = engine.shifts(
        rota_service.load(session), now - GRACE - timedelta(days=1), now + HORIZON
    )
    span = shift_span(found, desk.id, now, grace=GRACE)
    if span is None:
        raise Invalid(
            "desk",
            f"{agency.code} is not on duty at {utc_time(now)} and no shift of its ended in "
            f"the last {int(GRACE.total_seconds() // 3600)} hours: there is nothing to hand over",
        )
    starts_at, ends_at = span
    taking = successors(found, desk.id, ends_at)
    if not taking:
        raise Invalid(
            "to_desk",
            f"no desk takes over from {agency.code} after {utc_time(ends_at)} on the rota "
            "(a gap: tell the coordinator)",
        )
    incoming = sorted(_desks(session, sorted(taking)).values(), key=lambda da: da[1].code)
    return Turn(desk, agency, starts_at, ends_at, tuple(incoming))


# --- what is open: leads and preservations ----------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value else None


def open_leads(
    session: Session, agency_id: uuid.UUID, *, since: datetime, now: datetime
) -> list[dict[str, Any]]:
    """The urgent leads sent to the agency not yet acknowledged, and those it acknowledged
    since `since` (the shift's start): facts and deadlines only, never report content."""
    taker = aliased(Agency)
    rows = session.execute(
        select(UrgentLead, taker.code)
        .join(UrgentLeadTarget, UrgentLeadTarget.lead_id == UrgentLead.id)
        .outerjoin(taker, taker.id == UrgentLead.acknowledged_by_agency_id)
        .where(
            UrgentLeadTarget.agency_id == agency_id,
            UrgentLead.created_at <= now,
            or_(
                UrgentLead.acknowledged_at.is_(None),
                and_(
                    UrgentLead.acknowledged_by_agency_id == agency_id,
                    UrgentLead.acknowledged_at >= since,
                ),
            ),
        )
        .order_by(UrgentLead.received_at, UrgentLead.id)
    )
    return [
        {
            "lead": str(lead.id),
            "kind": lead.kind,
            "what": kind_label(lead.kind),
            "reporter_country": lead.reporter_country,
            "suspect_country": lead.suspect_country,
            "received_at": _iso(lead.received_at),
            "ack_due_at": _iso(lead.ack_due_at),
            "acknowledged_at": _iso(lead.acknowledged_at),
            "acknowledged_by": code,
            "escalated": lead.escalated_at is not None,
        }
        for lead, code in rows
    ]


def pending_preservations(
    session: Session, agency_id: uuid.UUID, *, now: datetime
) -> list[dict[str, Any]]:
    return [
        {
            "reference": p.reference,
            "provider": p.provider,
            "status": p.status,
            "expires_at": _iso(p.expires_at),
        }
        for p in preservation_service.pending_for(session, agency_id, now=now)
    ]


def draft(session: Session, caller: Caller, *, now: datetime | None = None) -> TurnRead:
    """What the caller's desk would hand over now: the form's prefill."""
    now = now or utcnow()
    desk, agency = own_desk(session, caller)
    turn = turn_of(session, desk, agency, now)
    written = session.scalars(
        select(Handover.id)
        .where(Handover.from_desk_id == desk.id, Handover.shift_ends_at == turn.ends_at)
        .order_by(Handover.written_at)
    ).all()
    return TurnRead(
        desk=agency.code,
        shift_starts_at=turn.starts_at,
        shift_ends_at=turn.ends_at,
        incoming=[a.code for _, a in turn.incoming],
        leads=open_leads(session, agency.id, since=turn.starts_at, now=now),
        preservations=pending_preservations(session, agency.id, now=now),
        written=list(written),
    )


# --- writing ----------------------------------------------------------------------------------


def _chosen(
    wanted: Sequence[str] | None, offered: list[dict[str, Any]], key: str, field: str, what: str
) -> list[dict[str, Any]]:
    if wanted is None:
        return offered
    by_key = {entry[key]: entry for entry in offered}
    unknown = [w for w in wanted if w not in by_key]
    if unknown:
        raise Invalid(field, f"{unknown[0]} is not {what} of your desk")
    keep = set(wanted)
    return [entry for entry in offered if entry[key] in keep]


def _notes(value: str) -> str:
    notes = value.replace("\r\n", "\n").strip()
    if len(notes) > NOTES_MAX:
        raise Invalid("notes", f"at most {NOTES_MAX} characters (this has {len(notes)})")
    return notes


def write(
    session: Session,
    settings: Settings,
    caller: Caller,
    data: HandoverWrite,
    *,
    now: datetime | None = None,
) -> Handover:
    """The caller's desk hands its shift over; the incoming desk is told at once."""
    now = now or utcnow()
    desk, agency = own_desk(session, caller)
    notes = _notes(data.notes)
    turn = turn_of(session, desk, agency, now)
    codes = [a.code for _, a in turn.incoming]
    if data.to_desk is None or not data.to_desk.strip():
        to_desk, to_agency = turn.incoming[0]
    else:
        wanted = data.to_desk.strip().upper()
        match = [(d, a) for d, a in turn.incoming if a.code == wanted]
        if not match:
            raise Invalid(
                "to_desk",
                f"{wanted} does not take over from {agency.code} at {utc_time(turn.ends_at)}; "
                f"the rota says: {', '.join(codes)}",
            )
        to_desk, to_agency = match[0]
    leads = _chosen(
        [str(i) for i in data.leads] if data.leads is not None else None,
        open_leads(session, agency.id, since=turn.starts_at, now=now),
        "lead",
        "leads",
        "an open lead",
    )
    kept = _chosen(
        data.preservations,
        pending_preservations(session, agency.id, now=now),
        "reference",
        "preservations",
        "a pending preservation",
    )
    if is_postgres(session):  # one writer at a time extends the chain
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": _CHAIN_LOCK})
    earlier = session.scalar(
        select(Handover).where(
            Handover.from_desk_id == desk.id,
            Handover.to_desk_id == to_desk.id,
            Handover.shift_ends_at == turn.ends_at,
        )
    )
    if earlier is not None:
        raise Conflict(
            f"{agency.code} already handed the shift ending {utc_time(turn.ends_at)} over to "
            f"{to_agency.code} ({earlier.written_by}, {utc_time(earlier.written_at)})"
        )
    due = max(now, turn.ends_at) + timedelta(minutes=settings.handover_ack_minutes)
    handover = Handover(
        id=uuid.uuid4(),
        from_desk_id=desk.id,
        to_desk_id=to_desk.id,
        shift_ends_at=turn.ends_at,
        written_at=now,
        written_by=caller.label[:320],
        open_leads=leads,
        pending_preservations=kept,
        notes=notes,
        previous_digest=chain_head(session),
        ack_due_at=due,
        check_at=due,
        acknowledged_by="",
    )
    handover.digest = digest_of(handover.previous_digest, content(handover))
    session.add(handover)
    session.flush()
    tell_incoming(session, settings, handover, agency, to_agency, now=now)
    audit.record(
        session,
        caller,
        action="watch.handover.write",
        operation=Operation.DISCLOSURE,
        subject_type="watch_handover",
        subject_id=handover.id,
        recipients=[to_agency.code],
        detail={
            "shift_ends_at": _iso(turn.ends_at),
            "leads": len(leads),
            "preservations": len(kept),
            "notes": bool(notes),
            "digest": handover.digest,
        },
    )
    session.flush()
    return handover


# --- reading and acknowledging ----------------------------------------------------------------


def state_of(handover: Handover, now: datetime) -> HandoverState:
    if handover.acknowledged_at is not None:
        return HandoverState.ACKNOWLEDGED
    return HandoverState.OVERDUE if handover.ack_due_at <= now else HandoverState.WAITING


def _read(
    handover: Handover, codes: dict[uuid.UUID, tuple[DutyDesk, Agency]], now: datetime
) -> HandoverRead:
    def code(desk_id: uuid.UUID) -> str:
        found = codes.get(desk_id)
        return found[1].code if found else "?"

    return HandoverRead(
        id=handover.id,
        from_desk=code(handover.from_desk_id),
        to_desk=code(handover.to_desk_id),
        shift_ends_at=handover.shift_ends_at,
        written_at=handover.written_at,
        written_by=handover.written_by,
        open_leads=handover.open_leads,
        pending_preservations=handover.pending_preservations,
        notes=handover.notes,
        previous_digest=handover.previous_digest,
        digest=handover.digest,
        ack_due_at=handover.ack_due_at,
        acknowledged_at=handover.acknowledged_at,
        acknowledged_by=handover.acknowledged_by,
        escalated_at=handover.escalated_at,
        state=state_of(handover, now),
    )


def _sees_all(caller: Caller) -> bool:
    """The coordinator's seat reads every handover (it is told of the overdue ones)."""
    return caller.can(Permission.MANAGE_ROTA)


def _caller_desk_id(session: Session, caller: Caller) -> uuid.UUID | None:
    if caller.agency_id is None:
        return None
    return session.scalar(select(DutyDesk.id).where(DutyDesk.agency_id == caller.agency_id))


def list_handovers(
    session: Session,
    caller: Caller,
    *,
    open_only: bool = False,
    limit: int = 100,
    now: datetime | None = None,
) -> list[HandoverRead]:
    """The handovers from and to the caller's desk (every desk's at the coordinator's seat),
    unacknowledged first, then newest; the read is audited."""
    caller.require(Permission.KEEP_WATCH)
    now = now or utcnow()
    query = select(Handover)
    if not _sees_all(caller):
        desk_id = _caller_desk_id(session, caller)
        if desk_id is None:
            return []
        query = query.where(or_(Handover.from_desk_id == desk_id, Handover.to_desk_id == desk_id))
    if open_only:
        query = query.where(Handover.acknowledged_at.is_(None))
    rows = list(
        session.scalars(
            query.order_by(
                Handover.acknowledged_at.is_not(None), Handover.written_at.desc(), Handover.id
            ).limit(limit)
        )
    )
    desks = _desks(session, sorted({h.from_desk_id for h in rows} | {h.to_desk_id for h in rows}))
    audit.record(
        session,
        caller,
        action="watch.handover.list",
        operation=Operation.CONSULTATION,
        subject_type="watch_handover",
        detail={"count": len(rows), "open_only": open_only},
    )
    return [_read(h, desks, now) for h in rows]


def _visible(
    session: Session, caller: Caller, handover_id: uuid.UUID, *, incoming_only: bool = False
) -> Handover:
    caller.require(Permission.KEEP_WATCH)
    query = select(Handover).where(Handover.id == handover_id)
    if incoming_only or not _sees_all(caller):
        desk_id = _caller_desk_id(session, caller)
        if desk_id is None:
            raise NotFound("handover")
        query = query.where(
            Handover.to_desk_id == desk_id
            if incoming_only
            else or_(Handover.from_desk_id == desk_id, Handover.to_desk_id == desk_id)
        )
    if incoming_only and is_postgres(session):
        query = query.with_for_update()
    found = session.scalar(query.execution_options(populate_existing=True))
    if found is None:
        raise NotFound("handover")
    return found


def get(
    session: Session, caller: Caller, handover_id: uuid.UUID, *, now: datetime | None = None
) -> HandoverRead:
    """One handover, for its two desks and the coordinator's seat (others: 404)."""
    handover = _visible(session, caller, handover_id)
    audit.record(
        session,
        caller,
        action="watch.handover.read",
        operation=Operation.CONSULTATION,
        subject_type="watch_handover",
        subject_id=handover.id,
    )
    desks = _desks(session, [handover.from_desk_id, handover.to_desk_id])
    return _read(handover, desks, now or utcnow())


def is_incoming(session: Session, caller: Caller, handover: HandoverRead) -> bool:
    """Whether the caller's desk is the one to acknowledge (the page shows the button)."""
    desk_id = _caller_desk_id(session, caller)
    found = _desks(session, [desk_id]) if desk_id else {}
    return bool(desk_id and desk_id in found and found[desk_id][1].code == handover.to_desk)


def acknowledge(
    session: Session, caller: Caller, handover_id: uuid.UUID, *, now: datetime | None = None
) -> Handover:
    """The incoming desk takes the handover (any other caller: 404); once only. The outgoing
    desk is told in its inbox, and so is the coordinator if the handover had escalated."""
    handover = _visible(session, caller, handover_id, incoming_only=True)
    if handover.acknowledged_at is not None:
        raise Conflict(
            f"this handover was already acknowledged by {handover.acknowledged_by} "
            f"at {utc_time(handover.acknowledged_at)}"
        )
    now = now or utcnow()
    handover.acknowledged_at = now
    handover.acknowledged_by = caller.label[:320]
    handover.check_at = None
    desks = _desks(session, [handover.from_desk_id, handover.to_desk_id])
    outgoing, incoming = desks[handover.from_desk_id][1], desks[handover.to_desk_id][1]
    told = [outgoing]
    coordinator = agency_service.coordinator(session) if handover.escalated_at else None
    if coordinator is not None and coordinator.id not in (outgoing.id, incoming.id):
        told.append(coordinator)  # it was asked to chase this one: it may stop
    for agency in told:
        inbox.post(
            session,
            agency.id,
            kind="watch.handover_acknowledged",
            title=f"Handover {outgoing.code} → {incoming.code} acknowledged",
            body=f"By {handover.acknowledged_by} at {utc_time(now)}.",
            link=f"/ui/watch/handovers/{handover.id}",
            now=now,
        )
    audit.record(
        session,
        caller,
        action="watch.handover.acknowledge",
        operation=Operation.ALTERATION,
        subject_type="watch_handover",
        subject_id=handover.id,
        detail={
            "late": now > handover.ack_due_at,
            "minutes_after_shift_end": int((now - handover.shift_ends_at).total_seconds() // 60),
        },
    )
    session.flush()
    return handover


# --- escalation (the background worker) -------------------------------------------------------


def _escalate(session: Session, settings: Settings, handover_id: uuid.UUID, now: datetime) -> bool:
    handover = session.get(Handover, handover_id)
    if handover is None or handover.acknowledged_at is not None:
        if handover is not None:
            handover.check_at = None
        return False
    coordinator = agency_service.coordinator(session)
    if coordinator is None:
        handover.check_at = now + NO_COORDINATOR_RETRY  # told as soon as one is registered
        return False
    desks = _desks(session, [handover.from_desk_id, handover.to_desk_id])
    outgoing = desks[handover.from_desk_id][1].code
    incoming = desks[handover.to_desk_id][1]
    late = int((now - handover.ack_due_at).total_seconds() // 60)
    tell_coordinator(
        session, settings, handover, outgoing, incoming, coordinator, late=late, now=now
    )
    handover.escalated_at = now
    handover.check_at = None
    audit.record(
        session,
        WATCH,
        action="watch.handover.escalate",
        operation=Operation.DISCLOSURE,
        subject_type="watch_handover",
        subject_id=handover.id,
        recipients=[coordinator.code],
        detail={"from": outgoing, "to": incoming.code, "overdue_minutes": late},
    )
    session.flush()
    return True


def escalation_job(settings: Settings) -> jobs.Job[Handover, uuid.UUID, None]:
    """The worker's job: each handover not acknowledged by its deadline goes to the network
    coordinator (inbox and e-mail), once. `done` counts the handovers escalated."""
    return jobs.Job(
        name="watch.handover.escalate",
        model=Handover,
        lease_column=Handover.check_at,
        lease=CLAIM_LEASE,
        due=lambda now: [Handover.acknowledged_at.is_(None), Handover.check_at <= now],
        order=(Handover.check_at, Handover.id),
        take=lambda handover: handover.id,
        work=lambda _handover_id: None,
        record=lambda session, handover_id, _, now: _escalate(session, settings, handover_id, now),
    )
