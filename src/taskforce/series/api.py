"""Series and victims over the API; the identification status of files by their hashes."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Query, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from taskforce.core.http import CallerDep, SessionDep
from taskforce.series import proposals, schemas, service
from taskforce.series import status as travel
from taskforce.series.schemas import (
    IdentificationStatus,
    MediaAdd,
    MediaAdded,
    SeriesCreate,
    SeriesRead,
    VictimCreate,
    VictimIdentify,
    VictimRead,
)

router = APIRouter(tags=["victim identification"])


@router.get("/series", response_model=list[SeriesRead])
def list_series(session: SessionDep, caller: CallerDep) -> list[SeriesRead]:
    """Series the caller's agency may see: its own, GREEN ones, AMBER ones naming it."""
    return service.list_series(session, caller)


@router.post("/series", response_model=SeriesRead, status_code=status.HTTP_201_CREATED)
def create_series(data: SeriesCreate, session: SessionDep, caller: CallerDep) -> SeriesRead:
    created = service.create_series(session, caller, data)
    return service.describe_many(session, caller, [created])[0]


@router.get("/series/{series_id}", response_model=SeriesRead)
def read_series(series_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> SeriesRead:
    return service.read_series(session, caller, series_id)


@router.post("/series/{series_id}/media", response_model=MediaAdded)
def add_media(
    series_id: uuid.UUID, data: MediaAdd, session: SessionDep, caller: CallerDep
) -> MediaAdded:
    """Files by hash, a case's triage results, or a hash set's entries of a named series."""
    return service.add_media(session, caller, series_id, data)


@router.post(
    "/series/{series_id}/victims", response_model=VictimRead, status_code=status.HTTP_201_CREATED
)
def add_victim(
    series_id: uuid.UUID, data: VictimCreate, session: SessionDep, caller: CallerDep
) -> VictimRead:
    service.add_victim(session, caller, series_id, data)
    read = service.read_series(session, caller, series_id)
    return next(v for v in read.victims if v.label == data.label.strip())


@router.post("/victims/{victim_id}/identify", response_model=VictimRead)
def identify_victim(
    victim_id: uuid.UUID, data: VictimIdentify, session: SessionDep, caller: CallerDep
) -> VictimRead:
    victim = service.identify_victim(session, caller, victim_id, data)
    read = service.read_series(session, caller, victim.series_id)
    return next(v for v in read.victims if v.id == victim.id)


class StatusQuery(BaseModel):
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None


class StatusRequest(BaseModel):
    files: list[StatusQuery] = Field(min_length=1, max_length=10_000)


@router.post("/series-status", response_model=list[list[IdentificationStatus]])
def series_status(
    request: StatusRequest, session: SessionDep, caller: CallerDep
) -> list[list[IdentificationStatus]]:
    """For each file, the series it belongs to and whether their victims are identified."""
    lookups = [
        travel.Lookup(
            md5=(f.md5 or "").strip().lower() or None,
            sha1=(f.sha1 or "").strip().lower() or None,
            sha256=(f.sha256 or "").strip().lower() or None,
        )
        for f in request.files
    ]
    return travel.status_for_hashes(session, caller, lookups)


@router.get("/series-statistics", response_model=None)
def statistics(
    session: SessionDep,
    caller: CallerDep,
    format_: str = Query(default="json", alias="format", pattern="^(json|csv)$"),
) -> dict[str, Any] | PlainTextResponse:
    """Children identified per month and per identifying country, and days from a series'
    first sighting to identification (`format=csv`: one row per month and country)."""
    stats = service.statistics(session, caller)
    if format_ == "csv":
        return PlainTextResponse(service.statistics_csv(stats), media_type="text/csv")
    return stats


# --- candidate series from a case's new images (series/proposals.py) ---------------------------


@router.post(
    "/cases/{case_id}/series-proposals",
    response_model=schemas.ProposalRun,
    status_code=status.HTTP_201_CREATED,
)
def propose(
    case_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    options: schemas.ProposeOptions | None = None,
) -> schemas.ProposalRun:
    """Group the case's new (unmatched) images into candidate series, with the evidence.

    Images in accepted, rejected or split proposals are not proposed again; untouched open
    proposals are replaced (kept, same id, where found again). The case's agency only."""
    return proposals.propose_for_case(session, caller, case_id, options)


@router.get("/cases/{case_id}/series-proposals", response_model=list[schemas.ProposalRead])
def list_proposals(
    case_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    status_: schemas.ProposalStatus | None = Query(default=None, alias="status"),
) -> list[schemas.ProposalRead]:
    """The case's candidate series, open ones first, each with its evidence and files."""
    return proposals.list_proposals(session, caller, case_id, status_)[1]


@router.get("/series-proposals/{proposal_id}", response_model=schemas.ProposalRead)
def read_proposal(
    proposal_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> schemas.ProposalRead:
    return proposals.get_proposal(session, caller, proposal_id)


@router.post("/series-proposals/{proposal_id}/accept", response_model=schemas.ProposalRead)
def accept_proposal(
    proposal_id: uuid.UUID,
    data: schemas.ProposalAccept,
    session: SessionDep,
    caller: CallerDep,
) -> schemas.ProposalRead:
    """Make the proposal a new series (`name`) or add it to one of the agency's (`series_id`):
    its files by hash."""
    return proposals.accept(session, caller, proposal_id, data)


@router.post("/series-proposals/{proposal_id}/split", response_model=schemas.SplitResult)
def split_proposal(
    proposal_id: uuid.UUID,
    data: schemas.ProposalSplit,
    session: SessionDep,
    caller: CallerDep,
) -> schemas.SplitResult:
    """Move the named files (triage result ids) into a new proposal; both stay open."""
    return proposals.split(session, caller, proposal_id, data)


@router.post("/series-proposals/{proposal_id}/reject", response_model=schemas.ProposalRead)
def reject_proposal(
    proposal_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    data: schemas.ProposalReject | None = None,
) -> schemas.ProposalRead:
    return proposals.reject(session, caller, proposal_id, data)
