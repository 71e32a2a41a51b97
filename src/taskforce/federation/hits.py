"""Cross-node hits as this node's investigators see them: who may read one (exactly who may read
the local case's hits: the case's agency), what it says of the other side, and its notices.

What a hit says follows the peer's entry, never more: by default (RED) only "an agency on node
X holds a matching <type>" and that agency's 24/7 contact point from the peer's directory; the
case reference, title and investigator only where the peer's profile released them up front
(`RemoteEntry.details`) or its agency approved a release request (`release.py`), and then the
released details only to the person who asked.

New hits notify as local hits do (an e-mail to the case's inbox owner, the agency's webhook,
an audit entry). The in-app `Notification` table points at local hits only, so a cross-node
hit is not an entry there: it is in the hits inbox and its badge (`core.crossnode`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import additions
from taskforce.cases.models import Case, Selector
from taskforce.core import crossnode, sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, system_caller
from taskforce.core.db import utcnow
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import get_settings
from taskforce.federation.models import (
    PdqCandidate,
    Peer,
    PeerAgency,
    ReleaseRequest,
    RemoteEntry,
    RemoteHit,
)
from taskforce.federation.schemas import ContactRead, ReleaseRead, RemoteHitRead

UNKNOWN_DESK = "not in the peer's directory yet (sync it)"


def statement(node: str, kind: str, distance: int | None = None) -> str:
    """The words of a blind cross-node hit (a PDQ hit: with the distance its owner found)."""
    words = f"An agency on node {node} holds a matching {kind.replace('_', ' ')} selector."
    if distance is not None:
        words += f" That node confirmed it on its hash: Hamming distance {distance} of 256 bits."
    return words


def _confirmed_distance(session: Session, hit: RemoteHit, value_id: uuid.UUID) -> int | None:
    """The owner's distance for a PDQ hit (its confirmation, `pdq_rounds`)."""
    return session.scalar(
        select(PdqCandidate.distance).where(
            PdqCandidate.peer_id == hit.peer_id,
            PdqCandidate.ref == hit.ref,
            PdqCandidate.value_id == value_id,
            PdqCandidate.state == "hit",
        )
    )


# --- notices ----------------------------------------------------------------------------------


def notify_new(session: Session, hit_ids: Sequence[uuid.UUID]) -> None:
    """E-mail each new hit's case inbox owner (a link, no detail: the hit page decides what is
    shown), call the agency's webhook, and audit the hit on its case."""
    rows = session.execute(
        select(RemoteHit, Peer.name)
        .join(Peer, Peer.id == RemoteHit.peer_id)
        .where(RemoteHit.id.in_(list(hit_ids)))
    ).all()
    if not rows:
        return
    cases = {
        c.id: c
        for c in session.scalars(select(Case).where(Case.id.in_({h.case_id for h, _ in rows})))
    }
    owners = additions.inbox_owners(session, cases.values())
    agencies = agency_service.agencies_by_id(session, {c.owner_agency_id for c in cases.values()})
    public_url = get_settings().public_url
    now = utcnow()
    actions: list[audit.Action] = []
    messages: list[dict[str, Any]] = []
    for hit, node in rows:
        case = cases[hit.case_id]
        actions.append(
            audit.Action(
                action="federation.hit.found",
                operation=Operation.COLLECTION,
                subject_type="case",
                subject_id=case.id,
                subject_agency_id=case.owner_agency_id,
                detail={"hit": str(hit.id), "node": node, "selector_type": hit.kind},
            )
        )
        agency = agencies.get(case.owner_agency_id)
        messages.extend(
            additions.hit_messages(
                case,
                owners.get(case.id),
                agency.webhook_url if agency is not None else None,
                hit_id=hit.id,
                kind=hit.kind,
                holder=f"an agency on node {node}",
                link=f"{public_url}/ui/hits/remote/{hit.id}",
                now=now,
                node=node,
            )
        )
    audit.record_many(session, system_caller("federation"), actions)
    if messages:
        session.execute(insert(OutboxMessage), messages)


# --- the inbox's port (core.crossnode) -------------------------------------------------------


def unacknowledged_counts(session: Session, agency_id: uuid.UUID | None) -> dict[uuid.UUID, int]:
    """Cross-node hits waiting per agency: not acknowledged, not withdrawn."""
    query = (
        select(RemoteHit.agency_id, func.count())
        .where(RemoteHit.acknowledged_at.is_(None), RemoteHit.withdrawn_at.is_(None))
        .group_by(RemoteHit.agency_id)
    )
    if agency_id is not None:
        query = query.where(RemoteHit.agency_id == agency_id)
    return {agency: int(n) for agency, n in session.execute(query)}


def unacknowledged_per_case(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """The same per case (a case's open hits, what closing it asks a reason for)."""
    if not case_ids:
        return {}
    query = (
        select(RemoteHit.case_id, func.count())
        .where(
            RemoteHit.case_id.in_(case_ids),
            RemoteHit.acknowledged_at.is_(None),
            RemoteHit.withdrawn_at.is_(None),
        )
        .group_by(RemoteHit.case_id)
    )
    return {case_id: int(n) for case_id, n in session.execute(query)}


def _rows(session: Session, query: Any) -> list[tuple[RemoteHit, Peer, Case, Selector, Any, Any]]:
    """Each hit with its peer, case, selector, entry and the entry's agency (the last two may
    be gone: a withdrawn entry, an agency the directory no longer names)."""
    return [
        (hit, peer, case, selector, entry, agency)
        for hit, peer, case, selector, entry, agency in session.execute(
            query.join(Peer, Peer.id == RemoteHit.peer_id)
            .join(Case, Case.id == RemoteHit.case_id)
            .join(Selector, Selector.id == RemoteHit.selector_id)
            .outerjoin(
                RemoteEntry,
                (RemoteEntry.peer_id == RemoteHit.peer_id) & (RemoteEntry.ref == RemoteHit.ref),
            )
            .outerjoin(
                PeerAgency,
                (PeerAgency.peer_id == RemoteHit.peer_id)
                & (PeerAgency.agency_id == RemoteEntry.agency_id),
            )
        )
    ]


_COLUMNS = (RemoteHit, Peer, Case, Selector, RemoteEntry, PeerAgency)


def _contact(agency: PeerAgency | None) -> ContactRead:
    if agency is None:
        return ContactRead(desk=UNKNOWN_DESK, phone="", email="", timezone="")
    return ContactRead(
        desk=agency.contact_desk,
        phone=agency.contact_phone,
        email=agency.contact_email,
        timezone=agency.timezone,
    )


def crossnode_hits(
    session: Session, agency_id: uuid.UUID, case_id: uuid.UUID | None, limit: int
) -> list[crossnode.CrossNodeHit]:
    """The agency's cross-node hits for its inbox (the caller's access is checked by the
    inbox, which audits the listing)."""
    query = select(*_COLUMNS).where(RemoteHit.agency_id == agency_id)
    if case_id is not None:
        query = query.where(RemoteHit.case_id == case_id)
    query = query.order_by(RemoteHit.created_at.desc()).limit(min(limit, 1000))
    found = []
    for hit, peer, case, selector, entry, agency in _rows(session, query):
        contact = _contact(agency)
        details = entry.details if entry is not None else {}
        found.append(
            crossnode.CrossNodeHit(
                id=hit.id,
                kind=hit.kind,
                created_at=hit.created_at,
                case_id=case.id,
                case_reference=case.reference,
                case_title=case.title,
                selector_value=selector.value,
                node=peer.name,
                agency_name=(agency.name if agency is not None and details else None),
                contact_desk=contact.desk,
                contact_phone=contact.phone,
                contact_email=contact.email,
                contact_timezone=contact.timezone,
                acknowledged_at=hit.acknowledged_at,
                withdrawn_at=hit.withdrawn_at,
            )
        )
    return found


# --- release requests as the hit page shows them (`release.py` makes and decides them) ------


def release_read(request: ReleaseRequest, node: str, caller: Caller) -> ReleaseRead:
    """The request as the caller may see it: the released details only to its requester."""
    mine = request.requester_user_id is not None and request.requester_user_id == caller.user_id
    return ReleaseRead(
        id=request.id,
        direction=request.direction,
        state=request.state,
        node=node,
        ref=request.ref,
        created_at=request.created_at,
        requester=request.requester,
        reason=request.reason,
        decided_at=request.decided_at,
        decided_by=request.decided_by,
        decision_reason=request.decision_reason,
        details=dict(request.details) if mine and request.details else None,
        released_to_caller=mine and request.state == "approved",
        delivered_at=request.delivered_at,
        delivery_error=request.delivery_error,
    )


def releases_of(session: Session, caller: Caller, hit: RemoteHit) -> list[ReleaseRead]:
    """The release requests made of a hit, oldest first."""
    rows = session.execute(
        select(ReleaseRequest, Peer.name)
        .join(Peer, Peer.id == ReleaseRequest.peer_id)
        .where(ReleaseRequest.hit_id == hit.id, ReleaseRequest.direction == "outgoing")
        .order_by(ReleaseRequest.created_at)
    ).all()
    return [release_read(request, node, caller) for request, node in rows]


# --- reading and acknowledging ----------------------------------------------------------------


def visible_hit(session: Session, caller: Caller, hit_id: uuid.UUID, *, action: str) -> RemoteHit:
    """The hit, if the caller's agency holds its case; else a refusal audited as `action`
    and answered 404, as for a local hit of another agency."""
    caller.require(Permission.READ)
    hit = session.get(RemoteHit, hit_id)
    if hit is None or caller.agency_id is None or hit.agency_id != caller.agency_id:
        sharing.refuse(
            session,
            caller,
            action=action,
            subject_type="remote_hit",
            subject_id=hit_id,
            missing="hit",
        )
    return hit


def view(session: Session, caller: Caller, hit: RemoteHit) -> RemoteHitRead:
    """The hit as its case's agency sees it, with the release requests made of it."""
    [(_, peer, case, selector, entry, agency)] = _rows(
        session, select(*_COLUMNS).where(RemoteHit.id == hit.id)
    )
    details = dict(entry.details) if entry is not None and entry.details else {}
    return RemoteHitRead(
        id=hit.id,
        type=hit.kind,
        created_at=hit.created_at,
        case_id=case.id,
        case_reference=case.reference,
        case_title=case.title,
        selector_value=selector.value,
        node=peer.name,
        node_country=peer.country,
        statement=statement(
            peer.name,
            hit.kind,
            _confirmed_distance(session, hit, selector.value_id) if hit.kind == "pdq" else None,
        ),
        disclosure="details" if details else "blind",
        agency_name=agency.name if agency is not None and details else None,
        contact=_contact(agency),
        details=details or None,
        level=entry.level if entry is not None else None,
        acknowledged_at=hit.acknowledged_at,
        withdrawn_at=hit.withdrawn_at,
        releases=releases_of(session, caller, hit),
    )


def get_hit(session: Session, caller: Caller, hit_id: uuid.UUID) -> RemoteHitRead:
    """Read one cross-node hit (audited as a consultation of the case's hit)."""
    hit = visible_hit(session, caller, hit_id, action="federation.hit.read")
    answer = view(session, caller, hit)
    audit.record(
        session,
        caller,
        action="federation.hit.read",
        operation=Operation.CONSULTATION,
        subject_type="remote_hit",
        subject_id=hit.id,
        subject_agency_id=hit.agency_id,
        detail={
            "node": answer.node,
            "disclosure": answer.disclosure,
            # released details read by the one person they were released to
            "released_shown": [str(r.id) for r in answer.releases if r.details],
        },
    )
    return answer


def list_hits(
    session: Session, caller: Caller, *, case_id: uuid.UUID | None = None, limit: int = 200
) -> list[RemoteHitRead]:
    """The caller's agency's cross-node hits, newest first (audited)."""
    caller.require(Permission.READ)
    if caller.agency_id is None:
        return []
    query = select(RemoteHit).where(RemoteHit.agency_id == caller.agency_id)
    if case_id is not None:
        query = query.where(RemoteHit.case_id == case_id)
    found = session.scalars(query.order_by(RemoteHit.created_at.desc()).limit(min(limit, 1000)))
    answer = [view(session, caller, hit) for hit in found]
    audit.record(
        session,
        caller,
        action="federation.hit.list",
        operation=Operation.CONSULTATION,
        subject_type="case" if case_id else None,
        subject_id=case_id,
        detail={"returned": len(answer)},
    )
    return answer


def acknowledge(session: Session, caller: Caller, hit_id: uuid.UUID) -> RemoteHitRead:
    """The caller's desk has taken the hit up: it leaves the badge (audited; again is a
    no-op)."""
    hit = visible_hit(session, caller, hit_id, action="federation.hit.acknowledge")
    caller.require(Permission.ASSESS_HIT)
    if hit.acknowledged_at is None:
        hit.acknowledged_at = utcnow()
        audit.record(
            session,
            caller,
            action="federation.hit.acknowledge",
            operation=Operation.ALTERATION,
            subject_type="remote_hit",
            subject_id=hit.id,
            subject_agency_id=hit.agency_id,
        )
        session.flush()
    return view(session, caller, hit)
