"""Clue notices over the API: the shapes, the 404s for agencies outside the targets, and the
4xx answers (never a 500) for bad input."""

from __future__ import annotations

from builders import token_for
from fastapi.testclient import TestClient
from notice_builders import Scene
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings


def test_notice_lifecycle_over_the_api(
    client: TestClient, session: Session, settings: Settings, scene: Scene, gps_jpeg: bytes
) -> None:
    gb = token_for(session, settings, scene.net.gb)
    za = token_for(session, settings, scene.za)
    us = token_for(session, settings, scene.net.us)
    regions = client.get("/api/v1/notices/regions", headers=us).json()
    assert any(r["name"] == "Sub-Saharan Africa" and "ZA" in r["countries"] for r in regions)

    r = client.post(
        "/api/v1/notices",
        headers=gb,
        json={
            "series_id": str(scene.series.id),
            "title": "Where is the blue room?",
            "targets": ["Sub-Saharan Africa"],
            "clues": [{"kind": "electrical", "description": "Wall socket, round pins"}],
        },
    )
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["recipients"] == ["ZA-SAPS"]
    assert notice["targets"] == ["Sub-Saharan Africa"]
    nid, clue = notice["id"], notice["clues"][0]["id"]

    upload = f"/api/v1/notices/{nid}/clues/{clue}/images"
    refused = client.post(upload, headers=gb, files={"file": ("a.jpg", gps_jpeg, "image/jpeg")})
    assert refused.status_code == 422
    assert refused.json()["field"] == "attest"
    text = client.post(
        upload,
        headers=gb,
        data={"attest": "true"},
        files={"file": ("a.jpg", b"hello, not a picture", "image/jpeg")},
    )
    assert text.status_code == 422
    assert text.json()["field"] == "image"
    image = client.post(
        upload,
        headers=gb,
        data={"attest": "true"},
        files={"file": ("a.jpg", gps_jpeg, "image/jpeg")},
    )
    assert image.status_code == 201
    assert "GPS position" in image.json()["removed"]
    image_id = image.json()["id"]

    assert client.get(f"/api/v1/notices/{nid}", headers=us).status_code == 404
    assert client.get(f"/api/v1/notices/{nid}/images/{image_id}", headers=us).status_code == 404
    answer = {"countries": ["ZA", "NA", "LS"], "confidence": "high"}
    answers = f"/api/v1/notices/{nid}/clues/{clue}/answers"
    assert client.post(answers, headers=us, json=answer).status_code == 404
    r = client.post(answers, headers=za, json=answer)
    assert r.status_code == 201
    assert r.json()["agency"] == "ZA-SAPS"
    bad = client.post(answers, headers=za, json={"countries": ["ZZ"], "confidence": "high"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "countries"
    bad = client.post(answers, headers=za, json={"countries": ["ZA"], "confidence": "certain"})
    assert bad.status_code == 422

    seen = client.get(f"/api/v1/notices/{nid}", headers=za).json()
    assert [x["country"] for x in seen["ranking"]] == ["LS", "NA", "ZA"]
    assert seen["tips"] == []
    assert seen["recipients"] == []
    assert seen["public_url"] is None
    picture = client.get(f"/api/v1/notices/{nid}/images/{image_id}", headers=za)
    assert picture.status_code == 200
    assert picture.headers["content-type"] == "image/jpeg"

    published = client.post(
        f"/api/v1/notices/{nid}/publish",
        headers=gb,
        json={"images": [{"id": image_id, "caption": "A wall socket"}]},
    )
    assert published.status_code == 200
    public_url = published.json()["public_url"]
    assert public_url.startswith("http://hub.example.org/trace/")
    assert client.get(f"/api/v1/notices/{nid}/tips", headers=za).status_code == 403
    assert client.get(f"/api/v1/notices/{nid}/tips", headers=gb).json() == []

    closed = client.post(
        f"/api/v1/notices/{nid}/close",
        headers=gb,
        json={"outcome": "identified", "victim_id": str(scene.victim.id), "country": "ZA"},
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    again = client.post(f"/api/v1/notices/{nid}/close", headers=gb, json={"outcome": "withdrawn"})
    assert again.status_code == 409
    inbox = client.get("/api/v1/notices/inbox", headers=za).json()
    assert [m["kind"] for m in inbox] == ["closed", "new"]
    assert client.post("/api/v1/notices/inbox/read", headers=za).json() == {"marked_read": 2}
    assert client.get("/api/v1/notices?scope=received", headers=za).json()[0]["answered"]


def test_bad_input_is_a_4xx(
    client: TestClient, session: Session, settings: Settings, scene: Scene
) -> None:
    gb = token_for(session, settings, scene.net.gb)
    base = {"series_id": str(scene.series.id), "title": "A notice"}
    r = client.post("/api/v1/notices", headers=gb, json={**base, "targets": ["Narnia"]})
    assert r.status_code == 422
    assert r.json()["field"] == "targets"
    smell = {"kind": "smell", "description": "a smell"}
    r = client.post("/api/v1/notices", headers=gb, json={**base, "clues": [smell]})
    assert r.status_code == 422
    r = client.post("/api/v1/notices", headers=gb, json={**base, "series_id": "not-a-uuid"})
    assert r.status_code == 422
    missing = "00000000-0000-0000-0000-000000000000"
    assert (
        client.post("/api/v1/notices", headers=gb, json={**base, "series_id": missing}).status_code
        == 404
    )
    assert client.get(f"/api/v1/notices/{missing}", headers=gb).status_code == 404
    assert client.get("/api/v1/notices/not-a-uuid", headers=gb).status_code == 422
