from __future__ import annotations

import uuid

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from taskforce.cases import additions, service
from taskforce.cases import hits as hit_service
from taskforce.cases import search as search_service
from taskforce.cases.schemas import (
    BulkReport,
    CaseClose,
    CaseCreate,
    CaseEventRead,
    CaseRead,
    CaseStatus,
    CaseSummary,
    CaseUpdate,
    HitAssess,
    HitRead,
    NoiseCreate,
    NoiseRead,
    NotificationRead,
    SearchResult,
    SelectorAdded,
    SelectorCreate,
    SelectorRead,
)
from taskforce.core.errors import Invalid
from taskforce.core.http import CallerDep, SessionDep, SettingsDep, wake_worker
from taskforce.core.pagination import limit_query, offset_query

router = APIRouter(tags=["cases"])


@router.post("/cases", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
def open_case(data: CaseCreate, session: SessionDep, caller: CallerDep) -> CaseRead:
    case = service.open_case(session, caller, data)
    return service.describe_case(session, caller, case)


@router.get("/cases", response_model=list[CaseSummary])
def list_cases(
    response: Response,
    session: SessionDep,
    caller: CallerDep,
    scope: str = Query(default="visible", pattern="^(visible|mine)$"),
    status_: CaseStatus | None = Query(default=None, alias="status"),
    q: str | None = Query(default=None, max_length=100),
    limit: int = limit_query(50, 500),
    offset: int = offset_query(),
) -> list[CaseSummary]:
    page = service.list_cases(
        session, caller, scope=scope, status=status_, query=q, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(page.total)
    return page.items


@router.get("/cases/{case_id}", response_model=CaseRead)
def get_case(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> CaseRead:
    case = service.get_case(session, caller, case_id)
    return service.describe_case(session, caller, case)


@router.patch("/cases/{case_id}", response_model=CaseRead)
def update_case(
    case_id: uuid.UUID, data: CaseUpdate, session: SessionDep, caller: CallerDep
) -> CaseRead:
    case = service.update_case(session, caller, case_id, data)
    return service.describe_case(session, caller, case)


@router.post("/cases/{case_id}/close", response_model=CaseRead)
def close_case(
    case_id: uuid.UUID, session: SessionDep, caller: CallerDep, data: CaseClose | None = None
) -> CaseRead:
    """A case with unacknowledged hits closes only with a `reason` (kept in its history)."""
    reason = data.reason if data else ""
    case = service.set_status(session, caller, case_id, CaseStatus.CLOSED, reason)
    return service.describe_case(session, caller, case)


@router.post("/cases/{case_id}/reopen", response_model=CaseRead)
def reopen_case(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> CaseRead:
    case = service.set_status(session, caller, case_id, CaseStatus.OPEN)
    return service.describe_case(session, caller, case)


@router.get("/cases/{case_id}/history", response_model=list[CaseEventRead])
def case_history(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> list[CaseEventRead]:
    return [CaseEventRead.model_validate(e) for e in service.case_history(session, caller, case_id)]


@router.get("/cases/{case_id}/selectors", response_model=list[SelectorRead])
def list_selectors(
    case_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> list[SelectorRead]:
    case = service.get_case(session, caller, case_id)
    return additions.list_selectors(session, caller, case)


@router.post(
    "/cases/{case_id}/selectors", response_model=SelectorAdded, status_code=status.HTTP_201_CREATED
)
def add_selector(
    case_id: uuid.UUID,
    data: SelectorCreate,
    request: Request,
    response: Response,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> SelectorAdded:
    added = additions.add_selector(session, caller, settings, case_id=case_id, data=data)
    wake_worker(request, background)
    if not added.created:
        response.status_code = status.HTTP_200_OK
    return added


@router.post("/cases/{case_id}/selectors/import", response_model=BulkReport)
async def import_selectors(
    case_id: uuid.UUID,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> BulkReport:
    """Bulk import: a CSV body (`text/csv`) with a header naming at least `type` and `value`
    (optional `platform`, `observed_at`, `note`). Bad lines are reported, good ones kept."""
    session.commit()  # the token check's transaction ends: no lock is held while bytes arrive
    raw = await request.body()
    try:
        text_data = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid("body", "must be UTF-8 text") from exc
    # The database work leaves the event loop: a request holding the audit chain's lock must
    # be able to commit while another waits for it (benchmarks/public_form.py found the hang).
    # Committed batch by batch: SQLite's write lock is never held for the whole file.
    wake_worker(request, background)
    return await run_in_threadpool(
        additions.bulk_add_selectors,
        session,
        caller,
        settings,
        case_id=case_id,
        rows=additions.parse_bulk_csv(text_data),
        after_batch=session.commit,
    )


@router.get("/hits", response_model=list[HitRead])
def list_hits(
    session: SessionDep,
    caller: CallerDep,
    case_id: uuid.UUID | None = None,
    unacknowledged: bool = False,
    limit: int = limit_query(200, 1000),
) -> list[HitRead]:
    return hit_service.list_hits(
        session, caller, case_id=case_id, unacknowledged=unacknowledged, limit=limit
    )


@router.get("/hits/{hit_id}", response_model=HitRead)
def get_hit(hit_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> HitRead:
    return hit_service.get_hit(session, caller, hit_id)


@router.post("/hits/{hit_id}/acknowledge", response_model=HitRead)
def acknowledge_hit(
    hit_id: uuid.UUID, data: HitAssess, session: SessionDep, caller: CallerDep
) -> HitRead:
    return hit_service.assess_hit(session, caller, hit_id, data.assessment)


@router.get("/search", response_model=SearchResult)
def search(
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    type: str = Query(min_length=1, max_length=32),
    value: str = Query(min_length=1, max_length=2048),
    purpose: str | None = Query(default=None, max_length=500),
    platform: str | None = Query(default=None, max_length=100),
) -> SearchResult:
    return search_service.search(
        session, caller, settings, kind=type, value=value, purpose=purpose, platform=platform
    )


@router.get("/notifications", response_model=list[NotificationRead])
def list_notifications(
    session: SessionDep, caller: CallerDep, unread: bool = False
) -> list[NotificationRead]:
    return hit_service.list_notifications(session, caller, unread_only=unread)


@router.post("/notifications/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def read_notification(notification_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> None:
    hit_service.mark_notification_read(session, caller, notification_id)


@router.get("/noise", response_model=list[NoiseRead])
def list_noise(session: SessionDep, caller: CallerDep) -> list[NoiseRead]:
    return service.list_noise(session, caller)


@router.post("/noise", response_model=NoiseRead, status_code=status.HTTP_201_CREATED)
def add_noise(data: NoiseCreate, session: SessionDep, caller: CallerDep) -> NoiseRead:
    entry = service.add_noise(
        session, caller, kind=data.type, pattern=data.pattern, reason=data.reason
    )
    return NoiseRead(
        id=entry.id, type=entry.kind, pattern=entry.pattern, reason=entry.reason, builtin=False
    )


@router.delete("/noise/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_noise(entry_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> None:
    service.remove_noise(session, caller, entry_id)
