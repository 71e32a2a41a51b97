"""Cases, selectors and deconfliction.

An agency registers a case and attaches selectors (typed identifiers). The moment a selector
is added it is compared with every other case's selectors: same normalised key for every type,
and Hamming distance ≤ the threshold for PDQ. Each match is a *hit* between two cases; both
cases' owners are notified.

What a side learns of the other is decided when the hit is *read*, from the other case's
sharing level at that moment (sharing can change): the other case's reference, title and
agency when the caller may see that case; otherwise only that an agency holds a matching
selector of that type and that agency's 24/7 contact point (a "blind" hit). Every notice of a
hit is a disclosure and is audited on both sides.

Over-correlation is kept in check as MISP does: values on the noise list never make hits,
and a value held by more than `common_value_case_limit` cases is marked common and stops
making new hits.

Concurrency: the `selector_value` row of an identifier is locked (PostgreSQL `FOR UPDATE`;
SQLite serialises writers) while a new holder is deconflicted, so two agencies adding the same
value at the same moment still find each other. PDQ additions take an advisory lock for the
same reason. Locks are taken in one order everywhere (docs/architecture.md): the PDQ lock, then
value rows in (kind, key) or id order, then the case row; the audit log takes none.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, text
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.cases import bulk, deconfliction, pdq
from taskforce.cases import noise as builtin_noise
from taskforce.cases.models import (
    Case,
    CaseEvent,
    Hit,
    NoiseEntry,
    Notification,
    PdqBits,
    Selector,
    SelectorValue,
)
from taskforce.cases.schemas import (
    OFFENCE_TYPES,
    Assessment,
    BulkReport,
    CaseCreate,
    CaseRead,
    CaseStatus,
    CaseSummary,
    CaseUpdate,
    ContactPointRead,
    HitRead,
    NoiseRead,
    NotificationRead,
    OtherSide,
    SearchMatch,
    SearchResult,
    SelectorAdded,
    SelectorCreate,
    SelectorRead,
)
from taskforce.cases.selectors import NormalisedSelector, SelectorKind, normalise, parse_kind
from taskforce.core import budgets, sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import insert_new, is_postgres, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
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


def _history(
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
    _history(
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


def _owned_case(
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
    case = _owned_case(session, caller, case_id, Permission.OPEN_CASE)
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
    for name in ("title", "summary", "offence_types"):
        if name in fields and fields[name] is not None:
            value = fields[name].strip() if isinstance(fields[name], str) else fields[name]
            if getattr(case, name) != value:
                changes[name] = [getattr(case, name), value]
                setattr(case, name, value)
    if changes:
        case.updated_at = utcnow()
        _history(session, caller, case, "edited", changes)
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


def set_status(session: Session, caller: Caller, case_id: uuid.UUID, status: CaseStatus) -> Case:
    case = _owned_case(session, caller, case_id, Permission.OPEN_CASE)
    if case.status == status.value:
        return case
    case.status = status.value
    case.closed_at = utcnow() if status == CaseStatus.CLOSED else None
    case.updated_at = utcnow()
    action = "closed" if status == CaseStatus.CLOSED else "reopened"
    _history(session, caller, case, action, {"status": [_other(status).value, status.value]})
    audit.record(
        session,
        caller,
        action=f"case.{action}",
        operation=Operation.ALTERATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
    )
    session.flush()
    return case


def _require_open(case: Case) -> None:
    """A closed case keeps deconflicting against new selectors, but takes no new ones."""
    if case.status == CaseStatus.CLOSED.value:
        raise Conflict(f"case {case.reference} is closed; reopen it to add selectors")


def _other(status: CaseStatus) -> CaseStatus:
    return CaseStatus.OPEN if status == CaseStatus.CLOSED else CaseStatus.CLOSED


def case_history(session: Session, caller: Caller, case_id: uuid.UUID) -> list[CaseEvent]:
    case = _visible_case(session, caller, case_id)
    if not sharing.is_owner(case, caller):
        return []
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at)
        )
    )


# --- selectors and deconfliction --------------------------------------------------------------


def _normalise_input(caller: Caller, data: SelectorCreate) -> NormalisedSelector:
    kind = parse_kind(data.type)
    return normalise(kind, data.value, platform=data.platform, default_region=caller.country)


def _recipients(session: Session, cases: Iterable[Case]) -> dict[uuid.UUID, User]:
    """Each case's inbox owner: its lead investigator, else its creator, if active."""
    wanted = {c.lead_investigator_id for c in cases} | {c.created_by_id for c in cases}
    wanted.discard(None)
    users = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted), User.is_active))}
        if wanted
        else {}
    )
    found: dict[uuid.UUID, User] = {}
    for case in cases:
        for user_id in (case.lead_investigator_id, case.created_by_id):
            if user_id in users:
                found[case.id] = users[user_id]
                break
    return found


def _notify(
    session: Session,
    caller: Caller,
    settings: Settings,
    hits: Sequence[Hit],
    known: Iterable[Case] = (),
) -> list[object]:
    """In-app notifications, outbox e-mail/webhooks and the two-sided disclosure audit.

    Everything the notices need (cases, agencies, inbox owners, AMBER partners) is read once
    for all the hits, and the notices are written with one multi-row insert each: a bulk
    import can make thousands of hits.

    E-mails and webhooks carry no detail of the other side, only a link: mail is a weaker
    channel than the hub, and the hub decides the disclosure when the hit is opened.
    """
    cases = {c.id: c for c in known}
    missing = ({h.a_case_id for h in hits} | {h.b_case_id for h in hits}) - cases.keys()
    if missing:
        cases.update((c.id, c) for c in session.scalars(select(Case).where(Case.id.in_(missing))))
    agencies = agency_service.agencies_by_id(session, {c.owner_agency_id for c in cases.values()})
    recipients = _recipients(session, cases.values())
    partners = sharing.partner_ids_of(
        session, Case, [c.id for c in cases.values() if c.sharing == SharingLevel.AMBER]
    )
    disclosures: list[audit.Action] = []
    notifications: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    now = utcnow()
    for hit in hits:
        for mine, theirs in ((hit.a_case_id, hit.b_case_id), (hit.b_case_id, hit.a_case_id)):
            case, other = cases[mine], cases[theirs]
            agency = agencies[case.owner_agency_id]
            full = sharing.sees(case.owner_agency_id, other, partners.get(other.id, ()))
            disclosures.append(
                audit.Action(
                    action="hit.disclose",
                    operation=Operation.DISCLOSURE,
                    subject_type="case",
                    subject_id=other.id,
                    subject_agency_id=other.owner_agency_id,
                    recipients=(agency.code,),
                    detail={
                        "hit": str(hit.id),
                        "disclosure": "full" if full else "blind",
                        "selector_type": hit.kind,
                        "recipient_case": case.reference,
                    },
                )
            )
            user = recipients.get(case.id)
            if user is not None:
                notifications.append(
                    {
                        "id": uuid.uuid4(),
                        "user_id": user.id,
                        "hit_id": hit.id,
                        "case_id": case.id,
                        "created_at": now,
                    }
                )
                messages.append(
                    {
                        "id": uuid.uuid4(),
                        "channel": "email",
                        "recipient": user.email,
                        "subject": f"[taskforce] New hit on {case.reference} ({hit.kind})",
                        "body": (
                            f"A {hit.kind} selector on your case {case.reference} matches a "
                            f"selector held by {'another case' if full else 'another agency'}.\n"
                            f"Open the hit in taskforce: {settings.public_url}/ui/hits/{hit.id}\n"
                        ),
                        "created_at": now,
                        "attempts": 0,
                    }
                )
            if agency.webhook_url:
                messages.append(
                    {
                        "id": uuid.uuid4(),
                        "channel": "webhook",
                        "recipient": agency.webhook_url,
                        "subject": "hit.created",
                        "body": (
                            f'{{"event":"hit.created","hit":"{hit.id}","case":"{case.reference}",'
                            f'"type":"{hit.kind}"}}'
                        ),
                        "created_at": now,
                        "attempts": 0,
                    }
                )
    audit.record_many(session, caller, disclosures)
    if notifications:
        session.execute(insert(Notification), notifications)
    if messages:
        session.execute(insert(OutboxMessage), messages)
    return [*cases.values(), *agencies.values(), *recipients.values()]


def _notifier(session: Session, caller: Caller, settings: Settings) -> deconfliction.Notifier:
    """The engine's notices of new hits: `_notify` bound to this request."""

    def notify(hits: Sequence[Hit], known: Iterable[Case]) -> list[object]:
        return _notify(session, caller, settings, hits, known)

    return notify


def selector_read(selector: Selector, status: str, reason: str | None) -> SelectorRead:
    return SelectorRead(
        id=selector.id,
        type=selector.kind,
        value=selector.value,
        normalized=selector.value,
        platform=selector.platform,
        observed_at=selector.observed_at,
        note=selector.note,
        added_at=selector.added_at,
        status=status,
        status_reason=reason,
    )


def add_selector(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    case_id: uuid.UUID,
    data: SelectorCreate,
) -> SelectorAdded:
    """Attach a selector and deconflict it at once (a batch of one for the engine);
    re-adding the same one is a no-op."""
    caller.require(Permission.ADD_SELECTOR)
    case = _owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    _require_open(case)
    item = deconfliction.NewSelector(
        _normalise_input(caller, data),
        raw=data.value,
        observed_at=data.observed_at,
        note=data.note,
    )
    outcome = deconfliction.add(
        session,
        caller,
        settings,
        case,
        [item],
        notify=_notifier(session, caller, settings),
        imported=False,
        keep=True,
    )
    [placed] = outcome.placed
    selector = placed.row
    hits = placed.hits
    if selector is None:  # the case holds the value already: its selector and hits
        selector = session.get(Selector, placed.selector_id)
        assert selector is not None
        hits = list(
            session.scalars(
                select(Hit).where(
                    or_(Hit.a_selector_id == selector.id, Hit.b_selector_id == selector.id)
                )
            )
        )
    status = deconfliction.selector_status(
        selector.noise_reason, placed.is_common, placed.case_count
    )
    return SelectorAdded(
        selector=selector_read(selector, *status),
        normalized=selector.value,
        created=placed.created,
        hits=[hit_view(session, caller, h) for h in hits],
    )


def list_selectors(session: Session, caller: Caller, case: Case) -> list[SelectorRead]:  # noqa: ARG001
    rows = session.execute(
        select(Selector, SelectorValue)
        .join(SelectorValue, SelectorValue.id == Selector.value_id)
        .where(Selector.case_id == case.id)
        .order_by(Selector.added_at, Selector.kind, Selector.value)
    ).all()
    return [
        selector_read(s, *deconfliction.selector_status(s.noise_reason, v.is_common, v.case_count))
        for s, v in rows
    ]


BULK_COLUMNS = ("type", "value", "platform", "observed_at", "note")


def parse_bulk_csv(
    text_data: str, budget: budgets.Budget = budgets.DEFAULT
) -> Iterable[tuple[int, dict[str, str] | budgets.Breach]]:
    """Rows of a CSV with a header naming at least `type` and `value`, read within the parser
    budget: a row too long, too wide or with a cell over `max_field` is a `Breach` (a bad line)."""
    rows = budgets.csv_rows(io.StringIO(text_data.lstrip("\ufeff")), budget)
    header: list[str] | None = None
    for number, row in rows:
        if header is None:
            if isinstance(row, budgets.Breach):
                raise Invalid("file", f"the CSV header {row.rule}")
            if not row:
                continue
            header = [h.strip().lower() for h in row]
            if "type" not in header or "value" not in header:
                raise Invalid("file", "the CSV header must name the columns type and value")
            continue
        if isinstance(row, budgets.Breach):
            yield number, row
            continue
        if not row:
            continue
        cells = {k: v for k, v in zip(header, row, strict=False) if k in BULK_COLUMNS}
        yield number, budgets.field_breach(cells, budget) or cells
    if header is None:
        raise Invalid("file", "the CSV header must name the columns type and value")


def _parse_time(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid("observed_at", "must be an ISO 8601 time like 2026-03-01T14:05:00Z") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def bulk_add_selectors(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    case_id: uuid.UUID,
    rows: Iterable[tuple[int, dict[str, str] | budgets.Breach]],
    after_batch: Callable[[], None] | None = None,
) -> BulkReport:
    """Add many selectors; bad lines are reported with their line number and kept out, good
    lines are kept. The lines are parsed and normalised here (`taskforce.cases.bulk`) and
    deconflicted by the engine every single addition goes through (`cases.deconfliction`).

    With `after_batch` (a commit: the API's large imports) the lines go in batches of
    `deconfliction.BATCH_SIZE`, each with its own hits, notifications, history and audit entry and
    then `after_batch()`, so no transaction holds SQLite's write lock for the whole file and
    an interrupted import keeps what it committed (re-running it adds nothing twice)."""
    caller.require(Permission.ADD_SELECTOR)
    case = _owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    _require_open(case)
    items, rejected = bulk.parse_lines(caller, rows, _normalise_input, _parse_time)
    outcome = deconfliction.add(
        session,
        caller,
        settings,
        case,
        items,
        notify=_notifier(session, caller, settings),
        imported=True,
        rejected=len(rejected),
        after_batch=after_batch,
    )
    return BulkReport(
        accepted=outcome.accepted,
        duplicates=outcome.duplicates,
        rejected=rejected,
        hits=outcome.hits,
    )


def add_computed_selectors(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    case_id: uuid.UUID,
    selectors: Sequence[deconfliction.NewSelector],
    after_batch: Callable[[], None] | None = None,
) -> BulkReport:
    """Add selectors a tool computed (triage's hashes), already typed and normalised, to a
    case the caller owns: recorded and deconflicted as an import, with no CSV in between."""
    caller.require(Permission.ADD_SELECTOR)
    case = _owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    _require_open(case)
    outcome = deconfliction.add(
        session,
        caller,
        settings,
        case,
        selectors,
        notify=_notifier(session, caller, settings),
        imported=True,
        after_batch=after_batch,
    )
    return BulkReport(
        accepted=outcome.accepted, duplicates=outcome.duplicates, rejected=[], hits=outcome.hits
    )


# --- hits -------------------------------------------------------------------------------------


def _side(hit: Hit, agency_id: uuid.UUID | None) -> str | None:
    if hit.a_agency_id == agency_id:
        return "a"
    if hit.b_agency_id == agency_id:
        return "b"
    return None


def hit_view(session: Session, caller: Caller, hit: Hit, *, side: str | None = None) -> HitRead:
    """The hit as the caller's agency may see it; the other side's case only if visible."""
    side = side or _side(hit, caller.agency_id)
    if side is None:
        raise NotFound("hit")
    mine_case_id, mine_sel_id, theirs_case_id, theirs_sel_id = (
        (hit.a_case_id, hit.a_selector_id, hit.b_case_id, hit.b_selector_id)
        if side == "a"
        else (hit.b_case_id, hit.b_selector_id, hit.a_case_id, hit.a_selector_id)
    )
    mine = session.get(Case, mine_case_id)
    theirs = session.get(Case, theirs_case_id)
    mine_sel = session.get(Selector, mine_sel_id)
    assert mine is not None and theirs is not None and mine_sel is not None
    del theirs_sel_id
    agency = session.get(Agency, theirs.owner_agency_id)
    assert agency is not None
    contact = ContactPointRead(
        desk=agency.contact_desk,
        phone=agency.contact_phone,
        email=agency.contact_email,
        timezone=agency.timezone,
    )
    if sharing.can_see(session, theirs, caller):
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
    return HitRead(
        id=hit.id,
        type=hit.kind,
        distance=hit.distance,
        created_at=hit.created_at,
        case_id=mine.id,
        case_reference=mine.reference,
        case_title=mine.title,
        selector_value=mine_sel.value,
        other=other,
        acknowledged_at=hit.a_acknowledged_at if side == "a" else hit.b_acknowledged_at,
        assessment=Assessment(a)
        if (a := (hit.a_assessment if side == "a" else hit.b_assessment))
        else None,
    )


def list_hits(
    session: Session,
    caller: Caller,
    *,
    case_id: uuid.UUID | None = None,
    unacknowledged: bool = False,
    limit: int = 200,
) -> list[HitRead]:
    """Hits on the caller's agency's cases, newest first; each is audited as a consultation."""
    caller.require(Permission.READ)
    if caller.agency_id is None:
        return []
    stmt = select(Hit).where(
        or_(Hit.a_agency_id == caller.agency_id, Hit.b_agency_id == caller.agency_id)
    )
    if case_id is not None:
        stmt = stmt.where(
            or_(
                and_(Hit.a_case_id == case_id, Hit.a_agency_id == caller.agency_id),
                and_(Hit.b_case_id == case_id, Hit.b_agency_id == caller.agency_id),
            )
        )
    hits = session.scalars(stmt.order_by(Hit.created_at.desc()).limit(min(limit, 1000))).all()
    views: list[HitRead] = []
    for hit in hits:
        sides = [s for s in ("a", "b") if getattr(hit, f"{s}_agency_id") == caller.agency_id]
        for side in sides:
            if case_id is not None and getattr(hit, f"{side}_case_id") != case_id:
                continue
            view = hit_view(session, caller, hit, side=side)
            if unacknowledged and view.acknowledged_at is not None:
                continue
            views.append(view)
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
        _history(
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


# --- search ---------------------------------------------------------------------------------


def search(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    kind: str,
    value: str,
    purpose: str | None,
    platform: str | None = None,
) -> SearchResult:
    """Find a selector across every case the caller may see. A stated purpose is required
    (a case reference or a justification) and recorded in the audit log with the search."""
    caller.require(Permission.SEARCH)
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE_LENGTH:
        raise Invalid(
            "purpose",
            "state the purpose of the search: a case reference or a justification of at least "
            f"{MIN_PURPOSE_LENGTH} characters",
        )
    if len(purpose) > 500:
        raise Invalid("purpose", "at most 500 characters")
    normalised = normalise(
        parse_kind(kind), value, platform=platform, default_region=caller.country
    )
    matches: list[SearchMatch] = []
    base = sharing.visible(
        select(Selector, Case).join(Case, Case.id == Selector.case_id), Case, caller
    )
    rows = session.execute(
        base.join(SelectorValue, SelectorValue.id == Selector.value_id).where(
            SelectorValue.kind == normalised.kind.value, SelectorValue.key == normalised.key
        )
    ).all()
    found = {(s.id): (s, c, 0) for s, c in rows}
    if normalised.kind == SelectorKind.PDQ:
        bits = hex_to_bytes(normalised.value)
        seqs = pdq.index_for(session).candidates(session, bits, settings.pdq_match_threshold)
        if seqs:
            near = session.execute(
                base.add_columns(PdqBits.bits)
                .join(PdqBits, PdqBits.selector_id == Selector.id)
                .where(PdqBits.seq.in_(seqs))
            ).all()
            for s, c, b in near:
                d = hamming(bits, bytes(b))
                if d <= settings.pdq_match_threshold and s.id not in found:
                    found[s.id] = (s, c, d)
    agencies = agency_service.agencies_by_id(
        session, {c.owner_agency_id for _, c, _ in found.values()}
    )
    for s, c, d in sorted(found.values(), key=lambda t: (t[2], t[1].reference)):
        matches.append(
            SearchMatch(
                case_id=c.id,
                reference=c.reference,
                title=c.title,
                agency=agencies[c.owner_agency_id].code,
                sharing=SharingLevel(c.sharing),
                status=CaseStatus(c.status),
                selector_value=s.value,
                distance=d,
                observed_at=s.observed_at,
            )
        )
    audit.record(
        session,
        caller,
        action="search",
        operation=Operation.CONSULTATION,
        justification=purpose,
        detail={"type": normalised.kind.value, "value": normalised.value, "results": len(matches)},
    )
    return SearchResult(
        type=normalised.kind.value, normalized=normalised.value, purpose=purpose, matches=matches
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
