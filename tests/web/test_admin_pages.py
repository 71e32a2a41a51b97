"""The admins' pages: the network admin registers, edits and disables agencies and their
partnerships; agency admins (their own agency) and the network admin (everyone) create, edit and
disable users and create (shown once) and revoke their API tokens. Forms with CSRF, refusals
that name the field, every change audited."""

from __future__ import annotations

import re

import pytest
from builders import PASSWORD, Network, Person, make_agency, make_person, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.core.audit.models import AuditEntry
from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import ApiToken, User
from taskforce.core.caller import Role


@pytest.fixture
def hub_admin(session: Session) -> Person:
    return make_person(session, make_agency(session, "INT-HUB"), role=Role.NETWORK_ADMIN)


def _actions(session: Session) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _active(session: Session, code: str) -> bool:
    agency = agency_service.get_by_code(session, code)
    session.refresh(agency)
    return agency.is_active


AGENCY = {
    "code": "ie-garda",
    "name": "Garda test unit (fictional)",
    "country": "IE",
    "timezone": "Europe/Dublin",
    "contact_desk": "Garda 24/7 desk",
    "contact_phone": "+35316660000",
    "contact_email": "desk@garda.example.com",
    "kind": "law_enforcement",
}


@pytest.mark.usefixtures("network")
def test_the_network_admin_registers_edits_disables_and_partners_an_agency(
    client: TestClient, session: Session, hub_admin: Person
) -> None:
    token = web_login(client, session, hub_admin)
    directory = client.get("/ui/agencies")
    assert 'href="/ui/agencies/new"' in directory.text

    bad = client.post(
        "/ui/agencies/new", data={**AGENCY, "timezone": "Mars/Base", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert 'id="err-timezone"' in bad.text
    assert 'value="Garda test unit (fictional)"' in bad.text  # what was typed stays
    no_csrf = client.post("/ui/agencies/new", data=AGENCY)
    assert no_csrf.status_code == 403

    made = client.post(
        "/ui/agencies/new", data={**AGENCY, "csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/ui/agencies/IE-GARDA/edit?saved=1"
    again = client.post("/ui/agencies/new", data={**AGENCY, "csrf_token": token})
    assert again.status_code == 422
    assert "already exists" in again.text

    edit = {**AGENCY, "name": "Garda renamed (fictional)", "is_active": "true", "csrf_token": token}
    assert (
        client.post("/ui/agencies/IE-GARDA/edit", data=edit, follow_redirects=False).status_code
        == 303
    )
    agency = agency_service.get_by_code(session, "IE-GARDA")
    session.refresh(agency)
    assert agency.name == "Garda renamed (fictional)"
    assert _active(session, "IE-GARDA")

    add = client.post(
        "/ui/agencies/IE-GARDA/partners",
        data={"partner": "GB-NCA", "csrf_token": token},
        follow_redirects=False,
    )
    assert add.status_code == 303
    assert [a.code for a in agency_service.partners_of(session, agency.id)] == ["GB-NCA"]
    page = client.get("/ui/agencies/IE-GARDA/edit")
    assert "/ui/agencies/IE-GARDA/partners/GB-NCA/remove" in page.text
    removed = client.post(
        "/ui/agencies/IE-GARDA/partners/GB-NCA/remove",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert agency_service.partners_of(session, agency.id) == []

    disable = {**AGENCY, "csrf_token": token}  # "is_active" unticked: disabled
    client.post("/ui/agencies/IE-GARDA/edit", data=disable)
    assert not _active(session, "IE-GARDA")
    assert "disabled" in client.get("/ui/agencies").text
    assert {
        "agency.register",
        "agency.update",
        "agency.partnership.add",
        "agency.partnership.remove",
    } <= set(_actions(session))


def test_agency_pages_are_the_network_admins(
    client: TestClient, session: Session, network: Network
) -> None:
    token = web_login(client, session, network.gb_admin)
    assert 'href="/ui/agencies/new"' not in client.get("/ui/agencies").text
    assert client.get("/ui/agencies/new").status_code == 403
    assert client.get("/ui/agencies/NL-NP/edit").status_code == 403
    refused = client.post("/ui/agencies/new", data={**AGENCY, "csrf_token": token})
    assert refused.status_code == 403
    partner = client.post(
        "/ui/agencies/GB-NCA/partners", data={"partner": "US-HSI", "csrf_token": token}
    )
    assert partner.status_code == 403
    assert session.scalar(select(Agency).where(Agency.code == "IE-GARDA")) is None


def test_an_agency_admin_manages_its_people_and_their_tokens(
    client: TestClient, session: Session, network: Network
) -> None:
    token = web_login(client, session, network.gb_admin)
    home = client.get("/ui/")
    assert 'href="/ui/users"' in home.text
    listing = client.get("/ui/users").text
    assert network.gb.user.email in listing
    assert network.nl.user.email not in listing  # another agency's people
    assert client.get(f"/ui/users/{network.nl.user.id}").status_code == 404

    form = {"email": "new.analyst@example.com", "agency": "GB-NCA", "role": "analyst"}
    short = client.post("/ui/users/new", data={**form, "password": "short", "csrf_token": token})
    assert short.status_code == 422
    assert 'id="err-password"' in short.text
    assert 'value="new.analyst@example.com"' in short.text
    elsewhere = client.post(
        "/ui/users/new", data={**form, "agency": "NL-NP", "password": PASSWORD, "csrf_token": token}
    )
    assert elsewhere.status_code == 422
    assert 'id="err-agency"' in elsewhere.text
    made = client.post(
        "/ui/users/new",
        data={**form, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert made.status_code == 303
    user = session.scalars(select(User).where(User.email == "new.analyst@example.com")).one()
    assert made.headers["location"] == f"/ui/users/{user.id}?created=1"

    issued = client.post(
        f"/ui/users/{user.id}/tokens", data={"name": "scripts", "days": "30", "csrf_token": token}
    )
    assert issued.status_code == 201
    secret = re.search(r'<code class="selector">([^<]+)</code>', issued.text)
    assert secret
    assert auth_service.caller_from_token(session, secret.group(1), ip=None).email == user.email
    assert secret.group(1) not in client.get(f"/ui/users/{user.id}").text  # shown once
    record = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    revoke = client.post(
        f"/ui/users/{user.id}/tokens/{record.id}/revoke",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert revoke.status_code == 303
    session.refresh(record)
    assert record.revoked_at is not None

    promote = client.post(
        f"/ui/users/{user.id}",
        data={
            "display_name": "Analyst",
            "role": "network_admin",
            "is_active": "true",
            "csrf_token": token,
        },
    )
    assert promote.status_code == 422
    assert 'id="err-role"' in promote.text
    disable = client.post(
        f"/ui/users/{user.id}",
        data={"display_name": "Analyst", "role": "analyst", "csrf_token": token},
        follow_redirects=False,
    )
    assert disable.status_code == 303
    session.refresh(user)
    assert not user.is_active
    assert {"user.create", "token.create", "token.revoke", "user.update"} <= set(_actions(session))


def test_people_pages_refuse_who_may_not_manage_users(
    client: TestClient, session: Session, network: Network
) -> None:
    token = web_login(client, session, network.gb)
    assert 'href="/ui/users"' not in client.get("/ui/").text
    assert client.get("/ui/users").status_code == 403
    assert client.get(f"/ui/users/{network.gb_analyst.user.id}").status_code == 403
    made = client.post(
        "/ui/users/new",
        data={"email": "x@example.com", "agency": "GB-NCA", "role": "analyst", "csrf_token": token},
    )
    assert made.status_code == 403
    assert session.scalar(select(User).where(User.email == "x@example.com")) is None


def test_the_network_admin_manages_everyone(
    client: TestClient, session: Session, network: Network, hub_admin: Person
) -> None:
    token = web_login(client, session, hub_admin)
    listing = client.get("/ui/users").text
    assert network.gb.user.email in listing
    assert network.nl.user.email in listing
    only_nl = client.get("/ui/users?agency=NL-NP").text
    assert network.nl.user.email in only_nl
    assert network.gb.user.email not in only_nl
    made = client.post(
        "/ui/users/new",
        data={
            "email": "isp@example.net",
            "agency": "NL-NP",
            "role": "provider",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
