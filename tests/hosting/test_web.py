"""The hosting pages: the directory, one provider, the import and "locate an address"."""

from __future__ import annotations

import re
from collections.abc import Callable

from builders import Network, csrf_field, web_login
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.hosting import addresses, service
from taskforce.hosting.models import HostingProvider

MakeProvider = Callable[..., HostingProvider]


def test_directory_flags_providers_without_abuse_contact(
    client: TestClient, session: Session, network: Network, make_provider: MakeProvider
) -> None:
    make_provider("Polder Hosting B.V.", asn=64512, networks=("203.0.113.0/26",))
    make_provider("Quiet Harbour VPS", asn=64570, country="US", abuse_email=None)
    web_login(client, session, network.gb_analyst)
    page = client.get("/ui/hosting")
    assert page.status_code == 200
    assert '<a href="/ui/hosting" class="active">Hosting providers</a>' in page.text
    assert "Polder Hosting B.V." in page.text
    assert "Netherlands" in page.text
    assert "AS64512" in page.text
    assert "mailto:abuse@hosting.example.net" in page.text
    row = re.search(r"<tr class=\"row-error\">.*?</tr>", page.text, re.S)
    assert row
    assert "Quiet Harbour VPS" in row.group(0)
    assert "No abuse contact" in row.group(0)
    assert "notices cannot be sent" in row.group(0)
    assert addresses.DATA_SOURCE in page.text
    only = client.get("/ui/hosting?without_contact=1")
    assert "Quiet Harbour VPS" in only.text
    assert "Polder Hosting" not in only.text
    by_address = client.get("/ui/hosting", params={"q": "203.0.113.7"})
    assert "Polder Hosting B.V." in by_address.text
    assert "Quiet Harbour" not in by_address.text
    assert "No provider matches" in client.get("/ui/hosting?q=nobody").text


def test_directory_pages(
    client: TestClient, session: Session, network: Network, make_provider: MakeProvider
) -> None:
    for i in range(55):
        make_provider(f"Hosting {i:02d} Ltd", asn=64600 + i)
    web_login(client, session, network.gb_reader)
    first = client.get("/ui/hosting")
    assert "1–50 of 55" in first.text
    assert 'href="/ui/hosting?page=2"' in first.text
    assert "Hosting 49 Ltd" in first.text
    assert "Hosting 50 Ltd" not in first.text
    second = client.get("/ui/hosting?page=2")
    assert "51–55 of 55" in second.text
    assert "Hosting 54 Ltd" in second.text
    assert "← Previous" in second.text
    assert "Next →" not in second.text
    searched = client.get("/ui/hosting", params={"q": "Hosting", "page": 2})
    assert 'href="/ui/hosting?q=Hosting"' in searched.text  # back to page 1, search kept


def test_add_provider_edit_contact_and_networks(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    page = client.get("/ui/hosting")
    token = csrf_field(page.text)
    created = client.post(
        "/ui/hosting/new",
        data={
            "csrf_token": token,
            "name": "Quiet Harbour VPS",
            "asn": "AS64570",
            "country": "us",
            "abuse_email": "",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"]
    shown = client.get(url)
    assert "<h1>Quiet Harbour VPS</h1>" in shown.text
    assert "Takedown notices cannot be sent to Quiet Harbour VPS" in shown.text
    again = client.post("/ui/hosting/new", data={"csrf_token": token, "name": "Quiet Harbour VPS"})
    assert again.status_code == 422
    assert "already exists" in again.text
    bad_asn = client.post(
        "/ui/hosting/new", data={"csrf_token": token, "name": "X Hosting", "asn": "AS0"}
    )
    assert bad_asn.status_code == 422
    assert "must be an AS number" in bad_asn.text

    fields = {
        "csrf_token": token,
        "name": "Quiet Harbour VPS",
        "asn": "AS64570",
        "country": "US",
        "notes": "Answers in English.",
    }
    bad = client.post(url, data={**fields, "abuse_email": "not an address"})
    assert bad.status_code == 422
    assert "must be an e-mail address" in bad.text
    assert 'value="not an address"' in bad.text  # what was sent is shown again
    saved = client.post(url, data={**fields, "abuse_email": "abuse@quietharbour.example.net"})
    assert saved.status_code == 200
    assert "Saved." in saved.text
    assert "Takedown notices cannot be sent" not in saved.text
    assert "Answers in English." in saved.text
    forged = client.post(url, data={**fields, "csrf_token": "forged", "abuse_email": ""})
    assert forged.status_code == 403

    block = {"csrf_token": token, "network": "192.0.2.5/27"}
    host_bits = client.post(f"{url}/networks", data=block)
    assert host_bits.status_code == 422
    assert "has host bits set: the block is 192.0.2.0/27" in host_bits.text
    assert 'value="192.0.2.5/27"' in host_bits.text
    assert 'value="Quiet Harbour VPS"' in host_bits.text  # the other form keeps what is stored
    added = client.post(
        f"{url}/networks", data={"csrf_token": token, "network": "192.0.2.0/27", "country": "DE"}
    )
    assert added.status_code == 200
    assert "Network added." in added.text
    assert "<code>192.0.2.0/27</code>" in added.text
    assert "Germany" in added.text
    twice = client.post(f"{url}/networks", data={"csrf_token": token, "network": "192.0.2.0/27"})
    assert twice.status_code == 422
    assert "already recorded, for Quiet Harbour VPS" in twice.text
    remove = re.search(r'action="(/ui/hosting/[^"]+/remove)"', added.text)
    assert remove
    removed = client.post(remove.group(1), data={"csrf_token": token})
    assert removed.status_code == 200
    assert "Network removed." in removed.text
    assert "No network block recorded" in removed.text


def test_import_form_shows_the_report(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb_analyst)
    form = client.get("/ui/hosting/import")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
    token = csrf_field(form.text)
    table = (
        "network,provider,asn,country,abuse_email\n"
        "203.0.113.0/26,Polder Hosting B.V.,AS64512,NL,abuse@polderhosting.example.net\n"
        "203.0.113.5/26,Polder Hosting B.V.,,,\n"
        "198.51.100.0/26,Meseta Datos S.L.,AS64550,ES,not-an-email\n"
    )
    r = client.post(
        "/ui/hosting/import",
        data={"csrf_token": token, "source": ""},
        files={"file": ("networks.csv", table, "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert "<h2>networks.csv</h2>" in r.text
    found = re.findall(r'<div class="stat-n">([\d,]+)</div><div class="stat-l">([^<]+)<', r.text)
    assert {label: number for number, label in found} == {
        "lines read": "3",
        "blocks added": "1",
        "blocks updated": "0",
        "unchanged": "0",
        "bad lines": "2",
        "providers created": "1",
        "providers updated": "0",
    }
    assert "Has host bits set: the block is 203.0.113.0/26" in r.text
    assert "<code>not-an-email</code>" in r.text
    header = client.post(
        "/ui/hosting/import",
        data={"csrf_token": token},
        files={"file": ("x.csv", "cidr,owner\n", "text/csv")},
    )
    assert header.status_code == 422
    assert "the first line must name the columns" in header.text
    forged = client.post(
        "/ui/hosting/import",
        data={"csrf_token": "forged"},
        files={"file": ("x.csv", table, "text/csv")},
    )
    assert forged.status_code == 403
    assert service.list_providers(session, network.gb_analyst.caller).total == 1


def test_locate_box_shows_the_steps(
    client: TestClient, session: Session, network: Network, make_provider: MakeProvider
) -> None:
    make_provider(networks=("203.0.113.0/26",))
    web_login(client, session, network.gb_reader)
    r = client.get("/ui/hosting/locate", params={"ip": "203.0.113.10"})
    assert r.status_code == 200
    assert "Hosted in Netherlands" in r.text
    assert "203.0.113.10: no registry country (address reserved for documentation)" in r.text
    assert "network table: 203.0.113.0/26 belongs to Fictional Hosting B.V. (AS64500)" in r.text
    ripe = client.get("/ui/hosting/locate", params={"ip": "193.0.6.139"})
    assert f"{addresses.DATA_SOURCE}: 193.0.6.139 is registered in NL" in ripe.text
    assert "not in the network table" in ripe.text
    bad = client.get("/ui/hosting/locate", params={"ip": "203.0.113.300"})
    assert bad.status_code == 422
    assert "must be an IPv4 or IPv6 address" in bad.text
    empty = client.get("/ui/hosting/locate")
    assert empty.status_code == 200
    assert "Enter an address" in empty.text


def test_read_only_sees_but_cannot_change(
    client: TestClient, session: Session, network: Network, make_provider: MakeProvider
) -> None:
    provider = make_provider(networks=("203.0.113.0/26",))
    web_login(client, session, network.gb_reader)
    page = client.get("/ui/hosting")
    assert page.status_code == 200
    assert "Fictional Hosting B.V." in page.text
    assert "Add a provider" not in page.text
    assert "/ui/hosting/import" not in page.text
    detail = client.get(f"/ui/hosting/{provider.id}")
    assert detail.status_code == 200
    assert "<code>203.0.113.0/26</code>" in detail.text
    assert "Remove" not in detail.text
    assert 'name="abuse_email"' not in detail.text
    token = csrf_field(page.text)
    for path, data in [
        ("/ui/hosting/new", {"name": "Reader Hosting"}),
        (f"/ui/hosting/{provider.id}", {"name": "Renamed", "abuse_email": ""}),
        (f"/ui/hosting/{provider.id}/networks", {"network": "192.0.2.0/24"}),
    ]:
        r = client.post(path, data={"csrf_token": token, **data})
        assert r.status_code == 403, (path, r.text)
        assert "may not manage hosting" in r.text
    assert client.get("/ui/hosting/import").status_code == 403
    assert client.get("/ui/hosting/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.get("/ui/hosting/not-a-provider").status_code == 404
