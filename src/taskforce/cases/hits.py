"""Hits and their notifications: what each side of a hit may read of the other, the assessment
of a hit, and the notification inbox it feeds.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TypeVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from taskforce.agencies.models import Agency
from taskforce.cases.models import (
    Case,
    Hit,
    Notification,
    Selector,
)
from taskforce.cases.schemas import (
    Assessment,
    ContactPointRead,
    HitRead,
    NotificationRead,
    OtherSide,
)
from taskforce.cases.service import record_history
from taskforce.core import crossnode, sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import NotFound

# --- hits -------------------------------------------------------------------------------------


_Row = TypeVar("_Row", Case, Selector, Agency)


def _unacknowledged(session: Session, agency_id: uuid.UUID | None = None) -> dict[uuid.UUID, int]:
    """The one definition of "unacknowledged hits": per agency, the hit sides on its cases it
    has not acknowledged (assessed) yet; a hit between two of its own cases counts twice, as
    `list_hits` shows it twice; and its cross-node hits not acknowledged (nor withdrawn by the
    other node), each once (`core.crossnode`). The header's badge and both dashboards read
    it."""
    counts = crossnode.unacknowledged(session, agency_id)
    for agency, acknowledged in (
        (Hit.a_agency_id, Hit.a_acknowledged_at),
        (Hit.b_agency_id, Hit.b_acknowledged_at),
    ):
        query = select(agency, func.count()).where(acknowledged.is_(None)).group_by(agency)
        if agency_id is not None:
            query = query.where(agency == agency_id)
        for owner, n in session.execute(query):
            counts[owner] = counts.get(owner, 0) + int(n)
    return counts


def unacknowledged_count(session: Session, caller: Caller) -> int:
    """Hits waiting for the caller's agency (the header's badge and the dashboard; counts
    only, not audited)."""
    if caller.agency_id is None or not caller.can(Permission.READ):
        return 0
    return _unacknowledged(session, caller.agency_id).get(caller.agency_id, 0)


def unacknowledged_per_agency(session: Session, caller: Caller) -> list[tuple[Agency, int]]:
    """The coordinator's view: each member's unacknowledged hits, most first (counts only)."""
    caller.require(Permission.OVERSEE_NETWORK)
    counts = _unacknowledged(session)
    agencies = session.scalars(select(Agency).where(Agency.id.in_(list(counts)))).all()
    rows = [(agency, counts[agency.id]) for agency in agencies if counts[agency.id]]
    return sorted(rows, key=lambda row: (-row[1], row[0].code))


def _side(hit: Hit, agency_id: uuid.UUID | None) -> str | None:
    if hit.a_agency_id == agency_id:
        return "a"
    if hit.b_agency_id == agency_id:
        return "b"
    return None


def hit_view(session: Session, caller: Caller, hit: Hit, *, side: str | None = None) -> HitRead:
    """The hit as the caller's agency may see it; the other side's case only if visible."""
    if side is not None:
        return hit_views(session, caller, [(hit, side)])[0]
    return views_of(session, caller, [hit])[0]


def views_of(session: Session, caller: Caller, hits: Sequence[Hit]) -> list[HitRead]:
    """`hit_view` of many hits at once (an addition's reply), each from the caller's side."""
    sides: list[tuple[Hit, str]] = []
    for hit in hits:
        side = _side(hit, caller.agency_id)
        if side is None:
            raise NotFound("hit")
        sides.append((hit, side))
    return hit_views(session, caller, sides)


def hit_views(session: Session, caller: Caller, sides: Sequence[tuple[Hit, str]]) -> list[HitRead]:
    """Many hits as the caller's agency may see them, each from its side ("a" or "b"), with
    the cases, selectors, agencies and sharing partners they name read in four queries,
    however many hits there are (one query per hit made the hit list the API's slowest read).
    The disclosure rule is `sharing.sees`, the same as `sharing.can_see`."""
    if not sides:
        return []
    mine_of = {(hit.id, side): _mine(hit, side) for hit, side in sides}
    case_ids = {
        c for mine_case, _, theirs_case in mine_of.values() for c in (mine_case, theirs_case)
    }
    cases = _in_session(session, Case, case_ids)
    if len(cases) < len(case_ids):
        missing = case_ids - cases.keys()
        cases.update((c.id, c) for c in session.scalars(select(Case).where(Case.id.in_(missing))))
    wanted = {sel for _, sel, _ in mine_of.values()}
    values = {i: s.value for i, s in _in_session(session, Selector, wanted).items()}
    if len(values) < len(wanted):
        missing = wanted - values.keys()
        values.update(
            (i, v)
            for i, v in session.execute(
                select(Selector.id, Selector.value).where(Selector.id.in_(missing))
            )
        )
    theirs_cases = [cases[theirs] for _, _, theirs in mine_of.values()]
    agency_ids = {c.owner_agency_id for c in theirs_cases}
    agencies = _in_session(session, Agency, agency_ids)
    if len(agencies) < len(agency_ids):
        missing = agency_ids - agencies.keys()
        agencies.update(
            (a.id, a) for a in session.scalars(select(Agency).where(Agency.id.in_(missing)))
        )
    amber = [
        c.id
        for c in theirs_cases
        if c.sharing == sharing.SharingLevel.AMBER and not sharing.owns(caller.agency_id, c)
    ]
    partners = sharing.partner_ids_of(session, Case, amber) if amber else {}
    views: list[HitRead] = []
    for hit, side in sides:
        mine_case_id, mine_sel_id, theirs_case_id = mine_of[hit.id, side]
        mine, theirs = cases[mine_case_id], cases[theirs_case_id]
        agency = agencies[theirs.owner_agency_id]
        contact = ContactPointRead(
            desk=agency.contact_desk,
            phone=agency.contact_phone,
            email=agency.contact_email,
            timezone=agency.timezone,
        )
        if caller.agency_id is not None and sharing.sees(
            caller.agency_id, theirs, partners.get(theirs.id, set())
        ):
            other = OtherSide(
                disclosure="full",
                selector_type=hit.kind,
                case_id=theirs.id,
                reference=theirs.reference,
                title=theirs.title,
                agency=agency.code,
                agency_name=agency.name,
                contact=contact,
            )
        else:
            other = OtherSide(disclosure="blind", selector_type=hit.kind, contact=contact)
        assessment = hit.a_assessment if side == "a" else hit.b_assessment
        views.append(
            HitRead(
                id=hit.id,
                type=hit.kind,
                distance=hit.distance,
                created_at=hit.created_at,
                case_id=mine.id,
                case_reference=mine.reference,
                case_title=mine.title,
                selector_value=values[mine_sel_id],
                other=other,
                acknowledged_at=hit.a_acknowledged_at if side == "a" else hit.b_acknowledged_at,
                assessment=Assessment(assessment) if assessment else None,
            )
        )
    return views


def _in_session(
    session: Session, model: type[_Row], ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, _Row]:
    """The rows of these ids the session holds already (an addition's reply: the engine has
    just read the cases and agencies, and written the selector), so only the others are read."""
    found: dict[uuid.UUID, _Row] = {}
    for row_id in ids:
        row = session.identity_map.get(identity_key(model, row_id))
        if row is not None:
            found[row_id] = row
    return found


def _mine(hit: Hit, side: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(my case, my selector, their case) of a hit seen from `side`."""
    if side == "a":
        return hit.a_case_id, hit.a_selector_id, hit.b_case_id
    return hit.b_case_id, hit.b_selector_id, hit.a_case_id


def list_hits(
    session: Session,
    caller: Caller,
    *,
    case_id: uuid.UUID | None = None,
    unacknowledged: bool = False,
    limit: int = 200,
) -> list[HitRead]:
    """Hits on the caller's agency's cases, newest first; each is audited as a consultation.
    `unacknowledged` is part of the query, so the newest `limit` unacknowledged hits come back
    even when newer acknowledged ones exist."""
    caller.require(Permission.READ)
    if caller.agency_id is None:
        return []
    me = caller.agency_id
    side_a = [Hit.a_agency_id == me]
    side_b = [Hit.b_agency_id == me]
    if case_id is not None:
        side_a.append(Hit.a_case_id == case_id)
        side_b.append(Hit.b_case_id == case_id)
    if unacknowledged:
        side_a.append(Hit.a_acknowledged_at.is_(None))
        side_b.append(Hit.b_acknowledged_at.is_(None))
    stmt = select(Hit).where(or_(and_(*side_a), and_(*side_b)))
    hits = session.scalars(stmt.order_by(Hit.created_at.desc()).limit(min(limit, 1000))).all()
    sides: list[tuple[Hit, str]] = []
    for hit in hits:
        for side in ("a", "b"):
            if getattr(hit, f"{side}_agency_id") != me:
                continue
            if case_id is not None and getattr(hit, f"{side}_case_id") != case_id:
                continue
            if unacknowledged and getattr(hit, f"{side}_acknowledged_at") is not None:
                continue
            sides.append((hit, side))
    views = hit_views(session, caller, sides)
    for remote in crossnode.hits_of(session, me, case_id, limit):
        if unacknowledged and (remote.acknowledged_at or remote.withdrawn_at):
            continue
        views.append(_remote_view(remote))
    views.sort(key=lambda v: v.created_at, reverse=True)
    audit.record(
        session,
        caller,
        action="hit.list",
        operation=Operation.CONSULTATION,
        subject_type="case" if case_id else None,
        subject_id=case_id,
        detail={"returned": len(views)},
    )
    return views


def _remote_view(hit: crossnode.CrossNodeHit) -> HitRead:
    """A cross-node hit as an inbox line: the other side is blind unless the other node
    released details, and is marked with the node."""
    return HitRead(
        id=hit.id,
        type=hit.kind,
        distance=0,
        created_at=hit.created_at,
        case_id=hit.case_id,
        case_reference=hit.case_reference,
        case_title=hit.case_title,
        selector_value=hit.selector_value,
        other=OtherSide(
            disclosure="blind",
            selector_type=hit.kind,
            agency_name=hit.agency_name,
            node=hit.node,
            contact=ContactPointRead(
                desk=hit.contact_desk,
                phone=hit.contact_phone,
                email=hit.contact_email,
                timezone=hit.contact_timezone,
            ),
        ),
        acknowledged_at=hit.acknowledged_at,
        assessment=None,
        withdrawn_at=hit.withdrawn_at,
    )


def get_hit(session: Session, caller: Caller, hit_id: uuid.UUID) -> HitRead:
    caller.require(Permission.READ)
    hit = session.get(Hit, hit_id)
    if hit is None or _side(hit, caller.agency_id) is None:
        sharing.refuse(
            session, caller, action="hit.read", subject_type="hit", subject_id=hit_id, missing="hit"
        )
    view = hit_view(session, caller, hit)
    audit.record(
        session,
        caller,
        action="hit.read",
        operation=Operation.CONSULTATION,
        subject_type="hit",
        subject_id=hit.id,
        subject_agency_id=caller.agency_id,
        detail={"disclosure": view.other.disclosure},
    )
    _mark_notifications_read(session, caller, hit.id)
    return view


def assess_hit(
    session: Session, caller: Caller, hit_id: uuid.UUID, assessment: Assessment | None
) -> HitRead:
    """Acknowledge a hit for the caller's side, optionally with an assessment."""
    hit = session.get(Hit, hit_id)
    side = _side(hit, caller.agency_id) if hit is not None else None
    if hit is None or side is None:
        raise NotFound("hit")
    caller.require(Permission.ASSESS_HIT)
    now = utcnow()
    for s in ("a", "b"):
        if getattr(hit, f"{s}_agency_id") != caller.agency_id:
            continue
        if getattr(hit, f"{s}_acknowledged_at") is None:
            setattr(hit, f"{s}_acknowledged_at", now)
        if assessment is not None:
            setattr(hit, f"{s}_assessment", assessment.value)
        case = session.get(Case, getattr(hit, f"{s}_case_id"))
        assert case is not None
        record_history(
            session,
            caller,
            case,
            "hit_assessed",
            {"hit": str(hit.id), "assessment": assessment.value if assessment else "acknowledged"},
        )
    audit.record(
        session,
        caller,
        action="hit.assess",
        operation=Operation.ALTERATION,
        subject_type="hit",
        subject_id=hit.id,
        subject_agency_id=caller.agency_id,
        detail={"assessment": assessment.value if assessment else None},
    )
    _mark_notifications_read(session, caller, hit.id)
    session.flush()
    return hit_view(session, caller, hit, side=side)


# --- notifications -------------------------------------------------------------------------------


def _mark_notifications_read(session: Session, caller: Caller, hit_id: uuid.UUID) -> None:
    if caller.user_id is None:
        return
    for note in session.scalars(
        select(Notification).where(
            Notification.user_id == caller.user_id,
            Notification.hit_id == hit_id,
            Notification.read_at.is_(None),
        )
    ):
        note.read_at = utcnow()


def unread_count(session: Session, caller: Caller) -> int:
    if caller.user_id is None:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == caller.user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def list_notifications(
    session: Session, caller: Caller, *, unread_only: bool = False, limit: int = 100
) -> list[NotificationRead]:
    stmt = (
        select(Notification, Case.reference, Hit.kind)
        .join(Case, Case.id == Notification.case_id)
        .join(Hit, Hit.id == Notification.hit_id)
        .where(Notification.user_id == caller.user_id)
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = session.execute(
        stmt.order_by(Notification.created_at.desc()).limit(min(limit, 500))
    ).all()
    return [
        NotificationRead(
            id=n.id,
            hit_id=n.hit_id,
            case_id=n.case_id,
            case_reference=ref,
            selector_type=kind,
            created_at=n.created_at,
            read_at=n.read_at,
        )
        for n, ref, kind in rows
    ]


def mark_notification_read(session: Session, caller: Caller, notification_id: uuid.UUID) -> None:
    note = session.get(Notification, notification_id)
    if note is None or note.user_id != caller.user_id:
        raise NotFound("notification")
    if note.read_at is None:
        note.read_at = utcnow()
    session.flush()
