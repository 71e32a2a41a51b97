"""Urgent leads over the API: the leads sent to the caller's agency, one lead with its desks,
steps and deliveries, and acknowledging it. A lead not sent to the caller's agency answers
404, like a missing one. Handovers between desks: list, draft, write, read, acknowledge."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query

from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import limit_query
from taskforce.watch import drills, handovers, reading, schemas, service, statistics
from taskforce.watch.schemas import (
    DrillRead,
    DrillSchedule,
    LeadAcknowledge,
    LeadRead,
    LeadState,
    LeadSummary,
    StatisticsRead,
)

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


# --- handovers between desks (watch/handovers.py) ---------------------------------------------


@router.get("/watch/handovers", response_model=list[schemas.HandoverRead], tags=["handovers"])
def list_handovers(
    session: SessionDep,
    caller: CallerDep,
    open_only: bool = Query(default=False, description="only those not yet acknowledged"),
    limit: int = limit_query(100, 500),
) -> list[schemas.HandoverRead]:
    """From and to the caller's desk (every desk's for the coordinator): unacknowledged
    first, then newest."""
    return handovers.list_handovers(session, caller, open_only=open_only, limit=limit)


@router.get("/watch/handovers/draft", response_model=schemas.TurnRead, tags=["handovers"])
def handover_draft(session: SessionDep, caller: CallerDep) -> schemas.TurnRead:
    """The caller's desk's shift, who takes over, and the open leads and pending
    preservations a handover would carry (422 when the desk is not on duty)."""
    return handovers.draft(session, caller)


@router.post(
    "/watch/handovers",
    response_model=schemas.HandoverRead,
    status_code=201,
    tags=["handovers"],
)
def write_handover(
    data: schemas.HandoverWrite, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> schemas.HandoverRead:
    """The caller's desk hands its shift over; the incoming desk is alerted."""
    written = handovers.write(session, settings, caller, data)
    return handovers.get(session, caller, written.id)


@router.get(
    "/watch/handovers/{handover_id}", response_model=schemas.HandoverRead, tags=["handovers"]
)
def get_handover(
    handover_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> schemas.HandoverRead:
    return handovers.get(session, caller, handover_id)


@router.post(
    "/watch/handovers/{handover_id}/acknowledge",
    response_model=schemas.HandoverRead,
    tags=["handovers"],
)
def acknowledge_handover(
    handover_id: uuid.UUID,
    data: schemas.HandoverAcknowledge,
    session: SessionDep,
    caller: CallerDep,
) -> schemas.HandoverRead:
    """Only the incoming desk (404 for any other); 409 once acknowledged."""
    handovers.acknowledge(session, caller, handover_id)
    return handovers.get(session, caller, handover_id)


# --- drills and time to acknowledge -----------------------------------------------------------


@router.get("/watch/drills", response_model=list[DrillRead], tags=["watch"])
def list_drills(
    session: SessionDep, caller: CallerDep, limit: int = limit_query(200, 1000)
) -> list[DrillRead]:
    """The coordinator's drills, newest window first (never their send times)."""
    return drills.list_drills(session, caller, limit=limit)


@router.post("/watch/drills", response_model=list[DrillRead], status_code=201, tags=["watch"])
def schedule_drills(data: DrillSchedule, session: SessionDep, caller: CallerDep) -> list[DrillRead]:
    """Schedule an unannounced drill for one desk, or (no `desk`) for every active desk."""
    made = {d.id for d in drills.schedule(session, caller, data)}
    return [d for d in drills.list_drills(session, caller, limit=1000) if d.id in made]


@router.get("/watch/statistics", response_model=StatisticsRead, tags=["watch"])
def time_to_acknowledge(
    session: SessionDep,
    caller: CallerDep,
    settings: SettingsDep,
    start: datetime | None = Query(default=None, description="default: 30 days before end"),
    end: datetime | None = Query(default=None, description="default: now"),
) -> StatisticsRead:
    """Time to acknowledge per desk, for drills and real leads: the coordinator sees every
    desk, others their own."""
    return statistics.time_to_acknowledge(session, caller, settings, start=start, end=end)
