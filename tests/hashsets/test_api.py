"""Hash sets and matching over the API, as a forensic tool or a script uses them."""

from __future__ import annotations

import json

from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings

MD5 = "0123456789abcdef0123456789abcdef"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
NEAR = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d"  # 4 bits away


def _set(client: TestClient, headers: dict[str, str], **body: object) -> str:
    r = client.post("/api/v1/hashsets", json={"name": "Known", **body}, headers=headers)
    assert r.status_code == 201, r.text
    set_id: str = r.json()["id"]
    return set_id


def _upload(client: TestClient, headers: dict[str, str], set_id: str) -> dict[str, object]:
    body = f"md5,pdq,category,series,victim_identified\n{MD5.upper()},{PDQ},uk-caid:A,Lake,true\n"
    r = client.post(f"/api/v1/hashsets/{set_id}/import", content=body.encode(), headers=headers)
    assert r.status_code == 200, r.text
    report: dict[str, object] = r.json()
    return report


def test_upload_list_export_and_match(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    nl = token_for(session, settings, network.nl)
    set_id = _set(client, gb, sharing="amber", partners=["NL-NP"])
    report = _upload(client, gb, set_id)
    assert (report["format"], report["added"]) == ("csv", 1)
    assert _upload(client, gb, set_id)["already_present"] == 1

    [listed] = client.get("/api/v1/hashsets", headers=nl).json()
    assert listed["name"] == "Known"
    assert listed["entry_count"] == 1

    r = client.get(f"/api/v1/hashsets/{set_id}/export?format=vics", headers=nl)
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    assert json.loads(r.content)["value"][0]["MD5"] == MD5.upper()

    r = client.post(
        "/api/v1/match",
        json={"hashes": [{"md5": MD5.upper()}, {"pdq": NEAR}, {"sha1": "a" * 40}]},
        headers=nl,
    )
    assert r.status_code == 200, r.text
    exact, near, none = r.json()
    assert exact["matches"][0]["match_type"] == "exact"
    assert exact["matches"][0]["victim_identified"] is True
    assert exact["matches"][0]["category"] == "uk-caid:A"
    assert near["matches"][0] == exact["matches"][0] | {"match_type": "perceptual", "distance": 4}
    assert none["matches"] == []


def test_unrelated_agency_sees_nothing(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    us = token_for(session, settings, network.us)
    set_id = _set(client, gb)
    _upload(client, gb, set_id)
    assert client.get(f"/api/v1/hashsets/{set_id}", headers=us).status_code == 404
    assert client.get(f"/api/v1/hashsets/{set_id}/export?format=csv", headers=us).status_code == 404
    r = client.post("/api/v1/match", json={"hashes": [{"md5": MD5}]}, headers=us)
    assert r.json()[0]["matches"] == []  # a RED set never answers another agency


def test_only_the_owner_uploads(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    nl = token_for(session, settings, network.nl)
    set_id = _set(client, gb, sharing="green")
    r = client.post(f"/api/v1/hashsets/{set_id}/import", content=MD5.encode(), headers=nl)
    assert r.status_code == 404


def test_bad_hash_names_its_place(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    r = client.post("/api/v1/match", json={"hashes": [{"md5": MD5}, {"pdq": "xyz"}]}, headers=gb)
    assert r.status_code == 422
    assert r.json()["field"] == "hashes[1].pdq"
    assert "64 hexadecimal" in r.json()["rule"]
    r = client.post("/api/v1/match", json={"hashes": []}, headers=gb)
    assert r.status_code == 422
