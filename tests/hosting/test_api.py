"""The hosting API: routes, who may use them, and the one error shape."""

from __future__ import annotations

import uuid

import pytest
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.limits import body_class
from taskforce.core.settings import Settings
from taskforce.hosting import addresses

API = "/api/v1/hosting"
CSV = (
    "network,provider,asn,country,abuse_email\n"
    "203.0.113.0/26,Fictional Hosting B.V.,AS64500,NL,abuse@hosting.example.net\n"
    "203.0.113.64/26,Fictional Hosting B.V.,,,\n"
    "203.0.113.128/26,Fictional Hosting B.V.,,,\n"
    "2001:db8::/32,Other Hosting Ltd,64501,GB,\n"
)


@pytest.fixture
def analyst(session: Session, settings: Settings, network: Network) -> dict[str, str]:
    return token_for(session, settings, network.gb_analyst)


@pytest.fixture
def reader(session: Session, settings: Settings, network: Network) -> dict[str, str]:
    return token_for(session, settings, network.gb_reader)


def _provider_token(session: Session, settings: Settings) -> dict[str, str]:
    user = auth_service.create_user(
        session,
        system_caller(),
        email="noc@isp.example.net",
        agency_code="GB-NCA",
        role=Role.PROVIDER,
        display_name="Example ISP",
    )
    issued = auth_service.create_token(session, system_caller(), settings, user=user)
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def _create(client: TestClient, headers: dict[str, str], **body: object) -> dict[str, object]:
    body = {"name": "Fictional Hosting B.V.", **body}
    r = client.post(f"{API}/providers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    data: dict[str, object] = r.json()
    return data


def test_provider_lifecycle(client: TestClient, analyst: dict[str, str]) -> None:
    created = _create(
        client, analyst, asn=64500, country="nl", abuse_email="Abuse@Hosting.example.net"
    )
    assert (created["country"], created["abuse_email"], created["networks"]) == (
        "NL",
        "abuse@hosting.example.net",
        [],
    )
    pid = created["id"]
    net = client.post(
        f"{API}/providers/{pid}/networks", json={"network": "203.0.113.0/26"}, headers=analyst
    )
    assert net.status_code == 201, net.text
    assert net.json()["cidr"] == "203.0.113.0/26"
    assert net.json()["prefix_length"] == 122
    patched = client.patch(
        f"{API}/providers/{pid}", json={"abuse_email": None, "notes": "slow"}, headers=analyst
    )
    assert patched.status_code == 200
    assert patched.json()["abuse_email"] is None
    assert patched.json()["network_count"] == 1
    listing = client.get(f"{API}/providers", params={"q": "AS64500"}, headers=analyst).json()
    assert listing["total"] == 1
    assert listing["items"][0]["abuse_email"] is None
    missing = client.get(f"{API}/providers", params={"without_contact": True}, headers=analyst)
    assert [p["id"] for p in missing.json()["items"]] == [pid]
    shown = client.get(f"{API}/providers/{pid}", headers=analyst).json()
    assert [n["cidr"] for n in shown["networks"]] == ["203.0.113.0/26"]
    where = client.get(f"{API}/locate", params={"ip": "203.0.113.9"}, headers=analyst).json()
    assert where["provider_id"] == pid
    assert where["network"] == "203.0.113.0/26"
    assert where["country"] == "NL"
    assert where["country_source"] == "provider"
    assert where["data_source"] == addresses.DATA_SOURCE
    assert where["steps"][0] == (
        "203.0.113.9: no registry country (address reserved for documentation)"
    )
    gone = client.delete(f"{API}/networks/{net.json()['id']}", headers=analyst)
    assert gone.status_code == 204
    assert client.delete(f"{API}/networks/{net.json()['id']}", headers=analyst).status_code == 404


def test_errors_have_the_house_shape(client: TestClient, analyst: dict[str, str]) -> None:
    pid = _create(client, analyst)["id"]
    cases: list[tuple[str, str, dict[str, object] | None, int, dict[str, str]]] = [
        ("POST", "/providers", {"name": "Fictional Hosting B.V."}, 409, {"error": "conflict"}),
        ("POST", "/providers", {"name": "X Hosting", "asn": 0}, 422, {"field": "asn"}),
        ("POST", "/providers", {"name": "X Hosting", "asn": 4294967296}, 422, {"field": "asn"}),
        ("POST", "/providers", {"name": "X Hosting", "country": "XX"}, 422, {"field": "country"}),
        (
            "POST",
            "/providers",
            {"name": "X Hosting", "abuse_email": "nope"},
            422,
            {"field": "abuse_email", "rule": "must be an e-mail address like desk@example.com"},
        ),
        (
            "POST",
            "/providers",
            {"name": "X Hosting", "colour": "red"},
            422,
            {"field": "colour", "rule": "is not a known field"},
        ),
        ("POST", "/providers", {}, 422, {"field": "name", "rule": "is required"}),
        (
            "POST",
            f"/providers/{pid}/networks",
            {"network": "203.0.113.5/26"},
            422,
            {"field": "network", "rule": "has host bits set: the block is 203.0.113.0/26"},
        ),
        (
            "POST",
            f"/providers/{uuid.uuid4()}/networks",
            {"network": "203.0.113.0/26"},
            404,
            {"error": "not_found", "message": "hosting provider not found"},
        ),
        ("GET", f"/providers/{uuid.uuid4()}", None, 404, {"error": "not_found"}),
        ("GET", "/providers/not-a-uuid", None, 422, {"field": "provider_id"}),
        ("PATCH", f"/providers/{pid}", {"asn": "sixty"}, 422, {"field": "asn"}),
        ("DELETE", f"/networks/{uuid.uuid4()}", None, 404, {"message": "network not found"}),
        (
            "GET",
            "/locate?ip=203.0.113.300",
            None,
            422,
            {"field": "ip", "rule": "must be an IPv4 or IPv6 address"},
        ),
        ("GET", "/locate", None, 422, {"field": "ip", "rule": "is required"}),
    ]
    for method, path, body, code, expected in cases:
        r = client.request(method, API + path, json=body, headers=analyst)
        assert r.status_code == code, (method, path, r.text)
        data = r.json()
        assert {"error", "message"} <= data.keys(), data
        for key, value in expected.items():
            assert data[key] == value, (method, path, data)
    block = {"network": "203.0.113.0/26"}
    assert client.post(f"{API}/providers/{pid}/networks", json=block, headers=analyst).is_success
    other = _create(client, analyst, name="Other Hosting Ltd")["id"]
    clash = client.post(
        f"{API}/providers/{other}/networks", json={"network": "203.0.113.0/26"}, headers=analyst
    )
    assert clash.status_code == 409
    assert clash.json()["message"] == (
        "203.0.113.0/26 is already recorded, for Fictional Hosting B.V."
    )


def test_import_as_body_and_as_form(client: TestClient, analyst: dict[str, str]) -> None:
    r = client.post(
        f"{API}/networks/import",
        content=CSV + "not-a-block,Bad Hosting,,,\n",
        headers={**analyst, "content-type": "text/csv"},
        params={"source": "hub table"},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["source"] == "hub table"
    assert (report["added"], report["rejected"], report["providers_created"]) == (4, 1, 2)
    assert report["bad_lines"] == [
        {"line": 6, "field": "network", "rule": addresses._NETWORK_RULE, "value": "not-a-block"}
    ]
    again = client.post(
        f"{API}/networks/import", files={"file": ("table.csv", CSV, "text/csv")}, headers=analyst
    )
    assert again.status_code == 200, again.text
    assert again.json()["source"] == "table.csv"
    assert (again.json()["added"], again.json()["unchanged"]) == (0, 4)
    for bad, field in [
        (b"cidr,owner\n192.0.2.0/24,X\n", "header"),
        (b"", "file"),
    ]:
        r = client.post(
            f"{API}/networks/import", content=bad, headers={**analyst, "content-type": "text/csv"}
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field, r.text
    no_file = client.post(
        f"{API}/networks/import", data={"x": "1"}, files={"other": ("a", b"")}, headers=analyst
    )
    assert no_file.status_code == 422
    assert no_file.json()["field"] == "file"
    assert body_class(f"{API}/networks/import").limit(1 << 20) == 256 << 20
    assert body_class("/ui/hosting/import").limit(1 << 20) == 256 << 20
    assert body_class(f"{API}/providers").limit(1 << 20) == 1 << 20


def test_who_may_do_what(
    client: TestClient,
    session: Session,
    settings: Settings,
    analyst: dict[str, str],
    reader: dict[str, str],
) -> None:
    pid = _create(client, analyst)["id"]
    assert client.get(f"{API}/providers", headers=reader).status_code == 200
    assert client.get(f"{API}/providers/{pid}", headers=reader).status_code == 200
    assert client.get(f"{API}/locate?ip=8.8.8.8", headers=reader).json()["country"] == "US"
    changes = [
        ("POST", "/providers", {"name": "Reader Hosting"}),
        ("PATCH", f"/providers/{pid}", {"notes": "x"}),
        ("POST", f"/providers/{pid}/networks", {"network": "192.0.2.0/24"}),
        ("DELETE", f"/networks/{uuid.uuid4()}", None),
    ]
    for method, path, body in changes:
        r = client.request(method, API + path, json=body, headers=reader)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["error"] == "forbidden", (method, path, r.text)
    r = client.post(
        f"{API}/networks/import", content=CSV, headers={**reader, "content-type": "text/csv"}
    )
    assert r.status_code == 403
    isp = _provider_token(session, settings)
    for method, path, body in [
        ("GET", "/providers", None),
        ("GET", "/locate?ip=8.8.8.8", None),
        ("GET", f"/providers/{pid}", None),
        *changes,
    ]:
        r = client.request(method, API + path, json=body, headers=isp)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["message"] == (
            "an internet provider's token may only download the block list"
        )
    assert client.get(f"{API}/providers").status_code == 401
