"""A hash set's owner marks it "not for export" (members still match against it; it never
leaves the hub) over the API, the console's service and the page; anyone else's attempt is
answered as for a set that does not exist (404), as every other change to a set is."""

from __future__ import annotations

import uuid

from builders import Network, csrf_field, token_for, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.hashsets import service
from taskforce.hashsets.models import HashSet
from taskforce.hashsets.schemas import HashSetCreate


def _green_set(session: Session, network: Network, name: str = "Known GREEN") -> HashSet:
    created = service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name=name, sharing="green")
    )
    session.commit()
    return created


def _flag(session: Session, set_id: uuid.UUID) -> bool:
    session.expire_all()
    found = session.get(HashSet, set_id)
    assert found is not None
    return found.not_for_export


def test_the_owner_marks_a_set_over_the_api_and_it_is_audited(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    hash_set = _green_set(session, network)
    gb = token_for(session, settings, network.gb)
    url = f"/api/v1/hashsets/{hash_set.id}"
    assert client.get(url, headers=gb).json()["not_for_export"] is False
    r = client.patch(url, json={"not_for_export": True}, headers=gb)
    assert r.status_code == 200, r.text
    assert r.json()["not_for_export"] is True
    assert r.json()["name"] == "Known GREEN"
    assert _flag(session, hash_set.id) is True
    # renaming leaves the mark alone; both at once do both
    r = client.patch(url, json={"name": "Known, kept home", "not_for_export": False}, headers=gb)
    assert r.json()["name"] == "Known, kept home"
    assert r.json()["not_for_export"] is False
    assert client.patch(url, json={}, headers=gb).status_code == 422
    details = session.scalars(
        select(AuditEntry.detail)
        .where(AuditEntry.action == "hashset.not_for_export", AuditEntry.subject_id == hash_set.id)
        .order_by(AuditEntry.seq)
    ).all()
    assert details == [{"not_for_export": [False, True]}, {"not_for_export": [True, False]}]


def test_no_one_else_marks_a_set(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    hash_set = _green_set(session, network)
    nl = token_for(session, settings, network.nl)
    url = f"/api/v1/hashsets/{hash_set.id}"
    assert client.get(url, headers=nl).status_code == 200  # GREEN: NL uses it
    assert client.patch(url, json={"not_for_export": True}, headers=nl).status_code == 404
    reader = token_for(session, settings, network.gb_reader)
    assert client.patch(url, json={"not_for_export": True}, headers=reader).status_code == 403
    assert _flag(session, hash_set.id) is False


def test_the_manage_page_shows_the_mark_and_flips_it(
    client: TestClient, session: Session, network: Network
) -> None:
    hash_set = _green_set(session, network)
    web_login(client, session, network.gb)
    page = client.get(f"/ui/hashsets/{hash_set.id}/manage")
    assert "may leave the hub as" in page.text
    r = client.post(
        f"/ui/hashsets/{hash_set.id}/not-for-export",
        data={"csrf_token": csrf_field(page.text), "not_for_export": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _flag(session, hash_set.id) is True
    assert "<strong>not for export</strong>" in client.get(r.headers["location"]).text
    listing = client.get("/ui/hashsets").text
    assert ">not for export</span>" in listing


def test_another_agency_cannot_flip_it_from_a_page(
    client: TestClient, session: Session, network: Network
) -> None:
    hash_set = _green_set(session, network)
    web_login(client, session, network.nl)
    page = client.get("/ui/hashsets")
    r = client.post(
        f"/ui/hashsets/{hash_set.id}/not-for-export",
        data={"csrf_token": csrf_field(page.text), "not_for_export": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 404
    assert _flag(session, hash_set.id) is False
