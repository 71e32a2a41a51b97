"""The asking side of a PDQ candidate: the worker step sends each pending candidate to the owner
over a signed request, only where this node's profile lets the hash go to that peer; a
confirmed hit becomes the cross-node hits of the value's selectors, a no-hit is never asked
again, a withdrawn ref is marked, a failure is retried with backoff; every request is audited
as a disclosure to the peer."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
from builders import Network, add_selector, make_case
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.cases.models import Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings
from taskforce.federation import candidates, hits, keys, pdq, pdq_rounds
from taskforce.federation.blinding import KeyFamily
from taskforce.federation.models import PdqCandidate, Profile, RemoteEntry, RemoteHit

SEED = bytes(range(32))
BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
NEAR = ["d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"]
NEAR.append("d0f8f1cec0f4a8470a370a32238f67f0b36e2ef597231e1d72a6a39c4e9c9b22")
NEAR.append("d8f8f0cce0f4e84d06370a32068f67f0b36e2ed596623e1d33e6339c4e9c9b22")
NEAR.append("d8f8f1eec0f4a84f0e37022a078f63f0b36e2ed596621e1d33e6239c4e9c9b22")


def _entry(session: Session, peer: OtherNode, value: str) -> RemoteEntry:
    (tokens,) = pdq.tokens_for_key_holder(SEED, [value], 1)
    row = RemoteEntry(
        peer_id=peer.id,
        ref=str(uuid.uuid4()),
        seq=1,
        kind="pdq",
        form=pdq.FORM,
        epoch=1,
        value=pdq.encode_tokens(tokens),
        level="red",
        agency_id=uuid.uuid4(),
        details={},
    )
    session.add(row)
    session.flush()
    return row


class Owner:
    """The peer's confirm endpoint: an answer per ref, and what it was sent."""

    def __init__(self, answers: dict[str, tuple[int, dict[str, object]]]) -> None:
        self.answers = answers
        self.asked: list[dict[str, str]] = []
        self.signed: list[bool] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.asked.append(body)
        self.signed.append("signature" in request.headers and "content-digest" in request.headers)
        status, answer = self.answers[body["ref"]]
        return httpx.Response(status, json=answer)


def test_candidates_are_confirmed_by_the_owner_and_only_hits_become_hits(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    network: Network,
    peer: OtherNode,
) -> None:
    case = make_case(session, network.gb)
    added = add_selector(session, node_settings, network.gb, case, "pdq", BRIDGE)
    selector = session.get(Selector, added.selector.id)
    assert selector is not None
    (mine,) = pdq.tokens_for_key_holder(SEED, [BRIDGE], 1)
    assert candidates.store_own(session, 1, {selector.value_id: mine}) == 0
    entries = [_entry(session, peer, value) for value in NEAR]
    assert candidates.for_entries(session, peer.id, [e.ref for e in entries], []) == 4
    hit, no_hit, gone, down = (e.ref for e in entries)
    owner = Owner(
        {
            hit: (200, {"hit": True, "distance": 6}),
            no_hit: (200, {"hit": False}),
            gone: (404, {"message": "PDQ publication of that ref to your node not found"}),
            down: (503, {"message": "busy"}),
        }
    )
    mock = httpx.MockTransport(owner)

    # no profile for the peer: this node's hash may not go there, nothing is asked
    session.commit()
    report = pdq_rounds.confirm_pending(session_factory, node_settings, transport=mock)
    assert (report.asked, report.withheld) == (0, 4)
    assert owner.asked == []
    # the profile widens and the peer publishes the entries again: they are asked this time
    assert candidates.for_entries(session, peer.id, [e.ref for e in entries], []) == 0
    assert {c.state for c in session.scalars(select(PdqCandidate))} == {"pending"}
    session.add(Profile(peer_id=peer.id, kinds=["pdq"], levels=["red"]))
    session.commit()

    report = pdq_rounds.confirm_pending(session_factory, node_settings, transport=mock)
    assert (report.asked, report.hits, report.no_hits, report.withdrawn, report.failed) == (
        4,
        1,
        1,
        1,
        1,
    )
    # the likeliest first (most chunks in common); the owner got the hash and the ref, signed
    chunks = {c.ref: c.chunks for c in session.scalars(select(PdqCandidate))}
    assert [a["ref"] for a in owner.asked] == sorted(chunks, key=lambda r: -chunks[r])
    assert {a["candidate"] for a in owner.asked} == {BRIDGE}
    assert all(owner.signed)
    session.expire_all()
    states = {c.ref: (c.state, c.distance) for c in session.scalars(select(PdqCandidate))}
    assert states == {
        hit: ("hit", 6),
        no_hit: ("no-hit", None),
        gone: ("withdrawn", None),
        down: ("pending", None),
    }
    (made,) = session.scalars(select(RemoteHit)).all()
    assert (made.ref, made.selector_id, made.kind) == (hit, selector.id, "pdq")
    seen = hits.view(session, network.gb.caller, made)
    assert seen.statement == (
        "An agency on node Node B holds a matching pdq selector. That node confirmed it on its "
        "hash: Hamming distance 6 of 256 bits."
    )

    said = candidates.summary(session, peer.id)
    assert said.words() == (
        "1 waiting for the owner's confirmation; 1 confirmed (hits); 1 no hit; 1 withdrawn"
    )
    assert said.last_error == "Node B answered 503: busy"

    # answered ones are never asked again; the failed one waits for its backoff
    owner.asked.clear()
    pdq_rounds.confirm_pending(session_factory, node_settings, transport=mock)
    assert owner.asked == []
    later = utcnow() + timedelta(minutes=3)
    owner.answers[down] = (200, {"hit": False})
    pdq_rounds.confirm_pending(session_factory, node_settings, transport=mock, now=later)
    assert [a["ref"] for a in owner.asked] == [down]

    audit = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == pdq_rounds.ASK_ACTION)
        .order_by(AuditEntry.seq)
    ).all()
    assert len(audit) == 5
    assert all(e.recipients == [str(peer.id)] for e in audit)
    assert all(e.subject_id == selector.value_id for e in audit)
    assert {e.detail["ref"]: e.outcome for e in audit}[gone] == "failed"
    assert BRIDGE not in json.dumps([e.detail for e in audit])


def test_the_key_holder_tokenises_its_own_pdq_values_with_its_key(
    session: Session,
    session_factory: sessionmaker[Session],
    node_settings: Settings,
    network: Network,
) -> None:
    holder = node_settings.model_copy(update={"federation_key_holder": True})
    keys.create_first(holder)
    case = make_case(session, network.gb)
    ids = [
        add_selector(session, holder, network.gb, case, "pdq", value).selector.id
        for value in (BRIDGE, *NEAR)
    ]
    value_ids = [session.get_one(Selector, i).value_id for i in ids]
    session.commit()
    report = pdq_rounds.tokenise_own(session_factory, holder, group=2)  # three requests' worth
    assert (report.epoch, report.tokenised, report.error) == (1, 5, None)
    seed = keys.seed(holder, 1, KeyFamily.PDQ_CHUNK)
    assert (
        candidates.own_chunks(session, value_ids[0], 1)
        == pdq.tokens_for_key_holder(seed, [BRIDGE], 1)[0]
    )
    again = pdq_rounds.tokenise_own(session_factory, holder)
    assert again.tokenised == 0  # made once
