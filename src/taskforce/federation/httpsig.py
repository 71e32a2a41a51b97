"""RFC 9421 HTTP Message Signatures between nodes, through `http-message-signatures`.

Every request a node sends another is signed with the node's Ed25519 key over the method, the
whole target URI, `content-type` and `content-digest` (RFC 9530, SHA-256 of the body, empty
bodies included), with `created`, `expires`, a random `nonce`, `keyid` (the sender's node id)
and the application tag `taskforce-federation`. The sender also names its public key in
`Taskforce-Node-Key`, so a node that has not peered with it can tell "a node I do not know
signed this" (403) from "this is not signed by whom it says" (401); the key it names is never
trusted for anything else.

This module knows no database: the caller resolves a `keyid` to a key and remembers nonces.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    InvalidSignature,
    algorithms,
)
from http_message_signatures.exceptions import HTTPMessageSignaturesException

TAG = "taskforce-federation"
KEY_HEADER = "Taskforce-Node-Key"
COVERED = ("@method", "@target-uri", "content-type", "content-digest")
CONTENT_TYPE = "application/json"
SKEW = timedelta(seconds=30)  # clocks of two nodes may differ this much
LONGEST = timedelta(seconds=300)  # a signature valid longer than this is refused


class SignatureRefused(Exception):
    """The request's signature does not hold (401); `reason` says why, in words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Keys(HTTPSignatureKeyResolver):
    def __init__(
        self,
        private: Ed25519PrivateKey | None = None,
        lookup: Callable[[str], Ed25519PublicKey | None] | None = None,
    ) -> None:
        self.private = private
        self.lookup = lookup

    def resolve_private_key(self, key_id: str) -> Ed25519PrivateKey:  # noqa: ARG002
        assert self.private is not None
        return self.private

    def resolve_public_key(self, key_id: str) -> Ed25519PublicKey | None:
        return self.lookup(key_id) if self.lookup is not None else None


def sign(
    request: httpx.Request,
    *,
    key_id: str,
    private: Ed25519PrivateKey,
    lifetime: timedelta,
    now: datetime | None = None,
    nonce: str | None = None,
) -> None:
    """Sign `request` in place (its body must be read: `request.content`)."""
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    request.headers.setdefault("Content-Type", CONTENT_TYPE)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    request.headers[KEY_HEADER] = base64.b64encode(public).decode()
    signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Keys(private))
    signer.sign(
        request,
        key_id=key_id,
        created=created,
        expires=created + lifetime,
        nonce=nonce or secrets.token_urlsafe(24),
        tag=TAG,
        label="node",
        covered_component_ids=COVERED,
        body=request.content,
    )


@dataclass(frozen=True)
class Verified:
    key_id: str
    nonce: str
    expires: datetime


def verify(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    lookup: Callable[[str], Ed25519PublicKey | None],
    lifetime: timedelta,
) -> Verified:
    """Check a request's signature, digest and validity window; raise `SignatureRefused`.

    `url` is the target as this node is known to its peers (its own URL and the path), not
    what the Host header claims, so a request signed for another node does not pass here.
    """
    message = httpx.Request(method, url, headers=headers)
    names = {name.lower() for name, _ in headers}
    if "signature" not in names or "signature-input" not in names:
        raise SignatureRefused("the request is not signed (Signature and Signature-Input)")
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519, key_resolver=_Keys(lookup=lookup)
    )
    verifier.max_clock_skew = SKEW
    try:
        results = verifier.verify(
            message,
            max_age=lifetime,
            expect_tag=TAG,
            require_components=COVERED,
            body=body,
        )
    except (InvalidSignature, HTTPMessageSignaturesException) as error:
        raise SignatureRefused(_words(str(error))) from None
    except (ValueError, TypeError, KeyError, UnicodeError):  # a header no parser expected
        raise SignatureRefused("the signature headers are malformed") from None
    if len(results) != 1:
        raise SignatureRefused("exactly one signature tagged taskforce-federation is expected")
    params = results[0].parameters
    created, expires, nonce = params.get("created"), params.get("expires"), params.get("nonce")
    if not isinstance(expires, int) or not isinstance(created, int):
        raise SignatureRefused("the signature must say when it was created and when it expires")
    if timedelta(seconds=expires - created) > LONGEST:
        raise SignatureRefused(f"the signature is valid for longer than {LONGEST.seconds} s")
    if not isinstance(nonce, str) or not 8 <= len(nonce) <= 64:
        raise SignatureRefused("the signature must carry a nonce of 8 to 64 characters")
    return Verified(
        key_id=str(params["keyid"]),
        nonce=nonce,
        expires=datetime.fromtimestamp(expires, UTC) + SKEW,
    )


def _words(message: str) -> str:
    if not message:  # cryptography's InvalidSignature says nothing
        return "the signature does not verify with the key of the node it names (keyid)"
    if "Unable to resolve verification key" in message:
        return "the signing key is not known here (keyid)"
    return message[:300]
