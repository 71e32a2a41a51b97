"""Takedown notices over the API: the agency's notices, one notice's history, what an analyst
does with one, and time to removal."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter

from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import limit_query, offset_query
from taskforce.takedown import removal, service
from taskforce.takedown.models import TakedownNotice
from taskforce.takedown.schemas import (
    CheckRead,
    EventRead,
    MessageRead,
    NoticeDetail,
    NoticeRead,
    RecipientSet,
    RemovalRowRead,
    RemovalStatistics,
    Withdraw,
)

router = APIRouter(prefix="/takedown", tags=["takedown"])


def _read(notice: TakedownNotice) -> NoticeRead:
    return NoticeRead.model_validate(
        {
            **{c: getattr(notice, c) for c in NoticeRead.model_fields if hasattr(notice, c)},
            "reference": service.reference(notice.id),
        }
    )


@router.get("/notices", response_model=list[NoticeRead])
def list_notices(
    session: SessionDep,
    caller: CallerDep,
    status: Literal["open", "removed", "withdrawn", "all"] = "open",
    limit: int = limit_query(200, 1000),
    offset: int = offset_query(),
) -> list[NoticeRead]:
    """The caller's agency's notices (open ones: the longest online first)."""
    notices, _ = service.list_notices(session, caller, status=status, limit=limit, offset=offset)
    return [_read(n) for n in notices]


@router.get("/notices/{takedown_id}", response_model=NoticeDetail)
def get_notice(takedown_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> NoticeDetail:
    view = service.get_notice(session, caller, takedown_id)
    return NoticeDetail(
        **_read(view.notice).model_dump(),
        provider=view.provider.name if view.provider else None,
        events=[EventRead.model_validate(e) for e in view.events],
        checks_done=[CheckRead.model_validate(c) for c in view.checks],
        messages=[MessageRead.model_validate(m) for m in view.messages],
    )


@router.post("/notices/{takedown_id}/recipient", response_model=NoticeRead)
def set_recipient(
    takedown_id: uuid.UUID,
    data: RecipientSet,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> NoticeRead:
    """Name the host's abuse contact; the notice goes out to it at once."""
    return _read(service.set_recipient(session, caller, settings, takedown_id, data.email))


@router.post("/notices/{takedown_id}/check", response_model=NoticeRead)
def check_now(takedown_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> NoticeRead:
    """Re-check at the worker's next round."""
    return _read(service.check_now(session, caller, takedown_id))


@router.post("/notices/{takedown_id}/withdraw", response_model=NoticeRead)
def withdraw(
    takedown_id: uuid.UUID, data: Withdraw, session: SessionDep, caller: CallerDep
) -> NoticeRead:
    return _read(service.withdraw(session, caller, takedown_id, reason=data.reason))


@router.get("/statistics", response_model=RemovalStatistics)
def statistics(
    session: SessionDep,
    caller: CallerDep,
    by: Literal["country", "provider"] = "country",
    since: datetime | None = None,
) -> RemovalStatistics:
    """Time from notice to removal (median, 90th percentile) by hosting country or provider."""
    rows, total = removal.removal_statistics(session, caller, by=by, since=since)
    return RemovalStatistics(
        by=by,
        since=since,
        rows=[RemovalRowRead.model_validate(r) for r in rows],
        total=RemovalRowRead.model_validate(total),
    )
