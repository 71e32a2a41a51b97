"""Release requests, one node at a time (the two-node exchange is in test_release_nodes.py):
asked with a reason, delivered signed once and retried with backoff; accepted by the owner only
for a live publication to the asker; decided by the owning agency only, with a reason either
way; the details back to the one person who asked. Every step audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Literal

import httpx
import pytest
from builders import Network, Person, add_selector, make_case, web_login
from fastapi.testclient import TestClient
from hit_builders import remote_hit
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.cases.models import Case, Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.federation import hits, httpsig, release
from taskforce.federation.models import FeedEntry, Publication, ReleaseRequest
from taskforce.federation.schemas import ReleaseAnswer, ReleaseAsk, ReleasedDetails

HERE = "http://node-a.example.org"  # this node's URL (the federation conftest)
REASON = "The same address runs our grooming case; we need to coordinate"


def actions(session: Session, name: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == name)))


class Peer:
    """The other node as the delivery meets it: records what it was sent, answers `status`."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        self.status = 200
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused")
        if self.status != 200:
            return httpx.Response(self.status, json={"message": "busy"})
        return httpx.Response(200, json={"id": str(uuid.uuid4()), "state": "pending"})


def deliver(factory: sessionmaker[Session], settings: Settings, peer: Peer, **kw: object) -> int:
    return release.deliver_due(factory, settings, transport=httpx.MockTransport(peer), **kw)  # type: ignore[arg-type]


# --- the requesting node ------------------------------------------------------------------------


def test_a_request_needs_a_reason_and_is_delivered_signed_once(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    network: Network,
    peer: OtherNode,
) -> None:
    hit = remote_hit(session, node_settings, network.gb, peer)
    with pytest.raises(Invalid, match="reason"):
        release.request_release(session, network.gb.caller, hit.id, reason="  ")
    asked = release.request_release(session, network.gb.caller, hit.id, reason=REASON)
    with pytest.raises(Conflict, match="already waiting"):
        release.request_release(session, network.gb.caller, hit.id, reason=REASON)
    session.commit()

    other = Peer()
    assert deliver(session_factory, node_settings, other) == 1
    assert deliver(session_factory, node_settings, other) == 0  # delivered: never sent again
    [sent] = other.sent
    assert sent.url.path == "/federation/v1/releases"
    assert "signature" in sent.headers
    assert "content-digest" in sent.headers
    assert json.loads(sent.content) == {
        "id": str(asked.id),
        "ref": hit.ref,
        "kind": "email",
        "requester": f"{network.gb.user.display_name} (GB-NCA (fictional))",
        "requester_agency_id": str(network.gb.user.agency_id),
        "reason": REASON,
    }
    session.refresh(asked)
    assert asked.delivered_at is not None
    assert asked.delivery_error is None
    [made] = actions(session, "federation.release.request")
    assert made.detail["reason"] == REASON
    [sent_entry] = actions(session, "federation.release.request_sent")
    assert sent_entry.recipients == ["Node B"]


def test_a_failed_delivery_is_kept_and_retried_with_backoff(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    network: Network,
    peer: OtherNode,
) -> None:
    hit = remote_hit(session, node_settings, network.gb, peer)
    asked = release.request_release(session, network.gb.caller, hit.id, reason=REASON)
    session.commit()
    other = Peer()
    other.down = True
    now = utcnow()
    assert deliver(session_factory, node_settings, other, now=now) == 0
    session.refresh(asked)
    assert asked.delivery_error is not None
    assert "Node B did not answer" in asked.delivery_error
    assert (asked.attempts, asked.next_attempt_at) == (1, now + timedelta(seconds=30))

    assert deliver(session_factory, node_settings, other, now=now + timedelta(seconds=20)) == 0
    assert len(other.sent) == 1  # not due yet: not tried

    other.down, other.status = False, 503
    assert deliver(session_factory, node_settings, other, now=now + timedelta(seconds=31)) == 0
    session.refresh(asked)
    assert asked.attempts == 2
    assert asked.delivery_error == "Node B answered 503: busy"
    assert asked.next_attempt_at == now + timedelta(seconds=31 + 60)

    other.status = 200
    assert deliver(session_factory, node_settings, other, now=now + timedelta(seconds=92)) == 1
    delivered = session.get(ReleaseRequest, asked.id, populate_existing=True)
    assert delivered is not None
    assert delivered.delivered_at is not None
    assert delivered.delivery_error is None
    outcomes = [e.outcome for e in actions(session, "federation.release.request_sent")]
    assert outcomes == ["failed", "failed", "ok"]


def test_a_withdrawn_hit_cannot_be_asked_about(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    from taskforce.federation import matching

    hit = remote_hit(session, settings, network.gb, peer)
    matching.for_entries(session, peer.id, [], [hit.ref])
    with pytest.raises(Conflict, match="withdrew this entry"):
        release.request_release(session, network.gb.caller, hit.id, reason=REASON)
    with pytest.raises(NotFound):  # nor by another agency, whatever the state
        release.request_release(session, network.us.caller, hit.id, reason=REASON)


def _decision(state: Literal["approved", "refused"] = "approved") -> ReleaseAnswer:
    details = ReleasedDetails(
        case_reference="NL-2026-0042",
        case_title="Operation Tulip",
        agency="NL-POL",
        agency_name="Politie (fictional)",
        investigator="Jan Jansen",
        email="jan.jansen@nl-pol.example.com",
        phone="+31612345678",
    )
    return ReleaseAnswer(
        state=state,
        reason="Coordinate through our desk",
        decided_by="Eva de Vries (Politie (fictional))",
        decided_at=utcnow(),
        details=details if state == "approved" else None,
    )


def test_the_decision_is_stored_once_and_the_details_shown_to_the_requester_only(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    asked = release.request_release(session, network.gb.caller, hit.id, reason=REASON)
    stored = release.receive_decision(session, peer.id, peer.name, asked.id, _decision())
    assert stored.state == "approved"
    # the same decision again (a delivery whose answer was lost) changes nothing
    assert release.receive_decision(session, peer.id, peer.name, asked.id, _decision()).id
    with pytest.raises(Conflict):
        release.receive_decision(session, peer.id, peer.name, asked.id, _decision("refused"))
    with pytest.raises(NotFound):  # only the node asked may answer
        release.receive_decision(session, uuid.uuid4(), "Node C", asked.id, _decision())

    [mine] = hits.get_hit(session, network.gb.caller, hit.id).releases
    assert mine.released_to_caller
    assert mine.details is not None
    assert mine.details["case_reference"] == "NL-2026-0042"
    assert mine.details["email"] == "jan.jansen@nl-pol.example.com"
    [theirs] = hits.get_hit(session, network.gb_analyst.caller, hit.id).releases
    assert (theirs.state, theirs.details, theirs.released_to_caller) == ("approved", None, False)
    assert theirs.requester.startswith(network.gb.user.display_name)
    assert len(actions(session, "federation.release.decision_received")) == 1
    reads = actions(session, "federation.hit.read")
    assert [bool(r.detail["released_shown"]) for r in reads] == [True, False]
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains("Release request approved"))
    ).one()
    assert mail.recipient == network.gb.user.email
    assert "NL-2026-0042" not in mail.body  # e-mail is a weaker channel: a link only


# --- the owning node -----------------------------------------------------------------------------


def published(session: Session, settings: Settings, person: Person, peer: OtherNode) -> Case:
    """A case of `person`'s agency whose selector this node publishes to the peer."""
    case = make_case(session, person, title="Operation Tulip")
    added = add_selector(session, settings, person, case, "email", "tulip@example.com")
    session.add(
        Publication(peer_id=peer.id, selector_id=added.selector.id, ref="r-live", fingerprint="f")
    )
    session.flush()
    return case


def ask(ref: str = "r-live", request_id: uuid.UUID | None = None) -> ReleaseAsk:
    return ReleaseAsk(
        id=request_id or uuid.uuid4(),
        ref=ref,
        kind="email",
        requester="Jan Jansen (Politie (fictional))",
        requester_agency_id=uuid.uuid4(),
        reason=REASON,
    )


def test_the_owner_stores_a_request_once_and_only_for_a_live_publication(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    case = published(session, settings, network.gb, peer)
    first = ask()
    row = release.receive_request(session, peer.id, peer.name, first)
    assert (row.direction, row.state, row.case_id) == ("incoming", "pending", case.id)
    assert release.receive_request(session, peer.id, peer.name, first).id == row.id
    assert len(session.scalars(select(ReleaseRequest)).all()) == 1
    with pytest.raises(Conflict, match="another request"):  # the same id, another ref
        release.receive_request(session, peer.id, peer.name, ask("r-other", first.id))

    with pytest.raises(release.NotPublished, match="is not published to your node"):
        release.receive_request(session, peer.id, peer.name, ask("r-unknown"))
    with pytest.raises(release.NotPublished, match="is not published"):  # not to another peer
        release.receive_request(session, uuid.uuid4(), "Node C", ask())
    session.add(
        FeedEntry(
            peer_id=peer.id,
            seq=7,
            body='{"op":"withdraw","ref":"r-gone"}',
            prev_hash="0" * 64,
            hash="1" * 64,
        )
    )
    session.flush()
    with pytest.raises(release.NotPublished, match="was withdrawn from your feed"):
        release.receive_request(session, peer.id, peer.name, ask("r-gone"))

    [received] = actions(session, "federation.release.received")
    assert (received.subject_id, received.detail["node"]) == (case.id, "Node B")
    told = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.contains("Release request on"))
    ).all()
    assert {m.recipient for m in told} == {network.gb.user.email, "desk@gb-nca.example.com"}
    assert all(REASON in m.body for m in told)


def test_only_the_owning_agency_decides_and_always_with_a_reason(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    published(session, settings, network.gb, peer)
    row = release.receive_request(session, peer.id, peer.name, ask())
    for other in (network.nl, network.us):
        with pytest.raises(NotFound):
            release.decide(session, other.caller, row.id, approve=True, reason=REASON)
        with pytest.raises(NotFound):
            release.get_incoming(session, other.caller, row.id)
    for person in (network.gb_analyst, network.gb_reader):
        with pytest.raises(Forbidden):
            release.decide(session, person.caller, row.id, approve=True, reason=REASON)
    for approve in (True, False):
        with pytest.raises(Invalid, match="reason"):
            release.decide(session, network.gb.caller, row.id, approve=approve, reason=" ok ")
    assert row.state == "pending"

    release.decide(session, network.gb_admin.caller, row.id, approve=False, reason="Covert phase")
    assert (row.state, row.details, row.decision_reason) == ("refused", {}, "Covert phase")
    with pytest.raises(Conflict, match="refused already"):
        release.decide(session, network.gb.caller, row.id, approve=True, reason=REASON)
    assert actions(session, "federation.release.disclose") == []
    decisions = actions(session, "federation.release.decide")
    # the other agencies' attempts were refused as not found, and audited
    assert sorted(e.outcome for e in decisions) == ["not_found", "not_found", "ok"]
    [decided] = [e for e in decisions if e.outcome == "ok"]
    assert decided.detail["state"] == "refused"


def test_an_approval_releases_the_agreed_details_and_sends_them_signed(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    network: Network,
    peer: OtherNode,
) -> None:
    case = published(session, node_settings, network.gb, peer)
    row = release.receive_request(session, peer.id, peer.name, ask())
    release.decide(session, network.gb.caller, row.id, approve=True, reason="Call our desk first")
    assert row.details == {
        "case_reference": case.reference,
        "case_title": "Operation Tulip",
        "agency": "GB-NCA",
        "agency_name": "GB-NCA (fictional)",
        "investigator": network.gb.user.display_name,
        "email": network.gb.user.email,
        "phone": "+442079460001",
    }
    [disclosed] = actions(session, "federation.release.disclose")
    assert disclosed.recipients == ["Node B"]
    session.commit()

    other = Peer()
    assert deliver(session_factory, node_settings, other) == 1
    [sent] = other.sent
    assert sent.url.path == f"/federation/v1/releases/{row.id}/decision"
    body = json.loads(sent.content)
    assert (body["state"], body["reason"]) == ("approved", "Call our desk first")
    assert body["details"]["case_reference"] == case.reference
    assert deliver(session_factory, node_settings, other) == 0
    assert [e.outcome for e in actions(session, "federation.release.decision_sent")] == ["ok"]


def test_the_owner_pages_list_and_decide(
    session: Session,
    settings: Settings,
    network: Network,
    peer: OtherNode,
    client: TestClient,
) -> None:
    case = published(session, settings, network.gb, peer)
    row = release.receive_request(session, peer.id, peer.name, ask())
    csrf = web_login(client, session, network.gb)
    assert 'id="releases-waiting"' in client.get("/ui/").text
    listed = client.get("/ui/releases").text
    assert f"/ui/releases/{row.id}" in listed
    assert case.reference in listed
    page = client.get(f"/ui/releases/{row.id}").text
    assert REASON in page
    refused = client.post(
        f"/ui/releases/{row.id}/decision",
        data={"csrf_token": csrf, "decision": "refuse", "reason": ""},
    )
    assert refused.status_code == 422
    assert "give the reason for the decision" in refused.text.lower()
    done = client.post(
        f"/ui/releases/{row.id}/decision",
        data={"csrf_token": csrf, "decision": "refuse", "reason": "Covert phase"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "Covert phase" in client.get(f"/ui/releases/{row.id}").text
    assert 'id="releases-waiting"' not in client.get("/ui/").text


def test_the_requester_asks_on_the_hit_page(
    session: Session,
    settings: Settings,
    network: Network,
    peer: OtherNode,
    client: TestClient,
) -> None:
    hit = remote_hit(session, settings, network.gb, peer)
    csrf = web_login(client, session, network.gb)
    refused = client.post(
        f"/ui/hits/remote/{hit.id}/release", data={"csrf_token": csrf, "reason": "x"}
    )
    assert refused.status_code == 422
    assert "say why the details are needed" in refused.text.lower()
    done = client.post(
        f"/ui/hits/remote/{hit.id}/release",
        data={"csrf_token": csrf, "reason": REASON},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(f"/ui/hits/remote/{hit.id}").text
    assert REASON in page
    assert "waiting for node Node B" in page


def test_a_selector_not_published_is_never_released(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    """The ref is random and links to nothing: a peer cannot name one of this node's selectors
    it was not sent."""
    case = make_case(session, network.gb)
    added = add_selector(session, settings, network.gb, case, "email", "quiet@example.com")
    assert session.get(Selector, added.selector.id) is not None
    with pytest.raises(release.NotPublished):
        release.receive_request(session, peer.id, peer.name, ask(str(added.selector.id)))


def _signed_post(node: OtherNode, path: str, body: bytes) -> dict[str, str]:
    request = httpx.Request("POST", f"{HERE}{path}", content=body)
    httpsig.sign(request, key_id=str(node.id), private=node.key, lifetime=timedelta(seconds=60))
    return {**dict(request.headers), "content-type": "application/json"}


def test_the_signed_endpoints_answer_only_a_signed_peer_and_name_their_refusals(
    app: object,
    session: Session,
    node_settings: Settings,
    network: Network,
    peer: OtherNode,
) -> None:
    published(session, node_settings, network.gb, peer)
    app.state.settings = node_settings  # type: ignore[attr-defined]
    session.commit()
    first = ask().model_dump_json().encode()
    path = "/federation/v1/releases"
    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        unsigned = client.post(path, content=first, headers={"content-type": "application/json"})
        assert unsigned.status_code == 401
        stored = client.post(path, content=first, headers=_signed_post(peer, path, first))
        assert stored.status_code == 200, stored.text
        again = client.post(path, content=first, headers=_signed_post(peer, path, first))
        assert again.json() == stored.json()  # the id is the idempotency key
        assert stored.json()["state"] == "pending"

        gone = ask("r-unknown").model_dump_json().encode()
        refused = client.post(path, content=gone, headers=_signed_post(peer, path, gone))
        assert refused.status_code == 404
        assert refused.json()["message"] == "ref r-unknown is not published to your node"

        short = json.dumps({**json.loads(first), "id": str(uuid.uuid4()), "reason": "x"}).encode()
        invalid = client.post(path, content=short, headers=_signed_post(peer, path, short))
        assert invalid.status_code == 422
        assert "reason" in invalid.text

        decision = _decision().model_dump_json().encode()
        where = f"/federation/v1/releases/{uuid.uuid4()}/decision"
        unknown = client.post(where, content=decision, headers=_signed_post(peer, where, decision))
        assert unknown.status_code == 404
    rows = session.scalars(select(ReleaseRequest)).all()
    assert len(rows) == 1
