"""The door of `/federation/v1/*`: a request passes only with a valid signature of an active
peer, seen once.

`SignedPeerDep` is the FastAPI dependency every node-to-node route takes. It reads the body
(bounded by its route class, `core.limits`), checks the RFC 9421 signature against the key of
the peer its `keyid` names (`httpsig.verify`), and answers

- 401 with the reason: no signature, a malformed or altered one, a body that does not match
  its `Content-Digest`, a signature outside its validity window, a key not known here, a
  nonce seen before (a replay);
- 403: a valid signature of a node that is not peered with this one, or whose peering was
  removed.

Every refusal is audited (it outlives the request's rollback); nothing here answers 500.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, NoReturn

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from taskforce.core import signing
from taskforce.core.audit.service import Operation, record
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.errors import Forbidden, Invalid, TaskforceError
from taskforce.core.limits import route_path
from taskforce.core.settings import Settings
from taskforce.federation import httpsig, peering
from taskforce.federation.models import Peer


class SignatureFailed(TaskforceError):
    """The request is not (validly) signed: 401, its reason in `message`."""

    http_status = 401
    code = "bad_signature"


class NotPeered(Forbidden):
    code = "not_peered"


@dataclass(frozen=True)
class SignedPeer:
    """The peer a request came from, once its signature held."""

    id: uuid.UUID
    name: str
    country: str


def _refuse(
    session: Session, error: TaskforceError, *, who: str, path: str, ip: str | None
) -> NoReturn:
    record(
        session,
        peering.node_caller(who, ip),
        action="federation.request",
        operation=Operation.AUTHENTICATION,
        subject_type="federation_request",
        outcome="refused",
        detail={"path": path, "status": error.http_status, "reason": error.message},
    )
    raise error


def authenticate(
    session: Session,
    settings: Settings,
    *,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    ip: str | None = None,
) -> SignedPeer:
    """Check one incoming request (see the module's docstring); raise its refusal."""
    found: dict[str, Peer | str] = {}

    def lookup(key_id: str) -> Ed25519PublicKey | None:
        found["key_id"] = key_id[:64]
        try:
            node_id = uuid.UUID(key_id)
        except ValueError:
            return None
        peer = session.get(Peer, node_id)
        if peer is not None:
            found["peer"] = peer
            return signing.load_public(peer.public_key)
        named = next((v for k, v in headers if k.lower() == httpsig.KEY_HEADER.lower()), None)
        if named is None:
            return None
        try:
            return signing.load_public(named)
        except Invalid:
            return None

    own = peering.node(session)
    if own is None:
        _refuse(session, NotPeered(peering.NOT_INITIALISED), who="unknown", path=path, ip=ip)
    url = own.url + path + (f"?{query}" if query else "")
    lifetime = timedelta(seconds=settings.federation_signature_seconds)
    try:
        verified = httpsig.verify(method, url, headers, body, lookup=lookup, lifetime=lifetime)
    except httpsig.SignatureRefused as refused:
        who = str(found.get("key_id", "unknown"))
        _refuse(session, SignatureFailed(refused.reason), who=who, path=path, ip=ip)
    peer = found.get("peer")
    if not isinstance(peer, Peer):
        unknown = NotPeered(f"node {verified.key_id} is not peered with this node")
        _refuse(session, unknown, who=verified.key_id, path=path, ip=ip)
    if peer.state != "active":
        removed = NotPeered(f"the peering with {peer.name} was removed")
        _refuse(session, removed, who=peer.name, path=path, ip=ip)
    if not peering.remember_nonce(session, peer.id, verified.nonce, verified.expires):
        replay = SignatureFailed("this signature's nonce was used before: a replayed request")
        _refuse(session, replay, who=peer.name, path=path, ip=ip)
    peer.last_contact_at = utcnow()
    return SignedPeer(id=peer.id, name=peer.name, country=peer.country)


def _authenticate_in_unit(
    factory: sessionmaker[Session],
    settings: Settings,
    request: Request,
    body: bytes,
) -> SignedPeer:
    with unit_of_work(factory) as session:
        return authenticate(
            session,
            settings,
            method=request.method,
            path=route_path(request.scope),  # own URL + path: a mount's prefix is in the URL
            query=request.url.query,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw],
            body=body,
            ip=request.client.host if request.client else None,
        )


async def signed_peer(request: Request) -> SignedPeer:
    """The dependency: the peer whose signed request this is, or its refusal. The nonce and
    the refusal's audit entry are committed in a transaction of their own, before the route
    runs, so a replay is refused even while the first request is still being answered."""
    body = await request.body()
    return await run_in_threadpool(
        _authenticate_in_unit,
        request.app.state.sessionmaker,
        request.app.state.settings,
        request,
        body,
    )


SignedPeerDep = Annotated[SignedPeer, Depends(signed_peer)]
