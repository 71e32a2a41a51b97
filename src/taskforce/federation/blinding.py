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
from typing import Any, TypeVar

from voprf import ristretto

from taskforce.cases.selectors import NormalisedSelector, SelectorKind
from taskforce.core.errors import Invalid

DOMAIN = b"taskforce/v1"
"""Prefix of every OPRF input and of the key derivation's info: a token of this protocol
version never equals a token of another use of the same key."""

EXACT_KINDS: frozenset[SelectorKind] = frozenset(SelectorKind) - {SelectorKind.PDQ}
"""The types that match only when equal, so that one token per value is enough. PDQ matches
by distance; its candidate step is a later design (docs/federation.md, "PDQ")."""

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


def key_info(epoch: int) -> bytes:
    """The `info` of RFC 9497 DeriveKeyPair for one epoch: one seed per epoch, and a seed
    copied into another epoch would still give another key."""
    _check_epoch(epoch)
    return DOMAIN + b"|oprf-key|" + str(epoch).encode()


def public_key(seed: bytes, epoch: int) -> bytes:
    """The key holder's published public key of an epoch (32 bytes)."""
    return bytes(_evaluator(seed, epoch).public_key.serialize())


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


def evaluate(seed: bytes, epoch: int, elements: Sequence[bytes]) -> tuple[list[bytes], bytes]:
    """The key holder's BlindEvaluate of a batch: the evaluated elements, in order, and one
    DLEQ proof that all of them were made with the epoch's key."""
    if not elements:
        raise Invalid("blinded", "at least one blinded element")
    if len(elements) > MAX_BATCH:
        raise Invalid("blinded", f"at most {MAX_BATCH} blinded elements in one batch")
    parsed = [_element(i, element) for i, element in enumerate(elements)]
    evaluator = _evaluator(seed, epoch)
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
    tokens: list[bytes] = []
    for start in range(0, len(selectors), batch):
        part = selectors[start : start + batch]
        blinding = blind([token_input(s, epoch) for s in part])
        evaluated, proof = evaluate_batch(epoch, blinding.elements)
        tokens.extend(finalise(blinding, evaluated, proof, public))
    return tokens


def token_for_key_holder(seed: bytes, selector: NormalisedSelector, epoch: int) -> bytes:
    """RFC 9497 Evaluate: the token computed directly with the key, by the key holder only
    (its own selectors, and tests that check the blinded path gives the same token)."""
    data = token_input(selector, epoch)
    evaluator = _evaluator(seed, epoch)
    return bytes(
        _guard("value", "at most 65,535 bytes", lambda: evaluator.evaluate_known_input(data))
    )


# --- helpers ---------------------------------------------------------------------------------


def _check_epoch(epoch: int) -> None:
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch < 1_000_000:
        raise Invalid("epoch", "a whole number from 1 to 999999")


def _evaluator(seed: bytes, epoch: int) -> Any:
    if len(seed) != SEED_BYTES:
        raise Invalid("key", f"a seed of {SEED_BYTES} bytes")
    return ristretto.Evaluator.from_seed(seed, key_info(epoch))


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
