"""Shared records (a hosting provider's abuse contact and networks, a block-list entry) change
only by the agency that keeps them or by a steward of the network; anyone else who holds the
domain's permission PROPOSES the change, and the keeper or a steward approves or rejects it.

Decided once, here, for every domain that needs it:

- **The keeper** of a record is the agency its domain names (the agency that registered a
  hosting provider, that listed a URL); a record no agency keeps is the network's.
- **Stewards** keep every shared record: network admins, and the people of the network
  coordinator (the agency of kind "coordinator"). They, and the keeper's people, change a record
  directly (`may_change`); everyone else gets a proposal (`propose`), never a silent change.
- **Deciding** takes the kind's permission and being the keeper's or a steward; nobody decides
  their own proposal, a rejection says why, and a decision is final. Approving runs the
  domain's apply function as the decider, in the same transaction, so the change is audited
  under the decider's name like any direct change.
- **Audited both ways**: `proposal.create` when proposed, `proposal.approve` or
  `proposal.reject` when decided, with the reason; the list is audited as read.

A domain registers each kind of proposal once (`register(Kind(...))`) with the function that
applies it; the proposal's payload is what that function needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, or_, select
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import Base, is_postgres, utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.proposals.schemas import ProposalPage, ProposalRead

STATES = ("pending", "approved", "rejected")
MAX_REASON = 1000
COORDINATOR = "coordinator"  # the agency kind whose people are stewards (agencies.AgencyKind)


@dataclass(frozen=True)
class Kind:
    """One kind of proposal and how its domain applies it."""

    name: str
    title: str  # in words, for lists: "Change a hosting provider's details"
    permission: Permission  # to propose it, to see it and to decide it
    apply: Callable[[Session, Caller, ChangeProposal], str]  # runs as the decider; what it did
    now: Callable[[Session, ChangeProposal], str | None] | None = None  # the record today


_KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Called once per kind by the domain that owns the records (at import)."""
    known = _KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"proposal kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind
    return kind


def kinds() -> list[Kind]:
    return list(_KINDS.values())


def _kind(name: str) -> Kind:
    kind = _KINDS.get(name)
    if kind is None:
        raise Conflict(f"proposals of kind {name!r} are not known to this server")
    return kind


def _agency_table() -> Table:
    # Read by table name: core must not import the agencies domain (import rules).
    return Base.metadata.tables["agency"]


def is_steward(session: Session, caller: Caller) -> bool:
    """Network admins and the network coordinator's people keep every shared record."""
    if caller.role == Role.NETWORK_ADMIN:
        return True
    if caller.agency_id is None:
        return False
    agency = _agency_table()
    found = session.scalar(
        select(agency.c.id).where(
            agency.c.id == caller.agency_id, agency.c.kind == COORDINATOR, agency.c.is_active
        )
    )
    return found is not None


def may_change(
    session: Session, caller: Caller, *, owner_agency_id: uuid.UUID | None, permission: Permission
) -> bool:
    """Whether the caller changes the record directly (its keeper's people, stewards) or must
    propose the change. Raises Forbidden without the domain's permission."""
    caller.require(permission)
    if owner_agency_id is not None and caller.agency_id == owner_agency_id:
        return True
    return is_steward(session, caller)


def _may_decide(session: Session, caller: Caller, proposal: ChangeProposal, kind: Kind) -> bool:
    if not caller.can(kind.permission):
        return False
    if caller.user_id is not None and caller.user_id == proposal.proposed_by_id:
        return False
    own = proposal.owner_agency_id is not None and caller.agency_id == proposal.owner_agency_id
    return own or is_steward(session, caller)


def _visible(session: Session, caller: Caller, proposal: ChangeProposal) -> bool:
    kind = _KINDS.get(proposal.kind)
    if kind is not None and not caller.can(kind.permission):
        return False
    mine = {proposal.proposer_agency_id, proposal.owner_agency_id} - {None}
    if caller.agency_id is not None and caller.agency_id in mine:
        return True
    return is_steward(session, caller)


def _clean(text: str) -> str:
    return text.strip()[:MAX_REASON]


def propose(
    session: Session,
    caller: Caller,
    kind: Kind,
    *,
    target_type: str,
    target_id: uuid.UUID,
    target_label: str,
    owner_agency_id: uuid.UUID | None,
    payload: dict[str, Any],
    summary: str,
    reason: str = "",
    now: datetime | None = None,
) -> ChangeProposal:
    """Record a proposed change for the keeper or a steward to decide. The same change asked
    again by the same person while it is pending is that proposal, not a second one."""
    caller.require(kind.permission)
    pending = session.scalars(
        select(ChangeProposal).where(
            ChangeProposal.kind == kind.name,
            ChangeProposal.target_id == target_id,
            ChangeProposal.state == "pending",
            ChangeProposal.proposer_agency_id == caller.agency_id
            if caller.agency_id is not None
            else ChangeProposal.proposer_agency_id.is_(None),
        )
    )
    for earlier in pending:
        if earlier.payload == payload and earlier.proposed_by_id == caller.user_id:
            return earlier
    proposal = ChangeProposal(
        id=uuid.uuid4(),
        kind=kind.name,
        target_type=target_type,
        target_id=target_id,
        target_label=target_label[:300],
        owner_agency_id=owner_agency_id,
        payload=payload,
        summary=summary[:1000],
        reason=_clean(reason),
        state="pending",
        proposed_at=now or utcnow(),
        proposed_by_id=caller.user_id,
        proposed_by=caller.label[:400],
        proposer_agency_id=caller.agency_id,
        decision_reason="",
        outcome="",
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        caller,
        action="proposal.create",
        operation=Operation.COLLECTION,
        subject_type="change_proposal",
        subject_id=proposal.id,
        subject_agency_id=owner_agency_id,
        detail={
            "kind": kind.name,
            "target_type": target_type,
            "target_id": str(target_id),
            "summary": proposal.summary,
        },
    )
    return proposal


def decide(
    session: Session,
    caller: Caller,
    proposal_id: uuid.UUID,
    *,
    approve: bool,
    reason: str = "",
    now: datetime | None = None,
) -> ChangeProposal:
    """Approve (apply the change, as the caller) or reject (with a reason) a pending proposal."""
    query = select(ChangeProposal).where(ChangeProposal.id == proposal_id)
    if is_postgres(session):
        query = query.with_for_update()  # two stewards deciding at once: one waits, then sees
    proposal = session.scalar(query)
    if proposal is None or not _visible(session, caller, proposal):
        raise NotFound("proposal")
    kind = _kind(proposal.kind)
    if not _may_decide(session, caller, proposal, kind):
        if caller.user_id is not None and caller.user_id == proposal.proposed_by_id:
            raise Forbidden("a proposal is decided by someone else than its proposer")
        keeper = _codes(session, [proposal.owner_agency_id]).get(proposal.owner_agency_id)
        if keeper is None:
            raise Forbidden(
                "the record is the network's: only the network coordinator or a network admin "
                "may decide this proposal"
            )
        raise Forbidden(
            f"only {keeper}, which keeps the record, or the network coordinator may decide "
            "this proposal"
        )
    if proposal.state != "pending":
        raise Conflict(f"the proposal was already {proposal.state}")
    reason = _clean(reason)
    if not approve and not reason:
        raise Invalid("reason", "say why the change is rejected")
    proposal.outcome = kind.apply(session, caller, proposal)[:1000] if approve else ""
    proposal.state = "approved" if approve else "rejected"
    proposal.decided_at = now or utcnow()
    proposal.decided_by_id = caller.user_id
    proposal.decided_by = caller.label[:400]
    proposal.decision_reason = reason
    session.flush()
    audit.record(
        session,
        caller,
        action=f"proposal.{'approve' if approve else 'reject'}",
        operation=Operation.ALTERATION,
        subject_type="change_proposal",
        subject_id=proposal.id,
        subject_agency_id=proposal.owner_agency_id,
        detail={
            "kind": proposal.kind,
            "target_type": proposal.target_type,
            "target_id": str(proposal.target_id),
            "reason": reason,
        },
    )
    return proposal


# --- reading ----------------------------------------------------------------------------------


def _codes(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID | None, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    agency = _agency_table()
    rows = session.execute(select(agency.c.id, agency.c.code).where(agency.c.id.in_(wanted)))
    return {row.id: row.code for row in rows}


def _read(
    session: Session, caller: Caller, proposal: ChangeProposal, codes: dict[Any, str]
) -> ProposalRead:
    kind = _KINDS.get(proposal.kind)
    now = None
    if kind is not None and kind.now is not None:
        now = kind.now(session, proposal)
    return ProposalRead(
        id=proposal.id,
        kind=proposal.kind,
        title=kind.title if kind else proposal.kind,
        target_type=proposal.target_type,
        target_id=proposal.target_id,
        target_label=proposal.target_label,
        owner_agency=codes.get(proposal.owner_agency_id),
        summary=proposal.summary,
        payload=proposal.payload,
        reason=proposal.reason,
        state=proposal.state,
        proposed_at=proposal.proposed_at,
        proposed_by=proposal.proposed_by,
        proposer_agency=codes.get(proposal.proposer_agency_id),
        decided_at=proposal.decided_at,
        decided_by=proposal.decided_by,
        decision_reason=proposal.decision_reason,
        outcome=proposal.outcome,
        now=now,
        can_decide=(
            proposal.state == "pending"
            and kind is not None
            and _may_decide(session, caller, proposal, kind)
        ),
    )


def describe(session: Session, caller: Caller, proposal: ChangeProposal) -> ProposalRead:
    codes = _codes(session, [proposal.owner_agency_id, proposal.proposer_agency_id])
    return _read(session, caller, proposal, codes)


def get_proposal(session: Session, caller: Caller, proposal_id: uuid.UUID) -> ProposalRead:
    """One proposal the caller made, keeps the record of, or stewards; else 404."""
    proposal = session.get(ChangeProposal, proposal_id)
    if proposal is None or not _visible(session, caller, proposal):
        raise NotFound("proposal")
    audit.record(
        session,
        caller,
        action="proposal.read",
        operation=Operation.CONSULTATION,
        subject_type="change_proposal",
        subject_id=proposal.id,
        subject_agency_id=proposal.owner_agency_id,
    )
    return describe(session, caller, proposal)


def list_proposals(
    session: Session,
    caller: Caller,
    *,
    state: str = "pending",
    limit: int = 50,
    offset: int = 0,
) -> ProposalPage:
    """Proposals the caller made, may decide, or (stewards) any; pending ones oldest first,
    decided ones newest first. The read is audited."""
    if state not in (*STATES, "all"):
        raise Invalid("state", f"one of: {', '.join((*STATES, 'all'))}")
    limit = max(1, min(limit, 500))
    offset = max(0, offset)
    names = [k.name for k in _KINDS.values() if caller.can(k.permission)]
    conditions: list[ColumnElement[bool]] = [ChangeProposal.kind.in_(names)]
    if state != "all":
        conditions.append(ChangeProposal.state == state)
    if not is_steward(session, caller):
        if caller.agency_id is None:
            conditions.append(ChangeProposal.id.is_(None))  # nobody's: nothing to show
        else:
            conditions.append(
                or_(
                    ChangeProposal.proposer_agency_id == caller.agency_id,
                    ChangeProposal.owner_agency_id == caller.agency_id,
                )
            )
    total = int(
        session.scalar(select(func.count()).select_from(ChangeProposal).where(*conditions)) or 0
    )
    order = (
        (ChangeProposal.proposed_at, ChangeProposal.id)
        if state == "pending"
        else (
            func.coalesce(ChangeProposal.decided_at, ChangeProposal.proposed_at).desc(),
            ChangeProposal.id,
        )
    )
    rows = list(
        session.scalars(
            select(ChangeProposal).where(*conditions).order_by(*order).limit(limit).offset(offset)
        )
    )
    codes = _codes(session, [i for p in rows for i in (p.owner_agency_id, p.proposer_agency_id)])
    items = [_read(session, caller, p, codes) for p in rows]
    audit.record(
        session,
        caller,
        action="proposal.list",
        operation=Operation.CONSULTATION,
        detail={"state": state, "shown": len(items), "total": total},
    )
    return ProposalPage(items=items, total=total, limit=limit, offset=offset)
