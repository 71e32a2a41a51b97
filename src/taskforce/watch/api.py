"""Urgent leads over the API: the leads sent to the caller's agency, one lead with its desks,
steps and deliveries, and acknowledging it. A lead not sent to the caller's agency answers
404, like a missing one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from taskforce.core.http import CallerDep, SessionDep
from taskforce.core.pagination import limit_query
from taskforce.watch import reading, service
from taskforce.watch.schemas import LeadAcknowledge, LeadRead, LeadState, LeadSummary

router = APIRouter(tags=["leads"])


@router.get("/leads", response_model=list[LeadSummary])
def list_leads(
    session: SessionDep,
    caller: CallerDep,
    state: LeadState = Query(default=LeadState.OPEN, description="open: not yet acknowledged"),
    limit: int = limit_query(100, 500),
) -> list[LeadSummary]:
    """Unacknowledged first, then newest."""
    return reading.list_leads(session, caller, state=state, limit=limit)


@router.get("/leads/{lead_id}", response_model=LeadRead)
def get_lead(lead_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> LeadRead:
    return reading.get_lead(session, caller, lead_id)


@router.post("/leads/{lead_id}/acknowledge", response_model=LeadRead)
def acknowledge(
    lead_id: uuid.UUID, data: LeadAcknowledge, session: SessionDep, caller: CallerDep
) -> LeadRead:
    """The caller's desk takes the lead; 409 if a desk already did (the answer names it)."""
    service.acknowledge(session, caller, lead_id, note=data.note)
    return reading.get_lead(session, caller, lead_id)
