from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from taskforce.agencies import service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import (
    AgencyCreate,
    AgencyKind,
    AgencyRead,
    AgencyUpdate,
    ContactPoint,
)
from taskforce.core.caller import Permission
from taskforce.core.http import CallerDep, SessionDep, SettingsDep

router = APIRouter(prefix="/agencies", tags=["agencies"])


class PartnerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner: str = Field(min_length=2, max_length=32)


def read(session: SessionDep, agency: Agency) -> AgencyRead:
    return AgencyRead(
        id=agency.id,
        code=agency.code,
        name=agency.name,
        country=agency.country,
        timezone=agency.timezone,
        contact=ContactPoint(
            desk=agency.contact_desk, phone=agency.contact_phone, email=agency.contact_email
        ),
        is_active=agency.is_active,
        kind=AgencyKind(agency.kind),
        notice_copy_to_police=agency.notice_copy_to_police,
        takedown_deadline_hours=agency.takedown_deadline_hours,
        partners=[p.code for p in service.partners_of(session, agency.id)],
    )


@router.get("", response_model=list[AgencyRead])
def list_agencies(session: SessionDep, caller: CallerDep) -> list[AgencyRead]:
    caller.require(Permission.READ)
    return [read(session, a) for a in service.list_agencies(session)]


@router.post("", response_model=AgencyRead, status_code=status.HTTP_201_CREATED)
def register_agency(
    data: AgencyCreate, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> AgencyRead:
    allow = settings.webhook_allow_networks
    agency = service.register_agency(session, caller, data, webhook_allow_networks=allow)
    return read(session, agency)


@router.get("/{code}", response_model=AgencyRead)
def get_agency(code: str, session: SessionDep, caller: CallerDep) -> AgencyRead:
    caller.require(Permission.READ)
    return read(session, service.get_by_code(session, code))


@router.patch("/{code}", response_model=AgencyRead)
def update_agency(
    code: str, data: AgencyUpdate, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> AgencyRead:
    allow = settings.webhook_allow_networks
    return read(
        session,
        service.update_agency(session, caller, code=code, data=data, webhook_allow_networks=allow),
    )


@router.post("/{code}/partners", response_model=AgencyRead, status_code=status.HTTP_201_CREATED)
def add_partner(
    code: str, data: PartnerCreate, session: SessionDep, caller: CallerDep
) -> AgencyRead:
    service.add_partnership(session, caller, code=code, partner_code=data.partner)
    return read(session, service.get_by_code(session, code))


@router.delete("/{code}/partners/{partner}", status_code=status.HTTP_204_NO_CONTENT)
def remove_partner(code: str, partner: str, session: SessionDep, caller: CallerDep) -> None:
    service.remove_partnership(session, caller, code=code, partner_code=partner)
