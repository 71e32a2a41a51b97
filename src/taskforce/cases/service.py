"""Cases: open, read, list, edit, close and reopen a case, with its history; and the noise list.

An agency registers a case and attaches selectors (typed identifiers); the moment one is added
it is compared with every other case's selectors and each match is a *hit* between two cases.
The domain's modules: this one keeps cases; `additions.py` adds selectors through the one
engine, `deconfliction.py` (noise, the common-value cap, exact and PDQ matching, hits, lock
order); `hits.py` decides what each side of a hit may read of the other, when it is read, and
keeps the notifications; `search.py` finds the visible cases holding a value.

Over-correlation is kept in check as MISP does: values on the noise list never make hits,
and a value held by more than `common_value_case_limit` cases is marked common and stops
making new hits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.cases import noise as builtin_noise
from taskforce.cases.models import (
    Case,
    CaseEvent,
    Hit,
    NoiseEntry,
    Selector,
)
from taskforce.cases.schemas import (
    OFFENCE_TYPES,
    CaseCreate,
    CaseRead,
    CaseStatus,
    CaseSummary,
    CaseUpdate,
    NoiseRead,
)
from taskforce.core import crossnode, sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.sharing import SharingLevel

MIN_PURPOSE_LENGTH = 8

# --- cases ----------------------------------------------------------------------------------


def _next_reference(session: Session, agency: Agency) -> str:
    """`GB-NCA-2026-0007`: readable over the phone. Numbering is serialised per agency."""
    year = utcnow().year
    if is_postgres(session):
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"case-ref:{agency.code}"}
        )
    prefix = f"{agency.code}-{year}-"
    last = session.scalar(
        select(Case.reference)
        .where(Case.reference.startswith(prefix))
        .order_by(Case.reference.desc())
        .limit(1)
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:04d}"


def _check_offence_types(values: Sequence[str]) -> list[str]:
    cleaned = [v.strip().lower() for v in values if v.strip()]
    unknown = [v for v in cleaned if v not in OFFENCE_TYPES]
    if unknown:
        raise Invalid("offence_types", f"each must be one of: {', '.join(OFFENCE_TYPES)}")
    return list(dict.fromkeys(cleaned))


def _lead_investigator(session: Session, caller: Caller, email: str | None) -> uuid.UUID | None:
    if not email:
        return None
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.agency_id != caller.agency_id:
        raise Invalid("lead_investigator", "must be the e-mail of a user of your agency")
    return user.id


def record_history(
    session: Session, caller: Caller, case: Case, action: str, changes: dict[str, Any]
) -> None:
    event = CaseEvent(
        case_id=case.id,
        actor_user_id=caller.user_id,
        actor_label=caller.label,
        action=action,
        changes=changes,
    )
    insert_new(session, [event])


def open_case(session: Session, caller: Caller, data: CaseCreate) -> Case:
    caller.require(Permission.OPEN_CASE)
    if caller.agency_id is None:
        raise Forbidden("only members of an agency open cases")
    agency = session.get(Agency, caller.agency_id)
    assert agency is not None
    partners = sharing.amber_partners(
        caller,
        data.sharing,
        data.partners,
        lambda c: agency_service.resolve_codes(session, c),
        noun="case",
    )
    case = Case(
        reference=_next_reference(session, agency),
        title=data.title.strip(),
        summary=data.summary.strip(),
        offence_types=_check_offence_types(data.offence_types),
        status=CaseStatus.OPEN.value,
        sharing=data.sharing,
        owner_agency_id=agency.id,
        lead_investigator_id=_lead_investigator(session, caller, data.lead_investigator)
        or caller.user_id,
        created_by_id=caller.user_id,
    )
    session.add(case)
    session.flush()
    sharing.set_partners(session, case, [a.id for a in partners])
    record_history(
        session,
        caller,
        case,
        "opened",
        {"title": case.title, "sharing": case.sharing, "partners": [a.code for a in partners]},
    )
    audit.record(
        session,
        caller,
        action="case.open",
        operation=Operation.COLLECTION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
    )
    return case


def _visible_case(session: Session, caller: Caller, case_id: uuid.UUID) -> Case:
    return sharing.visible_or_404(
        session, caller, Case, case_id, subject_type="case", action="case.read", permission=None
    )


def owned_case(
    session: Session, caller: Caller, case_id: uuid.UUID, permission: Permission
) -> Case:
    case = _visible_case(session, caller, case_id)
    sharing.require_owner(case, caller, Forbidden("only the owning agency changes a case"))
    caller.require(permission)
    return case


def get_case(session: Session, caller: Caller, case_id: uuid.UUID) -> Case:
    """A case the caller may see; audited as a consultation (also when refused)."""
    caller.require(Permission.READ)
    case = _visible_case(session, caller, case_id)
    audit.record(
        session,
        caller,
        action="case.read",
        operation=Operation.CONSULTATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
    )
    return case


def describe_case(session: Session, caller: Caller, case: Case) -> CaseRead:
    agencies = agency_service.agencies_by_id(
        session, {case.owner_agency_id} | sharing.partner_ids(session, case)
    )
    lead = session.get(User, case.lead_investigator_id) if case.lead_investigator_id else None
    summary = _summaries(session, caller, [case])[0]
    is_owner = sharing.is_owner(case, caller)
    return CaseRead(
        **summary.model_dump(),
        summary=case.summary,
        offence_types=list(case.offence_types or []),
        partners=sorted(a.code for i, a in agencies.items() if not sharing.owns(i, case))
        if is_owner or case.sharing != SharingLevel.AMBER
        else [],
        lead_investigator=lead.email if lead and is_owner else None,
        closed_at=case.closed_at,
        is_owner=is_owner,
        not_for_export=case.not_for_export,
    )


def _summaries(session: Session, caller: Caller, cases: Sequence[Case]) -> list[CaseSummary]:
    if not cases:
        return []
    ids = [c.id for c in cases]
    counts = dict(
        session.execute(
            select(Selector.case_id, func.count())
            .where(Selector.case_id.in_(ids))
            .group_by(Selector.case_id)
        ).all()
    )
    open_hits: dict[uuid.UUID, int] = {}
    for side_case, side_ack in (
        (Hit.a_case_id, Hit.a_acknowledged_at),
        (Hit.b_case_id, Hit.b_acknowledged_at),
    ):
        for case_id, n in session.execute(
            select(side_case, func.count())
            .where(side_case.in_(ids), side_ack.is_(None))
            .group_by(side_case)
        ).all():
            open_hits[case_id] = open_hits.get(case_id, 0) + n
    # and those with other nodes' entries (`core.crossnode`): one count of what waits
    for case_id, n in crossnode.unacknowledged_per_case(session, ids).items():
        open_hits[case_id] = open_hits.get(case_id, 0) + n
    agencies = agency_service.agencies_by_id(session, {c.owner_agency_id for c in cases})
    return [
        CaseSummary(
            id=c.id,
            reference=c.reference,
            title=c.title,
            status=CaseStatus(c.status),
            sharing=SharingLevel(c.sharing),
            agency=agencies[c.owner_agency_id].code,
            created_at=c.created_at,
            updated_at=c.updated_at,
            selector_count=counts.get(c.id, 0),
            open_hits=open_hits.get(c.id, 0) if sharing.is_owner(c, caller) else 0,
        )
        for c in cases
    ]


@dataclass(frozen=True)
class CasePage:
    items: list[CaseSummary]
    total: int


def list_cases(
    session: Session,
    caller: Caller,
    *,
    scope: str = "visible",
    status: CaseStatus | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> CasePage:
    """Cases the caller may see: `scope` "mine" (own agency) or "visible" (all they may see)."""
    caller.require(Permission.READ)
    stmt = sharing.visible(select(Case), Case, caller)
    if scope == "mine":
        stmt = stmt.where(sharing.owned_by(Case.owner_agency_id, caller))
    if status is not None:
        stmt = stmt.where(Case.status == status.value)
    if query:
        like = f"%{query.strip()[:100]}%"
        stmt = stmt.where(or_(Case.title.ilike(like), Case.reference.ilike(like)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    cases = session.scalars(
        stmt.order_by(Case.updated_at.desc(), Case.reference).limit(min(limit, 500)).offset(offset)
    ).all()
    audit.record(
        session,
        caller,
        action="case.list",
        operation=Operation.CONSULTATION,
        detail={"scope": scope, "query": query or "", "returned": len(cases)},
    )
    return CasePage(items=_summaries(session, caller, cases), total=total)


def update_case(session: Session, caller: Caller, case_id: uuid.UUID, data: CaseUpdate) -> Case:
    case = owned_case(session, caller, case_id, Permission.OPEN_CASE)
    changes: dict[str, Any] = {}
    fields = data.model_dump(exclude_unset=True)
    if "offence_types" in fields and fields["offence_types"] is not None:
        fields["offence_types"] = _check_offence_types(fields["offence_types"])
    if "lead_investigator" in fields:
        lead = _lead_investigator(session, caller, fields.pop("lead_investigator"))
        if lead != case.lead_investigator_id:
            changes["lead_investigator"] = [
                str(case.lead_investigator_id) if case.lead_investigator_id else None,
                str(lead) if lead else None,
            ]
            case.lead_investigator_id = lead
    new_level = SharingLevel(fields.pop("sharing", None) or case.sharing)
    partner_codes = fields.pop("partners", None)
    if new_level != case.sharing or partner_codes is not None:
        old_partners = sharing.partner_ids(session, case)
        if partner_codes is None:
            codes = [a.code for a in agency_service.agencies_by_id(session, old_partners).values()]
            partner_codes = codes if new_level == SharingLevel.AMBER else []
        partners = sharing.amber_partners(
            caller,
            new_level,
            partner_codes,
            lambda c: agency_service.resolve_codes(session, c),
            noun="case",
        )
        if new_level != case.sharing:
            changes["sharing"] = [case.sharing, new_level.value]
            case.sharing = new_level
        if {a.id for a in partners} != old_partners:
            changes["partners"] = [
                sorted(
                    a.code for a in agency_service.agencies_by_id(session, old_partners).values()
                ),
                sorted(a.code for a in partners),
            ]
            sharing.set_partners(session, case, [a.id for a in partners])
    for name in ("title", "summary", "offence_types", "not_for_export"):
        if name in fields and fields[name] is not None:
            value = fields[name].strip() if isinstance(fields[name], str) else fields[name]
            if getattr(case, name) != value:
                changes[name] = [getattr(case, name), value]
                setattr(case, name, value)
    if changes:
        case.updated_at = utcnow()
        record_history(session, caller, case, "edited", changes)
        audit.record(
            session,
            caller,
            action="case.update",
            operation=Operation.ALTERATION,
            subject_type="case",
            subject_id=case.id,
            subject_agency_id=case.owner_agency_id,
            detail={"fields": sorted(changes)},
        )
    session.flush()
    return case


def set_status(
    session: Session, caller: Caller, case_id: uuid.UUID, status: CaseStatus, reason: str = ""
) -> Case:
    """Close or reopen a case. Closing one whose hits are not all acknowledged needs a reason
    (at least 3 characters): the other agencies are waiting on them, so the history and the
    audit say why they were left open."""
    case = owned_case(session, caller, case_id, Permission.OPEN_CASE)
    if case.status == status.value:
        return case
    reason = " ".join(reason.split())[:1000]
    open_hits = _summaries(session, caller, [case])[0].open_hits
    if status == CaseStatus.CLOSED and open_hits and len(reason) < 3:
        raise Invalid(
            "reason",
            f"the case has {open_hits} unacknowledged hit{'' if open_hits == 1 else 's'}: "
            "give a reason (at least 3 characters) to close it anyway",
        )
    case.status = status.value
    case.closed_at = utcnow() if status == CaseStatus.CLOSED else None
    case.updated_at = utcnow()
    action = "closed" if status == CaseStatus.CLOSED else "reopened"
    changes: dict[str, Any] = {"status": [_other(status).value, status.value]}
    detail: dict[str, Any] = {}
    if reason:
        changes["reason"] = [None, reason]
        detail["reason"] = reason
    if status == CaseStatus.CLOSED and open_hits:
        detail["open_hits"] = open_hits
    record_history(session, caller, case, action, changes)
    audit.record(
        session,
        caller,
        action=f"case.{action}",
        operation=Operation.ALTERATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail=detail or None,
    )
    session.flush()
    return case


def require_open(case: Case) -> None:
    """A closed case keeps deconflicting against new selectors, but takes no new ones."""
    if case.status == CaseStatus.CLOSED.value:
        raise Conflict(f"case {case.reference} is closed; reopen it to add selectors")


def _other(status: CaseStatus) -> CaseStatus:
    return CaseStatus.OPEN if status == CaseStatus.CLOSED else CaseStatus.CLOSED


def find_case(session: Session, caller: Caller, reference: str) -> Case:
    """A visible case by its reference (`GB-NCA-2026-0007`): the console's way to name one."""
    case_id = session.scalar(select(Case.id).where(Case.reference == reference.strip().upper()))
    if case_id is None:
        raise NotFound("case")
    return _visible_case(session, caller, case_id)


def case_history(session: Session, caller: Caller, case_id: uuid.UUID) -> list[CaseEvent]:
    case = _visible_case(session, caller, case_id)
    if not sharing.is_owner(case, caller):
        return []
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at)
        )
    )


# --- noise list -------------------------------------------------------------------------------


def list_noise(session: Session, caller: Caller) -> list[NoiseRead]:
    caller.require(Permission.READ)
    rows = [
        NoiseRead(id=None, type=r.kind.value, pattern=r.pattern, reason=r.reason, builtin=True)
        for r in builtin_noise.BUILTIN_NOISE
    ]
    rows += [
        NoiseRead(id=e.id, type=e.kind, pattern=e.pattern, reason=e.reason, builtin=False)
        for e in session.scalars(select(NoiseEntry).order_by(NoiseEntry.kind, NoiseEntry.pattern))
    ]
    return rows


def add_noise(
    session: Session, caller: Caller, *, kind: str, pattern: str, reason: str
) -> NoiseEntry:
    """Declare a value noise. Existing selectors keep their hits; new additions make none."""
    caller.require(Permission.MANAGE_AGENCIES)
    rule = builtin_noise.parse_rule(kind, pattern, reason)
    existing = session.scalar(
        select(NoiseEntry).where(
            NoiseEntry.kind == rule.kind.value, NoiseEntry.pattern == rule.pattern
        )
    )
    if existing is not None:
        return existing
    entry = NoiseEntry(
        kind=rule.kind.value,
        pattern=rule.pattern,
        reason=rule.reason.strip(),
        added_by_id=caller.user_id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        caller,
        action="noise.add",
        operation=Operation.COLLECTION,
        subject_type="noise_entry",
        subject_id=entry.id,
        detail={"type": entry.kind, "pattern": entry.pattern},
    )
    return entry


def remove_noise(session: Session, caller: Caller, entry_id: uuid.UUID) -> None:
    caller.require(Permission.MANAGE_AGENCIES)
    entry = session.get(NoiseEntry, entry_id)
    if entry is None:
        raise NotFound("noise entry")
    session.delete(entry)
    audit.record(
        session,
        caller,
        action="noise.remove",
        operation=Operation.ERASURE,
        subject_type="noise_entry",
        subject_id=entry_id,
        detail={"type": entry.kind, "pattern": entry.pattern},
    )
    session.flush()
