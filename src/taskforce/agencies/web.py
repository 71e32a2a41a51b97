"""The agency directory: whom to call, where they are and what time it is there right now."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime

import pycountry
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskforce.agencies import service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import KIND_LABELS
from taskforce.core.caller import Permission
from taskforce.core.http import SessionDep
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
    for agency in service.list_agencies(session):
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
        {"rows": rows, "partner_count": len(partners), "utc_now": now, "kinds": KIND_LABELS},
    )
