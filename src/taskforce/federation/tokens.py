"""A node's side of the blinded tokens: its selectors tokenised by the key holder, a peer, over
signed requests (`/federation/v1/oprf/*`), the key holder's public keys pinned.

The first time this node sees an epoch's public key it writes it to
`federation/oprf-pins.json` in its data folder; a key that later differs for that epoch is
refused (`PeerUnreachable`, naming the epoch), so a key holder cannot quietly swap the key it
proves against, e.g. to give one node tokens nobody else's match. Like `directory.py` this
module keeps no transaction open: the caller reads the `Target` first and stores the tokens
after.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from taskforce.cases.selectors import NormalisedSelector
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.federation import blinding, transport
from taskforce.federation.peering import Target
from taskforce.federation.schemas import OprfEvaluated, OprfKey, encode

KEYS_PATH = "/federation/v1/oprf/keys"
EVALUATE_PATH = "/federation/v1/oprf/evaluate"


def pins_file(settings: Settings) -> Path:
    return settings.data_dir / "federation" / "oprf-pins.json"


def published_keys(http: httpx.Client, target: Target, settings: Settings) -> dict[int, bytes]:
    """The key holder's public key per epoch, each checked against (or added to) the pins."""
    data = transport.get_json(http, KEYS_PATH, peer=target.name)
    try:
        listed = [OprfKey.model_validate(item) for item in data]
        found = {k.epoch: base64.b64decode(k.public_key, validate=True) for k in listed}
    except (ValidationError, TypeError, binascii.Error, ValueError):
        raise transport.PeerUnreachable(f"{target.name} sent malformed OPRF keys") from None
    if not found or any(len(k) != blinding.ELEMENT_BYTES for k in found.values()):
        raise transport.PeerUnreachable(f"{target.name} sent no usable OPRF key")
    _pin(settings, target, found)
    return found


def evaluator(http: httpx.Client, target: Target) -> blinding.Evaluate:
    """The key holder's evaluation as a function of (epoch, blinded elements)."""

    def evaluate(epoch: int, elements: list[bytes]) -> tuple[list[bytes], bytes]:
        body = {"epoch": epoch, "blinded": [encode(e) for e in elements]}
        data = transport.post_json(http, EVALUATE_PATH, body, peer=target.name)
        try:
            answer = OprfEvaluated.model_validate(data)
            evaluated = [base64.b64decode(e, validate=True) for e in answer.evaluated]
            proof = base64.b64decode(answer.proof, validate=True)
        except (ValidationError, binascii.Error, ValueError):
            raise transport.PeerUnreachable(
                f"{target.name} sent a malformed OPRF evaluation"
            ) from None
        if answer.epoch != epoch:
            raise transport.PeerUnreachable(f"{target.name} evaluated under another epoch")
        return evaluated, proof

    return evaluate


def tokenise(
    settings: Settings,
    target: Target,
    selectors: Sequence[NormalisedSelector],
    *,
    epoch: int | None = None,
    batch: int = 1_000,
    **options: Any,
) -> tuple[int, list[bytes]]:
    """Tokens of this node's selectors under `epoch` (default: the key holder's current one),
    every batch's proof checked against the pinned key. The key holder sees blinded elements
    and their number only."""
    with transport.client(settings, target.node_id, target.url, **options) as http:
        keys = published_keys(http, target, settings)
        chosen = max(keys) if epoch is None else epoch
        if chosen not in keys:
            raise Invalid("epoch", f"{target.name} holds no OPRF key of epoch {chosen}")
        try:
            tokens = blinding.tokenise(
                selectors, chosen, keys[chosen], evaluator(http, target), batch=batch
            )
        except Invalid as refused:
            if refused.field not in ("proof", "evaluated"):
                raise
            raise transport.PeerUnreachable(
                f"{target.name}'s evaluation did not verify against its epoch {chosen} key "
                f"({refused.rule})"
            ) from None
    return chosen, tokens


def _pin(settings: Settings, target: Target, found: dict[int, bytes]) -> None:
    path = pins_file(settings)
    try:
        pins: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        raise Invalid("oprf_pins", f"{path} is not readable JSON; restore or remove it") from None
    held = pins.setdefault(str(target.peer_id), {})
    for epoch, key in sorted(found.items()):
        pinned = held.get(str(epoch))
        if pinned is not None and pinned != key.hex():
            raise transport.PeerUnreachable(
                f"{target.name}'s OPRF key of epoch {epoch} is not the one pinned in {path}: "
                "refused (a key changes only with a new epoch)"
            )
        held[str(epoch)] = key.hex()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)
