"""A node tokenises its selectors through the key holder over signed requests: the tokens are
the key's, the key holder's public keys are pinned, an old epoch stays usable after a rotation,
and no request body carries a value."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from node_builders import OtherNode
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.cases.selectors import normalise
from taskforce.core.caller import system_caller
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.federation import blinding, keys, service, tokens, transport
from taskforce.federation.peering import Target

HERE = "http://node-a.example.org"
SELECTORS = [
    normalise("email", "Alice@Example.com"),
    normalise("username", "@Heron_99", platform="Kik"),
    normalise("ip", "203.0.113.9"),
]
PLAINTEXT = [b"alice@example.com", b"heron_99", b"203.0.113.9"]


@pytest.fixture
def holder(node_settings: Settings) -> Settings:
    return node_settings.model_copy(update={"federation_key_holder": True})


@pytest.fixture
def node_b(peer: OtherNode, tmp_path: Path, node_settings: Settings) -> Settings:
    """The peer's own settings: its data folder and its signing key."""
    seed = peer.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    folder = tmp_path / "node-b"
    folder.mkdir()
    return node_settings.model_copy(
        update={"data_dir": folder, "node_signing_key": base64.b64encode(seed).decode()}
    )


class KeyHolder:
    """Node A's app behind an httpx transport, keeping every request body it was sent."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.content)
        answer = self.client.request(
            request.method,
            request.url.raw_path.decode(),
            content=request.content,
            headers=dict(request.headers),
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def test_a_node_tokenises_through_the_key_holder_and_pins_its_keys(
    app: object,
    session: Session,
    holder: Settings,
    node_b: Settings,
    peer: OtherNode,
    here: uuid.UUID,
) -> None:
    service.init_key(session, system_caller(), holder)
    app.state.settings = holder  # type: ignore[attr-defined]
    session.commit()
    target = Target(node_id=peer.id, peer_id=here, name="Node A", url=HERE)
    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        key_holder = KeyHolder(client)
        mock = httpx.MockTransport(key_holder)
        epoch, made = tokens.tokenise(node_b, target, SELECTORS, transport=mock)
        assert epoch == 1
        first_seed = keys.seed(holder, 1)
        assert made == [blinding.token_for_key_holder(first_seed, s, 1) for s in SELECTORS]
        pins = json.loads(tokens.pins_file(node_b).read_text())
        assert list(pins[str(here)]) == ["1", "pdq-chunk/1"]

        # a rotation: new tokens under epoch 2, and epoch 1's tokens still come out the same
        service.rotate_key(session, system_caller(), holder)
        session.commit()
        assert tokens.tokenise(node_b, target, SELECTORS, transport=mock)[0] == 2
        assert tokens.tokenise(node_b, target, SELECTORS, epoch=1, transport=mock) == (1, made)
        with pytest.raises(Invalid, match="no OPRF key of epoch 5"):
            tokens.tokenise(node_b, target, SELECTORS, epoch=5, transport=mock)

        # a key that changes within an epoch is refused
        pins = json.loads(tokens.pins_file(node_b).read_text())
        pins[str(here)]["1"] = "00" * 32
        tokens.pins_file(node_b).write_text(json.dumps(pins))
        with pytest.raises(transport.PeerUnreachable, match="epoch 1 is not the one pinned"):
            tokens.tokenise(node_b, target, SELECTORS, transport=mock)

    # what crossed the wire: blinded elements, never a value
    sent = b"".join(key_holder.bodies)
    assert b'"blinded"' in sent
    for value in PLAINTEXT:
        assert value not in sent.lower()
