"""The hotline over the API: the same rules as the pages (routing decides who sees a report)."""

from __future__ import annotations

from builders import token_for
from fastapi.testclient import TestClient
from hotline_builders import Hotlines, RouteAll, send
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings


def test_list_read_assess_and_reroute_over_the_api(
    client: TestClient,
    session: Session,
    settings: Settings,
    hotlines: Hotlines,
    route_all: RouteAll,
) -> None:
    send(client, "url", url="https://files.example.net/api/1", country="GB")
    route_all()
    nl = token_for(session, settings, hotlines.nl_hotline)
    gb = token_for(session, settings, hotlines.gb_hotline)
    listed = client.get("/api/v1/reports", headers=nl).json()
    assert len(listed) == 1
    assert listed[0]["hosting_country"] == "NL"
    report_id = listed[0]["id"]
    assert client.get("/api/v1/reports", headers=gb).json() == []
    assert client.get(f"/api/v1/reports/{report_id}", headers=gb).status_code == 404

    detail = client.get(f"/api/v1/reports/{report_id}", headers=nl).json()
    assert detail["receiving_agency"] == "NL-HOTLINE"
    assert detail["hosting_provider"] == "Fictional Hosting NL B.V."
    assert any("routed to NL-HOTLINE" in s["outcome"] for s in detail["routing"])

    bad = client.post(
        f"/api/v1/reports/{report_id}/assess", headers=nl, json={"assessment": "illegal_material"}
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "category"
    unknown = client.post(
        f"/api/v1/reports/{report_id}/assess", headers=nl, json={"assessment": "very_bad"}
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "assessment"
    done = client.post(
        f"/api/v1/reports/{report_id}/assess",
        headers=nl,
        json={"assessment": "illegal_material", "category": "baseline"},
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "assessed"
    assert len(body["takedown_notices"]) == 1
    assert body["blocklist_keys"] == ["files.example.net/api/1"]

    moved = client.post(
        f"/api/v1/reports/{report_id}/reroute",
        headers=nl,
        json={"agency": "GB-HOTLINE", "reason": "the host moved to GB"},
    )
    assert moved.status_code == 200
    assert moved.json()["receiving_agency"] == "GB-HOTLINE"
    assert client.get(f"/api/v1/reports/{report_id}", headers=gb).status_code == 200
    nowhere = client.post(
        f"/api/v1/reports/{report_id}/reroute",
        headers=gb,
        json={"agency": "XX-NONE", "reason": "probe"},
    )
    assert nowhere.status_code == 422
    assert nowhere.json()["field"] == "agency"
