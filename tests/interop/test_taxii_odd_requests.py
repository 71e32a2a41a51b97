"""Odd TAXII requests a careless or hostile client sends: each answered with a TAXII status,
never a server error (issue 17's bad input)."""

from __future__ import annotations

import pytest
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from taxii_builders import ROOT, TAXII, releasable_material

from taskforce.core.settings import Settings
from taskforce.interop import collections

ODD_QUERIES = [
    "limit=00001",
    "limit=%2B5",
    "limit=1.5",
    "limit=",
    "limit=%00",
    "added_after=",
    "added_after=2024-01-01",
    "added_after=2024-01-01T00:00:00%2B14:00",
    "added_after=2024-01-01T00:00:00-23:59",
    "added_after=" + "9" * 70,
    "match[type]=",
    "match[type]=,,,",
    "match[type]=" + ",".join(["indicator"] * 500),
    "match[id]=" + "x" * 3000,
    "match[id]=indicator--00000000-0000-4000-8000-000000000000&match[id]=identity--x",
    "match[spec_version]=2.1,2.0",
    "match[version]=all,first",
    "match[version]=,",
    "match[foo]=bar",
    "next=",
    "next=%C3%A9",
    "next=W10",  # base64 of []
    "next=WzEsMiwzLDRd",  # [1,2,3,4]
    "next=WyJ4IiwyLCIiLDBd",  # ["x",2,"",0]
    "limit=3&limit=4",
    "added_after=2024-01-01T00:00:00Z&added_after=2025-01-01T00:00:00Z",
]


@pytest.fixture
def reader(session: Session, settings: Settings, network: Network) -> dict[str, str]:
    releasable_material(session, settings, network)
    return {**token_for(session, settings, network.gb_reader), "Accept": TAXII}


def test_odd_queries_get_a_taxii_answer(client: TestClient, reader: dict[str, str]) -> None:
    base = f"{ROOT}collections/{collections.network_collection_id()}"
    for path in (
        "objects/",
        "manifest/",
        "objects/indicator--00000000-0000-4000-8000-000000000000/",
    ):
        for query in ODD_QUERIES:
            r = client.get(f"{base}/{path}?{query}", headers=reader)
            assert r.status_code in (200, 400, 404), (path, query, r.status_code, r.text)
            assert r.headers["content-type"] == TAXII, (path, query)


@pytest.mark.parametrize(
    "path",
    [
        "collections/%00/",
        "collections/" + "a" * 5000 + "/",
        "collections/{c}/objects/indicator--nope/",
        "collections/{c}/objects/--/",
        "collections/{c}/objects/%E2%80%AE/versions/",
        "collections/{c}/objects/file--" + "0" * 36 + "/",
    ],
)
def test_odd_paths_get_a_taxii_answer(
    client: TestClient, reader: dict[str, str], path: str
) -> None:
    url = ROOT + path.replace("{c}", collections.network_collection_id())
    r = client.get(url, headers=reader)
    assert r.status_code in (400, 404), (path, r.status_code, r.text)
    assert r.headers["content-type"] == TAXII


@pytest.mark.parametrize(
    "accept",
    ["", "*/*;q=0", "application/taxii+json;version=", "application/taxii+json;;;", ";", "\t"],
)
def test_odd_accept_headers_get_a_taxii_answer(
    client: TestClient, reader: dict[str, str], accept: str
) -> None:
    r = client.get("/taxii2/", headers={**reader, "Accept": accept})
    assert r.status_code in (200, 406), (accept, r.status_code)
