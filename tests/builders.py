"""Typed builders for test data, and callers of three agencies in three countries.

GB-NCA and NL-NP are partners; US-HSI is unrelated to both, which makes sharing tests natural.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyCreate
from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseCreate, SelectorAdded, SelectorCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

PASSWORD = "correct-horse-battery"

AGENCIES = {
    "GB-NCA": ("GB", "Europe/London", "+442079460001"),
    "NL-NP": ("NL", "Europe/Amsterdam", "+31201234567"),
    "US-HSI": ("US", "America/New_York", "+12025550123"),
}


def make_agency(session: Session, code: str = "GB-NCA", **overrides: str) -> Agency:
    country, tz, phone = AGENCIES.get(code, ("GB", "Europe/London", "+442079460002"))
    data = AgencyCreate(
        code=code,
        name=overrides.get("name", f"{code} (fictional)"),
        country=overrides.get("country", country),
        timezone=overrides.get("timezone", tz),
        contact_desk=overrides.get("contact_desk", f"{code} 24/7 desk"),
        contact_phone=overrides.get("contact_phone", phone),
        contact_email=overrides.get("contact_email", f"desk@{code.lower()}.example.com"),
    )
    return agency_service.register_agency(session, system_caller(), data)


@dataclass
class Person:
    user: User
    caller: Caller


def make_person(
    session: Session, agency: Agency, *, role: Role = Role.INVESTIGATOR, email: str | None = None
) -> Person:
    email = email or f"{role.value}.{agency.code.lower()}@example.com"
    user = auth_service.create_user(
        session,
        system_caller(),
        email=email,
        agency_code=agency.code,
        role=role,
        password=PASSWORD,
    )
    return Person(user=user, caller=auth_service.caller_for(session, user, channel="api"))


def make_case(
    session: Session,
    person: Person,
    *,
    title: str = "Operation Test",
    sharing: SharingLevel = SharingLevel.RED,
    partners: list[str] | None = None,
) -> Case:
    return case_service.open_case(
        session, person.caller, CaseCreate(title=title, sharing=sharing, partners=partners or [])
    )


def add_selector(
    session: Session,
    settings: Settings,
    person: Person,
    case: Case,
    kind: str,
    value: str,
    **kw: object,
) -> SelectorAdded:
    return case_service.add_selector(
        session,
        person.caller,
        settings,
        case_id=case.id,
        data=SelectorCreate(type=kind, value=value, **kw),  # type: ignore[arg-type]
    )


@dataclass
class Network:
    gb: Person
    nl: Person
    us: Person
    gb_analyst: Person
    gb_reader: Person
    gb_admin: Person


@pytest.fixture
def network(session: Session) -> Network:
    gb, nl, us = (make_agency(session, c) for c in ("GB-NCA", "NL-NP", "US-HSI"))
    agency_service.add_partnership(session, system_caller(), code="GB-NCA", partner_code="NL-NP")
    return Network(
        gb=make_person(session, gb),
        nl=make_person(session, nl),
        us=make_person(session, us),
        gb_analyst=make_person(session, gb, role=Role.ANALYST),
        gb_reader=make_person(session, gb, role=Role.READ_ONLY),
        gb_admin=make_person(session, gb, role=Role.AGENCY_ADMIN),
    )


def token_for(session: Session, settings: Settings, person: Person) -> dict[str, str]:
    issued = auth_service.create_token(session, person.caller, settings, user=person.user)
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_field(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def web_login(client: TestClient, session: Session, person: Person) -> str:
    """Sign in through the form; returns a CSRF token of the new session."""
    session.commit()
    page = client.get("/ui/login")
    r = client.post(
        "/ui/login",
        data={
            "email": person.user.email,
            "password": PASSWORD,
            "csrf_token": csrf_field(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_field(client.get("/ui/").text)
