"""Another node's identity, held by a test: its id, name and key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from taskforce.federation import identity


@dataclass
class OtherNode:
    name: str = "Node B"
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    url: str = "http://node-b.example.org"

    def document(self) -> dict[str, object]:
        return identity.document(self.id, self.name, "NL", self.url, self.key)
