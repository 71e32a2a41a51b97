"""The rota API: who is on duty and the gaps for every desk; the coordinator writes the rota;
a desk writes its own capabilities and unavailability and gets 404 for another's; refusals
name the field and the rule."""

from __future__ import annotations

import pytest
from builders import token_for
from fastapi.testclient import TestClient
from rota_builders import NOW, RotaNet
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.inbox.models import InboxNotice
from taskforce.core.settings import Settings
from taskforce.rota import service


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API takes no clock: the rota's "now" (gaps, notices) is the builders' NOW."""
    monkeypatch.setattr(service, "utcnow", lambda: NOW)


def test_on_duty_shifts_and_gaps(
    client: TestClient, session: Session, settings: Settings, net: RotaNet
) -> None:
    nl = token_for(session, settings, net.nl)
    r = client.get("/api/v1/rota/on-duty?at=2026-12-08T03:00:00Z", headers=nl)
    assert r.status_code == 200, r.text
    [desk] = r.json()
    assert desk["agency"] == "US-HSI"
    assert desk["starts_at"].startswith("2026-12-07T22:00:00")
    assert desk["contact_email"] == "desk@us-hsi.example.com"

    now = client.get("/api/v1/rota/on-duty", headers=nl).json()  # NOW: Monday 00:00 UTC
    assert [d["agency"] for d in now] == ["US-HSI"]

    spanish = "/api/v1/rota/on-duty?at=2026-12-08T03:00:00Z&power=preservation&language=es"
    assert client.get(spanish, headers=nl).json() == []
    bad = client.get("/api/v1/rota/on-duty?at=2026-12-08T03:00:00Z&language=xx", headers=nl)
    assert bad.status_code == 422
    assert (bad.json()["field"], bad.json()["rule"]) == (
        "language",
        "must be an ISO 639-1 language code like en or es",
    )
    ancient = client.get("/api/v1/rota/on-duty?at=0001-01-01T00:00:00Z", headers=nl)
    assert (ancient.json()["field"], ancient.json()["rule"]) == (
        "at",
        "must lie in the years 2000 to 2099",
    )
    naive = client.get("/api/v1/rota/on-duty?at=2026-12-08T03:00:00", headers=nl)
    assert naive.status_code == 422
    assert naive.json()["field"] == "at"

    day = client.get(
        "/api/v1/rota/shifts?start=2026-12-08T00:00:00Z&end=2026-12-09T00:00:00Z", headers=nl
    )
    assert [s["agency"] for s in day.json()] == ["US-HSI", "GB-NCA", "NL-NP", "US-HSI"]

    gaps = client.get("/api/v1/rota/gaps?days=7", headers=nl)
    assert gaps.status_code == 200
    assert gaps.json() == []
    assert client.get("/api/v1/rota/gaps?days=0", headers=nl).json()["field"] == "days"
    assert client.get("/api/v1/rota/gaps").status_code == 401


def test_the_coordinator_writes_the_rota(
    client: TestClient, session: Session, settings: Settings, net: RotaNet
) -> None:
    coord = token_for(session, settings, net.coord)
    gb = token_for(session, settings, net.gb)
    rotation = client.post(
        "/api/v1/rota/rotations",
        headers=coord,
        json={
            "name": "Weekend",
            "kind": "weekly",
            "time_zone": "Europe/London",
            "starts_at": "2026-12-05T00:00:00Z",
            "members": ["GB-NCA", "NL-NP"],
        },
    )
    assert rotation.status_code == 201, rotation.text
    rotation_id = rotation.json()["id"]
    rule = client.post(
        "/api/v1/rota/rules",
        headers=coord,
        json={"rotation": "Weekend", "weekdays": [5, 6], "start": "00:00", "end": "24:00"},
    )
    assert rule.status_code == 201, rule.text
    assert rule.json()["time_zone"] == "Europe/London"  # the rotation's clock by default
    renamed = client.patch(
        f"/api/v1/rota/rotations/{rotation_id}", headers=coord, json={"name": "Weekends"}
    )
    assert renamed.json()["name"] == "Weekends"
    assert [r["rotation"] for r in client.get("/api/v1/rota/rules", headers=gb).json()] == [
        None,
        None,
        None,
        "Weekends",
    ]

    rule_id = rule.json()["id"]
    moved = client.patch(
        f"/api/v1/rota/rules/{rule_id}", headers=coord, json={"start": "06:00", "end": "18:00"}
    )
    assert (moved.json()["start"], moved.json()["end"]) == ("06:00", "18:00")
    assert moved.json()["weekdays"] == [5, 6]
    same = client.patch(f"/api/v1/rota/rules/{rule_id}", headers=coord, json={"end": "06:00"})
    assert (same.status_code, same.json()["field"]) == (422, "end")
    assert client.patch(f"/api/v1/rota/rules/{rule_id}", headers=gb, json={}).status_code == 403

    zero = client.post(
        "/api/v1/rota/rules",
        headers=coord,
        json={"desk": "GB-NCA", "weekdays": [0], "start": "08:00", "end": "08:00"},
    )
    assert zero.status_code == 422
    assert (zero.json()["field"], zero.json()["rule"]) == (
        "end",
        "must differ from start (a zero-length window never matches)",
    )
    zone = client.post(
        "/api/v1/rota/rules",
        headers=coord,
        json={
            "desk": "GB-NCA",
            "weekdays": [0],
            "start": "08:00",
            "end": "09:00",
            "time_zone": "Europe/Atlantis",
        },
    )
    assert (zone.json()["field"], zone.json()["rule"]) == (
        "time_zone",
        "must be an IANA time zone like Europe/Amsterdam",
    )

    override = client.post(
        "/api/v1/rota/overrides",
        headers=coord,
        json={
            "starts_at": "2026-12-08T12:00:00Z",
            "ends_at": "2026-12-08T13:00:00Z",
            "remove": "US-HSI",
        },
    )
    assert override.status_code == 422
    assert override.json()["field"] == "remove"
    assert "not on duty between 2026-12-08 12:00 UTC" in override.json()["rule"]

    swap = client.post(
        "/api/v1/rota/overrides",
        headers=coord,
        json={
            "starts_at": "2026-12-08T01:00:00Z",
            "ends_at": "2026-12-08T03:00:00Z",
            "remove": "US-HSI",
            "reason": "training",
        },
    )
    assert swap.status_code == 201, swap.text
    # the coordinator is told of the gap that opened
    titles = list(session.scalars(select(InboxNotice.title)))
    assert titles == ["New gap in the 24/7 rota: Any desk on duty, from Tue 08 Dec 2026 01:00 UTC"]
    gaps = client.get("/api/v1/rota/gaps", headers=gb).json()
    assert [(g["requirement"], g["starts_at"][:16]) for g in gaps] == [
        ("Any desk on duty", "2026-12-08T01:00")
    ]
    gone = client.delete(f"/api/v1/rota/overrides/{swap.json()['id']}", headers=coord)
    assert gone.status_code == 204
    assert (
        client.delete(f"/api/v1/rota/overrides/{swap.json()['id']}", headers=coord).status_code
        == 404
    )

    requirement = client.post(
        "/api/v1/rota/requirements",
        headers=coord,
        json={"name": "Preservation in Dutch", "power": "preservation", "language": "nl"},
    )
    assert requirement.status_code == 201, requirement.text
    names = [r["name"] for r in client.get("/api/v1/rota/requirements", headers=gb).json()]
    assert names == ["Any desk on duty", "Preservation in Dutch"]

    schedule = client.post(
        "/api/v1/rota/temporary-schedules",
        headers=coord,
        json={
            "name": "Operation Heron",
            "starts_at": "2026-12-15T00:00:00Z",
            "ends_at": "2026-12-16T00:00:00Z",
            "shifts": [
                {
                    "desk": "NL-NP",
                    "starts_at": "2026-12-15T00:00:00Z",
                    "ends_at": "2026-12-16T00:00:00Z",
                }
            ],
        },
    )
    assert schedule.status_code == 201, schedule.text
    listed = client.get("/api/v1/rota/temporary-schedules", headers=gb).json()
    assert [s["name"] for s in listed] == ["Operation Heron"]


def test_a_desk_edits_its_own_desk_only(
    client: TestClient, session: Session, settings: Settings, net: RotaNet
) -> None:
    gb = token_for(session, settings, net.gb)
    analyst = token_for(session, settings, net.gb_analyst)
    mine = client.put("/api/v1/rota/desks/GB-NCA", headers=gb, json={"languages": ["en", "fr"]})
    assert mine.status_code == 200, mine.text
    assert mine.json()["languages"] == ["en", "fr"]
    assert client.get("/api/v1/rota/desks/GB-NCA", headers=gb).json()["languages"] == ["en", "fr"]

    other = client.put("/api/v1/rota/desks/NL-NP", headers=gb, json={"languages": ["en"]})
    assert other.status_code == 404
    assert other.json()["error"] == "not_found"
    clock = client.put("/api/v1/rota/desks/GB-NCA", headers=gb, json={"time_zone": "UTC"})
    assert clock.status_code == 403
    assert client.get("/api/v1/rota/desks/XX-NONE", headers=gb).status_code == 404

    window = {"starts_at": "2026-12-08T07:00:00Z", "ends_at": "2026-12-08T09:00:00Z"}
    away = client.post("/api/v1/rota/desks/GB-NCA/unavailability", headers=gb, json=window)
    assert away.status_code == 201, away.text
    theirs = client.post("/api/v1/rota/desks/NL-NP/unavailability", headers=gb, json=window)
    assert theirs.status_code == 404
    backwards = client.post(
        "/api/v1/rota/desks/GB-NCA/unavailability",
        headers=gb,
        json={"starts_at": "2026-12-08T09:00:00Z", "ends_at": "2026-12-08T07:00:00Z"},
    )
    assert backwards.status_code == 422
    assert (backwards.json()["field"], backwards.json()["rule"]) == (
        "ends_at",
        "must be after starts_at",
    )
    listed = client.get("/api/v1/rota/desks/GB-NCA/unavailability", headers=gb).json()
    assert [u["id"] for u in listed] == [away.json()["id"]]

    rule = client.post(
        "/api/v1/rota/rules",
        headers=gb,
        json={"desk": "GB-NCA", "weekdays": [0], "start": "14:00", "end": "15:00"},
    )
    assert rule.status_code == 403
    assert client.get("/api/v1/rota/desks", headers=analyst).status_code == 403
    codes = [d["agency"] for d in client.get("/api/v1/rota/desks", headers=gb).json()]
    assert codes == ["GB-NCA", "NL-NP", "US-HSI"]
