"""PDQ hashes cut into 16 chunks of 16 bits: hashes within distance 15 always share a chunk
(real PDQ hashes of the published vectors, and random pairs at the boundary); chunk tokens are
bound to their position, epoch and key family."""

from __future__ import annotations

import csv
import random
from itertools import combinations
from pathlib import Path

import pytest

from taskforce.cases.selectors import normalise
from taskforce.core.errors import Invalid
from taskforce.federation import blinding, pdq
from taskforce.federation.blinding import KeyFamily

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "pdq"  # Meta's, in the repository
SEED = bytes(range(32))


def _published_hashes() -> list[str]:
    with (VECTORS / "expected.csv").open() as stream:
        rows = {row["pdq_hex"] for row in csv.DictReader(stream)}
    haystack = (VECTORS / "hash-lists" / "haystack.txt").read_text().split()
    return sorted(rows | set(haystack[:300]))


def _shared(a: list[int], b: list[int]) -> int:
    return sum(x == y for x, y in zip(a, b, strict=True))


def test_published_hashes_within_15_always_share_a_chunk() -> None:
    hashes = _published_hashes()
    table = dict(zip(hashes, pdq.chunks(hashes), strict=True))
    near = 0
    for a, b in combinations(hashes, 2):
        d = pdq.distance(a, b)
        if d <= pdq.FOUND_FOR_SURE:
            near += 1
            assert _shared(table[a], table[b]) >= pdq.CHUNKS - d, (a, b, d)
    assert near >= 20  # the vectors hold real near-duplicates (the bridge, its re-encodings)


def test_random_pairs_at_the_boundary_share_a_chunk_and_beyond_need_not() -> None:
    rng = random.Random(14)
    for _ in range(300):
        base = rng.getrandbits(256)
        flips = rng.sample(range(256), pdq.FOUND_FOR_SURE)
        other = base
        for bit in flips:
            other ^= 1 << bit
        a, b = f"{base:064x}", f"{other:064x}"
        assert pdq.distance(a, b) == 15
        assert _shared(*pdq.chunks([a, b])) >= 1
    # at distance 16, one flipped bit in each chunk: no chunk agrees (why 15 is the guarantee)
    base = rng.getrandbits(256)
    other = base
    for chunk in range(pdq.CHUNKS):
        other ^= 1 << (chunk * 16 + rng.randrange(16))
    assert _shared(*pdq.chunks([f"{base:064x}", f"{other:064x}"])) == 0


def test_chunks_are_the_hash_read_sixteen_bits_at_a_time() -> None:
    value = "0123456789abcdef" * 4
    assert pdq.chunks([value])[0] == [int(value[i : i + 4], 16) for i in range(0, 64, 4)]
    inputs = pdq.chunk_inputs([value], 3)
    assert inputs[0] == b"taskforce/v1|3|pdq-chunk|0|0123"
    assert inputs[15] == b"taskforce/v1|3|pdq-chunk|15|cdef"
    with pytest.raises(Invalid) as refused:
        pdq.chunks([value, "ABC"])
    assert refused.value.field == "hashes[1]"


def test_chunk_tokens_are_bound_to_position_epoch_and_key_family() -> None:
    # chunk 0 of one hash equals chunk 1 of the other: same bits, other position
    a, b = "beef" + "0" * 60, "0000beef" + "0" * 56
    (ta,), (tb,) = pdq.tokens_for_key_holder(SEED, [a], 1), pdq.tokens_for_key_holder(SEED, [b], 1)
    assert ta[0] != tb[1]
    assert ta[2:] == tb[2:]  # equal chunks at equal positions: equal tokens (the candidate)
    (again,) = pdq.tokens_for_key_holder(SEED, [a], 2)
    assert not set(again) & set(ta)  # another epoch: nothing in common
    # the same inputs under the exact-match key give other tokens (the families are separate)
    exact = blinding.tokens_for_key_holder(SEED, pdq.chunk_inputs([a], 1), 1, KeyFamily.EXACT)
    assert not set(exact) & set(ta)
    # and an exact token of any selector is no chunk token
    md5 = blinding.token_for_key_holder(SEED, normalise("md5", "beef" + "0" * 28), 1)
    assert md5 not in ta
    assert blinding.public_key(SEED, 1) != blinding.public_key(SEED, 1, KeyFamily.PDQ_CHUNK)


def test_the_blinded_path_gives_the_key_holders_chunk_tokens() -> None:
    hashes = _published_hashes()[:3]
    public = blinding.public_key(SEED, 1, KeyFamily.PDQ_CHUNK)

    def evaluate(epoch: int, elements: list[bytes]) -> tuple[list[bytes], bytes]:
        return blinding.evaluate(SEED, epoch, elements, KeyFamily.PDQ_CHUNK)

    made = pdq.tokenise(hashes, 1, public, evaluate, batch=20)
    assert made == pdq.tokens_for_key_holder(SEED, hashes, 1)
    assert [len(t) for t in made] == [16, 16, 16]
    # an evaluation under the exact key does not verify against the chunk key: refused
    with pytest.raises(Invalid, match="published key"):
        pdq.tokenise(hashes, 1, public, lambda e, x: blinding.evaluate(SEED, e, x))
