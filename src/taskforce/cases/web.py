"""Case pages: the case list, opening and editing a case, the case page with its selectors and
hits, the hits inbox and selector search. Bad input re-renders the form with the message next
to the field it names (422); what to show and who may do what is decided by the services."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import additions, service
from taskforce.cases import hits as hit_service
from taskforce.cases import search as search_service
from taskforce.cases.schemas import (
    OFFENCE_TYPES,
    Assessment,
    CaseCreate,
    CaseRead,
    CaseStatus,
    CaseUpdate,
    HitRead,
    SelectorCreate,
)
from taskforce.cases.selectors import SelectorKind, describe_rules
from taskforce.core.errors import Invalid
from taskforce.core.http import SessionDep, SettingsDep, wake_worker
from taskforce.core.inbox import service as inbox_service
from taskforce.core.sharing import SharingLevel
from taskforce.web import parts
from taskforce.web.forms import CheckedWebDep, PageForm, SharingForm, attempt, field_error
from taskforce.web.session import (
    WebCaller,
    WebCallerDep,
    is_htmx,
    render,
    safe_next,
)

router = APIRouter(prefix="/ui", include_in_schema=False)


SELECTOR_TYPES = [k.value for k in SelectorKind]
ASSESSMENTS = [a.value for a in Assessment]


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- case list --------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    scope: str = Query(default="mine", pattern="^(mine|visible)$"),
    q: str = Query(default="", max_length=100),
    status: CaseStatus | None = Query(default=None),
) -> HTMLResponse:
    page = service.list_cases(
        session, web.caller, scope=scope, status=status, query=q.strip() or None, limit=200
    )
    return render(
        request,
        "cases/list.html",
        {"page": page, "scope": scope, "q": q, "status": status.value if status else ""},
    )


# --- open and edit --------------------------------------------------------------------------------


def _case_form(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    values: dict[str, Any],
    error: Invalid | None = None,
    case: CaseRead | None = None,
) -> HTMLResponse:
    agencies = [a for a in agency_service.list_agencies(session) if a.id != web.caller.agency_id]
    standing = (
        {a.code for a in agency_service.partners_of(session, web.caller.agency_id)}
        if web.caller.agency_id
        else set()
    )
    return render(
        request,
        "cases/form.html",
        {
            "values": values,
            "error": error,
            "case": case,
            "agencies": agencies,
            "standing_partners": standing,
            "offence_types": OFFENCE_TYPES,
            "levels": [lvl.value for lvl in SharingLevel],
        },
        status_code=422 if error else 200,
    )


@router.get("/cases/new", response_class=HTMLResponse)
def new_case_form(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    standing = (
        sorted(a.code for a in agency_service.partners_of(session, web.caller.agency_id))
        if web.caller.agency_id
        else []
    )
    values = {
        "title": "",
        "summary": "",
        "offence_types": [],
        "sharing": "red",
        "partners": standing,
        "lead_investigator": "",
    }
    return _case_form(request, session, web, values=values)


class CaseForm(SharingForm):
    """The case form, the same for opening and editing a case."""

    title: str = Field(default="", max_length=1000)
    summary: str = Field(default="", max_length=40_000)
    offence_types: list[str] = Field(default_factory=list)
    lead_investigator: str = Field(default="", max_length=320)

    def values(self) -> dict[str, Any]:
        """What the form shows again when it is refused."""
        return {**self.model_dump(), "sharing": self.level.value}

    def fields(self) -> dict[str, Any]:
        """The fields of `CaseCreate` / `CaseUpdate`, trimmed."""
        return {
            "title": self.title.strip(),
            "summary": self.summary,
            "offence_types": self.offence_types,
            "sharing": self.level,
            "partners": self.amber_partners,
            "lead_investigator": self.lead_investigator.strip() or None,
        }


@router.post("/cases/new", response_class=HTMLResponse)
def create_case(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[CaseForm, Form()],
) -> Response:
    try:
        data = CaseCreate(**form.fields())
        case = attempt(session, lambda: service.open_case(session, web.caller, data))
    except ValidationError as exc:
        return _case_form(request, session, web, values=form.values(), error=field_error(exc))
    except Invalid as exc:
        return _case_form(request, session, web, values=form.values(), error=exc)
    return _go(f"/ui/cases/{case.id}")


@router.get("/cases/{case_id}/edit", response_class=HTMLResponse)
def edit_case_form(
    request: Request, case_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    case = service.describe_case(
        session, web.caller, service.get_case(session, web.caller, case_id)
    )
    values = {
        "title": case.title,
        "summary": case.summary,
        "offence_types": case.offence_types,
        "sharing": case.sharing.value,
        "partners": case.partners,
        "lead_investigator": case.lead_investigator or "",
    }
    return _case_form(request, session, web, values=values, case=case)


@router.post("/cases/{case_id}/edit", response_class=HTMLResponse)
def update_case(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[CaseForm, Form()],
) -> Response:
    try:
        data = CaseUpdate(**form.fields())
        attempt(session, lambda: service.update_case(session, web.caller, case_id, data))
    except (ValidationError, Invalid) as exc:
        error = field_error(exc) if isinstance(exc, ValidationError) else exc
        case = service.describe_case(
            session, web.caller, service.get_case(session, web.caller, case_id)
        )
        return _case_form(request, session, web, values=form.values(), error=error, case=case)
    return _go(f"/ui/cases/{case_id}")


@router.post("/cases/{case_id}/close")
def close_case(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
) -> Response:
    """A case with unacknowledged hits asks for a reason first (the page's "Close case…")."""
    try:
        attempt(
            session,
            lambda: service.set_status(session, web.caller, case_id, CaseStatus.CLOSED, reason),
        )
    except Invalid as exc:
        return _case_page(request, session, web, case_id, status_code=422, close_error=exc)
    return _go(f"/ui/cases/{case_id}")


@router.post("/cases/{case_id}/not-for-export")
def mark_not_for_export(
    case_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    not_for_export: str = Form(default="yes", max_length=8),
) -> Response:
    """The owner's mark: "yes" keeps a GREEN case inside the hub, "no" lets it be exported."""
    data = CaseUpdate(not_for_export=not_for_export != "no")
    service.update_case(session, web.caller, case_id, data)
    return _go(f"/ui/cases/{case_id}#exports")


@router.post("/cases/{case_id}/reopen")
def reopen_case(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
) -> Response:
    service.set_status(session, web.caller, case_id, CaseStatus.OPEN)
    return _go(f"/ui/cases/{case_id}")


# --- the case page --------------------------------------------------------------------------------


def _selector_context(
    session: Session,
    web: WebCaller,
    case: CaseRead,
    *,
    values: dict[str, str] | None = None,
    error: Invalid | None = None,
    added: Any = None,
) -> dict[str, Any]:
    case_model = service.get_case(session, web.caller, case.id)
    selectors = additions.list_selectors(session, web.caller, case_model)
    hits = hit_service.list_hits(session, web.caller, case_id=case.id)
    return {
        "case": case,
        "selectors": selectors,
        "hits": hits,
        "selector_types": SELECTOR_TYPES,
        "selector_rules": {k.value: rule for k, rule in describe_rules().items()},
        "sel_values": values or {"type": "email", "value": "", "platform": "", "observed_at": ""},
        "sel_error": error,
        "added": added,
        "assessments": ASSESSMENTS,
    }


def _case_page(
    request: Request,
    session: Session,
    web: WebCaller,
    case_id: uuid.UUID,
    *,
    status_code: int = 200,
    close_error: Invalid | None = None,
    **selector_kw: Any,
) -> HTMLResponse:
    case_model = service.get_case(session, web.caller, case_id)
    case = service.describe_case(session, web.caller, case_model)
    ctx = _selector_context(session, web, case, **selector_kw)
    ctx["close_error"] = close_error
    ctx["history"] = service.case_history(session, web.caller, case_id)
    # the case's triage runs (triage.web.case_runs): triage sits above cases
    ctx.update(parts.section(request, "case", session, web.caller, case_model))
    return render(request, "cases/detail.html", ctx, status_code=status_code)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request, case_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _case_page(request, session, web, case_id)


def _observed_at(raw: str) -> datetime | None:
    """`datetime-local` inputs carry no zone; the form labels them UTC."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("observed_at", "must be a date and time like 2026-01-31 14:05") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class SelectorForm(PageForm):
    type: str = Field(default="", max_length=32)
    value: str = Field(default="", max_length=4096)
    platform: str = Field(default="", max_length=200)
    observed_at: str = Field(default="", max_length=40)
    note: str = Field(default="", max_length=1000)


@router.post("/cases/{case_id}/selectors", response_class=HTMLResponse)
def add_selector(
    request: Request,
    case_id: uuid.UUID,
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[SelectorForm, Form()],
) -> Response:
    values = form.model_dump()
    error: Invalid | None = None
    added = None
    try:
        data = SelectorCreate(
            type=form.type,
            value=form.value,
            platform=form.platform.strip() or None,
            observed_at=_observed_at(form.observed_at),
            note=form.note.strip(),
        )
        added = attempt(
            session,
            lambda: additions.add_selector(
                session, web.caller, settings, case_id=case_id, data=data
            ),
        )
    except ValidationError as exc:
        error = field_error(exc)
    except Invalid as exc:
        error = exc
    if error is None:
        wake_worker(request, background)
    if not is_htmx(request):
        if error is None:
            return _go(f"/ui/cases/{case_id}#selectors")
        return _case_page(
            request, session, web, case_id, status_code=422, values=values, error=error
        )
    case = service.describe_case(
        session, web.caller, service.get_case(session, web.caller, case_id)
    )
    kept = values if error else {**values, "value": "", "note": ""}
    ctx = _selector_context(session, web, case, values=kept, error=error, added=added)
    return render(request, "cases/_selectors.html", ctx, status_code=422 if error else 200)


# --- hits ---------------------------------------------------------------------------------------


def _inbox_order(hits: list[HitRead]) -> list[HitRead]:
    """Unacknowledged first (they need a call to the other desk), newest first within each."""
    return sorted(hits, key=lambda h: (h.acknowledged_at is not None, -h.created_at.timestamp()))


@router.get("/hits", response_class=HTMLResponse)
def hits_inbox(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    hits = _inbox_order(hit_service.list_hits(session, web.caller))
    # as the badge counts them: a withdrawn cross-node hit no longer waits for a call
    open_count = sum(1 for h in hits if h.acknowledged_at is None and h.withdrawn_at is None)
    # the agency's notices that are not hits (a gap in the rota, a handover left waiting, a
    # preservation about to expire) come first: the badge counts the unread ones too
    notices = inbox_service.notices_for(session, web.caller)
    return render(
        request,
        "cases/hits.html",
        {
            "hits": hits,
            "open_count": open_count,
            "assessments": ASSESSMENTS,
            "notices": notices,
            "unread_notices": sum(1 for n in notices if n.read_at is None),
        },
    )


@router.post("/hits/notices/{notice_id}/read")
def mark_notice_read(notice_id: uuid.UUID, session: SessionDep, web: CheckedWebDep) -> Response:
    """Marks a notice of the caller's agency read (404 for any other) and goes back."""
    inbox_service.mark_read(session, web.caller, notice_id)
    return _go("/ui/hits#notices")


@router.get("/hits/{hit_id}", response_class=HTMLResponse)
def hit_page(
    request: Request, hit_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    hit = hit_service.get_hit(session, web.caller, hit_id)
    return render(request, "cases/hit.html", {"hit": hit, "assessments": ASSESSMENTS})


@router.post("/hits/{hit_id}/assess")
def assess_hit(
    request: Request,
    hit_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    assessment: str = Form(default="", max_length=32),
    next: str = Form(default="", max_length=500),
) -> Response:
    chosen = Assessment(assessment) if assessment in ASSESSMENTS else None
    hit_service.assess_hit(session, web.caller, hit_id, chosen)
    return _go(safe_next(next) if next else f"/ui/hits/{hit_id}")


# --- search ---------------------------------------------------------------------------------------


@router.get("/search", response_class=HTMLResponse)
def search_form(request: Request, web: WebCallerDep) -> HTMLResponse:
    values = {"type": "email", "value": "", "purpose": "", "platform": ""}
    return render(
        request,
        "cases/search.html",
        {"values": values, "selector_types": SELECTOR_TYPES, "result": None, "error": None},
    )


class SearchForm(PageForm):
    type: str = Field(default="", max_length=32)
    value: str = Field(default="", max_length=4096)
    purpose: str = Field(default="", max_length=1000)
    platform: str = Field(default="", max_length=200)


@router.post("/search", response_class=HTMLResponse)
def run_search(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[SearchForm, Form()],
) -> HTMLResponse:
    """A POST, not a GET: the searched value and its purpose stay out of URLs and logs."""
    ctx: dict[str, Any] = {"values": form.model_dump(), "selector_types": SELECTOR_TYPES}
    try:
        ctx["result"] = search_service.search(
            session,
            web.caller,
            settings,
            kind=form.type,
            value=form.value,
            purpose=form.purpose,
            platform=form.platform.strip() or None,
        )
        ctx["error"] = None
    except Invalid as exc:
        ctx.update(result=None, error=exc)
        return render(request, "cases/search.html", ctx, status_code=422)
    return render(request, "cases/search.html", ctx)
