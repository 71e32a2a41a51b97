"""Every request between nodes is signed (RFC 9421, Ed25519, Content-Digest): what this node
accepts, and every way a request is refused — 401 with its reason for a signature that does
not hold, 403 for a node that is not (or no longer) a peer — each refusal audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.federation import guard, httpsig, identity, peering

HERE = "http://node-a.example.org"
LIFETIME = timedelta(seconds=60)


def signed(
    node: OtherNode,
    *,
    method: str = "GET",
    url: str = f"{HERE}/federation/v1/hello",
    body: bytes = b"",
    now: datetime | None = None,
    key_id: str | None = None,
) -> httpx.Request:
    request = httpx.Request(method, url, content=body)
    httpsig.sign(
        request, key_id=key_id or str(node.id), private=node.key, lifetime=LIFETIME, now=now
    )
    return request


def check(
    session: Session, settings: Settings, request: httpx.Request, body: bytes | None = None
) -> guard.SignedPeer:
    return guard.authenticate(
        session,
        settings,
        method=request.method,
        path=request.url.path,
        query=request.url.query.decode(),
        headers=list(request.headers.multi_items()),
        body=request.content if body is None else body,
    )


def refused(
    session: Session, settings: Settings, request: httpx.Request, body: bytes | None = None
) -> TaskforceError:
    with pytest.raises(TaskforceError) as caught:
        check(session, settings, request, body)
    return caught.value


def refusals(session: Session) -> list[AuditEntry]:
    return list(
        session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "federation.request", AuditEntry.outcome == "refused"
            )
        )
    )


def test_a_peer_signed_request_passes(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    request = signed(peer, method="POST", url=f"{HERE}/federation/v1/x?a=1", body=b'{"a": 1}')
    assert request.headers["content-digest"].startswith("sha-256=:")
    found = check(session, node_settings, request)
    assert (found.id, found.name) == (peer.id, "Node B")


def test_a_tampered_body_is_refused(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    request = signed(peer, method="POST", body=b'{"token": "a"}')
    error = refused(session, node_settings, request, body=b'{"token": "b"}')
    assert error.http_status == 401
    assert "Content-Digest does not match" in error.message
    assert refusals(session)[0].detail["status"] == 401


def test_a_tampered_header_is_refused(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    request = signed(peer, method="POST", body=b"{}")
    request.headers["content-type"] = "text/plain"
    error = refused(session, node_settings, request)
    assert error.http_status == 401
    # and a signature made for another node's address does not pass here
    elsewhere = signed(peer, url="http://node-c.example.org/federation/v1/hello")
    assert refused(session, node_settings, elsewhere).http_status == 401
    assert len(refusals(session)) == 2


def test_a_replayed_request_is_refused(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    request = signed(peer)
    check(session, node_settings, request)
    error = refused(session, node_settings, request)
    assert (error.http_status, error.message) == (
        401,
        "this signature's nonce was used before: a replayed request",
    )


def test_an_expired_or_future_signature_is_refused(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    old = signed(peer, now=datetime.now(UTC) - timedelta(minutes=10))
    error = refused(session, node_settings, old)
    assert error.http_status == 401
    assert "expires" in error.message
    future = signed(peer, now=datetime.now(UTC) + timedelta(minutes=10))
    assert "future" in refused(session, node_settings, future).message


def test_a_signature_by_another_key_is_refused(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    """Someone who claims to be the peer (its id as keyid) without its key."""
    impostor = OtherNode(id=peer.id)
    error = refused(session, node_settings, signed(impostor))
    assert error.http_status == 401
    assert (
        error.message == "the signature does not verify with the key of the node it names (keyid)"
    )


def test_an_unsigned_or_garbled_request_is_refused(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    bare = httpx.Request("GET", f"{HERE}/federation/v1/hello")
    assert refused(session, node_settings, bare).message.startswith("the request is not signed")
    garbled = signed(peer)
    garbled.headers["signature-input"] = 'node=("@method";'
    assert refused(session, node_settings, garbled).http_status == 401
    unknown = signed(peer, key_id="not-a-node-id")
    del unknown.headers[httpsig.KEY_HEADER]
    assert refused(session, node_settings, unknown).message == (
        "the signing key is not known here (keyid)"
    )


@pytest.mark.usefixtures("peer")
def test_a_node_that_is_not_peered_is_forbidden(session: Session, node_settings: Settings) -> None:
    stranger = OtherNode(name="Node C")
    error = refused(session, node_settings, signed(stranger))
    assert (error.http_status, error.message) == (
        403,
        f"node {stranger.id} is not peered with this node",
    )
    assert refusals(session)[0].actor_label == f"node {stranger.id}"


def test_a_removed_peer_is_forbidden(
    session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    check(session, node_settings, signed(peer))
    peering.remove_peer(session, system_caller(), "Node B")
    error = refused(session, node_settings, signed(peer))
    assert (error.http_status, error.message) == (403, "the peering with Node B was removed")
    # peered again (a new document): answered again
    peering.add_peer(session, system_caller(), identity.read_document(peer.document()))
    assert check(session, node_settings, signed(peer)).id == peer.id


def test_the_routes_answer_signed_peers_and_refuse_the_rest_with_a_reason(
    app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    session.commit()  # the fixture's rows, seen by the app's own sessions (a savepoint)

    def headers(node: OtherNode, path: str) -> dict[str, str]:
        return dict(signed(node, url=f"{HERE}{path}").headers)

    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        hello = client.get("/federation/v1/hello", headers=headers(peer, "/federation/v1/hello"))
        assert hello.status_code == 200
        assert hello.json()["peer"] == str(peer.id)
        assert hello.json()["name"] == "Node A"
        bare = client.get("/federation/v1/directory")
        assert bare.status_code == 401
        assert bare.json() == {
            "error": "bad_signature",
            "message": "the request is not signed (Signature and Signature-Input)",
        }
        stranger = OtherNode(name="Node C")
        path = "/federation/v1/directory"
        other = client.get(path, headers=headers(stranger, path))
        assert other.status_code == 403
        assert other.json()["error"] == "not_peered"


def test_the_peering_document_is_signed_and_its_fingerprint_readable(
    session: Session, node_settings: Settings, here: uuid.UUID
) -> None:
    document = peering.peering_document(session, node_settings)
    read = identity.read_document(document)
    assert (read.node_id, read.name, read.country, read.url) == (here, "Node A", "GB", HERE)
    groups = peering.own_fingerprint(node_settings).split(" ")
    assert len(groups) == 13
    assert all(len(g) == 4 for g in groups[:-1])
    assert read.fingerprint == peering.own_fingerprint(node_settings)
    key_file = node_settings.data_dir / identity.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    altered = {**document, "url": "http://attacker.example.com"}
    with pytest.raises(TaskforceError, match="does not verify"):
        identity.read_document(altered)
    with pytest.raises(TaskforceError, match="own peering document"):
        peering.add_peer(session, system_caller(), read)


@pytest.mark.usefixtures("here")
def test_only_the_network_admin_peers(session: Session) -> None:
    from taskforce.core.caller import Caller, Role

    admin = Caller(role=Role.AGENCY_ADMIN, channel="web", agency_id=uuid.uuid4())
    node = OtherNode()
    with pytest.raises(TaskforceError) as caught:
        peering.add_peer(session, admin, identity.read_document(node.document()))
    assert caught.value.http_status == 403


def test_a_node_served_under_a_path_prefix_checks_its_whole_address(
    app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    """Behind a proxy that serves the node at /tf (uvicorn --root-path), its URL has the
    prefix and the signed target is that URL and the route's path, not the prefix twice."""
    app.state.settings = node_settings  # type: ignore[attr-defined]
    own = peering.require_node(session)
    own.url = f"{HERE}/tf"
    session.commit()
    url = f"{HERE}/tf/federation/v1/hello"
    with TestClient(app, base_url=HERE, root_path="/tf") as client:  # type: ignore[arg-type]
        answer = client.get("/tf/federation/v1/hello", headers=dict(signed(peer, url=url).headers))
    assert answer.status_code == 200, answer.text
