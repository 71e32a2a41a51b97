"""Ed25519 signatures over JSON documents: the block list a provider checks came from the hub, the
audit log's signed tree heads, and (later) what federation peers send each other.

The signed bytes are the document's *canonical JSON without its ``signature`` member*: UTF-8 of
``json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``. The signature is
the 64-byte Ed25519 signature of those bytes, base64 (standard alphabet, padded), stored in the
document's ``signature`` member. ``key_id`` is the first 16 hex digits of the SHA-256 of the raw
32-byte public key, so a provider holding several keys knows which one to try.

Keys travel as base64 of their raw 32 bytes (private: the seed; public: the point).
Ed25519 (RFC 8032) through `cryptography`, the OpenSSL-backed library every Python TLS stack
already depends on: small keys and signatures, deterministic, no parameters to get wrong.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from taskforce.core.errors import Invalid


class BadSignature(Invalid):
    """The document was altered, or signed by another key: it must not be used."""

    def __init__(self, rule: str) -> None:
        super().__init__("signature", rule)


def canonical_bytes(document: dict[str, Any]) -> bytes:
    body = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_b64(key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_raw(key)).decode()


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def sign(document: dict[str, Any], private: Ed25519PrivateKey) -> dict[str, Any]:
    """The document with `key_id` and `signature` set."""
    signed = {**document, "key_id": key_id(private.public_key())}
    signed["signature"] = base64.b64encode(private.sign(canonical_bytes(signed))).decode()
    return signed


def load_public(text: str) -> Ed25519PublicKey:
    """A public key from base64 of its raw 32 bytes (what `blocklist public-key` prints)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as error:
        raise Invalid("public_key", "must be base64 of a 32-byte Ed25519 public key") from error


def load_public_given(given: str) -> Ed25519PublicKey:
    """A public key given on a command line: its base64 text, or a file holding that."""
    path = Path(given)
    return load_public(path.read_text() if path.is_file() else given)


def verify(document: dict[str, Any], public: Ed25519PublicKey, *, what: str = "list") -> None:
    """Raise `BadSignature` unless `document` is signed by `public`'s private key."""
    signature = document.get("signature")
    if not isinstance(signature, str):
        raise BadSignature(f"the {what} is not signed")
    if document.get("key_id") != key_id(public):
        raise BadSignature(f"the {what} was signed by another key")
    try:
        public.verify(base64.b64decode(signature, validate=True), canonical_bytes(document))
    except (binascii.Error, ValueError, InvalidSignature) as error:
        raise BadSignature(f"the {what} does not verify: altered, or not from the hub") from error


def load_private(configured: str | None, default_file: Path, *, setting: str) -> Ed25519PrivateKey:
    """A key of the hub's: `configured` (the setting named `setting`) is base64 of the 32-byte
    seed or a path to a file holding it; without one, a key is generated on first use into
    `default_file` (mode 0600)."""
    if configured:
        path = Path(configured)
        text = path.read_text().strip() if path.is_file() else configured.strip()
    else:
        path = default_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            seed = base64.b64encode(os.urandom(32)).decode()
            with contextlib.suppress(FileExistsError):  # another process made it first: use it
                handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(handle, "w") as out:
                    out.write(seed + "\n")
        text = path.read_text().strip()
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError) as error:
        raise Invalid(setting, "must be base64 of a 32-byte Ed25519 seed or its file") from error
