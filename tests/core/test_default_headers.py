"""Every answer carries the default security headers unless its route set its own (the public
pages send no referrer at all); a body announced as too large is refused before the route."""

from __future__ import annotations

from fastapi.testclient import TestClient

from taskforce.core.settings import Settings


def test_default_headers_on_a_plain_answer(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "same-origin"
    assert r.headers["x-frame-options"] == "DENY"


def test_a_route_keeps_its_own_header_and_gets_the_others(client: TestClient) -> None:
    r = client.get("/report")
    assert r.status_code == 200
    assert r.headers["referrer-policy"] == "no-referrer"  # the public page's own
    assert r.headers.get_list("referrer-policy") == ["no-referrer"]
    assert r.headers["x-frame-options"] == "DENY"


def test_an_announced_oversize_body_is_refused_with_the_headers(
    client: TestClient, settings: Settings
) -> None:
    body = b"x" * (settings.max_body_bytes + 1)
    api = client.post("/api/v1/cases", content=body)
    assert api.status_code == 413
    assert api.json()["error"] == "too_large"
    assert api.headers["x-content-type-options"] == "nosniff"
    page = client.post("/ui/cases/new", content=body)
    assert page.status_code == 413
    assert "Too large to upload" in page.text
    assert page.headers["x-frame-options"] == "DENY"
