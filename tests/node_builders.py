"""Another node's identity, held by a test: its id, name and key; and what this node lets it
receive (its peer profile)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.orm import Session

from taskforce.core.caller import system_caller
from taskforce.federation import identity, profiles
from taskforce.federation.models import Peer


@dataclass
class OtherNode:
    name: str = "Node B"
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    url: str = "http://node-b.example.org"

    def document(self) -> dict[str, object]:
        return identity.document(self.id, self.name, "NL", self.url, self.key)


def allow(session: Session, node: OtherNode, **change: Any) -> None:
    """Let the peer `node` receive everything (all kinds and levels, GREEN in plain text, no
    release step), but for `change`."""
    values: dict[str, Any] = {
        "kinds": ["all"],
        "levels": ["red", "amber", "green"],
        "green_plaintext": True,
        "release_required": False,
    }
    values.update(change)
    peer = session.get(Peer, node.id)
    assert peer is not None
    profiles.set_profile(session, system_caller(), peer, **values)
