"""The hub's side: versions and deltas, signed downloads, and who may reach which route."""

from __future__ import annotations

import re
import uuid

import pytest
from builders import Network, provider_headers, token_for
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.blocklist import service
from taskforce.blocklist.checker import Checker
from taskforce.blocklist.schemas import EntryCreate
from taskforce.core import signing
from taskforce.core.audit.models import AuditEntry
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role
from taskforce.core.errors import Conflict, Forbidden, Invalid
from taskforce.core.settings import Settings


def test_versions_and_deltas(session: Session, settings: Settings, network: Network) -> None:
    analyst = network.gb_analyst.caller
    v0 = service.current_version(session)
    a = service.add_entry(session, analyst, EntryCreate(url="http://Example.com/a.jpg"))
    b = service.add_entry(
        session, analyst, EntryCreate(url="http://example.org/gallery/", match="prefix")
    )
    assert (a.key, a.added_version) == ("example.com/a.jpg", v0 + 1)
    assert (b.key, b.added_version) == ("example.org/gallery", v0 + 2)
    with pytest.raises(Conflict):
        service.add_entry(session, analyst, EntryCreate(url="https://example.com/a.jpg"))
    service.remove_entry(session, analyst, a.id, reason="content gone")
    assert a.removed_version == v0 + 3
    with pytest.raises(Conflict):
        service.remove_entry(session, analyst, a.id, reason="again")

    full = service.document(session, analyst, settings)
    assert full["version"] == v0 + 3
    assert [e["key"] for e in full["entries"]] == ["example.org/gallery"]
    delta = service.document(session, analyst, settings, since=v0 + 1)
    assert [e["key"] for e in delta["added"]] == ["example.org/gallery"]
    assert delta["removed"] == [{"key": "example.com/a.jpg", "match": "exact"}]

    again = service.add_entry(session, analyst, EntryCreate(url="http://example.com/a.jpg"))
    assert again.id == a.id
    assert again.added_version == v0 + 4
    assert again.removed_version is None
    since3 = service.document(session, analyst, settings, since=v0 + 3)
    assert [e["key"] for e in since3["added"]] == ["example.com/a.jpg"]
    assert not since3["removed"]
    empty = service.document(session, analyst, settings, since=v0 + 4)
    assert empty["added"] == []
    assert empty["removed"] == []
    with pytest.raises(Invalid):
        service.document(session, analyst, settings, since=v0 + 5)

    # a provider that applies the deltas ends with the full list
    public = service.signing_key(settings).public_key()
    old = service.document(session, analyst, settings)
    checker = Checker.from_document(old, public)
    assert checker.is_blocked("http://example.com/a.jpg") is not None
    assert checker.is_blocked("http://example.org/gallery/2.jpg") is not None


def test_delta_replayed_equals_full(session: Session, settings: Settings, network: Network) -> None:
    analyst = network.gb_analyst.caller
    public = service.signing_key(settings).public_key()
    v0 = service.current_version(session)
    checker = Checker.from_document(service.document(session, analyst, settings), public)
    ids = [
        service.add_entry(session, analyst, EntryCreate(url=f"http://example.net/{i}")).id
        for i in range(4)
    ]
    checker.apply_delta(service.document(session, analyst, settings, since=v0), public)
    service.remove_entry(session, analyst, ids[1], reason="gone")
    service.add_entry(session, analyst, EntryCreate(url="http://example.net/", match="prefix"))
    service.remove_entry(session, analyst, ids[2], reason="gone")
    checker.apply_delta(service.document(session, analyst, settings, since=checker.version), public)
    fresh = Checker.from_document(service.document(session, analyst, settings), public)
    assert checker.entries() == fresh.entries()
    assert checker.version == fresh.version


def test_roles(session: Session, network: Network) -> None:
    with pytest.raises(Forbidden):
        service.add_entry(session, network.gb_reader.caller, EntryCreate(url="example.com/x"))
    with pytest.raises(Invalid):
        service.add_entry(session, network.gb.caller, EntryCreate(url="example.com/" + "%" * 900))
    with pytest.raises(Invalid):
        auth_service.create_user(
            session,
            network.gb_admin.caller,
            email="isp@example.net",
            agency_code="GB-NCA",
            role=Role.PROVIDER,
        )


def test_api_manage_and_download(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    analyst = token_for(session, settings, network.gb_analyst)
    reader = token_for(session, settings, network.gb_reader)
    r = client.post(
        "/api/v1/blocklist/entries",
        json={"url": "http://example.com/<b>x</b>", "category": "A"},
        headers=analyst,
    )
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["key"] == "example.com/%3Cb%3Ex%3C/b%3E"
    bad = client.post("/api/v1/blocklist/entries", json={"url": "ftp://x"}, headers=analyst)
    assert bad.status_code == 422
    assert bad.json()["field"] == "url"
    assert (
        client.post(
            "/api/v1/blocklist/entries", json={"url": "example.com/y"}, headers=reader
        ).status_code
        == 403
    )
    assert client.get("/api/v1/blocklist/entries", headers=reader).status_code == 403
    listed = client.get("/api/v1/blocklist/entries", headers=analyst)
    assert [e["key"] for e in listed.json()] == [entry["key"]]
    session.expire_all()
    reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "blocklist.list"))
    assert [(e.detail, e.actor_user_id) for e in reads] == [
        ({"state": "active", "shown": 1}, network.gb_analyst.user.id)
    ]  # the read is audited, the refused one is not
    missing = client.post(
        f"/api/v1/blocklist/entries/{uuid.uuid4()}/remove", json={}, headers=analyst
    )
    assert missing.status_code == 404

    provider = provider_headers(session, settings)
    doc = client.get("/api/v1/blocklist", headers=provider)
    assert doc.status_code == 200, doc.text
    key = client.get("/api/v1/blocklist/public-key", headers=provider).json()
    checker = Checker.from_document(doc.json(), signing.load_public(key["public_key"]))
    assert checker.is_blocked("http://example.com/%3cb%3ex%3c/b%3e") is not None
    delta = client.get(f"/api/v1/blocklist?since={doc.json()['version']}", headers=provider)
    assert delta.json()["kind"] == "delta"
    assert delta.json()["added"] == []
    assert client.get("/api/v1/blocklist?since=-1", headers=provider).status_code == 422
    assert client.get("/api/v1/blocklist", headers=reader).status_code == 403
    assert client.get("/api/v1/blocklist").status_code == 401

    removed = client.post(
        f"/api/v1/blocklist/entries/{entry['id']}/remove", json={}, headers=analyst
    )
    assert removed.status_code == 200
    assert removed.json()["removed_version"] is not None


@pytest.mark.usefixtures("network")
def test_provider_token_reaches_only_the_download(
    client: TestClient, app: object, session: Session, settings: Settings
) -> None:
    provider = provider_headers(session, settings)
    allowed = {"/api/v1/blocklist", "/api/v1/blocklist/public-key"}
    checked = 0
    for path, item in app.openapi()["paths"].items():  # type: ignore[attr-defined]
        if not path.startswith("/api/v1/") or path in allowed:
            continue
        for method in item:
            url = re.sub(r"\{\w+\}", str(uuid.uuid4()), path)
            r = client.request(method.upper(), url, headers=provider, json={})
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            checked += 1
    for path in allowed:
        assert client.get(path, headers=provider).status_code == 200
    assert checked > 30


def test_blocked_page_is_public_and_script_free(client: TestClient) -> None:
    r = client.get("/blocked")
    assert r.status_code == 200
    assert "found to contain child sexual abuse material" in r.text
    assert "<script" not in r.text
    assert "default-src 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("query", "accept", "lang", "phrase", "link"),
    [
        ("", "", "en", "found to contain child sexual abuse material", '/report"'),
        ("?lang=es", "", "es", "material de abuso sexual infantil", '/report/es"'),
        ("", "nl-BE,nl;q=0.9,en;q=0.5", "nl", "seksueel misbruik van kinderen", '/report"'),
        ("", "pt-BR", "en", "found to contain", '/report"'),
    ],
)
def test_blocked_page_speaks_the_visitors_language(
    client: TestClient, query: str, accept: str, lang: str, phrase: str, link: str
) -> None:
    r = client.get(f"/blocked{query}", headers={"Accept-Language": accept} if accept else {})
    assert r.status_code == 200
    assert r.headers["content-language"] == lang
    assert f'<html lang="{lang}">' in r.text
    assert phrase in r.text
    assert link in r.text
