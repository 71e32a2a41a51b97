"""This node's identity, its peers, the signature nonces it has seen, the agency directory
each peer sent; what may cross to each peer (its profile), what this node published to each
(its feed, hash-chained per peer), what each peer published to this node, and the hits and
release requests between them.

The node's private key is never stored here: it lives in the data folder (`identity.py`).
Nothing here holds another node's plaintext of a RED or AMBER selector: a peer's entries are
tokens, or plaintext only where its own profile let GREEN cross as such.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime, utcnow


class Node(Base, Timestamps):
    """This node (one row): its stable id is what peers name it by (`keyid`)."""

    __tablename__ = "federation_node"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    url: Mapped[str] = mapped_column(String(500))


class Peer(Base, Timestamps):
    """A node this node peered with; kept after removal so its requests are told apart from an
    unknown node's (403 "removed", not 401)."""

    __tablename__ = "federation_peer"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the peer's node id
    name: Mapped[str] = mapped_column(String(100), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    url: Mapped[str] = mapped_column(String(500))
    public_key: Mapped[str] = mapped_column(String(64))  # base64 of the raw 32 bytes
    fingerprint: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)  # or removed
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    directory_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The network's OPRF key holder (set by this node's admin, never by the peer's claim):
    # tokens are fetched from it and never published to it.
    key_holder: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where this node stands in the peer's feed: advanced only in the merge's transaction.
    feed_seq: Mapped[int] = mapped_column(Integer, default=0)
    feed_hash: Mapped[str] = mapped_column(String(64), default="")
    feed_head: Mapped[int] = mapped_column(Integer, default=0)  # the peer's head, last seen
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sync_error: Mapped[str | None] = mapped_column(String(500))
    sync_failures: Mapped[int] = mapped_column(Integer, default=0)
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SeenNonce(Base):
    """A signature's nonce, remembered until the signature expires: the same one again is a
    replay."""

    __tablename__ = "federation_nonce"

    node_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PeerAgency(Base):
    """An agency of a peer's node, as its directory last said: enough to name it (AMBER) and
    to call its 24/7 desk."""

    __tablename__ = "federation_peer_agency"

    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the id on the peer's node
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(24))
    timezone: Mapped[str] = mapped_column(String(64))
    contact_desk: Mapped[str] = mapped_column(String(200))
    contact_phone: Mapped[str] = mapped_column(String(32))
    contact_email: Mapped[str] = mapped_column(String(320))
    partners: Mapped[list[str]] = mapped_column(JSON, default=list)  # agency codes


class Profile(Base):
    """What may cross to one peer (the national profile). No row: nothing crosses."""

    __tablename__ = "federation_profile"

    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), primary_key=True
    )
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)  # SelectorKind values
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)  # SharingLevel values
    green_plaintext: Mapped[bool] = mapped_column(Boolean, default=False)
    release_required: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class OwnToken(Base):
    """This node's token of one of its selector values under one epoch (made once through the
    key holder, then reused for every peer)."""

    __tablename__ = "federation_own_token"
    __table_args__ = (Index("ix_federation_own_token_epoch_token", "epoch", "token"),)

    value_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("selector_value.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[bytes] = mapped_column(LargeBinary(64))


class Publication(Base):
    """What this node currently publishes to a peer for one of its selectors; no foreign key to
    the selector, so a deleted selector's publication is still there to be withdrawn."""

    __tablename__ = "federation_publication"

    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), primary_key=True
    )
    selector_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(36), unique=True)  # random: links to nothing here
    fingerprint: Mapped[str] = mapped_column(String(64))  # of what was published (changes)


class FeedEntry(Base):
    """One entry of the feed this node publishes to one peer: append-only, each entry's hash
    covering the one before (`prev_hash`)."""

    __tablename__ = "federation_feed_entry"

    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    body: Mapped[str] = mapped_column(Text)  # canonical JSON: op, ref, kind, form, epoch, ...
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class RemoteEntry(Base):
    """A selector a peer published to this node, as its feed last said: a token (or a GREEN
    plaintext key where the peer's profile allowed it) and the agency holding it."""

    __tablename__ = "federation_remote_entry"
    __table_args__ = (Index("ix_federation_remote_entry_match", "kind", "epoch", "value"),)

    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), primary_key=True
    )
    ref: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    form: Mapped[str] = mapped_column(String(16))  # token | plaintext
    epoch: Mapped[int | None] = mapped_column(Integer)
    value: Mapped[str] = mapped_column(String(2200))  # base64 token, or the GREEN match key
    level: Mapped[str] = mapped_column(String(8))
    agency_id: Mapped[uuid.UUID] = mapped_column()  # an agency of the peer's directory
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # released up front
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RemoteHit(Base):
    """One of this node's selectors meets a peer's entry: the hit as this node sees it."""

    __tablename__ = "federation_remote_hit"
    __table_args__ = (
        Index("uq_federation_remote_hit", "peer_id", "ref", "selector_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), index=True
    )
    ref: Mapped[str] = mapped_column(String(36))
    selector_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("selector.id", ondelete="CASCADE"))
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_file.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ReleaseRequest(Base):
    """A request to release a cross-node hit's details (Prüm II's human decision). The same id
    on both nodes: `outgoing` on the requester's, `incoming` on the owner's."""

    __tablename__ = "federation_release_request"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    direction: Mapped[str] = mapped_column(String(8), index=True)  # outgoing | incoming
    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), index=True
    )
    ref: Mapped[str] = mapped_column(String(36))  # the owner's publication ref
    hit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("federation_remote_hit.id", ondelete="SET NULL")
    )  # outgoing: the requester's hit
    requester_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    requester: Mapped[str] = mapped_column(String(320))  # name and agency, as sent
    requester_agency_id: Mapped[uuid.UUID | None] = mapped_column()  # on the requester's node
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(320))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # approved: released
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # to the other node
    delivery_error: Mapped[str | None] = mapped_column(String(500))
    # incoming: the owning case (its agency decides), kept when the entry is withdrawn
    case_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_file.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


class OwnPdqChunk(Base):
    """One of the 16 chunk tokens of one of this node's PDQ values under one epoch (made once
    through the key holder's PDQ-chunk key, reused for every peer)."""

    __tablename__ = "federation_own_pdq_chunk"
    __table_args__ = (Index("ix_federation_own_pdq_chunk_epoch_token", "epoch", "token"),)

    value_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("selector_value.id", ondelete="CASCADE"), primary_key=True
    )
    epoch: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0 to 15
    token: Mapped[bytes] = mapped_column(LargeBinary(64))


class RemotePdqChunk(Base):
    """One chunk token of a PDQ entry a peer published (its `RemoteEntry` holds all 16 as
    sent): kept apart so that an equal token is found by the index, not by reading entries."""

    __tablename__ = "federation_remote_pdq_chunk"
    __table_args__ = (Index("ix_federation_remote_pdq_chunk_epoch_token", "epoch", "token"),)

    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), primary_key=True
    )
    ref: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer)
    token: Mapped[bytes] = mapped_column(LargeBinary(64))


class PdqCandidate(Base):
    """A peer's PDQ entry shares a chunk with one of this node's PDQ values: not a hit until
    the owner confirms it on its plaintext (`confirming.py`). `state`: pending, hit, no-hit,
    withdrawn (the entry went), withheld (this node's profile does not let the hash go to
    that peer, so it is not asked)."""

    __tablename__ = "federation_pdq_candidate"
    __table_args__ = (
        Index("uq_federation_pdq_candidate", "peer_id", "ref", "value_id", unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    peer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("federation_peer.id", ondelete="CASCADE"), index=True
    )
    ref: Mapped[str] = mapped_column(String(36))
    value_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("selector_value.id", ondelete="CASCADE"), index=True
    )
    chunks: Mapped[int] = mapped_column(Integer)  # positions whose tokens are equal
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    distance: Mapped[int | None] = mapped_column(Integer)  # the owner's answer on a hit
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
