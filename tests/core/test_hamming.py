"""The PDQ index must return every stored hash within the distance, never one beyond it:
multi-index hashing is held to brute force at the pigeonhole boundary, for every chunk width."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from taskforce.core.hamming import HammingIndex, hamming
from taskforce.core.mih import MultiIndex, Words, brute_force

RNG = np.random.default_rng(20261123)


def random_words(n: int) -> Words:
    return RNG.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)


def flipped(word: Words, bit_positions: list[int]) -> Words:
    out = word.copy()
    for b in bit_positions:
        out[b // 64] ^= np.uint64(1) << np.uint64(63 - b % 64)
    return out


def spread(distance: int, chunks: int, bits: int) -> list[int]:
    """`distance` flipped bits spread as evenly as possible over the chunks: the layout that
    puts the fewest bits in any one chunk, where multi-index hashing is tightest."""
    flips = []
    for i in range(distance):
        chunk = i % chunks
        flips.append(chunk * bits + i // chunks)
    return flips


def as_set(found: tuple[np.ndarray, np.ndarray, np.ndarray]) -> set[tuple[int, int, int]]:
    return set(zip(*(column.tolist() for column in found), strict=True))


@pytest.mark.parametrize("bits", [16, 20, 23])
def test_search_equals_brute_force_at_the_boundary(bits: int) -> None:
    chunks = 256 // bits
    stored = random_words(3000)
    queries = []
    for distance in range(0, 41):
        source = stored[RNG.integers(0, len(stored))]
        queries.append(flipped(source, spread(distance, chunks, bits)))  # evenly spread
        queries.append(flipped(source, list(range(distance))))  # all in the first chunks
        flips = RNG.choice(256, distance, replace=False).tolist()
        queries.append(flipped(source, flips))  # at random
    query_words = np.stack([*queries, *random_words(20)])
    index = MultiIndex.build(stored[:1000], bits=bits).added(stored[1000:], bits=bits)
    for radius in (0, 1, 7, 30, 31, 32, 33, 40):
        expected = as_set(brute_force(stored, query_words, radius))
        assert as_set(index.search(query_words, radius)) == expected, radius
        assert len(expected) >= 3 * min(radius + 1, 41)


def test_codes_added_in_generations_keep_their_positions() -> None:
    stored = random_words(500)
    index = MultiIndex.build(stored[:1], bits=16)
    for start in range(1, 500, 37):
        index = index.added(stored[start : start + 37], bits=16)
    assert index.size == 500
    rows, positions, distances = index.search(stored, 0)
    assert sorted(zip(rows.tolist(), positions.tolist(), strict=True)) == [
        (i, i) for i in range(500)
    ]
    assert not distances.any()


def test_growing_past_a_chunk_width_lays_the_tables_out_again() -> None:
    small = MultiIndex.build(random_words(10))
    assert small.bits == 16
    grown = small.added(random_words(300_000))
    assert grown.bits == 20
    assert grown.tables == 12
    queries = grown.codes[[0, 9, 10, 300_009]]
    _rows, positions, _ = grown.search(queries, 0)
    assert sorted(positions.tolist()) == [0, 9, 10, 300_009]


def test_an_older_generation_still_answers_after_an_add() -> None:
    first = MultiIndex.build(random_words(100), bits=16)
    second = first.added(random_words(1000), bits=16)
    assert first.size == 100
    assert second.size == 1100
    _rows, positions, _ = first.search(second.codes[:1100], 0)
    assert sorted(positions.tolist()) == list(range(100))


def test_hamming_index_tail_and_main_give_the_same_answers() -> None:
    stored = random_words(5000)
    codes = [row.astype(">u8").tobytes() for row in stored]
    small_tail = HammingIndex(tail_limit=64)  # mostly multi-index
    all_tail = HammingIndex(tail_limit=10**9)  # all faiss flat
    for start in range(0, 5000, 250):
        ids = list(range(10_000 + start, 10_000 + start + 250))
        small_tail.add(ids, codes[start : start + 250])
        all_tail.add(ids, codes[start : start + 250])
    assert len(small_tail) == len(all_tail) == 5000
    queries = [
        flipped(stored[i], RNG.choice(256, int(RNG.integers(0, 40)), replace=False).tolist())
        for i in range(0, 5000, 50)
    ]
    query_codes = [q.astype(">u8").tobytes() for q in queries]
    got = small_tail.query_many(query_codes, 31)
    assert got == all_tail.query_many(query_codes, 31)
    for q, matches in zip(query_codes, got, strict=True):
        within = [(10_000 + i, hamming(q, c)) for i, c in enumerate(codes) if hamming(q, c) <= 31]
        assert matches == sorted(within, key=lambda pair: (pair[1], pair[0]))
    assert sum(map(len, got)) >= len(queries) * 0.7


def test_queries_during_adds_see_a_consistent_index() -> None:
    """A reader racing merges never loses a code that was there before it started."""
    stored = random_words(4000)
    codes = [row.astype(">u8").tobytes() for row in stored]
    index = HammingIndex(tail_limit=100)
    index.add(list(range(1000)), codes[:1000])
    failures: list[str] = []

    def read() -> None:
        for i in range(0, 1000, 7):
            if (i, 0) not in index.query(codes[i], 0):
                failures.append(f"lost {i}")

    reader = threading.Thread(target=read)
    reader.start()
    for start in range(1000, 4000, 60):
        index.add(list(range(start, start + 60)), codes[start : start + 60])
    reader.join()
    assert not failures
    assert len(index) == 4000
    assert index.query(codes[3999], 0) == [(3999, 0)]


@pytest.mark.parametrize("keep", [0, 150, 1000, 1290])
def test_truncate_drops_exactly_the_later_ids(keep: int) -> None:
    stored = random_words(1300)
    codes = [row.astype(">u8").tobytes() for row in stored]
    index = HammingIndex(tail_limit=200)  # 1,200 in the main part, 100 in the tail
    for start in range(0, 1300, 100):
        index.add(list(range(start, start + 100)), codes[start : start + 100])
    index.truncate(keep - 1)
    assert len(index) == keep
    found = index.query_many(codes, 0)
    assert [bool(matches) for matches in found] == [i < keep for i in range(1300)]
    index.add([5000], [codes[-1]])
    assert index.query(codes[-1], 0) == [(5000, 0)]
