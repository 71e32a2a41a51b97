"""The TAXII 2.1 server as a client sees it (both databases): discovery, the API root, the
collections a member may read, objects a page at a time (`limit`, `next`, `added_after`, the
date-added headers), the manifest, objects by id; TAXII error messages for every refusal, never
a 500; nothing RED, AMBER or held back; every page read audited once."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from builders import Network, add_selector, make_case, provider_headers, token_for
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from taxii_builders import HELD_BACK, ROOT, TAXII, Material, releasable_material

from taskforce.cases.models import Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets.models import HashEntry
from taskforce.interop import collections
from taskforce.interop.markings import TLP_GREEN

Headers = dict[str, str]


@pytest.fixture
def material(session: Session, settings: Settings, network: Network) -> Material:
    return releasable_material(session, settings, network)


@pytest.fixture
def reader(session: Session, settings: Settings, network: Network) -> Headers:
    """GB's read-only account: what an agency gives its MISP or TAXII client."""
    return {**token_for(session, settings, network.gb_reader), "Accept": TAXII}


def _agency_id(session: Session, code: str) -> str:
    from taskforce.agencies import service as agency_service

    return collections.agency_collection_id(agency_service.get_by_code(session, code).id)


def _objects_url(collection_id: str) -> str:
    return f"{ROOT}collections/{collection_id}/objects/"


def _all_pages(
    client: TestClient, url: str, headers: Headers, **params: Any
) -> tuple[list[dict[str, Any]], int]:
    objects: list[dict[str, Any]] = []
    pages = 0
    token: str | None = None
    while True:
        query = {**params, **({"next": token} if token else {})}
        r = client.get(url, headers=headers, params=query)
        assert r.status_code == 200, r.text
        pages += 1
        envelope = r.json()
        objects.extend(envelope.get("objects", []))
        if not envelope["more"]:
            assert "next" not in envelope
            return objects, pages
        token = envelope["next"]


@pytest.mark.usefixtures("material")
def test_discovery_api_root_and_collections(
    client: TestClient, session: Session, reader: Headers
) -> None:
    r = client.get("/taxii2/", headers=reader)
    assert r.status_code == 200
    assert r.headers["content-type"] == TAXII
    assert r.json()["api_roots"] == ["http://testserver/taxii2/api/"]
    assert r.json()["default"] == "http://testserver/taxii2/api/"

    root = client.get(ROOT, headers=reader).json()
    assert root["versions"] == [TAXII]
    assert root["max_content_length"] == 0  # read-only

    listed = client.get(f"{ROOT}collections/", headers=reader).json()["collections"]
    ids = [c["id"] for c in listed]
    network_id = collections.network_collection_id()
    gb_id, nl_id, us_id = (_agency_id(session, c) for c in ("GB-NCA", "NL-NP", "US-HSI"))
    assert ids == [network_id, gb_id, nl_id]  # US has nothing releasable: no collection
    for c in listed:
        assert c["can_read"] is True
        assert c["can_write"] is False
        assert c["media_types"] == ["application/stix+json;version=2.1"]
    one = client.get(f"{ROOT}collections/{gb_id}/", headers=reader)
    assert one.status_code == 200
    assert one.json()["title"].startswith("GB-NCA")
    for missing in (us_id, "not-a-collection"):
        r = client.get(f"{ROOT}collections/{missing}/", headers=reader)
        assert r.status_code == 404
        assert r.json()["http_status"] == "404"
        assert r.json()["title"]
        assert client.get(_objects_url(missing), headers=reader).status_code == 404


def test_the_network_collection_serves_each_releasable_object_once_and_nothing_else(
    client: TestClient, material: Material, reader: Headers
) -> None:
    url = _objects_url(collections.network_collection_id())
    r = client.get(url, headers=reader)
    assert r.status_code == 200
    assert r.headers["content-type"] == TAXII
    text = r.text
    for secret in HELD_BACK:
        assert secret not in text
    envelope = r.json()
    assert envelope["more"] is False
    assert "next" not in envelope
    objects = envelope["objects"]
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))  # one object per id
    kinds = [o["type"] for o in objects]
    assert kinds.count("marking-definition") == 5
    # the hub and the two agencies with releasable material
    assert kinds.count("identity") == 3
    patterns = [o["pattern"] for o in objects if o["type"] == "indicator"]
    for value in material.gb_values + material.nl_values:
        assert sum(value in p for p in patterns) == 1, value  # the shared email: one indicator
    # the md5 is a selector (its indicator) and a hash-set entry (its file's indicator): one
    # `file` object all the same
    assert sum("5eb63bbbe01eeed093cb22bb8f5acdc3" in p for p in patterns) == 2
    assert sum("x_pdq" in p for p in patterns) == 1
    assert kinds.count("file") == 2
    assert kinds.count("relationship") == 2
    for o in objects:
        if o["type"] != "marking-definition":
            assert o["object_marking_refs"] == [TLP_GREEN]
    assert not any("+442079460777" in p for p in patterns)  # phones have no STIX form


@pytest.mark.usefixtures("material")
def test_paging_with_next_gives_every_object_once_in_order(
    client: TestClient, reader: Headers
) -> None:
    url = _objects_url(collections.network_collection_id())
    whole = client.get(url, headers=reader).json()["objects"]
    paged, pages = _all_pages(client, url, reader, limit=2)
    assert [o["id"] for o in paged] == [o["id"] for o in whole]
    assert pages == -(-len(whole) // 2)
    # the manifest pages the same way, with each object's date added
    manifest, _ = _all_pages(
        client,
        f"{ROOT}collections/{collections.network_collection_id()}/manifest/",
        reader,
        limit=3,
    )
    assert [m["id"] for m in manifest] == [o["id"] for o in whole]
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)
    dates = [m["date_added"] for m in manifest]
    assert dates == sorted(dates)

    first = client.get(url, headers=reader, params={"limit": 4})
    assert first.json()["more"] is True
    assert len(first.json()["objects"]) == 4
    assert first.headers["X-TAXII-Date-Added-First"] == dates[0]
    assert first.headers["X-TAXII-Date-Added-Last"] == dates[3]


@pytest.mark.usefixtures("material")
def test_rows_of_one_moment_page_exactly(
    client: TestClient, session: Session, reader: Headers
) -> None:
    """A bulk import writes many rows with one `added_at`: `next` names the row and the place
    in it, so pages of any size give the same objects once, in the same order."""
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    session.execute(update(Selector).values(added_at=moment))
    session.execute(update(HashEntry).values(added_at=moment))
    session.commit()
    url = _objects_url(collections.network_collection_id())
    whole = client.get(url, headers=reader).json()["objects"]
    assert len(whole) > 20
    for size in (1, 2, 5):
        paged, _ = _all_pages(client, url, reader, limit=size)
        assert [o["id"] for o in paged] == [o["id"] for o in whole]
    # every object of the moment is after an `added_after` just before it, none after it
    just_before = (moment - timedelta(microseconds=1)).isoformat()
    later = client.get(url, headers=reader, params={"added_after": just_before}).json()
    assert later["objects"] == whole[6:]  # all but the markings and the hub's identity
    assert client.get(url, headers=reader, params={"added_after": moment.isoformat()}).json() == {
        "more": False
    }


def test_an_agency_collection_holds_only_that_agency_s_material(
    client: TestClient, session: Session, material: Material, reader: Headers
) -> None:
    nl = client.get(_objects_url(_agency_id(session, "NL-NP")), headers=reader).json()["objects"]
    text = json.dumps(nl)
    for value in material.nl_values:
        assert value in text
    for value in set(material.gb_values) - set(material.nl_values):
        assert value not in text
    assert "5eb63bbbe01eeed093cb22bb8f5acdc3" not in text  # GB's hash set
    assert [o["name"] for o in nl if o["type"] == "identity"] == [
        "taskforce hub",
        "NL-NP (fictional)",
    ]


@pytest.mark.usefixtures("material")
def test_added_after_gives_what_was_added_since(
    client: TestClient,
    session: Session,
    settings: Settings,
    network: Network,
    reader: Headers,
) -> None:
    url = _objects_url(collections.network_collection_id())
    r = client.get(url, headers=reader)
    last = r.headers["X-TAXII-Date-Added-Last"]
    again = client.get(url, headers=reader, params={"added_after": last})
    assert again.status_code == 200
    assert again.json() == {"more": False}
    assert "X-TAXII-Date-Added-Last" not in again.headers

    case = make_case(session, network.us, title="Operation Lapwing", sharing=SharingLevel.GREEN)
    add_selector(session, settings, network.us, case, "domain", "new-drop.example.com")
    session.commit()
    news = client.get(url, headers=reader, params={"added_after": last}).json()["objects"]
    assert [o["type"] for o in news] == ["identity", "indicator"]  # US's first row
    assert "new-drop.example.com" in news[1]["pattern"]
    assert news[1]["created_by_ref"] == news[0]["id"]
    # read from where `added_after` points, not scanned up to it (a page of one scans ten)
    first = client.get(url, headers=reader, params={"added_after": last, "limit": "1"}).json()
    assert [o["type"] for o in first["objects"]] == ["identity"]
    rest = client.get(url, headers=reader, params={"added_after": last, "next": first["next"]})
    assert rest.json()["objects"] == news[1:]
    assert rest.json()["more"] is False


@pytest.mark.usefixtures("material")
def test_match_type_and_id_filter_the_stream(
    client: TestClient, session: Session, reader: Headers
) -> None:
    url = _objects_url(collections.network_collection_id())
    indicators, _ = _all_pages(client, url, reader, **{"match[type]": "indicator", "limit": 2})
    assert indicators
    assert all(o["type"] == "indicator" for o in indicators)
    both = client.get(url, headers=reader, params={"match[type]": "file,identity"}).json()
    assert {o["type"] for o in both["objects"]} == {"file", "identity"}
    wanted = indicators[0]["id"]
    one = client.get(url, headers=reader, params={"match[id]": wanted}).json()["objects"]
    assert [o["id"] for o in one] == [wanted]
    none = client.get(url, headers=reader, params={"match[spec_version]": "2.0"}).json()
    assert none == {"more": False}

    by_id = client.get(f"{url}{wanted}/", headers=reader)
    assert by_id.status_code == 200
    assert by_id.json()["objects"] == indicators[:1]
    versions = client.get(f"{url}{wanted}/versions/", headers=reader).json()
    assert versions == {"more": False, "versions": [indicators[0]["modified"]]}
    # identities and markings are found without reading the rows: the same objects
    whole = client.get(url, headers=reader).json()["objects"]
    for obj in whole:
        if obj["type"] in ("identity", "marking-definition", "file"):
            r = client.get(f"{url}{obj['id']}/", headers=reader)
            assert r.json()["objects"] == [obj]
    gb_identity = next(o for o in whole if o.get("name") == "GB-NCA (fictional)")
    nl_url = _objects_url(_agency_id(session, "NL-NP"))
    assert client.get(f"{nl_url}{gb_identity['id']}/", headers=reader).status_code == 404
    for absent in ("indicator--00000000-0000-4000-8000-000000000000", "nonsense"):
        r = client.get(f"{url}{absent}/", headers=reader)
        assert r.status_code == 404
        assert r.json()["http_status"] == "404"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"added_after": "yesterday"}, "added_after"),
        ({"added_after": "2024-13-45T00:00:00Z"}, "added_after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "1e3"}, "limit"),
        ({"next": "not-a-token"}, "next"),
        (
            {"next": base64.urlsafe_b64encode(b'["2024-01-01T00:00:00Z", 9, "x", 0]').decode()},
            "next",
        ),
        ({"next": base64.urlsafe_b64encode(b'{"a": 1}').decode()}, "next"),
        ({"next": "x" * 5000}, "next"),
        (
            {
                "next": base64.urlsafe_b64encode(
                    b'["2026-01-01T00:00:00.000000Z",1,"99999999999999999999",0]'
                ).decode()
            },
            "next",
        ),
        ({"match[version]": "soon"}, "match[version]"),
        ({"added_after": "2024-01-01T00:00:00\x00Z"}, "added_after"),
        ({"sort": "asc"}, "sort"),
    ],
)
@pytest.mark.usefixtures("material")
def test_bad_filters_are_taxii_400s(
    client: TestClient, reader: Headers, params: dict[str, str], field: str
) -> None:
    url = _objects_url(collections.network_collection_id())
    for path in (url, url.replace("/objects/", "/manifest/")):
        r = client.get(path, headers=reader, params=params)
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == TAXII
        body = r.json()
        assert body["http_status"] == "400"
        assert body["title"] == "Bad request"
        assert body["details"]["field"] == field


@pytest.mark.usefixtures("material")
def test_far_timestamps_are_answered_not_crashed_on(client: TestClient, reader: Headers) -> None:
    url = _objects_url(collections.network_collection_id())
    whole = client.get(url, headers=reader).json()["objects"]
    for params, expected in (
        ({"added_after": "0001-01-01T00:00:00Z"}, len(whole)),
        ({"added_after": "9999-12-31T23:59:59.999999Z"}, 0),
        ({"match[version]": "0001-01-01T00:00:00Z"}, 0),
        ({"match[version]": "9999-12-31T23:59:59Z,last"}, len(whole)),
    ):
        r = client.get(url, headers=reader, params=params)
        assert r.status_code == 200, (params, r.text)
        assert len(r.json().get("objects", [])) == expected, params


@pytest.mark.usefixtures("material")
def test_a_huge_limit_is_lowered_to_the_page_size(
    app: FastAPI, client: TestClient, settings: Settings, reader: Headers
) -> None:
    app.state.settings = settings.model_copy(update={"taxii_page_limit": 3})
    url = _objects_url(collections.network_collection_id())
    for limit in ("1000000000", str(10**40)):
        r = client.get(url, headers=reader, params={"limit": limit})
        assert r.status_code == 200
        assert len(r.json()["objects"]) == 3
        assert r.json()["more"] is True


@pytest.mark.usefixtures("material")
def test_refusals_are_taxii_error_messages(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    url = _objects_url(collections.network_collection_id())
    anonymous = client.get(url, headers={"Accept": TAXII})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == TAXII
    assert anonymous.json()["http_status"] == "401"
    assert "Bearer" in anonymous.headers["WWW-Authenticate"]
    wrong = client.get(url, headers={"Accept": TAXII, "Authorization": "Bearer nope"})
    assert wrong.status_code == 401

    provider = {**provider_headers(session, settings), "Accept": TAXII}
    assert client.get(url, headers=provider).status_code == 403
    coordinator_user = auth_service.create_user(
        session,
        system_caller(),
        email="coordinator@example.com",
        agency_code="GB-NCA",
        role=Role.NETWORK_ADMIN,
    )
    issued = auth_service.create_token(session, system_caller(), settings, user=coordinator_user)
    session.commit()
    coordinator = {"Authorization": f"Bearer {issued.secret}", "Accept": TAXII}
    r = client.get("/taxii2/", headers=coordinator)  # may not export indicators
    assert r.status_code == 403
    assert r.json()["http_status"] == "403"

    reader = token_for(session, settings, network.gb_reader)
    for accept in ("application/json", "text/html", "application/taxii+json;version=2.0"):
        r = client.get(url, headers={**reader, "Accept": accept})
        assert r.status_code == 406, accept
        assert r.json()["http_status"] == "406"
    for accept in ("application/taxii+json", "*/*", f"text/html, {TAXII}"):
        assert client.get("/taxii2/", headers={**reader, "Accept": accept}).status_code == 200

    # HTTP Basic with the token as the password, for clients that speak only Basic
    secret = reader["Authorization"].removeprefix("Bearer ")
    basic = base64.b64encode(f"taxii:{secret}".encode()).decode()
    r = client.get("/taxii2/", headers={"Authorization": f"Basic {basic}", "Accept": TAXII})
    assert r.status_code == 200
    bad = base64.b64encode(b"taxii:wrong").decode()
    assert client.get("/taxii2/", headers={"Authorization": f"Basic {bad}"}).status_code == 401

    # read-only: nothing is posted
    posted = client.post(url, headers=reader, json={"objects": []})
    assert posted.status_code == 405


@pytest.mark.usefixtures("material")
def test_every_page_read_is_audited_once(
    client: TestClient, session: Session, reader: Headers, network: Network
) -> None:
    url = _objects_url(collections.network_collection_id())
    before = session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0
    _, pages = _all_pages(client, url, reader, limit=5)
    client.get(url.replace("/objects/", "/manifest/"), headers=reader)
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.seq > before).order_by(AuditEntry.seq)
    ).all()
    taxii = [e for e in entries if e.action.startswith("taxii_")]
    assert [e.action for e in taxii] == ["taxii_objects"] * pages + ["taxii_manifest"]
    assert all(e.operation == "disclosure" for e in taxii)
    assert all(e.actor_user_id == network.gb_reader.user.id for e in taxii)
    assert all(e.detail["collection"] == collections.network_collection_id() for e in taxii)
    assert sum(e.detail["objects"] for e in taxii[:-1]) == taxii[-1].detail["objects"]
