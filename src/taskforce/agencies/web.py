"""The agency directory: whom to call, where they are and what time it is there right now."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import pycountry
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from taskforce.agencies import service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import KIND_LABELS, AgencyCreate, AgencyKind, AgencyUpdate
from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.web.forms import CheckedWebDep, PageForm, attempt, field_error
from taskforce.web.session import WebCallerDep, render

router = APIRouter(prefix="/ui", include_in_schema=False)


@dataclass(frozen=True)
class DirectoryRow:
    agency: Agency
    country_name: str
    local_time: str
    utc_offset: str
    is_partner: bool
    is_mine: bool


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def _local(tz: str, now: datetime) -> tuple[str, str]:
    try:
        local = now.astimezone(zoneinfo.ZoneInfo(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "—", ""
    offset = local.strftime("%z")
    return local.strftime("%a %H:%M"), f"UTC{offset[:3]}:{offset[3:]}"


@router.get("/agencies", response_class=HTMLResponse)
def directory(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    # The directory is open to every member (agencies.service); the API route checks READ too.
    web.caller.require(Permission.READ)
    mine = web.caller.agency_id
    partners = {a.id for a in service.partners_of(session, mine)} if mine else set()
    now = datetime.now(UTC)
    rows = []
    manager = web.caller.can(Permission.MANAGE_AGENCIES)
    for agency in service.list_agencies(session, include_inactive=manager):
        local_time, offset = _local(agency.timezone, now)
        rows.append(
            DirectoryRow(
                agency=agency,
                country_name=country_name(agency.country),
                local_time=local_time,
                utc_offset=offset,
                is_partner=agency.id in partners,
                is_mine=agency.id == mine,
            )
        )
    return render(
        request,
        "agencies/directory.html",
        {
            "rows": rows,
            "partner_count": len(partners),
            "utc_now": now,
            "kinds": KIND_LABELS,
            "manager": manager,
        },
    )


# --- managing agencies and partnerships (the network admin) ------------------------------------


class AgencyForm(PageForm):
    """The agency form, the same for registering and editing (code and country are fixed once
    registered: cases, routing and tokens refer to them)."""

    code: str = Field(default="", max_length=32)
    name: str = Field(default="", max_length=200)
    country: str = Field(default="", max_length=2)
    timezone: str = Field(default="", max_length=64)
    contact_desk: str = Field(default="", max_length=200)
    contact_phone: str = Field(default="", max_length=40)
    contact_email: str = Field(default="", max_length=320)
    webhook_url: str = Field(default="", max_length=500)
    kind: str = Field(default=AgencyKind.LAW_ENFORCEMENT.value, max_length=20)
    takedown_deadline_hours: str = Field(default="", max_length=6)
    notice_copy_to_police: bool = False
    is_active: bool = False
    remove_webhook: bool = False

    def webhook(self) -> dict[str, Any]:
        """A webhook address may hold a secret, so the edit form never shows it: a blank field
        keeps the one set, "remove" clears it."""
        if self.remove_webhook:
            return {"webhook_url": None}
        return {"webhook_url": self.webhook_url.strip()} if self.webhook_url.strip() else {}

    def common(self) -> dict[str, Any]:
        hours = self.takedown_deadline_hours.strip()
        return {
            "name": self.name.strip(),
            "timezone": self.timezone.strip(),
            "contact_desk": self.contact_desk.strip(),
            "contact_phone": self.contact_phone.strip(),
            "contact_email": self.contact_email.strip(),
            "kind": self.kind,
            "takedown_deadline_hours": hours or None,
            "notice_copy_to_police": self.notice_copy_to_police,
        }


def _values(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "country": agency.country,
        "timezone": agency.timezone,
        "contact_desk": agency.contact_desk,
        "contact_phone": agency.contact_phone,
        "contact_email": agency.contact_email,
        "webhook_url": "",
        "kind": agency.kind,
        "takedown_deadline_hours": agency.takedown_deadline_hours or "",
        "notice_copy_to_police": agency.notice_copy_to_police,
        "is_active": agency.is_active,
    }


def _agency_form(
    request: Request,
    session: Session,
    *,
    values: dict[str, Any],
    agency: Agency | None = None,
    error: Invalid | None = None,
) -> HTMLResponse:
    partners = service.partners_of(session, agency.id) if agency else []
    return render(
        request,
        "agencies/form.html",
        {
            "values": values,
            "agency": agency,
            "error": error,
            "kinds": KIND_LABELS,
            "partners": partners,
            "others": [
                a
                for a in service.list_agencies(session)
                if agency and a.id != agency.id and a not in partners
            ],
        },
        status_code=422 if error else 200,
    )


def _refusal(exc: ValidationError | Invalid | Conflict) -> Invalid:
    if isinstance(exc, ValidationError):
        return field_error(exc)
    if isinstance(exc, Conflict):
        return Invalid("code", exc.message)
    return exc


@router.get("/agencies/new", response_class=HTMLResponse)
def new_agency_form(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    web.caller.require(Permission.MANAGE_AGENCIES)
    return _agency_form(request, session, values=AgencyForm().model_dump())


@router.post("/agencies/new", response_class=HTMLResponse)
def register_agency(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[AgencyForm, Form()],
) -> Response:
    web.caller.require(Permission.MANAGE_AGENCIES)
    allow = settings.webhook_allow_networks
    try:
        data = AgencyCreate(
            code=form.code.strip(),
            country=form.country.strip(),
            **form.common(),
            **form.webhook(),
        )
        agency = attempt(
            session,
            lambda: service.register_agency(
                session, web.caller, data, webhook_allow_networks=allow
            ),
        )
    except (ValidationError, Invalid, Conflict) as exc:
        return _agency_form(request, session, values=form.model_dump(), error=_refusal(exc))
    return RedirectResponse(f"/ui/agencies/{agency.code}/edit?saved=1", status_code=303)


@router.get("/agencies/{code}/edit", response_class=HTMLResponse)
def edit_agency_form(
    request: Request, code: str, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    web.caller.require(Permission.MANAGE_AGENCIES)
    agency = service.get_by_code(session, code)
    return _agency_form(request, session, values=_values(agency), agency=agency)


@router.post("/agencies/{code}/edit", response_class=HTMLResponse)
def update_agency(
    request: Request,
    code: str,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[AgencyForm, Form()],
) -> Response:
    """Edit an agency; unticking "active" disables it (its people can no longer sign in)."""
    web.caller.require(Permission.MANAGE_AGENCIES)
    agency = service.get_by_code(session, code)
    allow = settings.webhook_allow_networks
    try:
        data = AgencyUpdate(**form.common(), **form.webhook(), is_active=form.is_active)
        attempt(
            session,
            lambda: service.update_agency(
                session, web.caller, code=agency.code, data=data, webhook_allow_networks=allow
            ),
        )
    except (ValidationError, Invalid, Conflict) as exc:
        values = {**form.model_dump(), "code": agency.code, "country": agency.country}
        return _agency_form(request, session, values=values, agency=agency, error=_refusal(exc))
    return RedirectResponse(f"/ui/agencies/{agency.code}/edit?saved=1", status_code=303)


@router.post("/agencies/{code}/partners", response_class=HTMLResponse)
def add_partner(
    request: Request,
    code: str,
    session: SessionDep,
    web: CheckedWebDep,
    partner: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    web.caller.require(Permission.MANAGE_AGENCIES)
    agency = service.get_by_code(session, code)
    try:
        if not partner.strip():
            raise Invalid("partner", "choose the partner agency")
        try:
            attempt(
                session,
                lambda: service.add_partnership(
                    session, web.caller, code=agency.code, partner_code=partner
                ),
            )
        except NotFound:
            raise Invalid("partner", f"no member agency with code {partner.strip()}") from None
    except Invalid as exc:
        return _agency_form(request, session, values=_values(agency), agency=agency, error=exc)
    return RedirectResponse(f"/ui/agencies/{agency.code}/edit#partners", status_code=303)


@router.post("/agencies/{code}/partners/{partner}/remove")
def remove_partner(code: str, partner: str, session: SessionDep, web: CheckedWebDep) -> Response:
    web.caller.require(Permission.MANAGE_AGENCIES)
    agency = service.get_by_code(session, code)
    service.remove_partnership(session, web.caller, code=agency.code, partner_code=partner)
    return RedirectResponse(f"/ui/agencies/{agency.code}/edit#partners", status_code=303)
