"""Blinded tokens: the package against RFC 9497's vectors, and the properties the federation
relies on (docs/federation.md, "What the tests hold")."""

from __future__ import annotations

import pytest
from voprf import ristretto

from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core.errors import Invalid
from taskforce.federation import blinding

# RFC 9497 appendix A.1.2: VOPRF mode, ristretto255-SHA512
RFC_SEED = bytes([0xA3]) * 32
RFC_INFO = b"test key"
RFC_PK = "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e"
RFC_OUTPUTS = {
    "00": "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7d"
    "a4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
    "5a" * 17: "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60"
    "356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
}
# A.1.2.3 (batch of two): the blinded elements and the evaluated elements BlindEvaluate must give
RFC_BATCH = {
    "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945": (
        "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e"
    ),
    "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654": (
        "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a"
    ),
}

SEED = bytes(range(32))


def _key_holder(seed: bytes = SEED) -> blinding.Evaluate:
    return lambda epoch, elements: blinding.evaluate(seed, epoch, elements)


def test_the_package_reproduces_rfc_9497_a_1_2() -> None:
    evaluator = ristretto.Evaluator.from_seed(RFC_SEED, RFC_INFO)
    assert evaluator.public_key.serialize().hex() == RFC_PK
    for given, output in RFC_OUTPUTS.items():
        assert evaluator.evaluate_known_input(bytes.fromhex(given)).hex() == output
    elements = [ristretto.BlindedInput.deserialize(bytes.fromhex(b)) for b in RFC_BATCH]
    raw = evaluator.evaluate_batch(elements).serialize()
    evaluated = raw[blinding.PROOF_BYTES :]  # the layout blinding.evaluate relies on
    assert evaluated.hex() == "".join(RFC_BATCH.values())


def test_the_blinded_round_trip_gives_the_rfc_output_of_the_key() -> None:
    """blind → evaluate (with proof) → verify → finalise is RFC 9497 Evaluate of the input."""
    selector = normalise("email", "Foo.Bar@Example.COM")
    public = blinding.public_key(SEED, 3)
    (token,) = blinding.tokenise([selector], 3, public, _key_holder())
    assert token == blinding.token_for_key_holder(SEED, selector, 3)
    assert len(token) == 64


def test_two_spellings_of_one_value_meet_and_the_type_and_epoch_separate() -> None:
    public = blinding.public_key(SEED, 1)
    a, b = blinding.tokenise(
        [normalise("email", "Foo.Bar@Example.COM"), normalise("email", " foo.bar@example.com")],
        1,
        public,
        _key_holder(),
    )
    assert a == b
    # the same text as two types, and one value under two epochs, never collide
    as_username = normalise("username", "example.com", platform="kik")
    as_domain = normalise("domain", "example.com")
    assert blinding.token_input(as_domain, 1) != blinding.token_input(as_username, 1)
    assert blinding.token_for_key_holder(SEED, as_domain, 1) != blinding.token_for_key_holder(
        SEED, normalise("url", "example.com"), 1
    )
    assert blinding.token_for_key_holder(SEED, as_domain, 1) != blinding.token_for_key_holder(
        SEED, as_domain, 2
    )


def test_the_key_holder_sees_nothing_of_the_value() -> None:
    """Two blindings of one value are unrelated elements, and neither contains the value:
    the key holder cannot tell repeats apart, let alone read them."""
    data = blinding.token_input(normalise("ip", "203.0.113.7"), 1)
    first, second = blinding.blind([data]), blinding.blind([data])
    assert first.elements != second.elements
    assert all(b"203.0.113.7" not in e for e in first.elements + second.elements)


def test_a_token_cannot_be_made_without_the_key() -> None:
    """A peer with tokens and a candidate value cannot test it offline: another key (any seed
    but the network's) gives another token, and a forged proof is refused."""
    selector = normalise("phone", "+44 20 7946 0958")
    real = blinding.token_for_key_holder(SEED, selector, 1)
    assert blinding.token_for_key_holder(bytes(32), selector, 1) != real
    blinded = blinding.blind([blinding.token_input(selector, 1)])
    evaluated, proof = blinding.evaluate(bytes([7]) * 32, 1, blinded.elements)
    with pytest.raises(Invalid) as refused:  # a key holder using a key it did not publish
        blinding.finalise(blinded, evaluated, proof, blinding.public_key(SEED, 1))
    assert refused.value.field == "proof"


def test_an_altered_or_reordered_batch_is_refused_whole() -> None:
    public = blinding.public_key(SEED, 1)
    blinded = blinding.blind([b"taskforce/v1|1|md5|a", b"taskforce/v1|1|md5|b"])
    evaluated, proof = blinding.evaluate(SEED, 1, blinded.elements)
    with pytest.raises(Invalid):
        blinding.finalise(blinded, evaluated[::-1], proof, public)
    with pytest.raises(Invalid):
        blinding.finalise(blinded, evaluated[:1], proof, public)
    with pytest.raises(Invalid):
        blinding.finalise(blinded, evaluated, proof, blinding.public_key(SEED, 2))
    assert len(blinding.finalise(blinded, evaluated, proof, public)) == 2


@pytest.mark.parametrize(
    ("element", "field"),
    [(bytes(32), "blinded[0]"), (b"\xff" * 32, "blinded[0]"), (b"short", "blinded[0]")],
)
def test_the_key_holder_refuses_what_is_not_a_group_element(element: bytes, field: str) -> None:
    """The identity and non-canonical encodings are refused (RFC 9497 section 3.3.1)."""
    with pytest.raises(Invalid) as refused:
        blinding.evaluate(SEED, 1, [element])
    assert refused.value.field == field


def test_only_exact_match_types_are_blinded() -> None:
    assert SelectorKind.PDQ not in blinding.EXACT_KINDS
    assert SelectorKind.IMEI in blinding.EXACT_KINDS
    with pytest.raises(Invalid) as refused:
        blinding.token_input(normalise("pdq", "f" * 64), 1)
    assert refused.value.field == "type"
    with pytest.raises(Invalid):
        blinding.token_input(normalise("md5", "a" * 32), 0)
