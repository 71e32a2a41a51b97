"""The preservation pages: the agency's requests with their expiry (filters by state and
provider), the record form, one request's timeline and actions, and the counts (the
coordinator's: the whole network's) with CSV and JSON downloads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.preservation import service, statistics
from taskforce.preservation.recording import SOON
from taskforce.preservation.schemas import (
    ACTIVE,
    LEGAL_BASIS_LABELS,
    STATUS_LABELS,
    Confirm,
    Extend,
    FollowUp,
    IdentifierIn,
    PreservationCreate,
    Withdraw,
)
from taskforce.web.forms import CheckedWebDep, PageForm, attempt, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)

FILTER_LABELS = {
    "active": "Active",
    "expiring": f"Expiring within {SOON.days} days",
    "all": "All",
    **{s: label for s, label in STATUS_LABELS.items() if s not in ACTIVE},
}
PAGE = 100
FORM_FIELDS = [
    "provider",
    "provider_country",
    "identifiers",
    "legal_basis",
    "requesting_country",
    "sent_at",
    "expires_at",
    "provider_reference",
    "notes",
    "case_id",
]


@router.get("/preservations", response_class=HTMLResponse)
def requests(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    status: str = Query(default="active", max_length=20),
    provider: str = Query(default="", max_length=100),
    page: int = Query(default=1, ge=1, le=10_000),
) -> HTMLResponse:
    if status not in service.FILTERS:
        status = "active"
    now = utcnow()
    rows, total = service.list_requests(
        session,
        web.caller,
        status=status,
        provider=provider,
        limit=PAGE,
        offset=(page - 1) * PAGE,
        now=now,
    )
    return render(
        request,
        "preservation/list.html",
        {
            "rows": rows,
            "total": total,
            "status": status,
            "provider": provider,
            "filters": FILTER_LABELS,
            "labels": STATUS_LABELS,
            "active": {s.value for s in ACTIVE},
            "page": page,
            "pages": max((total + PAGE - 1) // PAGE, 1),
            "utcnow": now,
            "soon": now + SOON,
        },
    )


# --- recording ----------------------------------------------------------------------------------


class RecordForm(PageForm):
    """The record form's fields as the browser sends them."""

    provider: str = Field(default="", max_length=1000)
    provider_country: str = Field(default="", max_length=20)
    identifiers: str = Field(default="", max_length=60_000)
    legal_basis: str = Field(default="", max_length=64)
    requesting_country: str = Field(default="", max_length=20)
    sent_at: str = Field(default="", max_length=40)
    expires_at: str = Field(default="", max_length=40)
    provider_reference: str = Field(default="", max_length=1000)
    notes: str = Field(default="", max_length=20_000)
    case_id: str = Field(default="", max_length=100)


def _utc(text: str, field: str) -> datetime | None:
    """A `datetime-local` value (or a date), read as UTC; empty: none."""
    if not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(field, "a time like 2026-03-01 14:30 (UTC)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _identifier_lines(text: str) -> list[IdentifierIn]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [service.parse_identifier(line, n) for n, line in enumerate(lines)]


def _shown(error: Invalid) -> Invalid:
    """An identifier's refusal shown at the identifiers box, naming its line."""
    if not error.field.startswith("identifiers."):
        return error
    index, _, part = error.field.removeprefix("identifiers.").partition(".")
    where = f"line {int(index) + 1}" + (f" ({part})" if part else "")
    return Invalid("identifiers", f"{where}: {error.rule}")


def _form(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    values: dict[str, Any],
    error: Invalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "preservation/form.html",
        {
            "values": values,
            "error": _shown(error) if error else None,
            "bases": LEGAL_BASIS_LABELS,
            "fields": FORM_FIELDS,
        },
        status_code=422 if error else 200,
    )


@router.get("/preservations/new", response_class=HTMLResponse)
def new_request(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    service.require_desk(web.caller)
    agency = session.get(Agency, web.caller.agency_id) if web.caller.agency_id else None
    values = {
        **dict.fromkeys(FORM_FIELDS, ""),
        "legal_basis": "art29_preservation",
        "requesting_country": agency.country if agency else "",
        "sent_at": utcnow().strftime("%Y-%m-%dT%H:%M"),
    }
    return _form(request, session, web, values=values)


@router.post("/preservations/new", response_class=HTMLResponse)
def record_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[RecordForm, Form()],
) -> Response:
    values = form.model_dump()
    try:
        data = PreservationCreate(
            provider=form.provider.strip(),
            provider_country=form.provider_country.strip() or None,
            identifiers=_identifier_lines(form.identifiers),
            legal_basis=form.legal_basis,
            requesting_country=form.requesting_country.strip() or None,
            sent_at=_utc(form.sent_at, "sent_at"),
            expires_at=_utc(form.expires_at, "expires_at"),
            provider_reference=form.provider_reference.strip(),
            notes=form.notes.strip(),
            case_id=service.own_case_id(session, web.caller, form.case_id)
            if form.case_id.strip()
            else None,
        )
        made = attempt(session, lambda: service.record(session, web.caller, settings, data))
    except ValidationError as exc:
        return _form(request, session, web, values=values, error=field_error(exc))
    except Invalid as exc:
        return _form(request, session, web, values=values, error=exc)
    return RedirectResponse(f"/ui/preservations/{made.id}", status_code=303)


# --- counts -------------------------------------------------------------------------------------


@router.get("/preservations/counts", response_class=HTMLResponse)
def counts(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    """Per status, agency and provider; the coordinator's are the network's, numbers only."""
    return render(
        request,
        "preservation/counts.html",
        {"c": statistics.counts(session, web.caller), "labels": STATUS_LABELS},
    )


@router.get("/preservations/counts.{fmt}")
def counts_download(fmt: str, session: SessionDep, web: WebCallerDep) -> Response:
    if fmt not in ("csv", "json"):
        raise Invalid("format", "csv or json")
    result = statistics.counts(session, web.caller)
    name = f"preservation-counts-{result.scope.lower()}.{fmt}"
    if fmt == "json":
        body, media = json.dumps(result.model_dump(mode="json"), indent=2), "application/json"
    else:
        body, media = statistics.csv_text(result), "text/csv"
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- one request --------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    web: WebCaller,
    preservation_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    view = service.get(session, web.caller, preservation_id)
    now = utcnow()
    return render(
        request,
        "preservation/detail.html",
        {
            "v": view,
            "r": view.read,
            "labels": STATUS_LABELS,
            "bases": LEGAL_BASIS_LABELS,
            "is_active": view.request.status in {s.value for s in ACTIVE},
            "utcnow": now,
            "soon": now + SOON,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/preservations/{preservation_id}", response_class=HTMLResponse)
def detail(
    request: Request, preservation_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _detail(request, session, web, preservation_id)


def _act(
    request: Request,
    session: Session,
    web: WebCaller,
    preservation_id: uuid.UUID,
    action: Callable[[], object],
) -> Response:
    try:
        attempt(session, action)
    except ValidationError as exc:
        error = field_error(exc)
        return _detail(request, session, web, preservation_id, error=error, status_code=422)
    except Invalid as exc:
        return _detail(request, session, web, preservation_id, error=exc, status_code=422)
    return RedirectResponse(f"/ui/preservations/{preservation_id}", status_code=303)


@router.post("/preservations/{preservation_id}/confirm")
def confirm(
    request: Request,
    preservation_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    provider_reference: str = Form(default="", max_length=1000),
    note: str = Form(default="", max_length=5000),
) -> Response:
    def act() -> object:
        data = Confirm(provider_reference=provider_reference.strip(), note=note.strip())
        return service.confirm(session, web.caller, preservation_id, data)

    return _act(request, session, web, preservation_id, act)


@router.post("/preservations/{preservation_id}/extend")
def extend(
    request: Request,
    preservation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    note: str = Form(default="", max_length=5000),
) -> Response:
    def act() -> object:
        return service.extend(
            session, web.caller, settings, preservation_id, Extend(note=note.strip())
        )

    return _act(request, session, web, preservation_id, act)


@router.post("/preservations/{preservation_id}/follow-up")
def follow_up(
    request: Request,
    preservation_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    formal_reference: str = Form(default="", max_length=1000),
    note: str = Form(default="", max_length=5000),
) -> Response:
    def act() -> object:
        data = FollowUp(formal_reference=formal_reference.strip(), note=note.strip())
        return service.follow_up(session, web.caller, preservation_id, data)

    return _act(request, session, web, preservation_id, act)


@router.post("/preservations/{preservation_id}/withdraw")
def withdraw(
    request: Request,
    preservation_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=5000),
) -> Response:
    def act() -> object:
        return service.withdraw(session, web.caller, preservation_id, Withdraw(reason=reason))

    return _act(request, session, web, preservation_id, act)
