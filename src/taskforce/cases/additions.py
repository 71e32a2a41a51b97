"""Adding selectors to a case: one from a form or the API, a CSV of them, or the hashes triage
computed; each goes through the one deconfliction engine (`deconfliction.py`), which calls back
here to notify the agencies a hit concerns, disclosing what each may see (`core.sharing.sees`).
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.cases import bulk, deconfliction
from taskforce.cases.hits import views_of
from taskforce.cases.models import (
    Case,
    Hit,
    Notification,
    Selector,
    SelectorValue,
)
from taskforce.cases.schemas import (
    BulkReport,
    SelectorAdded,
    SelectorCreate,
    SelectorRead,
)
from taskforce.cases.selectors import NormalisedSelector, normalise, parse_kind
from taskforce.cases.service import owned_case, require_open
from taskforce.core import budgets, sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import bulk_insert, pipelined, utcnow
from taskforce.core.errors import Invalid
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

# --- selectors and deconfliction --------------------------------------------------------------


def _normalise_input(caller: Caller, data: SelectorCreate) -> NormalisedSelector:
    kind = parse_kind(data.type)
    return normalise(kind, data.value, platform=data.platform, default_region=caller.country)


def inbox_owners(session: Session, cases: Iterable[Case]) -> dict[uuid.UUID, User]:
    """Each case's inbox owner: its lead investigator, else its creator, if active."""
    cases = list(cases)
    wanted = _owner_ids(cases)
    users = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted), User.is_active))}
        if wanted
        else {}
    )
    return _owners_of(cases, users)


def _owner_ids(cases: Iterable[Case]) -> set[uuid.UUID]:
    wanted = {c.lead_investigator_id for c in cases} | {c.created_by_id for c in cases}
    wanted.discard(None)
    return cast(set[uuid.UUID], wanted)


def _owners_of(cases: Iterable[Case], users: dict[uuid.UUID, User]) -> dict[uuid.UUID, User]:
    found: dict[uuid.UUID, User] = {}
    for case in cases:
        for user_id in (case.lead_investigator_id, case.created_by_id):
            if user_id in users:
                found[case.id] = users[user_id]
                break
    return found


def hit_messages(
    case: Case,
    owner: User | None,
    webhook_url: str | None,
    *,
    hit_id: uuid.UUID,
    kind: str,
    holder: str,
    link: str,
    now: datetime,
    node: str | None = None,
) -> list[dict[str, Any]]:
    """How a new hit is announced, for a local hit and a cross-node one alike: an e-mail to the
    case's inbox owner (the link only: the hit page decides what is shown) and the agency's
    `hit.created` webhook. Outbox rows, for the caller's one bulk insert."""
    messages: list[dict[str, Any]] = []
    where = f", node {node}" if node else ""
    if owner is not None:
        messages.append(
            {
                "id": uuid.uuid4(),
                "channel": "email",
                "recipient": owner.email,
                "subject": f"[taskforce] New hit on {case.reference} ({kind}{where})",
                "body": (
                    f"A {kind} selector on your case {case.reference} matches a selector held "
                    f"by {holder}.\nOpen the hit in taskforce: {link}\n"
                ),
                "created_at": now,
                "attempts": 0,
            }
        )
    if webhook_url:
        event = {"event": "hit.created", "hit": str(hit_id), "case": case.reference, "type": kind}
        if node:
            event["node"] = node
        messages.append(
            {
                "id": uuid.uuid4(),
                "channel": "webhook",
                "recipient": webhook_url,
                "subject": "hit.created",
                "body": json.dumps(event, separators=(",", ":")),
                "created_at": now,
                "attempts": 0,
            }
        )
    return messages


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
    agencies, recipients = _agencies_and_owners(session, list(cases.values()))
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
            messages.extend(
                hit_messages(
                    case,
                    user,
                    agency.webhook_url,
                    hit_id=hit.id,
                    kind=hit.kind,
                    holder="another case" if full else "another agency",
                    link=f"{settings.public_url}/ui/hits/{hit.id}",
                    now=now,
                )
            )
    audit.record_many(session, caller, disclosures)
    bulk_insert(session, cast(Table, Notification.__table__), notifications)
    bulk_insert(session, cast(Table, OutboxMessage.__table__), messages)
    return [*cases.values(), *agencies.values(), *recipients.values()]


# Above this many (agency, user) pairs the agencies and the inbox owners are read apart.
_FOLDED_READ_ROWS = 64


def _agencies_and_owners(
    session: Session, cases: Sequence[Case]
) -> tuple[dict[uuid.UUID, Agency], dict[uuid.UUID, User]]:
    """The cases' agencies and inbox owners (`inbox_owners`). For a few cases (a single
    addition's hit: two agencies, two to four users) in one read, each agency joined to every
    wanted active user: one round trip instead of two, a handful of rows. An import's
    thousands of hits read them apart, where the product would be large."""
    agency_ids = {c.owner_agency_id for c in cases}
    wanted = _owner_ids(cases)
    if not wanted or len(agency_ids) * len(wanted) > _FOLDED_READ_ROWS:
        return agency_service.agencies_by_id(session, agency_ids), inbox_owners(session, cases)
    agencies: dict[uuid.UUID, Agency] = {}
    users: dict[uuid.UUID, User] = {}
    for agency, user in session.execute(
        select(Agency, User)
        .outerjoin(User, and_(User.id.in_(wanted), User.is_active))
        .where(Agency.id.in_(agency_ids))
    ):
        agencies[agency.id] = agency
        if user is not None:
            users[user.id] = user
    return agencies, _owners_of(cases, users)


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
    re-adding the same one is a no-op. On PostgreSQL the writes are pipelined: each goes with
    the next read instead of waiting for its own answer (and the transaction's BEGIN with the
    first statement, when this is the transaction's start)."""
    with pipelined(session):
        return _add_selector(session, caller, settings, case_id=case_id, data=data)


def _add_selector(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    case_id: uuid.UUID,
    data: SelectorCreate,
) -> SelectorAdded:
    caller.require(Permission.ADD_SELECTOR)
    case = owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    require_open(case)
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
        hits=views_of(session, caller, hits),
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
    case = owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    require_open(case)
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
    case = owned_case(session, caller, case_id, Permission.ADD_SELECTOR)
    require_open(case)
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
