"""The key holder's second key family: a PDQ-chunk key per epoch beside the exact-match key,
made and rotated with it, with a budget of its own, asked for with `"key": "pdq-chunk"` and
pinned by the nodes that use it."""

from __future__ import annotations

import base64
import json
import stat
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.errors import RateLimited
from taskforce.core.settings import Settings
from taskforce.federation import blinding, httpsig, keys, pdq, service, tokens, transport
from taskforce.federation.blinding import KeyFamily
from taskforce.federation.peering import Target
from taskforce.federation.service import EVALUATE_ACTION

HERE = "http://node-a.example.org"
EVALUATE = "/federation/v1/oprf/evaluate"
HASHES = ["f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "ab" * 32]


@pytest.fixture
def holder(node_settings: Settings) -> Settings:
    return node_settings.model_copy(
        update={"federation_key_holder": True, "federation_pdq_chunk_values_per_hour": 40}
    )


def _signed(node: OtherNode, path: str, body: bytes | None = None) -> dict[str, str]:
    request = httpx.Request("GET" if body is None else "POST", f"{HERE}{path}", content=body or b"")
    httpsig.sign(request, key_id=str(node.id), private=node.key, lifetime=timedelta(seconds=60))
    return dict(request.headers)


def test_both_keys_are_made_private_and_rotated_together(
    session: Session, holder: Settings
) -> None:
    first = service.init_key(session, system_caller(), holder)
    folder = keys.folder(holder)
    chunk_file = folder / "pdq-chunk-epoch-000001.key"
    assert stat.S_IMODE(chunk_file.stat().st_mode) == 0o600
    assert first.pdq_chunk_public_key is not None
    assert first.pdq_chunk_public_key != first.public_key
    service.rotate_key(session, system_caller(), holder)
    assert stat.S_IMODE(chunk_file.stat().st_mode) == 0o400
    published = service.public_keys(holder)
    assert [k.epoch for k in published] == [1, 2]  # the chunk files make no epochs of their own
    assert published[0].pdq_chunk_public_key == first.pdq_chunk_public_key
    assert keys.seed(holder, 2, KeyFamily.PDQ_CHUNK) != keys.seed(holder, 2)
    chunk_file.chmod(0o640)
    with pytest.raises(Exception, match="chmod 600"):
        keys.seed(holder, 1, KeyFamily.PDQ_CHUNK)


def test_chunk_evaluations_have_their_own_budget_and_audit(
    session: Session, holder: Settings
) -> None:
    service.init_key(session, system_caller(), holder)
    node = uuid.uuid4()
    inputs = pdq.chunk_inputs(HASHES, 1)  # 32 chunks of a budget of 40
    service.evaluate(
        session,
        node,
        1,
        blinding.blind(inputs).elements,
        settings=holder,
        family=KeyFamily.PDQ_CHUNK,
    )
    with pytest.raises(RateLimited, match="has had 32 of its 40 PDQ chunks this hour"):
        service.evaluate(
            session,
            node,
            1,
            blinding.blind(inputs[:16]).elements,
            settings=holder,
            family=KeyFamily.PDQ_CHUNK,
        )
    # the exact-match budget is untouched by chunks
    assert service.budget_used(session, node) == 0
    service.evaluate(session, node, 1, blinding.blind([b"x"] * 16).elements, settings=holder)
    details = [
        (e.outcome, e.detail["key"], e.detail["count"])
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == EVALUATE_ACTION).order_by(AuditEntry.seq)
        )
    ]
    assert details == [("ok", "pdq-chunk", 32), ("refused", "pdq-chunk", 16), ("ok", "exact", 16)]


def test_a_peer_asks_for_chunk_evaluations_and_pins_the_chunk_key(
    app: object,
    session: Session,
    holder: Settings,
    peer: OtherNode,
    here: uuid.UUID,
    tmp_path: Path,
) -> None:
    service.init_key(session, system_caller(), holder)
    app.state.settings = holder  # type: ignore[attr-defined]
    session.commit()
    seed = peer.key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    (tmp_path / "node-b").mkdir()
    node_b = holder.model_copy(
        update={
            "data_dir": tmp_path / "node-b",
            "federation_key_holder": False,
            "node_signing_key": base64.b64encode(seed).decode(),
        }
    )
    target = Target(node_id=peer.id, peer_id=here, name="Node A", url=HERE)
    sent: list[bytes] = []
    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]

        def forward(request: httpx.Request) -> httpx.Response:
            sent.append(request.content)
            answer = client.request(
                request.method,
                request.url.raw_path.decode(),
                content=request.content,
                headers=dict(request.headers),
            )
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )

        mock = httpx.MockTransport(forward)
        epoch, made = tokens.tokenise_pdq(node_b, target, HASHES, transport=mock)
        assert epoch == 1
        assert made == pdq.tokens_for_key_holder(
            keys.seed(holder, 1, KeyFamily.PDQ_CHUNK), HASHES, 1
        )
        pins = json.loads(tokens.pins_file(node_b).read_text())[str(here)]
        assert set(pins) == {"1", "pdq-chunk/1"}

        # a bad key family is named; an exact request (no "key") is unchanged
        body = json.dumps({"epoch": 1, "blinded": ["AA=="], "key": "pdq"}).encode()
        bad = client.post(EVALUATE, content=body, headers=_signed(peer, EVALUATE, body))
        assert (bad.status_code, bad.json()["field"]) == (422, "key")

        # past the chunk budget (40; 32 used): 429 with the reason
        with pytest.raises(transport.PeerUnreachable, match="PDQ chunks this hour"):
            tokens.tokenise_pdq(node_b, target, HASHES[:1], transport=mock)

        # a swapped chunk key within its epoch is refused
        stored: dict[str, Any] = json.loads(tokens.pins_file(node_b).read_text())
        stored[str(here)]["pdq-chunk/1"] = "00" * 32
        tokens.pins_file(node_b).write_text(json.dumps(stored))
        with pytest.raises(transport.PeerUnreachable, match="pdq-chunk OPRF key of epoch 1"):
            tokens.tokenise_pdq(node_b, target, HASHES, transport=mock)

    wire = b"".join(sent)
    assert b'"key":"pdq-chunk"' in wire.replace(b" ", b"")
    for value in HASHES:  # no hash, and no chunk of one, crossed the wire
        assert value.encode() not in wire
        assert value[:4].encode() + b'"' not in wire
