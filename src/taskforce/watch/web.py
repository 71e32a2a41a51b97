"""The 24/7 desk's pages: /ui/leads (the leads sent to the desk's agency, open first, with the
time each has waited and the minutes left to acknowledge it) and /ui/leads/{id} (the report,
the desks alerted with their phones, every step in UTC and the desk's local time, whether each
message went out, and the form to acknowledge).

The report's own content is read through the reports service (its read is audited there),
whose section `taskforce.pages` hands to this page; when it is not available to the desk the
page says so and still shows the lead.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import pycountry
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.http import SessionDep
from taskforce.watch import drills, handovers, messages, reading, schemas, service, statistics
from taskforce.watch.schemas import NOTE_MAX, DrillSchedule, LeadState, LeadSummary
from taskforce.web import parts
from taskforce.web.forms import CheckedWebDep, attempt
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)


def country_name(code: str | None) -> str:
    if not code:
        return "not given"
    found = pycountry.countries.get(alpha_2=code)
    name = getattr(found, "common_name", None) or getattr(found, "name", None)
    return f"{code} · {name}" if name else code


def phone(number: str) -> str:
    """E.164 as people read it aloud: +44 20 7946 0001."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def redundant(reason: str, kind_label: str) -> bool:
    """The reason says no more than the kind ("a child in immediate danger")."""
    a, b = reason.strip().lower(), kind_label.lower()
    return not a or a in b or b in a or a.removeprefix("a ") in b


def _span(total: int) -> str:
    """Minutes for a person: "7 min", "2 h 05 min", "3 d 4 h"."""
    total = max(total, 0)
    if total < 60:
        return f"{total} min"
    hours, mins = divmod(total, 60)
    if hours < 48:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def clock(lead: LeadSummary, now: datetime) -> dict[str, Any]:
    """Where the lead stands against its deadline, in words a desk reads at a glance."""
    waited = messages.minutes(now - lead.received_at)
    if lead.acknowledged_at is not None:
        took = messages.minutes(lead.acknowledged_at - lead.received_at)
        late = lead.ack_due_at is not None and lead.acknowledged_at > lead.ack_due_at
        return {"open": False, "overdue": False, "took": _span(took), "late": late}
    if lead.ack_due_at is None:
        return {"open": True, "overdue": False, "waited": _span(waited), "deadline": ""}
    left = lead.ack_due_at - now
    if left.total_seconds() >= 0:
        return {
            "open": True,
            "overdue": False,
            "waited": _span(waited),
            "deadline": f"{_span(messages.minutes(left))} left",
        }
    return {
        "open": True,
        "overdue": True,
        "waited": _span(waited),
        "deadline": f"overdue by {_span(messages.minutes(-left))}",
    }


def _timezone(session: Session, web: WebCaller) -> str:
    agency = agency_service.get(session, web.caller.agency_id) if web.caller.agency_id else None
    return agency.timezone if agency else "UTC"


def _times(timezone: str) -> dict[str, Any]:
    return {
        "tz": timezone,
        "utc": messages.utc_time,
        "local": lambda value, fmt="%Y-%m-%d %H:%M": messages.local_time(value, timezone, fmt),
        "local_in": messages.local_time,
        "country_name": country_name,
        "phone": phone,
        "redundant": redundant,
    }


@router.get("/leads", response_class=HTMLResponse)
def leads_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    state: LeadState = Query(default=LeadState.OPEN),
) -> HTMLResponse:
    """The desk's list; the read is audited."""
    leads = reading.list_leads(session, web.caller, state=state)
    now = utcnow()
    return render(
        request,
        "watch/list.html",
        {
            "leads": [(lead, clock(lead, now)) for lead in leads],
            "state": state.value,
            "ack_minutes": request.app.state.settings.urgent_ack_minutes,
            **_times(_timezone(session, web)),
        },
    )


def _lead_page(
    request: Request,
    session: Session,
    web: WebCaller,
    lead_id: uuid.UUID,
    *,
    error: Invalid | Conflict | None = None,
    note: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    view = reading.get_lead(session, web.caller, lead_id)
    timezone = _timezone(session, web)
    return render(
        request,
        "watch/detail.html",
        {
            "v": view,
            "lead": view.lead,
            "clock": clock(view.lead, utcnow()),
            # "report": the report as the reports service gives it to this desk, or None
            # (reports.web.lead_report: reports open leads, the watch imports no report)
            **parts.section(request, "lead", session, web.caller, view.lead.report_id),
            "error": error,
            "note": note,
            "note_max": NOTE_MAX,
            "now_utc": utcnow(),
            **_times(timezone),
        },
        status_code=status_code,
    )


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def lead_page(
    request: Request, lead_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _lead_page(request, session, web, lead_id)


@router.post("/leads/{lead_id}/acknowledge")
def acknowledge_lead(
    request: Request,
    lead_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    note: str = Form(default="", max_length=4 * NOTE_MAX),
) -> Response:
    try:
        with session.begin_nested():
            service.acknowledge(session, web.caller, lead_id, note=note)
    except Invalid as exc:
        return _lead_page(request, session, web, lead_id, error=exc, note=note, status_code=422)
    except Conflict as exc:
        return _lead_page(request, session, web, lead_id, error=exc, status_code=409)
    return RedirectResponse(f"/ui/leads/{lead_id}", status_code=303)


# --- reachability drills and time to acknowledge ----------------------------------------------

public_router = APIRouter(include_in_schema=False)

_DRILL_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the secret in the address goes nowhere else
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _drill_page(
    request: Request,
    session: Session,
    secret: str,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    try:
        view = drills.public_view(session, secret)
    except NotFound:
        view, status_code = None, 404
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request,
        "watch/drill_link.html",
        {
            "d": view,
            "secret": secret,
            "error": error,
            "name_max": drills.ACKNOWLEDGER_MAX,
            "utc": messages.utc_time,
            "local_in": messages.local_time,
        },
        status_code=status_code,
    )
    response.headers.update(_DRILL_HEADERS)
    return response


@public_router.get("/drills/{secret}", response_class=HTMLResponse)
def drill_link(request: Request, secret: str, session: SessionDep) -> HTMLResponse:
    """The page a drill's alert links to: no login (a drill carries no case data)."""
    return _drill_page(request, session, secret)


@public_router.post("/drills/{secret}")
def drill_acknowledge(
    request: Request,
    secret: str,
    session: SessionDep,
    name: str = Form(default="", max_length=4 * drills.ACKNOWLEDGER_MAX),
) -> Response:
    """One button: the secret in the address is what a forged request could not know."""
    try:
        with session.begin_nested():
            drills.acknowledge(session, secret, by=name)
    except Invalid as exc:
        return _drill_page(request, session, secret, error=exc, status_code=422)
    except NotFound:
        return _drill_page(request, session, secret)
    return RedirectResponse(f"/drills/{secret}", status_code=303)


def _drills_page(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    error: Invalid | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "watch/drills.html",
        {
            "drills": drills.list_drills(session, web.caller),
            "desks": drills.active_desks(session),
            "error": error,
            "give_up_hours": request.app.state.settings.drill_give_up_hours,
            "tab": "drills",
            "utc": messages.utc_time,
        },
        status_code=status_code,
    )


@router.get("/watch/drills", response_class=HTMLResponse)
def drills_page(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    """The coordinator's drills (MANAGE_ROTA) and the form to schedule one."""
    return _drills_page(request, session, web)


def _utc_field(text: str, field: str) -> datetime:
    """A `datetime-local` field read as UTC (the page says so)."""
    try:
        return datetime.fromisoformat(text.strip()).replace(tzinfo=UTC)
    except ValueError:
        raise Invalid(field, "a date and time like 2026-12-03T02:00 (UTC)") from None


@router.post("/watch/drills")
def schedule_drills(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    desk: str = Form(default="", max_length=32),
    window_start: str = Form(default="", max_length=32),
    window_end: str = Form(default="", max_length=32),
) -> Response:
    try:
        data = DrillSchedule(
            desk=desk or None,
            window_start=_utc_field(window_start, "window_start"),
            window_end=_utc_field(window_end, "window_end"),
        )
        attempt(session, lambda: drills.schedule(session, web.caller, data))
    except Invalid as exc:
        return _drills_page(request, session, web, error=exc, status_code=422)
    return RedirectResponse("/ui/watch/drills", status_code=303)


def _day(text: str, field: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid(field, "a date like 2026-12-31") from None


@router.get("/watch/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    start: str = Query(default="", max_length=10, alias="from"),
    end: str = Query(default="", max_length=10, alias="to"),
    format: str = Query(default="html", max_length=4),
) -> Response:
    """Time to acknowledge per desk; `?format=csv|json` downloads the same figures. Dates are
    whole UTC days, `to` included."""
    error: Invalid | None = None
    try:
        if format not in ("html", "csv", "json"):
            raise Invalid("format", "csv or json")
        first, last = _day(start, "from"), _day(end, "to")
        figures = statistics.time_to_acknowledge(
            session,
            web.caller,
            request.app.state.settings,
            start=first,
            end=last + timedelta(days=1) if last else None,
        )
    except Invalid as exc:
        if format != "html":
            raise
        error = exc
        figures = statistics.time_to_acknowledge(session, web.caller, request.app.state.settings)
    if format == "csv":
        return Response(
            statistics.to_csv(figures),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="time-to-acknowledge.csv"'},
        )
    if format == "json":
        return Response(
            json.dumps(figures.model_dump(mode="json"), indent=1),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="time-to-acknowledge.json"'},
        )
    return render(
        request,
        "watch/statistics.html",
        {
            "f": figures,
            "start": start if error is None else "",
            "end": end if error is None else "",
            "error": error,
            "tab": "statistics",
            "utc": messages.utc_time,
        },
        status_code=422 if error else 200,
    )


# --- handovers between desks (watch/handovers.py) ---------------------------------------------


def _at(value: str | None) -> datetime | None:
    """A time a handover's content keeps as ISO text, back as a datetime for the page."""
    return datetime.fromisoformat(value) if value else None


@router.get("/watch/handovers", response_class=HTMLResponse)
def handovers_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    state: LeadState = Query(default=LeadState.OPEN),
) -> HTMLResponse:
    """From and to the desk (every desk's for the coordinator); the read is audited."""
    now = utcnow()
    rows = handovers.list_handovers(session, web.caller, open_only=state == LeadState.OPEN, now=now)
    try:
        handovers.own_desk(session, web.caller)
        has_desk = True
    except (NotFound, Forbidden):
        has_desk = False
    return render(
        request,
        "watch/handovers.html",
        {
            "rows": rows,
            "state": state.value,
            "has_desk": has_desk,
            "tab": "handovers",
            "ack_minutes": request.app.state.settings.handover_ack_minutes,
            "now_utc": now,
            **_times(_timezone(session, web)),
        },
    )


def _form_page(
    request: Request,
    session: Session,
    web: WebCaller,
    *,
    error: Invalid | Conflict | None = None,
    chosen: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utcnow()
    turn: schemas.TurnRead | None = None
    refusal: Invalid | NotFound | None = None
    try:
        turn = handovers.draft(session, web.caller, now=now)
    except (Invalid, NotFound) as exc:
        refusal = exc
    return render(
        request,
        "watch/handover_form.html",
        {
            "turn": turn,
            "refusal": refusal,
            "error": error,
            "chosen": chosen,
            "notes_max": handovers.NOTES_MAX,
            "at": _at,
            **_times(_timezone(session, web)),
        },
        status_code=status_code,
    )


@router.get("/watch/handovers/new", response_class=HTMLResponse)
def handover_form(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    """The write form, prefilled: the desk's shift, who takes over, every open lead and
    pending preservation ticked."""
    handovers.own_desk(session, web.caller)
    return _form_page(request, session, web)


@router.post("/watch/handovers")
def write_handover(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    to_desk: str = Form(default="", max_length=32),
    leads: list[str] = Form(default=[], max_length=500),
    preservations: list[str] = Form(default=[], max_length=500),
    notes: str = Form(default="", max_length=4 * handovers.NOTES_MAX),
) -> Response:
    chosen = {"to_desk": to_desk, "leads": leads, "preservations": preservations, "notes": notes}
    try:
        picked = [uuid.UUID(value) for value in leads]
    except ValueError:
        error = Invalid("leads", "each lead is chosen by its id from the list")
        return _form_page(request, session, web, error=error, chosen=chosen, status_code=422)
    data = schemas.HandoverWrite(
        to_desk=to_desk or None, leads=picked, preservations=preservations, notes=notes
    )
    try:
        with session.begin_nested():
            written = handovers.write(session, request.app.state.settings, web.caller, data)
    except Invalid as exc:
        return _form_page(request, session, web, error=exc, chosen=chosen, status_code=422)
    except Conflict as exc:
        return _form_page(request, session, web, error=exc, chosen=chosen, status_code=409)
    return RedirectResponse(f"/ui/watch/handovers/{written.id}", status_code=303)


def _handover_page(
    request: Request,
    session: Session,
    web: WebCaller,
    handover_id: uuid.UUID,
    *,
    error: Conflict | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    now = utcnow()
    view = handovers.get(session, web.caller, handover_id, now=now)
    return render(
        request,
        "watch/handover.html",
        {
            "h": view,
            "incoming": handovers.is_incoming(session, web.caller, view),
            "error": error,
            "now_utc": now,
            "at": _at,
            **_times(_timezone(session, web)),
        },
        status_code=status_code,
    )


@router.get("/watch/handovers/{handover_id}", response_class=HTMLResponse)
def handover_page(
    request: Request, handover_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _handover_page(request, session, web, handover_id)


@router.post("/watch/handovers/{handover_id}/acknowledge")
def acknowledge_handover(
    request: Request, handover_id: uuid.UUID, session: SessionDep, web: CheckedWebDep
) -> Response:
    try:
        with session.begin_nested():
            handovers.acknowledge(session, web.caller, handover_id)
    except Conflict as exc:
        return _handover_page(request, session, web, handover_id, error=exc, status_code=409)
    return RedirectResponse(f"/ui/watch/handovers/{handover_id}", status_code=303)
