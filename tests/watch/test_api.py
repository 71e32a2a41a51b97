"""The urgent-lead API: a targeted desk lists, reads and acknowledges; any other agency gets
404 for the lead and an empty list."""

from __future__ import annotations

from builders import token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from watch_builders import Watch, open_lead

from taskforce.core.settings import Settings


def test_a_targeted_desk_lists_reads_and_acknowledges_once(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country="GB", suspect="NL")
    gb = token_for(session, settings, watch.gb)
    nl = token_for(session, settings, watch.nl)

    listed = client.get("/api/v1/leads", headers=gb)
    assert listed.status_code == 200
    [summary] = listed.json()
    assert summary["id"] == str(lead.id)
    assert summary["kind"] == "danger"
    assert summary["targets"] == ["GB-CEOP", "GB-NCA", "NL-NP"]
    assert summary["ack_due_at"].startswith("2026-12-03T03:13:00")

    view = client.get(f"/api/v1/leads/{lead.id}", headers=nl).json()
    assert [t["agency"] for t in view["targets"]] == ["GB-CEOP", "GB-NCA", "NL-NP"]
    assert view["steps"][0]["step"] == "created"
    assert {m["channel"] for m in view["messages"]} == {"email", "webhook"}
    assert "Secret" not in str(view)

    too_long = client.post(
        f"/api/v1/leads/{lead.id}/acknowledge", headers=gb, json={"note": "x" * 1001}
    )
    assert too_long.status_code == 422
    assert too_long.json()["field"] == "note"
    extra = client.post(f"/api/v1/leads/{lead.id}/acknowledge", headers=gb, json={"who": "me"})
    assert extra.status_code == 422

    done = client.post(
        f"/api/v1/leads/{lead.id}/acknowledge", headers=gb, json={"note": "car on its way"}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["lead"]["acknowledged_by"] == "investigator.gb-nca@example.com (GB-NCA)"
    assert body["lead"]["acknowledged_by_agency"] == "GB-NCA"
    assert body["note"] == "car on its way"

    again = client.post(f"/api/v1/leads/{lead.id}/acknowledge", headers=nl, json={})
    assert again.status_code == 409
    assert (
        "already acknowledged by investigator.gb-nca@example.com (GB-NCA)"
        in (again.json()["message"])
    )
    assert client.get("/api/v1/leads", headers=gb).json() == []
    assert len(client.get("/api/v1/leads?state=all", headers=gb).json()) == 1
    assert client.get("/api/v1/leads?state=closed", headers=gb).status_code == 422


def test_other_agencies_get_404_and_an_empty_list(
    client: TestClient, session: Session, settings: Settings, watch: Watch
) -> None:
    lead = open_lead(session, settings, country="GB")
    us = token_for(session, settings, watch.us)
    coord = token_for(session, settings, watch.coord)
    reader = token_for(session, settings, watch.gb_reader)
    for headers in (us, coord):
        assert client.get("/api/v1/leads", headers=headers).json() == []
        missing = client.get(f"/api/v1/leads/{lead.id}", headers=headers)
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"
        ack = client.post(f"/api/v1/leads/{lead.id}/acknowledge", headers=headers, json={})
        assert ack.status_code == 404
    assert client.get("/api/v1/leads", headers=reader).status_code == 403
    assert client.get("/api/v1/leads").status_code == 401
