"""PDQ candidates: a peer's published chunk tokens meet this node's by position and epoch and
make a candidate (never a hit), in both directions, once; and the owner's confirmation over a
signed request: only for a ref it published to the asker, a no-hit that says nothing more,
budgeted per peer and audited without the candidate."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from builders import Network, add_selector, make_case
from node_builders import OtherNode
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.cases.models import Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.federation import candidates, httpsig, identity, matching, pdq, peering
from taskforce.federation.models import (
    PdqCandidate,
    Publication,
    RemoteEntry,
    RemoteHit,
    RemotePdqChunk,
)

HERE = "http://node-a.example.org"
CONFIRM = "/federation/v1/pdq/confirm"
SEED = bytes(range(32))
BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
BLURRED = "d8f8f0cce0f4a84f0e370a22028f67f0b36e2ed596623e1d33e6b39c4e9c9b22"  # 6 bits off
SHARPENED = "d0f8f1cec0f4a8470a370a32238f67f0b36e2ef597231e1d72a6a39c4e9c9b22"  # 18 off, 4 chunks
ROTATED = "adad5a64b5a142e75b62a09857da895ae63b847fc23794b766b319361bc93188"  # 128 off


def _one_bit_off_in_every_chunk(value: str) -> str:
    number = int(value, 16)
    for chunk in range(pdq.CHUNKS):
        number ^= 1 << (chunk * 16)
    return f"{number:064x}"


def _own(session: Session, settings: Settings, network: Network, value: str) -> Selector:
    case = make_case(session, network.gb)
    added = add_selector(session, settings, network.gb, case, "pdq", value)
    selector = session.get(Selector, added.selector.id)
    assert selector is not None
    return selector


def _entry(session: Session, peer: OtherNode, value: str, epoch: int = 1) -> RemoteEntry:
    (tokens,) = pdq.tokens_for_key_holder(SEED, [value], epoch)
    row = RemoteEntry(
        peer_id=peer.id,
        ref=str(uuid.uuid4()),
        seq=1,
        kind="pdq",
        form=candidates.FORM,
        epoch=epoch,
        value=pdq.encode_tokens(tokens),
        level="red",
        agency_id=uuid.uuid4(),
        details={},
    )
    session.add(row)
    session.flush()
    return row


def _tokenise_own(session: Session, selector: Selector, value: str, epoch: int = 1) -> int:
    (tokens,) = pdq.tokens_for_key_holder(SEED, [value], epoch)
    return candidates.store_own(session, epoch, {selector.value_id: tokens})


def _candidates(session: Session) -> list[tuple[str, int, str]]:
    rows = session.scalars(select(PdqCandidate).order_by(PdqCandidate.chunks))
    return [(c.ref, c.chunks, c.state) for c in rows]


def test_a_shared_chunk_makes_a_candidate_once_and_never_a_hit(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    mine = _own(session, settings, network, BRIDGE)
    assert candidates.open_values(session, epoch=1, limit=10) == [(mine.value_id, BRIDGE)]
    assert _tokenise_own(session, mine, BRIDGE) == 0  # nothing published to meet yet
    assert candidates.open_values(session, epoch=1, limit=10) == []

    near, beyond, far = (_entry(session, peer, v) for v in (BLURRED, SHARPENED, ROTATED))
    other_epoch = _entry(session, peer, BRIDGE, epoch=2)
    refs = [near.ref, beyond.ref, far.ref, other_epoch.ref]
    assert candidates.for_entries(session, peer.id, refs, []) == 2
    assert sorted(_candidates(session)) == sorted(
        [(beyond.ref, 4, "pending"), (near.ref, 10, "pending")]
    )
    # the same page merged again: nothing twice; and no hit before the owner confirms
    assert candidates.for_entries(session, peer.id, refs, []) == 0
    assert session.scalar(select(func.count()).select_from(RemoteHit)) == 0

    # withdrawn: its chunks go and its open candidate is marked
    candidates.for_entries(session, peer.id, [], [near.ref])
    assert (near.ref, 10, "withdrawn") in _candidates(session)
    left = session.scalar(
        select(func.count()).where(RemotePdqChunk.ref == near.ref).select_from(RemotePdqChunk)
    )
    assert left == 0


def test_own_values_tokenised_later_meet_entries_already_there(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    entry = _entry(session, peer, BLURRED)
    assert candidates.for_entries(session, peer.id, [entry.ref], []) == 0
    mine = _own(session, settings, network, BRIDGE)
    assert _tokenise_own(session, mine, BRIDGE) == 1
    assert _candidates(session) == [(entry.ref, 10, "pending")]
    assert (
        candidates.own_chunks(session, mine.value_id, 1)
        == pdq.tokens_for_key_holder(SEED, [BRIDGE], 1)[0]
    )


# --- the owner's confirmation ---------------------------------------------------------------


def _signed(node: OtherNode, body: bytes) -> dict[str, str]:
    request = httpx.Request("POST", f"{HERE}{CONFIRM}", content=body)
    httpsig.sign(request, key_id=str(node.id), private=node.key, lifetime=timedelta(seconds=60))
    return dict(request.headers)


def _ask(client: TestClient, node: OtherNode, ref: str, candidate: str) -> Any:
    body = json.dumps({"ref": ref, "candidate": candidate}).encode()
    return client.post(CONFIRM, content=body, headers=_signed(node, body))


@pytest.fixture
def published(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> Publication:
    """This node published its bridge hash to the peer under a ref."""
    selector = _own(session, settings, network, BRIDGE)
    row = Publication(
        peer_id=peer.id, selector_id=selector.id, ref=str(uuid.uuid4()), fingerprint="x" * 64
    )
    session.add(row)
    session.flush()
    return row


def test_the_owner_confirms_on_its_plaintext_and_a_no_hit_says_nothing_more(
    app: object,
    session: Session,
    node_settings: Settings,
    peer: OtherNode,
    published: Publication,
) -> None:
    other = OtherNode(name="Node C", url="http://node-c.example.org")
    peering.add_peer(session, system_caller(), identity.read_document(other.document()))
    app.state.settings = node_settings.model_copy(  # type: ignore[attr-defined]
        update={"federation_pdq_confirms_per_hour": 4}
    )
    session.commit()
    ref = published.ref
    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        hit = _ask(client, peer, ref, BLURRED)
        assert (hit.status_code, hit.json()) == (200, {"hit": True, "distance": 6})
        beyond = _ask(client, peer, ref, SHARPENED)  # 18 bits: found through its 4 chunks
        assert beyond.json() == {"hit": True, "distance": 18}
        # within the threshold (16) but no chunk in common: no candidate could have found it,
        # so the owner answers no-hit (a peer cannot walk towards a hash it has no chunk of)
        sixteen = _one_bit_off_in_every_chunk(BRIDGE)
        assert pdq.distance(sixteen, BRIDGE) == 16
        no_hit = _ask(client, peer, ref, sixteen)
        assert (no_hit.status_code, no_hit.json()) == (200, {"hit": False})
        assert _ask(client, peer, ref, ROTATED).json() == {"hit": False}

        # only the node the ref was published to is answered, and only signed
        assert _ask(client, other, ref, BLURRED).status_code == 404
        assert _ask(client, peer, str(uuid.uuid4()), BLURRED).status_code == 404
        unsigned = client.post(CONFIRM, json={"ref": ref, "candidate": BLURRED})
        assert unsigned.status_code == 401
        bad = _ask(client, peer, ref, "XYZ")
        assert (bad.status_code, bad.json()["field"]) == (422, "candidate")

        # four answered this hour: the fifth is refused, with the reason
        over = _ask(client, peer, ref, BLURRED)
        assert over.status_code == 429
        assert "has had 4 of its 4 PDQ confirmations this hour" in over.json()["message"]

    rows = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == candidates.CONFIRM_ACTION)
        .order_by(AuditEntry.seq)
    ).all()
    answered = [(e.outcome, e.detail.get("hit"), e.detail.get("distance")) for e in rows]
    no = ("ok", False, None)
    assert answered[:4] == [("ok", True, 6), ("ok", True, 18), no, no]
    assert all(e.recipients == [str(e.subject_id)] for e in rows)
    assert {e.detail["ref"] for e in rows if e.subject_id == peer.id} >= {ref}
    logged = json.dumps([e.detail for e in rows])
    for candidate in (BLURRED, SHARPENED, ROTATED, BRIDGE):  # never a hash in the log
        assert candidate not in logged


def test_green_plaintext_pdq_hashes_hit_by_distance_without_a_confirmation(
    session: Session, settings: Settings, network: Network, peer: OtherNode
) -> None:
    """Where the peer's profile let a GREEN PDQ hash cross in plaintext, the hash is here: it
    meets this node's PDQ values by distance, through the local index, as a local hit does."""
    mine = _own(session, settings, network, BRIDGE)
    near, far = (
        RemoteEntry(
            peer_id=peer.id,
            ref=str(uuid.uuid4()),
            seq=1,
            kind="pdq",
            form="plaintext",
            epoch=None,
            value=value,
            level="green",
            agency_id=uuid.uuid4(),
            details={},
        )
        for value in (BLURRED, ROTATED)
    )
    session.add_all([near, far])
    session.flush()
    assert matching.for_entries(session, peer.id, [near.ref, far.ref], []) == 1
    (hit,) = session.scalars(select(RemoteHit)).all()
    assert (hit.ref, hit.selector_id) == (near.ref, mine.id)
    assert _candidates(session) == []  # no candidate, nothing to confirm
    # this node's side: a value added later meets the entries already here (18 bits off)
    later = _own(session, settings, network, SHARPENED)
    assert matching.for_pdq_values(session, [later.value_id]) == 1
    assert matching.for_pdq_values(session, [later.value_id, mine.value_id]) == 0  # once
