"""The Network page: the network admin copies this node's document and fingerprint, adds a
peer only after its fingerprint was shown, sees the peers' state and removes one; nobody else
sees the page."""

from __future__ import annotations

import html
import json

from builders import make_agency, make_person, web_login
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering
from taskforce.federation.models import Peer


def test_the_network_admin_peers_and_unpeers_on_the_page(
    client: TestClient, app: object, session: Session, node_settings: Settings, here: object
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    admin = make_person(session, make_agency(session, "EU-EC3"), role=Role.NETWORK_ADMIN)
    csrf = web_login(client, session, admin)

    page = client.get("/ui/network")
    assert page.status_code == 200
    assert peering.own_fingerprint(node_settings) in page.text
    shown = page.text.split('id="own-document">')[1].split("</textarea>")[0]
    assert identity.read_document(json.loads(html.unescape(shown))).node_id == here
    assert 'href="/ui/network"' in client.get("/ui/agencies").text  # the way there

    other = OtherNode(name="Node NL")
    text = json.dumps(other.document())
    checked = client.post("/ui/network/peers", data={"csrf_token": csrf, "document": text})
    assert checked.status_code == 200
    assert identity.fingerprint(other.key.public_key()) in checked.text
    assert session.scalars(select(Peer)).first() is None  # nothing stored before confirming

    added = client.post(
        "/ui/network/peers",
        data={"csrf_token": csrf, "document": text, "confirmed": "true"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    listed = client.get("/ui/network").text
    assert "Node NL" in listed
    assert "never" in listed  # no contact yet

    tampered = json.dumps({**other.document(), "url": "http://attacker.example.com"})
    refused = client.post("/ui/network/peers", data={"csrf_token": csrf, "document": tampered})
    assert refused.status_code == 422
    assert "does not verify" in refused.text
    garbage = client.post("/ui/network/peers", data={"csrf_token": csrf, "document": "{oops"})
    assert garbage.status_code == 422
    assert "peering document (JSON)" in garbage.text

    peer = session.scalars(select(Peer)).one()
    removed = client.post(
        f"/ui/network/peers/{peer.id}/remove", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert removed.status_code == 303
    session.refresh(peer)
    assert peer.state == "removed"
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.channel == "web")))
    assert {"federation.peer.add", "federation.peer.remove"} <= actions


def test_only_the_network_admin_sees_the_network_page(client: TestClient, session: Session) -> None:
    person = make_person(session, make_agency(session), role=Role.AGENCY_ADMIN)
    web_login(client, session, person)
    page = client.get("/ui/network")
    assert page.status_code == 403
    assert 'href="/ui/network"' not in client.get("/ui/agencies").text
