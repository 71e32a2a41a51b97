"""Release requests: Prüm II's human decision between a cross-node hit and its details.

On the requesting node an investigator who sees a cross-node hit asks, with a reason, for the
other side's details (`request_release`: an `outgoing` row). The worker delivers it, signed,
to the node that published the entry (`deliver_due`), which stores it `incoming` only if the
ref is a live publication to that very peer (`receive_request`), and tells the owning case's
agency. Its admin or an investigator of that agency approves or refuses, with a reason either
way (`decide`); the decision, and on approval the details (case reference, title, agency,
investigator, e-mail, phone), go back the same way (`receive_decision`), where they are shown
to the requesting person only (`hits.releases_of`).

Nothing is lost and nothing is done twice: the request id is the idempotency key on both
nodes (a delivery repeated after a lost answer finds the row there and is answered as
before), a delivery that fails keeps its reason (`delivery_error`) and is retried with
backoff, and the network calls happen outside any transaction, after the row was committed.
Every step is audited on the node where it happens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies.models import Agency
from taskforce.cases import additions
from taskforce.cases.models import Case, Selector
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission, Role, system_caller
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound, TaskforceError
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings, get_settings
from taskforce.federation import hits, peering, transport
from taskforce.federation.models import FeedEntry, Peer, Publication, ReleaseRequest, RemoteHit
from taskforce.federation.schemas import (
    ReleaseAnswer,
    ReleaseAsk,
    ReleasedDetails,
    ReleaseRead,
)


class NotPublished(TaskforceError):
    """A release asked of a ref this node does not publish to the asker (any more)."""

    http_status = 404
    code = "not_found"


PENDING, APPROVED, REFUSED = "pending", "approved", "refused"
DECIDERS = (Role.AGENCY_ADMIN, Role.INVESTIGATOR)
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=2)  # a delivery in flight: another worker leaves it alone
MIN_REASON = 3


def _reason(text: str, rule: str) -> str:
    cleaned = " ".join(text.split())[:2000]
    if len(cleaned) < MIN_REASON:
        raise Invalid("reason", rule)
    return cleaned


# --- the requesting node ------------------------------------------------------------------------


def request_release(
    session: Session, caller: Caller, hit_id: uuid.UUID, *, reason: str
) -> ReleaseRequest:
    """Ask the node that published the hit's entry to release its details. Needs a reason; a
    withdrawn entry, a removed peer or a request still waiting are refused with theirs."""
    hit = hits.visible_hit(session, caller, hit_id, action="federation.release.request")
    caller.require(Permission.ASSESS_HIT)
    why = _reason(reason, "say why the details are needed (at least 3 characters)")
    peer = session.get(Peer, hit.peer_id)
    assert peer is not None
    if hit.withdrawn_at is not None:
        raise Conflict(
            f"node {peer.name} withdrew this entry on {hit.withdrawn_at:%Y-%m-%d %H:%M} UTC: "
            "there is nothing left to release"
        )
    if peer.state != "active":
        raise Conflict(f"the peering with node {peer.name} was removed: it cannot be asked")
    waiting = session.scalar(
        select(ReleaseRequest.id).where(
            ReleaseRequest.hit_id == hit.id,
            ReleaseRequest.direction == "outgoing",
            ReleaseRequest.state == PENDING,
        )
    )
    if waiting is not None:
        raise Conflict(f"a release request of this hit is already waiting for node {peer.name}")
    user = session.get(User, caller.user_id) if caller.user_id else None
    agency = session.get(Agency, caller.agency_id) if caller.agency_id else None
    if user is None or agency is None:
        raise Forbidden("only a person of the case's agency may ask for a release")
    row = ReleaseRequest(
        id=uuid.uuid4(),
        direction="outgoing",
        peer_id=peer.id,
        ref=hit.ref,
        hit_id=hit.id,
        requester_user_id=user.id,
        requester=f"{user.display_name} ({agency.name})",
        requester_agency_id=agency.id,
        reason=why,
        state=PENDING,
        created_at=utcnow(),
        attempts=0,
    )
    session.add(row)
    audit.record(
        session,
        caller,
        action="federation.release.request",
        operation=Operation.COLLECTION,
        subject_type="remote_hit",
        subject_id=hit.id,
        subject_agency_id=hit.agency_id,
        detail={"request": str(row.id), "node": peer.name, "reason": why},
    )
    session.flush()
    return row


def receive_decision(
    session: Session, peer_id: uuid.UUID, peer_name: str, request_id: uuid.UUID, body: ReleaseAnswer
) -> ReleaseRequest:
    """The owner's decision on one of this node's requests: stored once (the same decision
    again is answered as before; another one is refused), audited, the requester told."""
    row = session.get(ReleaseRequest, request_id)
    if row is None or row.direction != "outgoing" or row.peer_id != peer_id:
        raise NotFound("release request")
    if row.state != PENDING:
        if row.state == body.state:
            return row
        raise Conflict(f"release request {request_id} was {row.state} already")
    if body.state == APPROVED and body.details is None:
        raise Invalid("details", "an approval carries the released details")
    row.state = body.state
    row.decided_at = body.decided_at
    row.decided_by = body.decided_by
    row.decision_reason = body.reason
    row.details = body.details.model_dump() if body.state == APPROVED and body.details else {}
    hit = session.get(RemoteHit, row.hit_id) if row.hit_id else None
    audit.record(
        session,
        peering.node_caller(peer_name),
        action="federation.release.decision_received",
        operation=Operation.COLLECTION,
        subject_type="remote_hit",
        subject_id=row.hit_id,
        subject_agency_id=hit.agency_id if hit else row.requester_agency_id,
        detail={"request": str(row.id), "node": peer_name, "state": body.state},
    )
    requester = session.get(User, row.requester_user_id) if row.requester_user_id else None
    if requester is not None and hit is not None:
        _mail(
            session,
            requester.email,
            f"[taskforce] Release request {body.state} by node {peer_name}",
            f"Node {peer_name} {body.state} your request for the details of a {hit.kind} hit.\n"
            f"Open the hit in taskforce: {get_settings().public_url}/ui/hits/remote/{hit.id}\n",
        )
    session.flush()
    return row


# --- the owning node ---------------------------------------------------------------------------


def _withdrawn(session: Session, peer_id: uuid.UUID, ref: str) -> bool:
    """Whether this node once published `ref` to the peer (its feed still says so)."""
    return (
        session.scalar(
            select(FeedEntry.seq)
            .where(FeedEntry.peer_id == peer_id, FeedEntry.body.contains(f'"{ref}"'))
            .limit(1)
        )
        is not None
    )


def receive_request(
    session: Session, peer_id: uuid.UUID, peer_name: str, body: ReleaseAsk
) -> ReleaseRequest:
    """A peer's investigator asks for a hit's details: only of a ref this node publishes to
    that peer now. Stored once per id (a repeated delivery is answered as before), the owning
    case's agency told by e-mail and on its release requests page, audited."""
    existing = session.get(ReleaseRequest, body.id)
    if existing is not None:
        same = (existing.direction, existing.peer_id, existing.ref)
        if same == ("incoming", peer_id, body.ref):
            return existing
        raise Conflict(f"id: release request {body.id} is another request already")
    publication = session.scalar(
        select(Publication).where(Publication.peer_id == peer_id, Publication.ref == body.ref)
    )
    selector = session.get(Selector, publication.selector_id) if publication else None
    case = session.get(Case, selector.case_id) if selector else None
    if case is None:
        if _withdrawn(session, peer_id, body.ref):
            raise NotPublished(f"ref {body.ref} was withdrawn from your feed: nothing to release")
        raise NotPublished(f"ref {body.ref} is not published to your node")
    row = ReleaseRequest(
        id=body.id,
        direction="incoming",
        peer_id=peer_id,
        ref=body.ref,
        requester=body.requester,
        requester_agency_id=body.requester_agency_id,
        reason=body.reason,
        state=PENDING,
        created_at=utcnow(),
        case_id=case.id,
        attempts=0,
    )
    session.add(row)
    audit.record(
        session,
        peering.node_caller(peer_name),
        action="federation.release.received",
        operation=Operation.COLLECTION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={"request": str(row.id), "node": peer_name, "requester": body.requester},
    )
    agency = session.get(Agency, case.owner_agency_id)
    owner = additions.inbox_owners(session, [case]).get(case.id)
    for email in dict.fromkeys(
        e for e in (owner and owner.email, agency and agency.contact_email) if e
    ):
        _mail(
            session,
            email,
            f"[taskforce] Release request on {case.reference} from node {peer_name}",
            f"{body.requester}, on node {peer_name}, asks for the details of the {body.kind} "
            f"hit on your case {case.reference}.\nReason given: {body.reason}\n"
            f"Decide in taskforce: {get_settings().public_url}/ui/releases/{row.id}\n",
        )
    session.flush()
    return row


def node_name(session: Session, row: ReleaseRequest) -> str:
    peer = session.get(Peer, row.peer_id)
    return peer.name if peer else "?"


def _visible_incoming(
    session: Session, caller: Caller, request_id: uuid.UUID, *, action: str
) -> tuple[ReleaseRequest, Case]:
    """An incoming request of the caller's agency's case; else 404, audited."""
    caller.require(Permission.READ)
    row = session.get(ReleaseRequest, request_id)
    case = session.get(Case, row.case_id) if row is not None and row.case_id else None
    if (
        row is None
        or row.direction != "incoming"
        or case is None
        or caller.agency_id is None
        or not sharing.is_owner(case, caller)
    ):
        sharing.refuse(
            session,
            caller,
            action=action,
            subject_type="release_request",
            subject_id=request_id,
            missing="release request",
        )
    return row, case


def _details(session: Session, case: Case) -> ReleasedDetails:
    """What an approval releases: the case, its agency and its investigator's contact (the
    lead investigator, else whoever opened it; the phone is the agency's desk: people have
    none of their own here)."""
    agency = session.get(Agency, case.owner_agency_id)
    assert agency is not None
    person = additions.inbox_owners(session, [case]).get(case.id)
    return ReleasedDetails(
        case_reference=case.reference,
        case_title=case.title,
        agency=agency.code,
        agency_name=agency.name,
        investigator=person.display_name if person else "",
        email=person.email if person else agency.contact_email,
        phone=agency.contact_phone,
    )


def decide(
    session: Session, caller: Caller, request_id: uuid.UUID, *, approve: bool, reason: str
) -> ReleaseRequest:
    """The owning agency's admin or an investigator approves or refuses, with a reason either
    way; an approval discloses the details to the requesting node (audited as a disclosure,
    recipient the peer). The decision is delivered by the worker."""
    row, case = _visible_incoming(session, caller, request_id, action="federation.release.decide")
    if caller.role not in DECIDERS:
        raise Forbidden("only the owning agency's admin or an investigator decides a release")
    why = _reason(reason, "give the reason for the decision (at least 3 characters)")
    if row.state != PENDING:
        raise Conflict(f"the request was {row.state} already")
    peer = session.get(Peer, row.peer_id)
    assert peer is not None
    user = session.get(User, caller.user_id) if caller.user_id else None
    agency = session.get(Agency, case.owner_agency_id)
    assert agency is not None
    row.state = APPROVED if approve else REFUSED
    row.decided_at = utcnow()
    row.decided_by = f"{user.display_name if user else caller.label} ({agency.name})"
    row.decision_reason = why
    row.details = _details(session, case).model_dump() if approve else {}
    row.attempts, row.next_attempt_at, row.delivery_error = 0, None, None
    audit.record(
        session,
        caller,
        action="federation.release.decide",
        operation=Operation.ALTERATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={"request": str(row.id), "node": peer.name, "state": row.state, "reason": why},
    )
    if approve:
        audit.record(
            session,
            caller,
            action="federation.release.disclose",
            operation=Operation.DISCLOSURE,
            subject_type="case",
            subject_id=case.id,
            subject_agency_id=case.owner_agency_id,
            recipients=[peer.name],
            detail={"request": str(row.id), "to": row.requester, "fields": sorted(row.details)},
        )
    session.flush()
    return row


def incoming_read(session: Session, row: ReleaseRequest, case: Case) -> ReleaseRead:
    answer = hits.release_read(row, node_name(session, row), system_caller())
    details = {k: str(v) for k, v in row.details.items()} if row.details else None
    return answer.model_copy(
        update={"details": details, "case_id": case.id, "case_reference": case.reference}
    )


def incoming(session: Session, caller: Caller) -> list[ReleaseRead]:
    """Requests from other nodes about the caller's agency's cases, waiting ones first
    (audited)."""
    caller.require(Permission.READ)
    if caller.agency_id is None:
        return []
    rows = session.execute(
        select(ReleaseRequest, Case)
        .join(Case, Case.id == ReleaseRequest.case_id)
        .where(
            ReleaseRequest.direction == "incoming",
            sharing.owned_by(Case.owner_agency_id, caller),
        )
        .order_by(ReleaseRequest.created_at.desc())
        .limit(500)
    ).all()
    answer = [incoming_read(session, row, case) for row, case in rows]
    answer.sort(key=lambda r: r.state != PENDING)
    audit.record(
        session,
        caller,
        action="federation.release.list",
        operation=Operation.CONSULTATION,
        detail={"returned": len(answer)},
    )
    return answer


def waiting_count(session: Session, caller: Caller) -> int:
    """Requests from other nodes waiting for the caller's agency's decision (the dashboard's
    figure: a count, not audited)."""
    if caller.agency_id is None or not caller.can(Permission.READ):
        return 0
    return int(
        session.scalar(
            select(func.count())
            .select_from(ReleaseRequest)
            .join(Case, Case.id == ReleaseRequest.case_id)
            .where(
                ReleaseRequest.direction == "incoming",
                ReleaseRequest.state == PENDING,
                sharing.owned_by(Case.owner_agency_id, caller),
            )
        )
        or 0
    )


def get_incoming(session: Session, caller: Caller, request_id: uuid.UUID) -> ReleaseRead:
    row, case = _visible_incoming(session, caller, request_id, action="federation.release.read")
    audit.record(
        session,
        caller,
        action="federation.release.read",
        operation=Operation.CONSULTATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={"request": str(row.id)},
    )
    return incoming_read(session, row, case)


# --- delivery (the worker) ------------------------------------------------------------------


@dataclass(frozen=True)
class _Delivery:
    id: uuid.UUID
    node_id: uuid.UUID  # this node's
    peer_id: uuid.UUID
    name: str
    url: str
    path: str
    body: dict[str, Any]
    outgoing: bool


def _due(session: Session, now: datetime, limit: int) -> list[_Delivery]:
    """Claim the deliveries due (a lease, so a second worker leaves them alone)."""
    own = peering.node(session)
    if own is None:
        return []
    rows = session.execute(
        select(ReleaseRequest, Peer)
        .join(Peer, Peer.id == ReleaseRequest.peer_id)
        .where(
            Peer.state == "active",
            ReleaseRequest.delivered_at.is_(None),
            or_(
                and_(ReleaseRequest.direction == "outgoing", ReleaseRequest.state == PENDING),
                and_(ReleaseRequest.direction == "incoming", ReleaseRequest.state != PENDING),
            ),
            or_(ReleaseRequest.next_attempt_at.is_(None), ReleaseRequest.next_attempt_at <= now),
        )
        .order_by(ReleaseRequest.created_at)
        .limit(limit)
    ).all()
    found = []
    for row, peer in rows:
        row.next_attempt_at = now + LEASE
        found.append(
            _Delivery(row.id, own.id, peer.id, peer.name, peer.url, *_message(session, row))
        )
    return found


def _message(session: Session, row: ReleaseRequest) -> tuple[str, dict[str, Any], bool]:
    if row.direction == "outgoing":
        hit = session.get(RemoteHit, row.hit_id) if row.hit_id else None
        ask = {
            "id": str(row.id),
            "ref": row.ref,
            "kind": hit.kind if hit else "selector",
            "requester": row.requester,
            "requester_agency_id": str(row.requester_agency_id),
            "reason": row.reason,
        }
        return "/federation/v1/releases", ask, True
    answer = ReleaseAnswer(
        state=row.state,
        reason=row.decision_reason or "",
        decided_by=row.decided_by or "",
        decided_at=row.decided_at or utcnow(),
        details=ReleasedDetails(**row.details) if row.state == APPROVED else None,
    )
    return f"/federation/v1/releases/{row.id}/decision", answer.model_dump(mode="json"), False


def _backoff(attempts: int) -> timedelta:
    later: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(later, LAST_RETRY)


def deliver_due(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 50,
    **options: Any,
) -> int:
    """Send the requests and decisions not delivered yet; each outcome recorded in its own
    transaction. Returns how many were delivered."""
    now = now or utcnow()
    with unit_of_work(factory) as session:
        todo = _due(session, now, limit)
    done = 0
    for item in todo:
        error: str | None = None
        try:
            with transport.client(settings, item.node_id, item.url, **options) as http:
                transport.post_json(http, item.path, item.body, peer=item.name)
        except TaskforceError as failed:
            error = failed.message
        with unit_of_work(factory) as session:
            _record_delivery(session, item, error, now)
        done += error is None
    return done


def _record_delivery(session: Session, item: _Delivery, error: str | None, now: datetime) -> None:
    row = session.get(ReleaseRequest, item.id)
    if row is None:
        return
    what = "request" if item.outgoing else "decision"
    if error is None:
        row.delivered_at, row.delivery_error, row.next_attempt_at = utcnow(), None, None
    else:
        row.attempts += 1
        row.delivery_error = error[:500]
        row.next_attempt_at = now + _backoff(row.attempts)
    audit.record(
        session,
        system_caller("federation"),
        action=f"federation.release.{what}_sent",
        operation=Operation.DISCLOSURE,
        subject_type="release_request",
        subject_id=row.id,
        recipients=[item.name],
        outcome="ok" if error is None else "failed",
        detail={"node": item.name, "attempts": row.attempts, **({"error": error} if error else {})},
    )


def _mail(session: Session, recipient: str, subject: str, body: str) -> None:
    session.add(
        OutboxMessage(
            id=uuid.uuid4(),
            channel="email",
            recipient=recipient,
            subject=subject[:300],
            body=body,
            created_at=utcnow(),
            attempts=0,
        )
    )
