"""`/federation/v1/oprf/*` on the key holder: a peer tokenises its selectors through signed
requests that carry only blinded elements; the budget answers 429 with its reason."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
from node_builders import OtherNode
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from taskforce.cases.selectors import normalise
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.federation import blinding, httpsig, keys, service
from taskforce.federation.service import EVALUATE_ACTION

HERE = "http://node-a.example.org"
EVALUATE = "/federation/v1/oprf/evaluate"


def _signed(node: OtherNode, path: str, body: bytes | None = None) -> dict[str, str]:
    method = "GET" if body is None else "POST"
    request = httpx.Request(method, f"{HERE}{path}", content=body or b"")
    httpsig.sign(request, key_id=str(node.id), private=node.key, lifetime=timedelta(seconds=60))
    return dict(request.headers)


def _ask(client: TestClient, node: OtherNode, epoch: int, elements: list[bytes]) -> Any:
    body = json.dumps(
        {"epoch": epoch, "blinded": [base64.b64encode(e).decode() for e in elements]}
    ).encode()
    return client.post(EVALUATE, content=body, headers=_signed(node, EVALUATE, body))


def test_a_peer_tokenises_through_signed_requests_that_carry_no_value(
    app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    holder = node_settings.model_copy(
        update={"federation_key_holder": True, "federation_oprf_values_per_hour": 4}
    )
    service.init_key(session, system_caller(), holder)
    app.state.settings = holder  # type: ignore[attr-defined]
    session.commit()  # the fixture's rows, seen by the app's own sessions (a savepoint)
    selectors = [normalise("email", "Alice@Example.com"), normalise("ip", "203.0.113.9")]
    blinded = blinding.blind([blinding.token_input(s, 1) for s in selectors])

    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        published = client.get(
            "/federation/v1/oprf/keys", headers=_signed(peer, "/federation/v1/oprf/keys")
        )
        assert published.status_code == 200, published.text
        (key,) = published.json()
        assert (key["epoch"], key["current"]) == (1, True)

        answer = _ask(client, peer, 1, blinded.elements)
        assert answer.status_code == 200, answer.text
        evaluated = [base64.b64decode(e) for e in answer.json()["evaluated"]]
        proof = base64.b64decode(answer.json()["proof"])
        tokens = blinding.finalise(blinded, evaluated, proof, base64.b64decode(key["public_key"]))
        seed = keys.seed(holder, 1)
        assert tokens == [blinding.token_for_key_holder(seed, s, 1) for s in selectors]

        # past the budget (2 of 4 used): 429 with the reason; bad input: 422 naming the field
        over = _ask(client, peer, 1, blinding.blind([b"a", b"b", b"c"]).elements)
        assert over.status_code == 429
        assert "has had 2 of its 4 values this hour evaluated" in over.json()["message"]
        bad = _ask(client, peer, 1, [b"\x00" * 31])
        assert (bad.status_code, bad.json()["field"]) == (422, "blinded[0]")
        unknown = _ask(client, peer, 7, blinded.elements)
        assert (unknown.status_code, unknown.json()["field"]) == (422, "epoch")
        unsigned = client.post(EVALUATE, json={"epoch": 1, "blinded": ["AA=="]})
        assert unsigned.status_code == 401

    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.action == EVALUATE_ACTION).order_by(AuditEntry.seq)
    ).all()
    assert [(e.outcome, e.detail["count"]) for e in rows][:2] == [("ok", 2), ("refused", 3)]
    assert {e.subject_id for e in rows} == {peer.id}
    assert rows[0].actor_label == "node Node B"
    # no value, and no element, is anywhere in what the key holder logged
    logged = json.dumps([e.detail for e in rows])
    for text in (
        "alice@example.com",
        "203.0.113.9",
        *(base64.b64encode(e).decode() for e in blinded.elements),
    ):
        assert text not in logged


def test_a_node_that_is_not_the_key_holder_refuses_evaluations(
    app: object, session: Session, node_settings: Settings, peer: OtherNode
) -> None:
    app.state.settings = node_settings  # type: ignore[attr-defined]
    session.commit()
    with TestClient(app, base_url=HERE) as client:  # type: ignore[arg-type]
        answer = _ask(client, peer, 1, blinding.blind([b"x"]).elements)
        assert answer.status_code == 403
        assert "not the network's OPRF key holder" in answer.json()["message"]
