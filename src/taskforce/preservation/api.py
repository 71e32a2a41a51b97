"""Preservation requests over the API: the agency's requests, recording one (its identifiers
become selectors of a RED case and are deconflicted), one request with its timeline, its
steps, and the counts. Another agency's request answers 404, like a missing one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query
from fastapi.responses import Response

from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import limit_query, offset_query
from taskforce.preservation import service, statistics
from taskforce.preservation.schemas import (
    Confirm,
    EventRead,
    Extend,
    FollowUp,
    PreservationCounts,
    PreservationCreate,
    PreservationDetail,
    PreservationRead,
    Withdraw,
)

router = APIRouter(prefix="/preservations", tags=["preservation"])


def _detail(view: service.PreservationView) -> PreservationDetail:
    return PreservationDetail(
        **view.read.model_dump(),
        case_reference=view.case_reference,
        hits=view.hits,
        events=[EventRead.model_validate(e) for e in view.events],
    )


@router.get("", response_model=list[PreservationRead])
def list_preservations(
    session: SessionDep,
    caller: CallerDep,
    response: Response,
    status: str = Query(
        default="active",
        max_length=16,
        description="active (the soonest expiry first), expiring (within 14 days), all, or "
        "one status: sent, confirmed, extended, followed_up, expired, withdrawn",
    ),
    provider: str = Query(default="", max_length=100, description="Part of the provider's name"),
    limit: int = limit_query(100, 500),
    offset: int = offset_query(),
) -> list[PreservationRead]:
    """The caller's agency's requests; the total is in `X-Total-Count`."""
    rows, total = service.list_requests(
        session, caller, status=status, provider=provider, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(total)
    return [service.describe(session, r) for r in rows]


@router.post("", response_model=PreservationDetail, status_code=201)
def record(
    data: PreservationCreate, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> PreservationDetail:
    """Record a request sent to a provider; expiry defaults to sent + 90 days."""
    request = service.record(session, caller, settings, data)
    return _detail(service.get(session, caller, request.id))


@router.get("/counts", response_model=PreservationCounts)
def counts(session: SessionDep, caller: CallerDep) -> PreservationCounts:
    """Per status, agency and provider, and expiring within 14 days: the agency's own, or the
    network's for the coordinator (numbers only)."""
    return statistics.counts(session, caller)


@router.get("/{preservation_id}", response_model=PreservationDetail)
def get_preservation(
    preservation_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> PreservationDetail:
    return _detail(service.get(session, caller, preservation_id))


@router.post("/{preservation_id}/confirm", response_model=PreservationDetail)
def confirm(
    preservation_id: uuid.UUID, data: Confirm, session: SessionDep, caller: CallerDep
) -> PreservationDetail:
    """The provider confirmed, with its reference."""
    service.confirm(session, caller, preservation_id, data)
    return _detail(service.get(session, caller, preservation_id))


@router.post("/{preservation_id}/extend", response_model=PreservationDetail)
def extend(
    preservation_id: uuid.UUID,
    data: Extend,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> PreservationDetail:
    """Another term from the current expiry; once only (Art. 29(7)), a second is refused."""
    service.extend(session, caller, settings, preservation_id, data)
    return _detail(service.get(session, caller, preservation_id))


@router.post("/{preservation_id}/follow-up", response_model=PreservationDetail)
def follow_up(
    preservation_id: uuid.UUID, data: FollowUp, session: SessionDep, caller: CallerDep
) -> PreservationDetail:
    """A formal request (MLA, production order) took over."""
    service.follow_up(session, caller, preservation_id, data)
    return _detail(service.get(session, caller, preservation_id))


@router.post("/{preservation_id}/withdraw", response_model=PreservationDetail)
def withdraw(
    preservation_id: uuid.UUID, data: Withdraw, session: SessionDep, caller: CallerDep
) -> PreservationDetail:
    service.withdraw(session, caller, preservation_id, data)
    return _detail(service.get(session, caller, preservation_id))
