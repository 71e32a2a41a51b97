"""Uploads have their own limits: a hash list of tens of MB goes through the API and the page,
a clue image up to its own limit reaches the sanitiser, anything else stops at the general
limit — with a page, not JSON, for a page."""

from __future__ import annotations

from builders import Network, csrf_field, token_for, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.limits import body_class
from taskforce.core.settings import Settings

MD5_LINES = "".join(f"{i:032x}\n" for i in range(200_000))  # 6.6 MB: over the general limit


def test_limits_by_route(settings: Settings) -> None:
    general = settings.max_body_bytes
    assert body_class("/api/v1/hashsets/abc/import").limit(general) == 2 << 30
    assert body_class("/ui/notices/abc/clues/def/images").limit(general) == 12 << 20
    assert body_class("/api/v1/cases").limit(general) == general


def test_a_large_hash_list_uploads_and_other_large_bodies_are_refused(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    assert len(MD5_LINES) > settings.max_body_bytes
    gb = token_for(session, settings, network.gb)
    set_id = client.post("/api/v1/hashsets", json={"name": "Big"}, headers=gb).json()["id"]
    r = client.post(f"/api/v1/hashsets/{set_id}/import", content=MD5_LINES.encode(), headers=gb)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["added"] == 200_000
    too_big = client.post("/api/v1/cases", content=b"x" * (settings.max_body_bytes + 1), headers=gb)
    assert too_big.status_code == 413
    assert too_big.json()["error"] == "too_large"

    web_login(client, session, network.gb)
    page = client.get("/ui/cases/new")
    refused = client.post(
        "/ui/cases/new",
        data={"csrf_token": csrf_field(page.text), "title": "x" * (settings.max_body_bytes + 1)},
    )
    assert refused.status_code == 413
    assert "Too large to upload" in refused.text
    assert "<html" in refused.text.lower()
