"""A node's side of the blinded tokens: its selectors (and the chunks of its PDQ hashes)
tokenised by the key holder, a peer, over signed requests (`/federation/v1/oprf/*`), the key
holder's public keys pinned.

The first time this node sees an epoch's public key (either family) it writes it to
`federation/oprf-pins.json` in its data folder (the exact key as `"<epoch>"`, the PDQ-chunk
key as `"pdq-chunk/<epoch>"`); a key that later differs for that epoch is refused
(`PeerUnreachable`, naming the epoch), so a key holder cannot quietly swap the key it proves
against, e.g. to give one node tokens nobody else's match. Like `directory.py` this
module keeps no transaction open: the caller reads the `Target` first and stores the tokens
after.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from pydantic import ValidationError

from taskforce.cases.selectors import NormalisedSelector
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.federation import blinding, pdq, transport
from taskforce.federation.blinding import KeyFamily
from taskforce.federation.peering import Target
from taskforce.federation.schemas import OprfEvaluated, OprfKey, encode

KEYS_PATH = "/federation/v1/oprf/keys"
EVALUATE_PATH = "/federation/v1/oprf/evaluate"


def pins_file(settings: Settings) -> Path:
    return settings.data_dir / "federation" / "oprf-pins.json"


def published_keys(
    http: httpx.Client,
    target: Target,
    settings: Settings,
    family: KeyFamily = KeyFamily.EXACT,
) -> dict[int, bytes]:
    """The key holder's public key of `family` per epoch; every key of both families is
    checked against (or added to) the pins."""
    data = transport.get_json(http, KEYS_PATH, peer=target.name)
    try:
        listed = [OprfKey.model_validate(item) for item in data]
        found = {k.epoch: base64.b64decode(k.public_key, validate=True) for k in listed}
        chunk = {
            k.epoch: base64.b64decode(k.pdq_chunk_public_key, validate=True)
            for k in listed
            if k.pdq_chunk_public_key is not None
        }
    except (ValidationError, TypeError, binascii.Error, ValueError):
        raise transport.PeerUnreachable(f"{target.name} sent malformed OPRF keys") from None
    every = [*found.values(), *chunk.values()]
    if not found or any(len(k) != blinding.ELEMENT_BYTES for k in every):
        raise transport.PeerUnreachable(f"{target.name} sent no usable OPRF key")
    pins = {str(epoch): key for epoch, key in found.items()}
    pins.update({f"{KeyFamily.PDQ_CHUNK.value}/{epoch}": key for epoch, key in chunk.items()})
    _pin(settings, target, pins)
    return found if family is KeyFamily.EXACT else chunk


def evaluator(
    http: httpx.Client, target: Target, family: KeyFamily = KeyFamily.EXACT
) -> blinding.Evaluate:
    """The key holder's evaluation under one key family as a function of (epoch, blinded
    elements)."""

    def evaluate(epoch: int, elements: list[bytes]) -> tuple[list[bytes], bytes]:
        body: dict[str, Any] = {"epoch": epoch, "blinded": [encode(e) for e in elements]}
        if family is not KeyFamily.EXACT:
            body["key"] = family.value  # an exact request stays as it was
        data = transport.post_json(http, EVALUATE_PATH, body, peer=target.name)
        try:
            answer = OprfEvaluated.model_validate(data)
            evaluated = [base64.b64decode(e, validate=True) for e in answer.evaluated]
            proof = base64.b64decode(answer.proof, validate=True)
        except (ValidationError, binascii.Error, ValueError):
            raise transport.PeerUnreachable(
                f"{target.name} sent a malformed OPRF evaluation"
            ) from None
        if answer.epoch != epoch or answer.key is not family:
            raise transport.PeerUnreachable(f"{target.name} evaluated under another key")
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


def tokenise_pdq(
    settings: Settings,
    target: Target,
    hashes: Sequence[str],
    *,
    epoch: int | None = None,
    batch: int = 1_008,
    **options: Any,
) -> tuple[int, list[list[bytes]]]:
    """The 16 chunk tokens of each of this node's PDQ hashes under the key holder's PDQ-chunk
    key of `epoch` (default: the current one), every batch's proof checked against the pinned
    key. Each hash costs 16 of this node's hourly chunk budget at the key holder."""
    with transport.client(settings, target.node_id, target.url, **options) as http:
        keys = published_keys(http, target, settings, KeyFamily.PDQ_CHUNK)
        chosen = max(keys, default=0) if epoch is None else epoch
        if chosen not in keys:
            held = f"of epoch {chosen}" if chosen else "(rotate its key to make one)"
            raise Invalid("epoch", f"{target.name} holds no PDQ-chunk OPRF key {held}")
        try:
            made = pdq.tokenise(
                hashes,
                chosen,
                keys[chosen],
                evaluator(http, target, KeyFamily.PDQ_CHUNK),
                batch=batch,
            )
        except Invalid as refused:
            if refused.field not in ("proof", "evaluated"):
                raise
            raise transport.PeerUnreachable(
                f"{target.name}'s evaluation did not verify against its epoch {chosen} "
                f"PDQ-chunk key ({refused.rule})"
            ) from None
    return chosen, made


def _pin(settings: Settings, target: Target, found: dict[str, bytes]) -> None:
    path = pins_file(settings)
    try:
        pins: dict[str, dict[str, str]] = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        raise Invalid("oprf_pins", f"{path} is not readable JSON; restore or remove it") from None
    held = pins.setdefault(str(target.peer_id), {})
    for name, key in sorted(found.items()):
        pinned = held.get(name)
        if pinned is not None and pinned != key.hex():
            family, _, epoch = name.rpartition("/")
            which = f"{family} OPRF key" if family else "OPRF key"
            raise transport.PeerUnreachable(
                f"{target.name}'s {which} of epoch {epoch} is not the one pinned in {path}: "
                "refused (a key changes only with a new epoch)"
            )
        held[name] = key.hex()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(pins, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)


def pinned_epochs(settings: Settings, peer_id: uuid.UUID) -> dict[str, list[int]]:
    """The epochs of the key holder's keys this node has pinned, per key family ("exact",
    "pdq-chunk"), for the Network page; an unreadable pins file reads as none (the next call
    to the key holder names it)."""
    try:
        path = pins_file(settings)
        pins = json.loads(path.read_text()) if path.exists() else {}
        held = pins.get(str(peer_id), {})
        names = list(held) if isinstance(held, dict) else []
    except (OSError, ValueError, AttributeError):
        return {}
    epochs: dict[str, list[int]] = {}
    for name in names:
        family, _, epoch = str(name).rpartition("/")
        if epoch.isdigit():
            epochs.setdefault(family or KeyFamily.EXACT.value, []).append(int(epoch))
    return {family: sorted(found) for family, found in sorted(epochs.items())}
