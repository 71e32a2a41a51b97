"""This node's identity and its peers: who may talk to this node at all.

Peering is explicit on both sides: a node answers only the nodes its admin added with their
signed peering document (fingerprint read out over the phone), and stops answering a peer the
moment it is removed. Every change is audited; so is every refused request (`guard.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from taskforce.agencies import service as agencies
from taskforce.core.audit.service import Operation, record
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.federation import identity, profiles
from taskforce.federation.models import Node, Peer, PeerAgency, SeenNonce
from taskforce.federation.schemas import Directory, DirectoryAgency

NOT_INITIALISED = "this node has no identity yet: run `taskforce node init`"


def node(session: Session) -> Node | None:
    return session.scalars(select(Node).limit(1)).first()


def require_node(session: Session) -> Node:
    found = node(session)
    if found is None:
        raise NotFound(NOT_INITIALISED)
    return found


def _name(name: str) -> str:
    value = " ".join(name.split())
    if not 1 <= len(value) <= 100:
        raise Invalid("name", "1 to 100 characters")
    return value


def _url(url: str) -> str:
    value = url.strip().rstrip("/")
    if not value.startswith(("http://", "https://")) or len(value) > 500 or " " in value:
        raise Invalid("url", "must be an http:// or https:// address of at most 500 characters")
    return value


def init_node(
    session: Session, settings: Settings, caller: Caller, *, name: str, country: str, url: str
) -> Node:
    """Name this node (its id stays what it was: peers know it by that id)."""
    caller.require(Permission.MANAGE_PEERS)
    identity.signing_key(settings)  # made now if absent
    values = {
        "name": _name(name),
        "country": agencies.normalise_country(country),
        "url": _url(url),
    }
    found = node(session)
    if found is None:
        found = Node(id=uuid.uuid4(), **values)
        session.add(found)
    else:
        for key, value in values.items():
            setattr(found, key, value)
    session.flush()
    record(
        session,
        caller,
        action="federation.node.init",
        operation=Operation.ALTERATION,
        subject_type="node",
        subject_id=found.id,
        detail=values,
    )
    return found


def peering_document(session: Session, settings: Settings) -> dict[str, object]:
    """This node's signed peering document, to hand to another node's admin."""
    own = require_node(session)
    return identity.document(own.id, own.name, own.country, own.url, identity.signing_key(settings))


def own_fingerprint(settings: Settings) -> str:
    return identity.fingerprint(identity.signing_key(settings).public_key())


def list_peers(session: Session, *, include_removed: bool = True) -> Sequence[Peer]:
    stmt = select(Peer).order_by(Peer.state, Peer.name)
    if not include_removed:
        stmt = stmt.where(Peer.state == "active")
    return session.scalars(stmt).all()


def peer_by_name(session: Session, name: str) -> Peer:
    found = session.scalars(select(Peer).where(Peer.name == " ".join(name.split()))).first()
    if found is None:
        raise NotFound(f"peer {' '.join(name.split())!r}")
    return found


def add_peer(session: Session, caller: Caller, document: identity.PeeringDocument) -> Peer:
    """Peer with the node the (already checked) document describes."""
    caller.require(Permission.MANAGE_PEERS)
    own = require_node(session)
    if document.node_id == own.id:
        raise Invalid("node_id", "this is this node's own peering document")
    country = agencies.normalise_country(document.country)
    name = _name(document.name)
    found = session.get(Peer, document.node_id)
    if found is not None and found.state == "active":
        raise Conflict(f"already peered with {found.name} ({found.id})")
    clash = session.scalars(select(Peer).where(Peer.name == name, Peer.id != document.node_id))
    if clash.first() is not None:
        raise Conflict(f"another peer is already named {name!r}")
    if found is None:
        found = Peer(id=document.node_id)
        session.add(found)
    found.name, found.country, found.url = name, country, document.url
    found.public_key, found.fingerprint = document.public_key, document.fingerprint
    found.state, found.removed_at, found.last_error = "active", None, None
    session.flush()
    record(
        session,
        caller,
        action="federation.peer.add",
        operation=Operation.ALTERATION,
        subject_type="peer",
        subject_id=found.id,
        detail={"name": name, "url": found.url, "fingerprint": found.fingerprint},
    )
    return found


def remove_peer(session: Session, caller: Caller, name: str) -> Peer:
    """Stop answering a peer, and forget its directory; its row stays, so its requests are
    refused as "removed" (and audited as such)."""
    caller.require(Permission.MANAGE_PEERS)
    found = peer_by_name(session, name)
    if found.state != "active":
        raise Conflict(f"{found.name} was already removed")
    found.state, found.removed_at = "removed", utcnow()
    session.execute(delete(PeerAgency).where(PeerAgency.peer_id == found.id))
    # Strict by default again: a peer added back later receives nothing until a profile says.
    # The same for the key-holder flag: naming it again is a decision, not a leftover.
    profiles.clear_profile(session, caller, found)
    was_key_holder, found.key_holder = found.key_holder, False
    session.flush()
    record(
        session,
        caller,
        action="federation.peer.remove",
        operation=Operation.ALTERATION,
        subject_type="peer",
        subject_id=found.id,
        detail={"name": found.name, "was_key_holder": was_key_holder},
    )
    return found


@dataclass(frozen=True)
class Target:
    """What a call to a peer needs, read before the call (no transaction stays open)."""

    node_id: uuid.UUID  # this node's: the `keyid` it signs with
    peer_id: uuid.UUID
    name: str
    url: str


def target(session: Session, caller: Caller, name: str) -> Target:
    caller.require(Permission.MANAGE_PEERS)
    own = require_node(session)
    peer = peer_by_name(session, name)
    if peer.state != "active":
        raise Conflict(f"{peer.name} was removed: add its peering document again first")
    return Target(node_id=own.id, peer_id=peer.id, name=peer.name, url=peer.url)


def key_holder_target(session: Session) -> Target | None:
    """The active peer this node's admin named the network's key holder: where this node's
    selectors are tokenised. None: no key holder is set."""
    peer = session.scalars(
        select(Peer).where(Peer.key_holder.is_(True), Peer.state == "active")
    ).first()
    if peer is None:
        return None
    own = require_node(session)
    return Target(node_id=own.id, peer_id=peer.id, name=peer.name, url=peer.url)


@dataclass(frozen=True)
class KeyHolderChange:
    peer: Peer
    changed: bool
    profile_cleared: bool  # the allowance it had was withdrawn (the key holder gets nothing)

    @property
    def messages(self) -> list[str]:
        name = self.peer.name
        if not self.changed:
            state = "is" if self.peer.key_holder else "is not"
            return [f"{name} {state} the key holder already: nothing changed"]
        if not self.peer.key_holder:
            return [f"{name} is no longer the key holder"]
        said = [f"{name} is the network's key holder: this node's tokens are made through it"]
        if self.profile_cleared:
            said.append(f"its profile was cleared: {profiles.KEY_HOLDER_RULE}")
        return said


def set_key_holder(session: Session, caller: Caller, peer: Peer, flag: bool) -> KeyHolderChange:
    """Name (or stop naming) `peer` the network's OPRF key holder: set by this node's admin,
    never by the peer's own claim. At most one peer is; naming it withdraws any profile
    allowance to it (`profiles.KEY_HOLDER_RULE`)."""
    caller.require(Permission.MANAGE_PEERS)
    if peer.key_holder == flag:
        return KeyHolderChange(peer, changed=False, profile_cleared=False)
    if flag:
        if peer.state != "active":
            raise Conflict(f"{peer.name} was removed: add its peering document again first")
        other = session.scalars(
            select(Peer).where(Peer.key_holder.is_(True), Peer.id != peer.id)
        ).first()
        if other is not None:
            raise Conflict(
                f"{other.name} is the key holder already (at most one peer is): "
                f"unset it first (`taskforce peer key-holder {other.name!r} --unset`)"
            )
    cleared = profiles.clear_profile(session, caller, peer) if flag else False
    peer.key_holder = flag
    session.flush()
    record(
        session,
        caller,
        action="federation.peer.key_holder",
        operation=Operation.ALTERATION,
        subject_type="peer",
        subject_id=peer.id,
        detail={"name": peer.name, "key_holder": flag, "profile_cleared": cleared},
    )
    return KeyHolderChange(peer, changed=True, profile_cleared=cleared)


def remember_nonce(session: Session, node_id: uuid.UUID, nonce: str, expires: datetime) -> bool:
    """Record a signature's nonce until it expires; False if it was seen already (a replay).
    Expired nonces are swept here, so the table holds only a window's worth."""
    session.execute(delete(SeenNonce).where(SeenNonce.expires_at < utcnow()))
    try:
        with session.begin_nested():
            session.add(SeenNonce(node_id=node_id, nonce=nonce, expires_at=expires))
    except IntegrityError:
        return False
    return True


def node_caller(who: str, ip: str | None = None) -> Caller:
    """A node as the audit log names it: no agency, none of a member's permissions."""
    return Caller(role=Role.READ_ONLY, channel="federation", email=f"node {who}", ip=ip)


def directory_for(session: Session, peer_id: uuid.UUID, peer_name: str) -> Directory:
    """The directory, as disclosed to one peer (audited)."""
    answer = directory(session)
    record(
        session,
        node_caller(peer_name),
        action="federation.directory.disclose",
        operation=Operation.DISCLOSURE,
        subject_type="peer",
        subject_id=peer_id,
        recipients=[peer_name],
        detail={"agencies": len(answer.agencies)},
    )
    return answer


def directory(session: Session) -> Directory:
    """What this node tells its peers about its agencies: what every member already sees
    (code, name, country, kind, 24/7 contact point, partners), nothing else."""
    own = require_node(session)
    listed = agencies.list_agencies(session)
    return Directory(
        node_id=own.id,
        agencies=[
            DirectoryAgency(
                id=a.id,
                code=a.code,
                name=a.name,
                country=a.country,
                kind=a.kind,
                timezone=a.timezone,
                contact_desk=a.contact_desk,
                contact_phone=a.contact_phone,
                contact_email=a.contact_email,
                partners=[p.code for p in agencies.partners_of(session, a.id)],
            )
            for a in listed
        ],
    )


def store_directory(session: Session, caller: Caller, peer: Peer, received: Directory) -> int:
    """Replace what this node knows of a peer's agencies with the directory it sent."""
    caller.require(Permission.MANAGE_PEERS)
    if received.node_id != peer.id:
        raise Invalid("node_id", f"the directory is not {peer.name}'s")
    session.execute(delete(PeerAgency).where(PeerAgency.peer_id == peer.id))
    seen: set[uuid.UUID] = set()
    for a in received.agencies:
        if a.id in seen:
            continue
        seen.add(a.id)
        fields = a.model_dump(exclude={"id"})
        session.add(PeerAgency(peer_id=peer.id, agency_id=a.id, **fields))
    peer.directory_synced_at = peer.last_contact_at = utcnow()
    peer.last_error = None
    session.flush()
    record(
        session,
        caller,
        action="federation.directory.sync",
        operation=Operation.COLLECTION,
        subject_type="peer",
        subject_id=peer.id,
        detail={"name": peer.name, "agencies": len(seen)},
    )
    return len(seen)


def peer_agencies(session: Session, peer: Peer) -> Sequence[PeerAgency]:
    return session.scalars(
        select(PeerAgency).where(PeerAgency.peer_id == peer.id).order_by(PeerAgency.code)
    ).all()


def note_error(session: Session, target: Target, error: str) -> None:
    """A call to the peer failed: its page says so until the next call succeeds."""
    peer = session.get(Peer, target.peer_id)
    if peer is not None:
        peer.last_error = error[:500]
        session.flush()


def note_contact(session: Session, target: Target) -> None:
    peer = session.get(Peer, target.peer_id)
    if peer is not None:
        peer.last_contact_at, peer.last_error = utcnow(), None
        session.flush()
