"""The takedown pages: the agency's notices, one notice's timeline and checks, and time to
removal by country and provider (with CSV and JSON downloads)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.takedown import removal, service
from taskforce.web.forms import CheckedWebDep
from taskforce.web.session import WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)

_STATUS_LABELS = {"open": "Open", "removed": "Removed", "withdrawn": "Withdrawn", "all": "All"}
PAGE = 100


@router.get("/takedown", response_class=HTMLResponse)
def notices(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    status: str = Query(default="open", max_length=20),
    page: int = Query(default=1, ge=1, le=10_000),
) -> HTMLResponse:
    if status not in service.STATUSES:
        status = "open"
    rows, total = service.list_notices(
        session, web.caller, status=status, limit=PAGE, offset=(page - 1) * PAGE
    )
    return render(
        request,
        "takedown/list.html",
        {
            "rows": rows,
            "total": total,
            "status": status,
            "statuses": _STATUS_LABELS,
            "page": page,
            "pages": max((total + PAGE - 1) // PAGE, 1),
            "tab": "takedown",
            "ref": service.reference,
            "utcnow": datetime.now(UTC),
            "providers": service.provider_names(session, {n.provider_id for n in rows}),
        },
    )


def _notice_page(
    request: Request,
    session: Session,
    web: Any,
    notice_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = service.get_notice(session, web.caller, notice_id)
    return render(
        request,
        "takedown/detail.html",
        {
            "v": view,
            "n": view.notice,
            "ref": service.reference,
            "error": error,
            "tab": "takedown",
            "utcnow": datetime.now(UTC),
            "category_label": service.category_label(view.notice.category),
        },
        status_code=status_code,
    )


@router.get("/takedown/statistics", response_class=HTMLResponse)
def statistics(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    by: str = Query(default="country", max_length=10),
    since: str = Query(default="", max_length=10),
) -> HTMLResponse:
    """Median and 90th-percentile time from notice to removal, by country or provider."""
    grouping: Literal["country", "provider"] = "provider" if by == "provider" else "country"
    start, error = _since(since)
    rows, total = removal.removal_statistics(session, web.caller, by=grouping, since=start)
    return render(
        request,
        "takedown/statistics.html",
        {
            "rows": rows,
            "total": total,
            "by": grouping,
            "since": since if start else "",
            "error": error,
            "tab": "removal",
        },
        status_code=422 if error else 200,
    )


def _since(text: str) -> tuple[datetime | None, Invalid | None]:
    if not text.strip():
        return None, None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC), None
    except ValueError:
        return None, Invalid("since", "a date like 2026-01-31")


@router.get("/takedown/statistics.{fmt}")
def statistics_download(
    fmt: str,
    session: SessionDep,
    web: WebCallerDep,
    by: str = Query(default="country", max_length=10),
    since: str = Query(default="", max_length=10),
) -> Response:
    if fmt not in ("csv", "json"):
        raise Invalid("format", "csv or json")
    grouping: Literal["country", "provider"] = "provider" if by == "provider" else "country"
    start, error = _since(since)
    if error is not None:
        raise error
    rows, total = removal.removal_statistics(session, web.caller, by=grouping, since=start)
    fields = [
        "key",
        "label",
        "notices",
        "removed",
        "still_online",
        "median_hours",
        "p90_hours",
        "within_24h",
        "within_72h",
    ]
    records = [{f: getattr(r, f) for f in fields} for r in [*rows, total]]
    name = f"time-to-removal-by-{grouping}.{fmt}"
    if fmt == "json":
        body = json.dumps({"by": grouping, "since": since or None, "rows": records}, indent=2)
        media = "application/json"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(records)
        body, media = buffer.getvalue(), "text/csv"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/takedown/{notice_id}", response_class=HTMLResponse)
def notice(
    request: Request, notice_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _notice_page(request, session, web, notice_id)


def _act(
    request: Request,
    session: Session,
    web: Any,
    notice_id: uuid.UUID,
    action: Callable[[], object],
) -> Response:
    try:
        with session.begin_nested():
            action()
    except Invalid as exc:
        return _notice_page(request, session, web, notice_id, error=exc, status_code=422)
    except Conflict as exc:
        error = Invalid("notice", exc.message)
        return _notice_page(request, session, web, notice_id, error=error, status_code=409)
    return RedirectResponse(f"/ui/takedown/{notice_id}", status_code=303)


@router.post("/takedown/{notice_id}/recipient")
def set_recipient(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    email: str = Form(default="", max_length=320),
) -> Response:
    def act() -> object:
        return service.set_recipient(session, web.caller, settings, notice_id, email)

    return _act(request, session, web, notice_id, act)


@router.post("/takedown/{notice_id}/check")
def check_now(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
) -> Response:
    def act() -> object:
        return service.check_now(session, web.caller, notice_id)

    response = _act(request, session, web, notice_id, act)
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    return response


@router.post("/takedown/{notice_id}/withdraw")
def withdraw(
    request: Request,
    notice_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
) -> Response:
    def act() -> object:
        return service.withdraw(session, web.caller, notice_id, reason=reason)

    return _act(request, session, web, notice_id, act)
