"""The Network page: the network admin copies this node's document and fingerprint, adds a
peer only after its fingerprint was shown, sees the peers' state and removes one; nobody else
sees the page."""

from __future__ import annotations

import html
import json
import uuid
from datetime import UTC, datetime

from builders import make_agency, make_person, web_login
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering, profiles, tokens
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


# --- a peer's page: its profile, the key-holder flag, its status ------------------------------


def _admin(client: TestClient, session: Session) -> str:
    admin = make_person(session, make_agency(session, "EU-EC3"), role=Role.NETWORK_ADMIN)
    return web_login(client, session, admin)


def test_the_admin_sets_a_profile_on_the_peer_page_and_reads_it_in_words(
    client: TestClient, app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    csrf = _admin(client, session)
    network = client.get("/ui/network").text
    assert f'href="/ui/network/peers/{peer.id}"' in network
    assert "Receives nothing." in network

    page = client.get(f"/ui/network/peers/{peer.id}")
    assert page.status_code == 200
    assert "No profile is set: nothing crosses until one allows it." in page.text
    assert 'id="synced-at">never<' in page.text  # the sync has not run: shown as it is
    assert "never synced" in page.text

    saved = client.post(
        f"/ui/network/peers/{peer.id}/profile",
        data={
            "csrf_token": csrf,
            "kinds": ["email", "phone"],
            "levels": ["red", "amber"],
            "release_required": "true",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303  # PRG: a reload does not post again
    assert saved.headers["location"] == f"/ui/network/peers/{peer.id}?saved=1"
    shown = client.get(saved.headers["location"]).text
    words = (
        "Receives blinded tokens of e-mail and phone number selectors of RED and AMBER cases: "
        "it can match them, not read them."
    )
    assert words in shown
    assert words in client.get("/ui/network").text
    profile = profiles.get_profile(session, peer.id)
    assert profile is not None
    assert (profile.kinds, profile.levels, profile.green_plaintext) == (
        ["email", "phone"],
        ["red", "amber"],
        False,
    )
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "federation.profile.change")
    ).one()
    assert entry.channel == "web"
    assert entry.detail["after"]["kinds"] == ["email", "phone"]

    nothing = client.post(
        f"/ui/network/peers/{peer.id}/profile", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert nothing.status_code == 303  # nothing ticked: nothing crosses, never everyone
    assert (
        "The profile lists no selector types: nothing crosses."
        in client.get(f"/ui/network/peers/{peer.id}").text
    )
    cleared = client.post(
        f"/ui/network/peers/{peer.id}/profile/clear",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    session.expire_all()
    assert profiles.get_profile(session, peer.id) is None


def test_a_profile_form_without_its_csrf_token_changes_nothing(
    client: TestClient, app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    _admin(client, session)
    forged = client.post(
        f"/ui/network/peers/{peer.id}/profile",
        data={"kinds": ["all"], "levels": ["red"]},
        follow_redirects=False,
    )
    assert forged.status_code != 303
    assert "expired" in forged.text
    assert profiles.get_profile(session, peer.id) is None


def test_a_refused_profile_keeps_what_was_ticked(
    client: TestClient, app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    csrf = _admin(client, session)
    refused = client.post(
        f"/ui/network/peers/{peer.id}/profile",
        data={
            "csrf_token": csrf,
            "kinds": ["email", "imei"],
            "levels": ["amber", "purple"],
            "green_plaintext": "true",
        },
    )
    assert refused.status_code == 422
    assert "is not a sharing level" in refused.text
    assert 'value="email" checked' in refused.text
    assert 'value="imei" checked' in refused.text
    assert 'value="phone" checked' not in refused.text
    assert 'value="amber" checked' in refused.text
    assert 'name="green_plaintext" value="true" checked' in refused.text
    assert 'name="release_required" value="true" checked' not in refused.text
    assert profiles.get_profile(session, peer.id) is None


def test_the_key_holder_toggle_clears_the_profile_and_shows_pins(
    client: TestClient, app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    csrf = _admin(client, session)
    found = session.get(Peer, peer.id)
    assert found is not None
    profiles.set_profile(
        session,
        system_caller(),
        found,
        kinds=["email"],
        levels=["red"],
        green_plaintext=False,
        release_required=True,
    )
    pins = tokens.pins_file(node_settings)
    pins.parent.mkdir(parents=True, exist_ok=True)
    pins.write_text(
        json.dumps({str(peer.id): {"1": "00" * 32, "2": "11" * 32, "pdq-chunk/2": "22" * 32}})
    )
    named = client.post(
        f"/ui/network/peers/{peer.id}/key-holder",
        data={"csrf_token": csrf, "key_holder": "true"},
        follow_redirects=False,
    )
    assert named.status_code == 303
    page = client.get(named.headers["location"]).text
    assert "its profile was cleared" in page
    assert "Receives nothing: it is the network&#39;s key holder" in page
    assert 'id="pinned">exact: 1, 2; pdq-chunk: 2<' in page
    assert "key epochs pinned: exact 1, 2; pdq-chunk 2" in client.get("/ui/network").text
    session.expire_all()
    assert 'action="/ui/network/peers/' + str(peer.id) + '/profile"' not in page  # no form
    assert profiles.get_profile(session, peer.id) is None
    assert peering.key_holder_target(session) is not None

    forced = client.post(
        f"/ui/network/peers/{peer.id}/profile",
        data={"csrf_token": csrf, "kinds": ["email"], "levels": ["red"]},
    )
    assert forced.status_code == 422
    assert "the key holder never receives selectors" in forced.text

    second = OtherNode(name="Node C", url="http://node-c.example.org")
    other = peering.add_peer(session, system_caller(), identity.read_document(second.document()))
    clash = client.post(
        f"/ui/network/peers/{other.id}/key-holder", data={"csrf_token": csrf, "key_holder": "true"}
    )
    assert clash.status_code == 422
    assert "is the key holder already" in clash.text


def test_the_status_is_shown_as_the_sync_wrote_it(
    client: TestClient,
    app: object,
    session: Session,
    node_settings: Settings,
    peer: OtherNode,
) -> None:
    app.state.settings = node_settings.model_copy(  # type: ignore[attr-defined]
        update={"federation_key_holder": True}
    )
    _admin(client, session)
    found = session.get(Peer, peer.id)
    assert found is not None
    found.synced_at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    found.feed_seq, found.feed_head = 1200, 1450
    found.sync_error, found.sync_failures = "Node B sent a feed whose chain does not verify", 3
    found.next_sync_at = datetime(2026, 3, 1, 9, 38, tzinfo=UTC)
    session.flush()
    page = client.get(f"/ui/network/peers/{peer.id}").text
    assert 'id="synced-at">2026-03-01 09:30Z<' in page
    assert "250 entries behind its feed (at 1200 of 1450)" in page
    assert "Node B sent a feed whose chain does not verify" in page
    listed = client.get("/ui/network").text
    assert "2026-03-01 09:30Z" in listed
    assert "250 behind" in listed
    assert 'id="next-sync">2026-03-01 09:38Z<' in page
    assert 'id="pdq-candidates">none<' in page
    assert "this node is the key holder: no key yet" in page


def test_only_the_network_admin_sees_a_peer_page(
    client: TestClient, session: Session, peer: OtherNode
) -> None:
    person = make_person(session, make_agency(session), role=Role.AGENCY_ADMIN)
    csrf = web_login(client, session, person)
    assert client.get(f"/ui/network/peers/{peer.id}").status_code == 403
    posted = client.post(
        f"/ui/network/peers/{peer.id}/profile",
        data={"csrf_token": csrf, "kinds": ["all"], "levels": ["red"]},
    )
    assert posted.status_code == 403
    assert profiles.get_profile(session, peer.id) is None


def test_an_unknown_peer_page_is_404(client: TestClient, session: Session) -> None:
    csrf = _admin(client, session)
    assert client.get(f"/ui/network/peers/{uuid.uuid4()}").status_code == 404
    posted = client.post(
        f"/ui/network/peers/{uuid.uuid4()}/key-holder",
        data={"csrf_token": csrf, "key_holder": "true"},
    )
    assert posted.status_code == 404
