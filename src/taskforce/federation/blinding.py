"""Blinded tokens of exact-match selectors: RFC 9497 VOPRF over ristretto255-SHA512.

A RED identifier leaves its node only as a token, `Finalize(x, k)` of the OPRF under the
network key `k` of one key epoch, where `x` binds the value to its selector type and that epoch
(`token_input`). The node that owns the value blinds it (`blind`), the key holder evaluates the
blinded elements without seeing them and proves with one DLEQ proof per batch that it used the
key it published for the epoch (`evaluate`), and the owner checks the proof and unblinds
(`finalise`). Nobody can compute a token without an online evaluation by the key holder, so a
peer holding tokens cannot test candidate values offline. docs/federation.md has the protocol,
why VOPRF and not POPRF, and the threat model.

The `voprf` package (a Rust wheel) does the group work; this module is pure: no database, no
files, no clock. Its failures come back as `Invalid`, never as the package's panic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, TypeVar

from voprf import ristretto

from taskforce.cases.selectors import NormalisedSelector, SelectorKind
from taskforce.core.errors import Invalid

DOMAIN = b"taskforce/v1"
"""Prefix of every OPRF input and of the key derivation's info: a token of this protocol
version never equals a token of another use of the same key."""

EXACT_KINDS: frozenset[SelectorKind] = frozenset(SelectorKind) - {SelectorKind.PDQ}
"""The types that match only when equal, so that one token per value is enough. PDQ matches
by distance: its chunks are tokenised under a key of their own (`pdq.py`)."""


class KeyFamily(StrEnum):
    """The key holder's two keys per epoch. The chunks of PDQ hashes have a key (and a budget)
    of their own: a chunk has only 2^16 values, so a peer could read chunks by evaluating all of
    them; a separate key lets the key holder ration chunk evaluations without learning the type
    of any exact-match value (docs/federation.md, "PDQ candidates")."""

    EXACT = "exact"
    PDQ_CHUNK = "pdq-chunk"


ELEMENT_BYTES = 32
PROOF_BYTES = 64
MAX_BATCH = 10_000
"""Blinded elements in one evaluation (the package's limit is 65,535): a batch of 10,000 is
320 kB each way and about 2.5 s of the key holder's time."""
SEED_BYTES = 32

_T = TypeVar("_T")


def token_input(selector: NormalisedSelector, epoch: int) -> bytes:
    """The OPRF input of one selector: `taskforce/v1|<epoch>|<type>|<match key>`.

    The type and epoch are inside the input, so the same text as two types (a username and a
    domain) or under two epochs gives unrelated tokens; the match key is the normaliser's
    (cases/selectors.py), so two spellings that match at home match across nodes."""
    if selector.kind not in EXACT_KINDS:
        raise Invalid("type", "only exact-match selector types are blinded (not pdq)")
    _check_epoch(epoch)
    return b"|".join(
        [DOMAIN, str(epoch).encode(), selector.kind.value.encode(), selector.key.encode()]
    )


def key_info(epoch: int, family: KeyFamily = KeyFamily.EXACT) -> bytes:
    """The `info` of RFC 9497 DeriveKeyPair for one epoch and key family: one seed per epoch
    and family, and a seed copied into another epoch or family would still give another key."""
    _check_epoch(epoch)
    if family is KeyFamily.EXACT:
        return DOMAIN + b"|oprf-key|" + str(epoch).encode()
    return DOMAIN + b"|oprf-key|" + family.value.encode() + b"|" + str(epoch).encode()


def public_key(seed: bytes, epoch: int, family: KeyFamily = KeyFamily.EXACT) -> bytes:
    """The key holder's published public key of an epoch and family (32 bytes)."""
    return bytes(_evaluator(seed, epoch, family).public_key.serialize())


@dataclass(frozen=True)
class Blinding:
    """The client's side of one batch: the blinded elements to send, and the blinds to keep
    (never sent; they are what makes the elements unreadable to the key holder)."""

    elements: list[bytes]
    _clients: list[Any]

    def __len__(self) -> int:
        return len(self.elements)


def blind(inputs: Sequence[bytes]) -> Blinding:
    """Blind a batch of OPRF inputs with fresh random scalars."""
    if not inputs:
        raise Invalid("inputs", "at least one value to blind")
    if len(inputs) > MAX_BATCH:
        raise Invalid("inputs", f"at most {MAX_BATCH} values in one batch")
    if any(not 0 < len(item) < 0xFFFF for item in inputs):
        raise Invalid("inputs", "each value non-empty and shorter than 65,535 bytes")
    pairs = [ristretto.Client.blind(item) for item in inputs]
    return Blinding([element.serialize() for _, element in pairs], [c for c, _ in pairs])


def evaluate(
    seed: bytes,
    epoch: int,
    elements: Sequence[bytes],
    family: KeyFamily = KeyFamily.EXACT,
) -> tuple[list[bytes], bytes]:
    """The key holder's BlindEvaluate of a batch: the evaluated elements, in order, and one
    DLEQ proof that all of them were made with the epoch's key of `family`."""
    if not elements:
        raise Invalid("blinded", "at least one blinded element")
    if len(elements) > MAX_BATCH:
        raise Invalid("blinded", f"at most {MAX_BATCH} blinded elements in one batch")
    parsed = [_element(i, element) for i, element in enumerate(elements)]
    evaluator = _evaluator(seed, epoch, family)
    output = _guard(
        "blinded", "valid ristretto255 elements", lambda: evaluator.evaluate_batch(parsed)
    )
    raw = output.serialize()  # the proof (c, s), then the evaluated elements in order
    proof, body = raw[:PROOF_BYTES], raw[PROOF_BYTES:]
    evaluated = [body[i : i + ELEMENT_BYTES] for i in range(0, len(body), ELEMENT_BYTES)]
    return evaluated, proof


def finalise(
    blinding: Blinding, evaluated: Sequence[bytes], proof: bytes, public: bytes
) -> list[bytes]:
    """Check the key holder's proof against its published key and unblind: the tokens (64
    bytes each), in the order of the inputs. A wrong proof, a wrong key, a reordered or
    altered element is refused as a whole: no token of the batch is kept."""
    if len(evaluated) != len(blinding):
        raise Invalid("evaluated", f"expected {len(blinding)} evaluated elements")
    if len(proof) != PROOF_BYTES or any(len(e) != ELEMENT_BYTES for e in evaluated):
        raise Invalid("evaluated", "elements of 32 bytes and a proof of 64 bytes")
    key = _guard(
        "public_key", "a ristretto255 public key", lambda: ristretto.PublicKey.deserialize(public)
    )
    output = _guard(
        "evaluated",
        "valid ristretto255 elements",
        lambda: ristretto.VerifiableBatchOutput.deserialize(proof + b"".join(evaluated)),
    )
    tokens = _guard(
        "proof",
        "must prove the evaluation under the key holder's published key",
        lambda: ristretto.Client.finalize_batch(blinding._clients, output, key),
    )
    return [bytes(token) for token in tokens]


Evaluate = Callable[[int, list[bytes]], tuple[list[bytes], bytes]]
"""(epoch, blinded elements) -> (evaluated elements, proof): the key holder, local or remote."""


def tokenise(
    selectors: Sequence[NormalisedSelector],
    epoch: int,
    public: bytes,
    evaluate_batch: Evaluate,
    *,
    batch: int = 1_000,
) -> list[bytes]:
    """Tokens of many selectors, end to end in batches: blind, have them evaluated, verify,
    unblind. The key holder sees only the blinded elements and their number."""
    return tokenise_inputs(
        [token_input(s, epoch) for s in selectors], epoch, public, evaluate_batch, batch=batch
    )


def tokenise_inputs(
    inputs: Sequence[bytes],
    epoch: int,
    public: bytes,
    evaluate_batch: Evaluate,
    *,
    batch: int = 1_000,
) -> list[bytes]:
    """Tokens of ready-made OPRF inputs (`token_input`, `pdq.chunk_inputs`), in batches."""
    tokens: list[bytes] = []
    for start in range(0, len(inputs), batch):
        blinding = blind(inputs[start : start + batch])
        evaluated, proof = evaluate_batch(epoch, blinding.elements)
        tokens.extend(finalise(blinding, evaluated, proof, public))
    return tokens


def token_for_key_holder(seed: bytes, selector: NormalisedSelector, epoch: int) -> bytes:
    """RFC 9497 Evaluate: the token computed directly with the key, by the key holder only
    (its own selectors, and tests that check the blinded path gives the same token)."""
    return tokens_for_key_holder(seed, [token_input(selector, epoch)], epoch)[0]


def tokens_for_key_holder(
    seed: bytes, inputs: Sequence[bytes], epoch: int, family: KeyFamily = KeyFamily.EXACT
) -> list[bytes]:
    """RFC 9497 Evaluate of ready-made inputs with the key of `family` (the key holder's own
    values: it needs no blinding against itself)."""
    evaluator = _evaluator(seed, epoch, family)
    return [
        bytes(_guard("value", "at most 65,535 bytes", partial(evaluator.evaluate_known_input, d)))
        for d in inputs
    ]


# --- helpers ---------------------------------------------------------------------------------


def _check_epoch(epoch: int) -> None:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch < 1_000_000:
        raise Invalid("epoch", "a whole number from 1 to 999999")


def _evaluator(seed: bytes, epoch: int, family: KeyFamily = KeyFamily.EXACT) -> Any:
    if len(seed) != SEED_BYTES:
        raise Invalid("key", f"a seed of {SEED_BYTES} bytes")
    return ristretto.Evaluator.from_seed(seed, key_info(epoch, family))


def _element(index: int, element: bytes) -> Any:
    if not isinstance(element, bytes) or len(element) != ELEMENT_BYTES:
        raise Invalid(f"blinded[{index}]", f"a ristretto255 element of {ELEMENT_BYTES} bytes")
    return _guard(
        f"blinded[{index}]",
        "a ristretto255 element",
        lambda: ristretto.BlindedInput.deserialize(element),
    )


def _guard(field: str, rule: str, call: Callable[[], _T]) -> _T:
    """Run one call into the package: its errors, and the Rust panics it raises for a failed
    proof (pyo3's PanicException, a BaseException), become `Invalid(field, rule)`."""
    try:
        return call()
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except Exception:
        raise Invalid(field, rule) from None
    except BaseException as error:
        if type(error).__name__ != "PanicException":
            raise
        raise Invalid(field, rule) from None
