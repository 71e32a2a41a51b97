"""A case's recorded triage runs over the API: the list, and one run with a page of its files."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from taskforce.core.http import CallerDep, SessionDep
from taskforce.core.pagination import limit_query, offset_query
from taskforce.triage import reading
from taskforce.triage.schemas import MatchFilter, TriageRunRead, TriageRunSummary

router = APIRouter(tags=["triage"])


@router.get("/cases/{case_id}/triage-runs", response_model=list[TriageRunSummary])
def list_runs(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> list[TriageRunSummary]:
    """Runs of `taskforce triage --case` on this case, newest first, with their counts."""
    return reading.list_runs(session, caller, case_id)


@router.get("/triage-runs/{run_id}", response_model=TriageRunRead)
def get_run(
    run_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    match_type: MatchFilter | None = Query(default=None, description="known: exact or PDQ"),
    category: str | None = Query(
        default=None, max_length=60, description="scheme:code, uncategorised or withheld"
    ),
    errors: bool = Query(default=False, description="only files that could not be examined"),
    limit: int = limit_query(100, 1000),
    offset: int = offset_query(),
) -> TriageRunRead:
    """One run: counts, known material by category and series, errors, and a page of files.

    Matches in hash sets not shared with the caller's agency are counted but not described."""
    chosen = reading.ResultFilter(match=match_type, category=category or None, errors_only=errors)
    return reading.get_run(session, caller, run_id, chosen=chosen, limit=limit, offset=offset)
