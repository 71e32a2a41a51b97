"""The REST API as scripts use it: status codes, the error shape, tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import ApiToken
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings


def _open(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, Any]:
    response = client.post(
        "/api/v1/cases", json={"title": "Operation Test", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


class TestCasesApi:
    def test_open_case_add_selector_and_see_the_hit_from_both_sides(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        us = token_for(session, settings, network.us)
        gb_case = _open(client, gb, sharing="green", summary="fictional")
        us_case = _open(client, us, sharing="red")
        r = client.post(
            f"/api/v1/cases/{gb_case['id']}/selectors",
            json={"type": "email", "value": " Foo.Bar@Example.COM "},
            headers=gb,
        )
        assert r.status_code == 201
        assert r.json()["normalized"] == "foo.bar@example.com"
        assert r.json()["hits"] == []
        r = client.post(
            f"/api/v1/cases/{us_case['id']}/selectors",
            json={"type": "email", "value": "foo.bar@example.com"},
            headers=us,
        )
        assert r.status_code == 201
        [hit] = r.json()["hits"]
        assert hit["other"]["disclosure"] == "full"
        assert hit["other"]["reference"] == gb_case["reference"]
        [gb_hit] = client.get("/api/v1/hits", headers=gb).json()
        assert gb_hit["other"]["disclosure"] == "blind"
        assert gb_hit["other"]["reference"] is None
        assert us_case["reference"] not in str(gb_hit)

    def test_duplicate_selector_answers_200_with_the_same_selector(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        case = _open(client, gb)
        url = f"/api/v1/cases/{case['id']}/selectors"
        first = client.post(url, json={"type": "ip", "value": "2001:DB8::0001"}, headers=gb)
        second = client.post(url, json={"type": "ip", "value": "2001:db8::1"}, headers=gb)
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["selector"]["id"] == second.json()["selector"]["id"]

    def test_case_of_another_agency_answers_404_like_a_missing_one(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        us = token_for(session, settings, network.us)
        case = _open(client, gb, sharing="red")
        hidden = client.get(f"/api/v1/cases/{case['id']}", headers=us)
        missing = client.get("/api/v1/cases/00000000-0000-4000-8000-000000000000", headers=us)
        assert hidden.status_code == missing.status_code == 404
        assert (
            hidden.json() == missing.json() == {"error": "not_found", "message": "case not found"}
        )

    def test_bulk_import_keeps_good_lines_and_reports_bad_ones(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        case = _open(client, gb)
        body = (
            "type,value,platform\nemail,a@example.com,\nimei,490154203237518,\nimei,123,\n"
            "shoe,1,\nusername,fox,chatapp\n"
        )
        r = client.post(
            f"/api/v1/cases/{case['id']}/selectors/import",
            content=body,
            headers={**gb, "Content-Type": "text/csv"},
        )
        assert r.status_code == 200
        report = r.json()
        assert report["accepted"] == 3
        assert [(e["line"], e["field"]) for e in report["rejected"]] == [(4, "value"), (5, "type")]


class TestErrors:
    def test_malformed_json_is_a_422_naming_the_body(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        r = client.post(
            "/api/v1/cases",
            content=b"{not json",
            headers={**gb, "Content-Type": "application/json"},
        )
        assert r.status_code == 422
        assert r.json()["field"] == "body"
        assert r.json()["error"] == "invalid"

    def test_unknown_selector_type_names_the_field(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        case = _open(client, gb)
        r = client.post(
            f"/api/v1/cases/{case['id']}/selectors", json={"type": "shoe", "value": "x"}, headers=gb
        )
        assert r.status_code == 422
        assert r.json()["field"] == "type"
        assert "email" in r.json()["rule"]

    def test_oversized_and_unknown_fields_are_refused(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        r = client.post("/api/v1/cases", json={"title": "x" * 201}, headers=gb)
        assert r.status_code == 422
        assert r.json()["field"] == "title"
        r = client.post("/api/v1/cases", json={"title": "Valid title", "owner": "me"}, headers=gb)
        assert r.status_code == 422
        assert r.json()["rule"] == "is not a known field"

    def test_search_without_purpose_is_refused(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        gb = token_for(session, settings, network.gb)
        r = client.get(
            "/api/v1/search", params={"type": "email", "value": "a@example.com"}, headers=gb
        )
        assert r.status_code == 422
        assert r.json()["field"] == "purpose"


class TestTokens:
    @pytest.mark.usefixtures("network")
    def test_no_token_is_401(self, client: TestClient) -> None:
        r = client.get("/api/v1/cases")
        assert r.status_code == 401
        assert r.json()["error"] == "unauthenticated"

    def test_revoked_and_expired_tokens_are_401(
        self, client: TestClient, session: Session, settings: Settings, network: Network
    ) -> None:
        revoked = token_for(session, settings, network.gb)
        expired = token_for(session, settings, network.gb)
        assert client.get("/api/v1/me", headers=revoked).status_code == 200
        tokens = session.query(ApiToken).order_by(ApiToken.created_at).all()
        auth_service.revoke_token(session, network.gb.caller, token_id=tokens[0].id)
        tokens[1].expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
        assert client.get("/api/v1/me", headers=revoked).status_code == 401
        assert client.get("/api/v1/me", headers=expired).status_code == 401

    def test_token_is_stored_hashed(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        issued = auth_service.create_token(
            session, network.gb.caller, settings, user=network.gb.user
        )
        assert issued.secret not in (issued.record.token_hash, issued.record.prefix)
        assert len(issued.record.token_hash) == 64
