"""The observatory's member API: live figures, snapshots, publishing (the coordinator only),
verification; 404 for a month not published, 409 for a second publication."""

from __future__ import annotations

import csv
import io

from builders import Network, provider_headers, token_for
from fastapi.testclient import TestClient
from observatory_builders import hub_coordinator
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings

PERIOD = "2020-01"  # ended whatever today's date


def coordinator_headers(session: Session, settings: Settings) -> dict[str, str]:
    return token_for(session, settings, hub_coordinator(session))


def test_publish_list_read_verify(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    hub = coordinator_headers(session, settings)
    member = token_for(session, settings, network.nl)
    assert client.get(f"/api/v1/observatory/snapshots/{PERIOD}", headers=member).status_code == 404
    r = client.post("/api/v1/observatory/snapshots", json={"period": PERIOD}, headers=hub)
    assert r.status_code == 201, r.text
    published = r.json()
    assert published["period"] == PERIOD
    assert published["published_by"] == "INT-HUB"
    assert published["figures"]["threshold"] == settings.observatory_threshold
    again = client.post("/api/v1/observatory/snapshots", json={"period": PERIOD}, headers=hub)
    assert again.status_code == 409
    assert again.json()["rule"] == "a month is published once: its snapshot never changes"
    listed = client.get("/api/v1/observatory/snapshots", headers=member).json()
    assert [s["period"] for s in listed] == [PERIOD]
    one = client.get(f"/api/v1/observatory/snapshots/{PERIOD}", headers=member).json()
    assert one["sha256"] == published["sha256"]
    check = client.get(f"/api/v1/observatory/snapshots/{PERIOD}/verify", headers=member).json()
    assert check["ok"] is True
    assert check["audited"] == published["sha256"]
    sheet = client.get(f"/api/v1/observatory/snapshots/{PERIOD}?format=csv", headers=member)
    assert sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    total = next(row for row in rows if row["table"] == "total")
    assert total["received"] == f"<{settings.observatory_threshold}"


def test_only_the_coordinator_publishes(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    for person in (network.gb_admin, network.nl, network.gb_reader):
        r = client.post(
            "/api/v1/observatory/snapshots",
            json={"period": PERIOD},
            headers=token_for(session, settings, person),
        )
        assert r.status_code == 403, r.text
    hub = coordinator_headers(session, settings)
    assert client.get("/api/v1/observatory/snapshots", headers=hub).json() == []


def test_bad_periods_are_refused_naming_the_rule(
    client: TestClient, session: Session, settings: Settings
) -> None:
    hub = coordinator_headers(session, settings)
    for period in ("2020-13", "2020-1", "soon"):
        r = client.post("/api/v1/observatory/snapshots", json={"period": period}, headers=hub)
        assert r.status_code == 422, r.text
    r = client.post("/api/v1/observatory/snapshots", json={"period": "2999-01"}, headers=hub)
    assert r.status_code == 422
    assert r.json()["rule"] == "a month that has ended"
    r = client.post(
        "/api/v1/observatory/snapshots", json={"period": PERIOD, "extra": 1}, headers=hub
    )
    assert r.status_code == 422
    assert client.get("/api/v1/observatory/snapshots/nope", headers=hub).status_code == 422
    assert (
        client.get("/api/v1/observatory/snapshots/2020-02/verify", headers=hub).status_code == 404
    )


def test_live_figures_for_members_not_providers(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    member = token_for(session, settings, network.us)
    r = client.get(f"/api/v1/observatory/live?period={PERIOD}", headers=member)
    assert r.status_code == 200, r.text
    assert r.json()["period"] == "live"
    assert "not a measure of prevalence" in r.json()["caveat"]
    sheet = client.get(f"/api/v1/observatory/live?period={PERIOD}&format=csv", headers=member)
    assert sheet.status_code == 200
    assert sheet.text.startswith("table,period,country")
    assert client.get("/api/v1/observatory/live?format=xml", headers=member).status_code == 422
    assert client.get("/api/v1/observatory/live").status_code == 401
    isp = provider_headers(session, settings)
    assert client.get("/api/v1/observatory/live", headers=isp).status_code == 403
