"""The node's key pair and its peering document.

The private key is an Ed25519 seed in the data folder (`node-signing.key`, mode 0600), made
and read by `core.signing.load_private` like the audit log's and the block list's keys; it is
never written to the database. The peering document is what two node admins exchange: the
node's id, name, country, URL and public key, signed by that key (so a document altered on its
way, or a key its sender does not hold, is refused). The fingerprint is what they read to
each other over the phone before either side trusts the document.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from taskforce.core import signing
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings

KEY_FILE = "node-signing.key"
FORMAT = "taskforce-peering/1"


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    """This node's private key (made on first use: `db upgrade`, `node init`)."""
    return signing.load_private(
        settings.node_signing_key, settings.data_dir / KEY_FILE, setting="node_signing_key"
    )


def fingerprint(public: Ed25519PublicKey | str) -> str:
    """SHA-256 of the raw public key, base32 in groups of four, to read out over the phone."""
    key = signing.load_public(public) if isinstance(public, str) else public
    text = base64.b32encode(hashlib.sha256(signing.public_raw(key)).digest()).decode()
    text = text.rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@dataclass(frozen=True)
class PeeringDocument:
    node_id: uuid.UUID
    name: str
    country: str
    url: str
    public_key: str  # base64 of the raw 32 bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


def document(
    node_id: uuid.UUID, name: str, country: str, url: str, private: Ed25519PrivateKey
) -> dict[str, Any]:
    """The signed peering document of this node."""
    return signing.sign(
        {
            "format": FORMAT,
            "node_id": str(node_id),
            "name": name,
            "country": country,
            "url": url,
            "public_key": signing.public_b64(private.public_key()),
        },
        private,
    )


def _text(doc: dict[str, Any], name: str, longest: int) -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Invalid(name, "the peering document must give it as text")
    if len(value) > longest:
        raise Invalid(name, f"at most {longest} characters")
    return value.strip()


def read_document(doc: object) -> PeeringDocument:
    """A peer's document, checked: its fields, and its signature by the key it names."""
    if not isinstance(doc, dict):
        raise Invalid("document", "a peering document is a JSON object")
    if doc.get("format") != FORMAT:
        raise Invalid("format", f"must be {FORMAT}")
    try:
        node_id = uuid.UUID(_text(doc, "node_id", 36))
    except ValueError:
        raise Invalid("node_id", "must be a UUID") from None
    url = _text(doc, "url", 500).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise Invalid("url", "must start with http:// or https://")
    public_key = _text(doc, "public_key", 64)
    signing.verify(doc, signing.load_public(public_key), what="peering document")
    return PeeringDocument(
        node_id=node_id,
        name=_text(doc, "name", 100),
        country=_text(doc, "country", 2).upper(),
        url=url,
        public_key=public_key,
    )
