"""PDQ additions take turns only with near hashes: the lock stripes of two hashes within the hit
threshold always meet (so concurrent near additions still find each other), those of unrelated
hashes almost never do (so they go in parallel)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from taskforce.cases.pdq import stripes


def _flip(bits: bytes, positions: list[int]) -> bytes:
    value = int.from_bytes(bits, "big")
    for p in positions:
        value ^= 1 << p
    return value.to_bytes(32, "big")


@settings(max_examples=300, derandomize=True)
@given(
    st.binary(min_size=32, max_size=32),
    st.lists(st.integers(0, 255), max_size=31, unique=True),
    st.sampled_from([31, 10, 63]),
)
def test_near_hashes_share_a_stripe(bits: bytes, flips: list[int], threshold: int) -> None:
    near = _flip(bits, flips[:threshold])
    assert set(stripes(bits, threshold)) & set(stripes(near, threshold))


def test_unrelated_hashes_rarely_share_a_stripe() -> None:
    rng = random.Random(7)
    shared = 0
    for _ in range(2000):
        a, b = rng.randbytes(32), rng.randbytes(32)
        shared += bool(set(stripes(a, 31)) & set(stripes(b, 31)))
    assert shared / 2000 < 0.2  # 32 stripes of 8 bits: about 12 % of random pairs meet
