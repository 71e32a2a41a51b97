"""Proposals over the API: list them, read one, approve or reject it. They are made by the
domains' own routes: a change from someone who does not keep the record answers 202 with the
proposal (`accepted`)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller
from taskforce.core.http import CallerDep, SessionDep
from taskforce.core.pagination import limit_query, offset_query
from taskforce.core.proposals import service
from taskforce.core.proposals.models import ChangeProposal
from taskforce.core.proposals.schemas import Decision, ProposalPage, ProposalRead

router = APIRouter(prefix="/proposals", tags=["proposals"])

ACCEPTED: dict[int | str, dict[str, Any]] = {
    status.HTTP_202_ACCEPTED: {
        "model": ProposalRead,
        "description": "You do not keep this record: the change was proposed to its keeper "
        "(or the network coordinator), who approves or rejects it.",
    }
}
"""For the `responses` of a domain route that may answer with a proposal."""


def accepted(session: Session, caller: Caller, proposal: ChangeProposal) -> JSONResponse:
    """202 with the proposal: what a domain route answers instead of making the change."""
    body = service.describe(session, caller, proposal)
    return JSONResponse(jsonable_encoder(body), status_code=status.HTTP_202_ACCEPTED)


@router.get("", response_model=ProposalPage)
def list_proposals(
    session: SessionDep,
    caller: CallerDep,
    state: str = Query(
        default="pending", max_length=10, description="pending, approved, rejected or all"
    ),
    limit: int = limit_query(50, 500),
    offset: int = offset_query(),
) -> ProposalPage:
    """Proposals you made, proposals about records your agency keeps and, for the network's
    stewards, all of them."""
    return service.list_proposals(session, caller, state=state, limit=limit, offset=offset)


@router.get("/{proposal_id}", response_model=ProposalRead)
def get_proposal(proposal_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ProposalRead:
    return service.get_proposal(session, caller, proposal_id)


@router.post("/{proposal_id}/approve", response_model=ProposalRead)
def approve(
    proposal_id: uuid.UUID, session: SessionDep, caller: CallerDep, data: Decision | None = None
) -> ProposalRead:
    """Apply the change, as you; only the record's keeper or a steward may."""
    reason = data.reason if data else ""
    proposal = service.decide(session, caller, proposal_id, approve=True, reason=reason)
    return service.describe(session, caller, proposal)


@router.post("/{proposal_id}/reject", response_model=ProposalRead)
def reject(
    proposal_id: uuid.UUID, session: SessionDep, caller: CallerDep, data: Decision | None = None
) -> ProposalRead:
    """Leave the record as it is; `reason` is required."""
    reason = data.reason if data else ""
    proposal = service.decide(session, caller, proposal_id, approve=False, reason=reason)
    return service.describe(session, caller, proposal)
