"""The preservation API: a desk records, lists, reads and moves its agency's requests; bad
input is refused naming the field; another agency gets 404; the coordinator gets counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from builders import token_for
from fastapi.testclient import TestClient
from preservation_builders import Desks
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings

BODY: dict[str, object] = {
    "provider": "Fictional Mail Ltd",
    "provider_country": "ie",
    "identifiers": [
        {"type": "email", "value": "Night.Fox@Example.COM"},
        {"type": "phone", "value": "+44 20 7946 0958"},
    ],
    "legal_basis": "art29_preservation",
    "sent_at": "2026-03-01T14:30:00Z",
    "notes": "asked by phone first",
}


def test_a_desk_records_reads_and_moves_its_request(
    client: TestClient, session: Session, settings: Settings, desks: Desks
) -> None:
    gb = token_for(session, settings, desks.gb)
    nl = token_for(session, settings, desks.nl)
    now_sent = {k: v for k, v in BODY.items() if k != "sent_at"}  # sent now: still extendable
    made = client.post("/api/v1/preservations", headers=gb, json=now_sent)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["reference"].startswith("PR-GB-")
    assert body["status"] == "sent"
    assert body["provider_country"] == "IE"
    sent, expires = (datetime.fromisoformat(body[k]) for k in ("sent_at", "expires_at"))
    assert expires - sent == timedelta(days=90)
    assert [i["normalised"] for i in body["identifiers"]] == [
        "night.fox@example.com",
        "+442079460958",
    ]
    assert body["case_reference"].startswith("GB-NCA-")
    assert [e["kind"] for e in body["events"]] == ["recorded", "case"]
    pid = body["id"]

    listed = client.get("/api/v1/preservations", headers=gb)
    assert [r["id"] for r in listed.json()] == [pid]
    assert listed.headers["x-total-count"] == "1"
    assert client.get("/api/v1/preservations?status=nonsense", headers=gb).status_code == 422

    for path in (f"/api/v1/preservations/{pid}", f"/api/v1/preservations/{pid}/extend"):
        method = "POST" if path.endswith("extend") else "GET"
        refused = client.request(method, path, headers=nl, json={} if method == "POST" else None)
        assert refused.status_code == 404
        assert "Fictional Mail" not in refused.text
    assert client.get("/api/v1/preservations", headers=nl).json() == []

    confirmed = client.post(
        f"/api/v1/preservations/{pid}/confirm", headers=gb, json={"provider_reference": "FM-1"}
    )
    assert confirmed.json()["status"] == "confirmed"
    extended = client.post(f"/api/v1/preservations/{pid}/extend", headers=gb, json={})
    assert extended.json()["status"] == "extended"
    again = client.post(f"/api/v1/preservations/{pid}/extend", headers=gb, json={})
    assert again.status_code == 422
    assert again.json()["field"] == "extension"
    followed = client.post(
        f"/api/v1/preservations/{pid}/follow-up", headers=gb, json={"formal_reference": "MLA-9"}
    )
    assert followed.json()["status"] == "followed_up"
    assert followed.json()["formal_reference"] == "MLA-9"


def test_bad_input_names_the_field(
    client: TestClient, session: Session, settings: Settings, desks: Desks
) -> None:
    gb = token_for(session, settings, desks.gb)
    cases: list[tuple[dict[str, object], str]] = [
        ({"legal_basis": "art99"}, "legal_basis"),
        ({"requesting_country": "XX"}, "requesting_country"),
        ({"identifiers": [{"type": "email", "value": "nope"}]}, "identifiers.0.value"),
        ({"expires_at": "2026-02-01T00:00:00Z"}, "expires_at"),
        ({"identifiers": []}, "identifiers"),
    ]
    for change, field in cases:
        r = client.post("/api/v1/preservations", headers=gb, json={**BODY, **change})
        assert r.status_code == 422, (change, r.text)
        assert r.json()["field"] == field, (change, r.json())
    assert client.get("/api/v1/preservations?status=all", headers=gb).json() == []


def test_the_coordinator_sees_network_counts_and_no_identifier(
    client: TestClient, session: Session, settings: Settings, desks: Desks
) -> None:
    gb = token_for(session, settings, desks.gb)
    nl = token_for(session, settings, desks.nl)
    hub = token_for(session, settings, desks.hub)
    assert client.post("/api/v1/preservations", headers=gb, json=BODY).status_code == 201
    other = {
        **BODY,
        "provider": "Other Host",
        "identifiers": [{"type": "ip", "value": "203.0.113.9"}],
    }
    assert client.post("/api/v1/preservations", headers=nl, json=other).status_code == 201
    network = client.get("/api/v1/preservations/counts", headers=hub)
    assert network.status_code == 200
    counts = network.json()
    assert counts["scope"] == "network"
    assert counts["total"] == 2
    assert {r["key"]: r["total"] for r in counts["by_agency"]} == {"GB-NCA": 1, "NL-NP": 1}
    assert "night.fox" not in network.text.lower()
    assert "203.0.113.9" not in network.text
    own = client.get("/api/v1/preservations/counts", headers=nl).json()
    assert (own["scope"], own["total"]) == ("NL-NP", 1)
