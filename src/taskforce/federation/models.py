"""This node's identity, its peers, the signature nonces it has seen, and the agency directory
each peer sent.

The node's private key is never stored here: it lives in the data folder (`identity.py`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, Timestamps, UTCDateTime


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
