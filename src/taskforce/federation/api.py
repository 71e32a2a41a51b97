"""Two kinds of address. `router` (under /api/v1, a member's token): the network admin reads
this node's peering document and its peers. `signed` (under /federation/v1, no token): what
peers ask each other, every request signed and checked by `guard.SignedPeerDep`."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from taskforce.core.caller import Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.federation import (
    candidates,
    feeds,
    hits,
    identity,
    peering,
    profiles,
    release,
    service,
    sync,
)
from taskforce.federation.guard import SignedPeerDep
from taskforce.federation.models import Peer, Profile
from taskforce.federation.schemas import (
    Directory,
    Hello,
    OprfEvaluate,
    OprfEvaluated,
    OprfKey,
    PdqConfirm,
    PdqConfirmed,
    PeerRead,
    ProfileRead,
    ProfileUpdate,
    Received,
    ReleaseAnswer,
    ReleaseAsk,
    ReleaseAskCreate,
    ReleaseDecide,
    ReleaseRead,
    RemoteHitRead,
    decode_elements,
    encode,
)

router = APIRouter(prefix="/federation", tags=["federation"])
signed = APIRouter(prefix="/federation/v1", tags=["federation (node to node)"])


@router.get("/node")
def own_document(session: SessionDep, caller: CallerDep, settings: SettingsDep) -> dict[str, Any]:
    """This node's signed peering document and its fingerprint."""
    caller.require(Permission.MANAGE_PEERS)
    return {
        "document": peering.peering_document(session, settings),
        "fingerprint": peering.own_fingerprint(settings),
    }


@router.get("/peers")
def peers(session: SessionDep, caller: CallerDep) -> list[PeerRead]:
    caller.require(Permission.MANAGE_PEERS)
    return [PeerRead.model_validate(p) for p in peering.list_peers(session)]


def _peer(session: Session, peer_id: uuid.UUID) -> Peer:
    found = session.get(Peer, peer_id)
    if found is None:
        raise NotFound("peer")
    return found


def _profile(peer: Peer, found: Profile | None) -> ProfileRead:
    return ProfileRead(
        peer_id=peer.id,
        set=found is not None,
        kinds=list(found.kinds) if found else [],
        levels=list(found.levels) if found else [],
        green_plaintext=found.green_plaintext if found else False,
        release_required=found.release_required if found else True,
        updated_at=found.updated_at if found else None,
        updated_by=found.updated_by if found else None,
        description=profiles.describe(peer, found),
    )


@router.get("/peers/{peer_id}/profile")
def get_profile(peer_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ProfileRead:
    """What may cross to the peer, and the same in words."""
    caller.require(Permission.MANAGE_PEERS)
    peer = _peer(session, peer_id)
    return _profile(peer, profiles.get_profile(session, peer.id))


@router.put("/peers/{peer_id}/profile")
def put_profile(
    peer_id: uuid.UUID, body: ProfileUpdate, session: SessionDep, caller: CallerDep
) -> ProfileRead:
    """Replace what may cross to the peer (audited); 422 naming the field for an unknown type
    or level, or any allowance to the key holder."""
    caller.require(Permission.MANAGE_PEERS)
    peer = _peer(session, peer_id)
    found = profiles.set_profile(
        session,
        caller,
        peer,
        kinds=body.kinds,
        levels=body.levels,
        green_plaintext=body.green_plaintext,
        release_required=body.release_required,
    )
    return _profile(peer, found)


@router.delete("/peers/{peer_id}/profile")
def delete_profile(peer_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ProfileRead:
    """Back to no profile: nothing crosses."""
    caller.require(Permission.MANAGE_PEERS)
    peer = _peer(session, peer_id)
    profiles.clear_profile(session, caller, peer)
    return _profile(peer, None)


@signed.get("/hello")
def hello(session: SessionDep, peer: SignedPeerDep) -> Hello:
    """Who answers: a peer checks the round trip (its key, this node's peering) with it."""
    own = peering.require_node(session)
    return Hello(node_id=own.id, name=own.name, country=own.country, time=utcnow(), peer=peer.id)


@signed.get("/directory")
def directory(session: SessionDep, peer: SignedPeerDep) -> Directory:
    """This node's agencies, their 24/7 contact points and partnerships."""
    return peering.directory_for(session, peer.id, peer.name)


@signed.get("/oprf/keys")
def oprf_keys(settings: SettingsDep, peer: SignedPeerDep) -> list[OprfKey]:
    """The key holder's public key of every epoch it holds: what a peer checks each
    evaluation's proof against (pin it: a key that changes without a new epoch is an attack)."""
    return [
        OprfKey(
            epoch=k.epoch,
            public_key=encode(k.public_key),
            current=k.current,
            pdq_chunk_public_key=encode(k.pdq_chunk_public_key) if k.pdq_chunk_public_key else None,
        )
        for k in service.public_keys(settings)
    ]


@signed.post("/oprf/evaluate")
def oprf_evaluate(
    body: OprfEvaluate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    peer: SignedPeerDep,
) -> OprfEvaluated:
    """Evaluate a peer's batch of blinded selectors under an epoch's key (the key holder only):
    the evaluated elements, in order, and one DLEQ proof. `key` picks the epoch's exact-match
    key (default) or its PDQ-chunk key. 429 past the peer's hourly budget of that key; every
    batch is audited as (node, epoch, key, count)."""
    blinded = decode_elements(body.blinded)
    ip = request.client.host if request.client else None
    evaluated, proof = service.evaluate(
        session,
        peer.id,
        body.epoch,
        blinded,
        settings=settings,
        caller=peering.node_caller(peer.name, ip),
        family=body.key,
    )
    return OprfEvaluated(
        epoch=body.epoch,
        key=body.key,
        evaluated=[encode(e) for e in evaluated],
        proof=encode(proof),
    )


def _whole(raw: str | None, field: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Invalid(field, f"a whole number from {low:,} to {high:,}")
    return int(raw)


@signed.get("/feed")
def feed(
    request: Request, session: SessionDep, settings: SettingsDep, peer: SignedPeerDep
) -> Response:
    """A page of the feed this node publishes to the caller (no other peer's): entries after
    `after_seq`, at most `limit` (1 to 5,000, default 1,000), the head, `next` (null when none
    are left) and the page's Ed25519 signature over its position and last hash."""
    query = request.query_params
    after_seq = _whole(query.get("after_seq"), "after_seq", 0, 0, 2**62)
    limit = _whole(query.get("limit"), "limit", feeds.LIMIT_DEFAULT, 1, feeds.LIMIT_MAX)
    page = feeds.read_page(
        session,
        identity.signing_key(settings),
        recipient=peer.id,
        recipient_name=peer.name,
        after_seq=after_seq,
        limit=limit,
    )
    # Serialised here: a page of 5,000 entries through the response model would cost more
    # than reading it.
    return Response(json.dumps(page.as_json()), media_type="application/json")


@signed.post("/nudge")
def nudge(request: Request, session: SessionDep, peer: SignedPeerDep) -> dict[str, str]:
    """The peer published something to this node: pull its feed at the next round, now."""
    sync.note_nudge(session, peer.id)
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()
    return {"status": "ok"}


@signed.post("/pdq/confirm", response_model_exclude_none=True)
def pdq_confirm(
    body: PdqConfirm,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    peer: SignedPeerDep,
) -> PdqConfirmed:
    """Whether the caller's candidate is within this node's match threshold of the PDQ hash
    this node published to it under `ref`: `{hit: false}`, or `{hit: true, distance}`. 404 for
    a ref not published to the caller, 429 past its hourly budget; audited as a disclosure."""
    ip = request.client.host if request.client else None
    answer = candidates.confirm(
        session,
        peering.node_caller(peer.name, ip),
        peer.id,
        ref=body.ref,
        candidate=body.candidate,
        settings=settings,
    )
    return PdqConfirmed(hit=answer.hit, distance=answer.distance)


# --- cross-node hits and release requests ------------------------------------------------------


def _wake(request: Request) -> None:
    """A release request or decision waits for delivery: start the worker's next round now."""
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()


@router.get("/hits")
def remote_hits(
    session: SessionDep, caller: CallerDep, case_id: uuid.UUID | None = None
) -> list[RemoteHitRead]:
    """The caller's agency's cross-node hits, newest first (audited)."""
    return hits.list_hits(session, caller, case_id=case_id)


@router.get("/hits/{hit_id}")
def remote_hit(hit_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> RemoteHitRead:
    """One cross-node hit and its release requests; 404 outside the case's agency."""
    return hits.get_hit(session, caller, hit_id)


@router.post("/hits/{hit_id}/acknowledge")
def acknowledge_remote_hit(
    hit_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> RemoteHitRead:
    return hits.acknowledge(session, caller, hit_id)


@router.post("/hits/{hit_id}/release", status_code=201)
def ask_release(
    hit_id: uuid.UUID,
    body: ReleaseAskCreate,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
) -> ReleaseRead:
    """Ask the other node to release the hit's details (delivered by the worker)."""
    row = release.request_release(session, caller, hit_id, reason=body.reason)
    session.commit()
    _wake(request)
    return hits.release_read(row, release.node_name(session, row), caller)


@router.get("/releases")
def incoming_releases(session: SessionDep, caller: CallerDep) -> list[ReleaseRead]:
    """Other nodes' requests about the caller's agency's cases, waiting ones first."""
    return release.incoming(session, caller)


@router.get("/releases/{request_id}")
def incoming_release(request_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ReleaseRead:
    return release.get_incoming(session, caller, request_id)


@router.post("/releases/{request_id}/decision")
def decide_release(
    request_id: uuid.UUID,
    body: ReleaseDecide,
    request: Request,
    session: SessionDep,
    caller: CallerDep,
) -> ReleaseRead:
    """Approve or refuse, with a reason either way (the owning agency's admin or an
    investigator); the decision is delivered by the worker."""
    release.decide(session, caller, request_id, approve=body.approve, reason=body.reason)
    session.commit()
    _wake(request)
    return release.get_incoming(session, caller, request_id)


@signed.post("/releases")
def receive_release(body: ReleaseAsk, session: SessionDep, peer: SignedPeerDep) -> Received:
    """A peer's investigator asks for the details of a hit on an entry this node published
    to that peer; the same id again is answered as the first time."""
    row = release.receive_request(session, peer.id, peer.name, body)
    return Received(id=row.id, state=row.state)


@signed.post("/releases/{request_id}/decision")
def receive_release_decision(
    request_id: uuid.UUID, body: ReleaseAnswer, session: SessionDep, peer: SignedPeerDep
) -> Received:
    """The owner's decision on this node's request; the same decision again is a no-op."""
    row = release.receive_decision(session, peer.id, peer.name, request_id, body)
    return Received(id=row.id, state=row.state)
