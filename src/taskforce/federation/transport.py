"""The client one node calls another with: every request signed (`httpsig.sign`), over mutual
TLS where the peers require it.

`federation_client_cert` (and `federation_client_key`) is the certificate this node shows; a
peer's server certificate is checked against `federation_ca` (default: the system's CAs).
Both go into one `ssl.SSLContext` handed to httpx as `verify=` (httpx 0.28 deprecates its
`cert=` argument in favour of that context).
"""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from taskforce.core.errors import Invalid, TaskforceError
from taskforce.core.settings import Settings
from taskforce.federation import httpsig, identity

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
LARGEST_ANSWER = 50 * (1 << 20)


class PeerUnreachable(TaskforceError):
    """The peer did not answer, or refused: the message says which and why."""

    http_status = 502
    exit_code = 75
    code = "peer_unreachable"


class Signed(httpx.Auth):
    """Signs each request as it is sent (httpx hands over the whole body first)."""

    requires_request_body = True

    def __init__(self, node_id: uuid.UUID, private: Ed25519PrivateKey, lifetime: timedelta):
        self.node_id = node_id
        self.private = private
        self.lifetime = lifetime

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        httpsig.sign(
            request, key_id=str(self.node_id), private=self.private, lifetime=self.lifetime
        )
        yield request


def tls_context(settings: Settings) -> ssl.SSLContext:
    """The TLS settings of every call to a peer; a file that cannot be used is named."""
    try:
        context = ssl.create_default_context(
            cafile=str(settings.federation_ca) if settings.federation_ca else None
        )
    except (OSError, ssl.SSLError) as error:
        raise Invalid("federation_ca", f"cannot be used as a CA bundle: {_why(error)}") from None
    if settings.federation_client_cert:
        try:
            context.load_cert_chain(
                str(settings.federation_client_cert),
                str(settings.federation_client_key) if settings.federation_client_key else None,
            )
        except (OSError, ssl.SSLError) as error:
            raise Invalid(
                "federation_client_cert",
                f"cannot be used with its key as a client certificate: {_why(error)}",
            ) from None
    return context


def _why(error: OSError | ssl.SSLError) -> str:
    return str(error.strerror or error) if isinstance(error, OSError) else str(error)


def client(
    settings: Settings,
    node_id: uuid.UUID,
    base_url: str,
    *,
    timeout: httpx.Timeout = TIMEOUT,
    **options: Any,
) -> httpx.Client:
    """A client for one peer whose every request this node signs."""
    lifetime = timedelta(seconds=settings.federation_signature_seconds)
    return httpx.Client(
        base_url=base_url,
        auth=Signed(node_id, identity.signing_key(settings), lifetime),
        verify=tls_context(settings),
        timeout=timeout,
        follow_redirects=False,
        **options,
    )


def get_json(http: httpx.Client, path: str, *, peer: str) -> Any:
    """GET a signed path of a peer and its JSON answer; `PeerUnreachable` names what failed."""
    return _answer(http, "GET", path, peer=peer)


def post_json(http: httpx.Client, path: str, body: Any, *, peer: str) -> Any:
    """POST JSON to a signed path of a peer (the body is signed through its Content-Digest)."""
    return _answer(http, "POST", path, peer=peer, json=body)


def _answer(http: httpx.Client, method: str, path: str, *, peer: str, **sent: Any) -> Any:
    try:
        answer = http.request(method, path, **sent)
    except httpx.TimeoutException as error:
        waited = http.timeout.connect if isinstance(error, httpx.ConnectTimeout) else None
        seconds = waited or http.timeout.read or 0
        raise PeerUnreachable(f"{peer} did not answer within {seconds:g} s") from None
    except httpx.HTTPError as error:
        raise PeerUnreachable(f"{peer} did not answer: {type(error).__name__}: {error}") from None
    if answer.status_code != 200:
        try:
            reason = str(answer.json().get("message", ""))[:300]
        except ValueError:
            reason = answer.text[:200]
        raise PeerUnreachable(f"{peer} answered {answer.status_code}: {reason}")
    if len(answer.content) > LARGEST_ANSWER:
        raise PeerUnreachable(f"{peer} answered more than {LARGEST_ANSWER:,} bytes")
    try:
        return answer.json()
    except ValueError:
        raise PeerUnreachable(f"{peer} answered something that is not JSON") from None
