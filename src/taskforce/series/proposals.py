"""Proposals of a case: run the linking engine (`linking.py`) over a case's new images, keep
what it proposes, and let a victim-identification specialist accept, split or reject each.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.series import service as series_service
from taskforce.series.linking import Record, camera, describe, propose
from taskforce.series.models import SeriesProposal
from taskforce.series.schemas import (
    DECIDED,
    MediaAdd,
    ProposalAccept,
    ProposalEvidence,
    ProposalMember,
    ProposalRead,
    ProposalReject,
    ProposalRun,
    ProposalSplit,
    ProposalStatus,
    ProposalSummary,
    ProposeOptions,
    SeriesCreate,
    SplitResult,
)
from taskforce.triage import reading as triage_runs

# --- service: proposals of a case --------------------------------------------------------------


def _own_case(session: Session, caller: Caller, case_id: uuid.UUID, action: str) -> Case:
    """Proposals are written and decided by the case's own agency: a partner that may read
    the case sees them, but cannot tell 'not yours' from 'missing' (as with series)."""
    caller.require(Permission.MANAGE_SERIES)
    case = sharing.visible_or_404(
        session, caller, Case, case_id, subject_type="case", action=action
    )
    sharing.require_owner(case, caller, NotFound("case"))
    return case


def _proposal(
    session: Session, caller: Caller, proposal_id: uuid.UUID, action: str, *, own: bool
) -> tuple[SeriesProposal, Case]:
    proposal = session.get(SeriesProposal, proposal_id)
    case = None
    if proposal is not None:
        case = sharing.get_visible(session, Case, proposal.case_id, caller)
        if own and case is not None and not sharing.is_owner(case, caller):
            case = None
    if proposal is None or case is None:
        sharing.refuse(
            session,
            caller,
            action=action,
            subject_type="series_proposal",
            subject_id=proposal_id,
            missing="series proposal",
        )
    return proposal, case


def _new_images(session: Session, case: Case, only: Sequence[int] | None = None) -> list[Record]:
    """The case's new material: images of its triage runs that matched no known set (those
    with the given triage result ids only, when named)."""
    if only is not None:
        wanted = sorted(set(only))
        return [
            r
            for first in range(0, len(wanted), 5_000)
            for r in _images(session, case, wanted[first : first + 5_000])
        ]
    return _images(session, case, None)


def _images(session: Session, case: Case, ids: list[int] | None) -> list[Record]:
    return [Record(**row) for row in triage_runs.unmatched_images(session, case.id, ids)]


def _members(session: Session, case_id: uuid.UUID, ids: Iterable[int]) -> dict[int, ProposalMember]:
    wanted = sorted(set(ids))
    found: dict[int, ProposalMember] = {}
    for first in range(0, len(wanted), 5_000):
        rows = triage_runs.case_results(session, case_id, wanted[first : first + 5_000])
        for r in rows:
            found[r.id] = ProposalMember(
                id=r.id,
                path=r.path,
                md5=r.md5,
                sha256=r.sha256,
                pdq=r.pdq,
                camera=camera(r.camera_make, r.camera_model),
                taken_at=r.taken_at,
            )
    return found


def _reads(session: Session, proposals: Sequence[SeriesProposal]) -> list[ProposalRead]:
    by_case: dict[uuid.UUID, set[int]] = {}
    for p in proposals:
        by_case.setdefault(p.case_id, set()).update(p.members)
    members = {case_id: _members(session, case_id, ids) for case_id, ids in by_case.items()}
    reads = []
    for p in proposals:
        entries = list(p.evidence or [])
        summary = next((e for e in entries if e.get("kind") == "summary"), {"size": 0})
        known = members[p.case_id]
        reads.append(
            ProposalRead(
                id=p.id,
                case_id=p.case_id,
                status=ProposalStatus(p.status),
                score=p.score,
                size=len(p.members),
                parent_id=p.parent_id,
                series_id=p.series_id,
                created_at=p.created_at,
                decided_at=p.decided_at,
                summary=ProposalSummary.model_validate(
                    {k: v for k, v in summary.items() if k != "kind"}
                ),
                evidence=[ProposalEvidence.model_validate(e) for e in entries if e is not summary],
                members=[known[m] for m in p.members if m in known],
            )
        )
    return reads


def _order(proposals: Iterable[SeriesProposal]) -> list[SeriesProposal]:
    """Open ones first, then by score and size: the specialist's reading order."""
    return sorted(
        proposals,
        key=lambda p: (p.status != ProposalStatus.PROPOSED, -p.score, -len(p.members), p.id),
    )


def propose_for_case(
    session: Session, caller: Caller, case_id: uuid.UUID, options: ProposeOptions | None = None
) -> ProposalRun:
    """Group the case's new images into proposals, again after each new triage run.

    What a specialist has worked on stays as it is and its images are not proposed again:
    accepted and rejected proposals, and both parts of a split. Open proposals nobody touched
    are replaced by this run's — kept (same id) where the same group is found again."""
    case = _own_case(session, caller, case_id, "series.propose")
    options = options or ProposeOptions()
    existing = list(
        session.scalars(select(SeriesProposal).where(SeriesProposal.case_id == case.id))
    )
    parents = {p.parent_id for p in existing if p.parent_id is not None}
    worked_on = [
        p for p in existing if p.status in DECIDED or p.parent_id is not None or p.id in parents
    ]
    untouched = {frozenset(p.members): p for p in existing if p not in worked_on}
    excluded = {m for p in worked_on for m in p.members}
    images = [r for r in _new_images(session, case) if r.id not in excluded]
    found = propose(images, options.rules())
    created = kept = 0
    current: list[SeriesProposal] = []
    for group in found:
        same = untouched.pop(frozenset(group.members), None)
        if same is not None:
            same.evidence, same.score = group.as_json(), group.score
            current.append(same)
            kept += 1
            continue
        proposal = SeriesProposal(
            case_id=case.id,
            status=ProposalStatus.PROPOSED,
            members=group.members,
            evidence=group.as_json(),
            score=group.score,
        )
        session.add(proposal)
        current.append(proposal)
        created += 1
    if untouched:
        session.execute(
            delete(SeriesProposal).where(SeriesProposal.id.in_([p.id for p in untouched.values()]))
        )
    session.flush()
    audit.record(
        session,
        caller,
        action="series.propose",
        operation=Operation.COLLECTION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={
            "images": len(images),
            "excluded": len(excluded),
            "created": created,
            "kept": kept,
            "removed": len(untouched),
            "options": options.model_dump(),
        },
    )
    return ProposalRun(
        images=len(images),
        excluded=len(excluded),
        created=created,
        kept=kept,
        removed=len(untouched),
        proposals=_reads(session, _order(current)),
    )


def list_proposals(
    session: Session, caller: Caller, case_id: uuid.UUID, status: ProposalStatus | None = None
) -> tuple[Case, list[ProposalRead]]:
    """The case's proposals (open first), for whoever may see the case."""
    case = sharing.visible_or_404(
        session, caller, Case, case_id, subject_type="case", action="series.proposals"
    )
    stmt = select(SeriesProposal).where(SeriesProposal.case_id == case.id)
    if status is not None:
        stmt = stmt.where(SeriesProposal.status == status)
    proposals = _order(session.scalars(stmt))
    audit.record(
        session,
        caller,
        action="series.proposals",
        operation=Operation.CONSULTATION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={"status": status, "proposals": len(proposals)},
    )
    return case, _reads(session, proposals)


def get_proposal(session: Session, caller: Caller, proposal_id: uuid.UUID) -> ProposalRead:
    proposal, case = _proposal(session, caller, proposal_id, "series.proposal.read", own=False)
    audit.record(
        session,
        caller,
        action="series.proposal.read",
        operation=Operation.CONSULTATION,
        subject_type="series_proposal",
        subject_id=proposal.id,
        subject_agency_id=case.owner_agency_id,
        detail={"case": str(case.id)},
    )
    return _reads(session, [proposal])[0]


def case_of(session: Session, caller: Caller, proposal_id: uuid.UUID) -> uuid.UUID:
    """The case a proposal visible to the caller belongs to (for a page to return to)."""
    return _proposal(session, caller, proposal_id, "series.proposal.read", own=False)[1].id


def _open(
    session: Session, caller: Caller, proposal_id: uuid.UUID, action: str
) -> tuple[SeriesProposal, Case]:
    caller.require(Permission.MANAGE_SERIES)
    proposal, case = _proposal(session, caller, proposal_id, action, own=True)
    if proposal.status != ProposalStatus.PROPOSED:
        raise Conflict(f"the proposal is already {proposal.status}")
    return proposal, case


def _decided(proposal: SeriesProposal, caller: Caller, status: ProposalStatus) -> None:
    proposal.status = status
    proposal.decided_by_id = caller.user_id
    proposal.decided_at = utcnow()


def accept(
    session: Session, caller: Caller, proposal_id: uuid.UUID, data: ProposalAccept
) -> ProposalRead:
    """The proposal becomes a series (new, or one of the agency's own): its files by hash."""
    if (data.name is None) == (data.series_id is None):
        raise Invalid("name", "name a new series, or give the series_id of an existing one")
    proposal, case = _open(session, caller, proposal_id, "series.proposal.accept")
    if data.series_id is not None:
        series_id = data.series_id
    else:
        assert data.name is not None
        created = series_service.create_series(
            session,
            caller,
            SeriesCreate(
                name=data.name,
                description=data.description,
                sharing=data.sharing,
                partners=data.partners,
            ),
        )
        series_id = created.id
    added = series_service.add_media(
        session,
        caller,
        series_id,
        MediaAdd(triage_results=list(proposal.members), source=f"series proposal {proposal.id}"),
    )
    _decided(proposal, caller, ProposalStatus.ACCEPTED)
    proposal.series_id = series_id
    session.flush()
    audit.record(
        session,
        caller,
        action="series.proposal.accept",
        operation=Operation.ALTERATION,
        subject_type="series_proposal",
        subject_id=proposal.id,
        subject_agency_id=case.owner_agency_id,
        detail={
            "case": str(case.id),
            "series": str(series_id),
            "members": len(proposal.members),
            "added": added.added,
            "already_present": added.already_present,
        },
    )
    return _reads(session, [proposal])[0]


def split(
    session: Session, caller: Caller, proposal_id: uuid.UUID, data: ProposalSplit
) -> SplitResult:
    """Move the chosen members into a new proposal (its parent: this one); both stay open
    for a decision, each with its evidence worked out again."""
    proposal, case = _open(session, caller, proposal_id, "series.proposal.split")
    moving = set(data.members)
    members = list(proposal.members)
    if not moving <= set(members):
        raise Invalid("members", "must be members of the proposal")
    if len(moving) >= len(members):
        raise Invalid("members", "leave at least one member in the proposal")
    records = {r.id: r for r in _new_images(session, case, members)}
    stay = [m for m in members if m not in moving]
    go = [m for m in members if m in moving]
    kept_part = describe([records[m] for m in stay if m in records])
    split_part = describe([records[m] for m in go if m in records])
    proposal.members, proposal.evidence, proposal.score = stay, kept_part.as_json(), kept_part.score
    child = SeriesProposal(
        case_id=case.id,
        status=ProposalStatus.PROPOSED,
        members=go,
        parent_id=proposal.id,
        evidence=split_part.as_json(),
        score=split_part.score,
    )
    session.add(child)
    session.flush()
    audit.record(
        session,
        caller,
        action="series.proposal.split",
        operation=Operation.ALTERATION,
        subject_type="series_proposal",
        subject_id=proposal.id,
        subject_agency_id=case.owner_agency_id,
        detail={"case": str(case.id), "new": str(child.id), "kept": len(stay), "moved": len(go)},
    )
    kept_read, child_read = _reads(session, [proposal, child])
    return SplitResult(kept=kept_read, split_off=child_read)


def reject(
    session: Session, caller: Caller, proposal_id: uuid.UUID, data: ProposalReject | None = None
) -> ProposalRead:
    """Not a series: its images are not proposed again."""
    proposal, case = _open(session, caller, proposal_id, "series.proposal.reject")
    _decided(proposal, caller, ProposalStatus.REJECTED)
    session.flush()
    audit.record(
        session,
        caller,
        action="series.proposal.reject",
        operation=Operation.ALTERATION,
        subject_type="series_proposal",
        subject_id=proposal.id,
        subject_agency_id=case.owner_agency_id,
        detail={
            "case": str(case.id),
            "members": len(proposal.members),
            "reason": (data.reason.strip() if data else "") or None,
        },
    )
    return _reads(session, [proposal])[0]
