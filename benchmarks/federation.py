"""Blinded selector tokens: selectors tokenised per second, end to end, against a keyed HMAC.

N synthetic selectors (fictional: ``*.example.com`` e-mails and domains, documentation IPv6
addresses (2001:db8::/32), random MD5 and SHA-256, UK-format mobile numbers), normalised
outside the timing, are tokenised in batches (default 1,000) through
`taskforce.federation.blinding`: blind → evaluate (the key holder: one scalar multiplication
per value and one DLEQ proof per batch) → verify the proof against the published key →
finalise (unblind, hash). In the same run:

* each step on its own, per value, on one core (the group operations the protocol cannot
  avoid: these are the floor);
* RFC 9497 ``Evaluate`` by the key holder with the key (hash to the group, one scalar
  multiplication, hash): the cost of a token when no blinding or proof is needed;
* end to end on one core, then on ``--processes`` worker processes (default 2, the VM's cores),
  each tokenising whole batches with the key holder's evaluation in the same process: the
  client and the key holder share the same 2 cores, as they would not in production;
* the client's share alone (blind + verify + finalise, the key holder's work done in advance):
  the rate a node gets when the key holder is another machine;
* baseline: HMAC-SHA-256 of the same token input under a 32-byte key (Private Search Set's
  keyed hashes), one core: what tier-1 keyed tokens cost, with none of the OPRF's guarantees.

Target (issue 14): ≥ 10,000 selectors/s end to end on 2 cores. The tokens of a sample are
checked against ``token_for_key_holder`` (the blinded path gives the key's RFC output).

Run: .venv/bin/python benchmarks/federation.py --selectors 20000

With ``--sync N`` it measures the feeds instead (`federation/feeds.py`, `sync.py`): two real
nodes on loopback, each its own data folder, key and SQLite database (``--receiver
postgresql``: the pulling node on PostgreSQL), peered with the CLI. Node A's feed to B is
seeded with N token entries directly (a valid hash chain, through `feeds.append`: tokenising N
values is the OPRF's cost, measured above), A runs as a `taskforce serve` process, and B pulls:

* initial sync: every page of N entries fetched over signed requests, each page checked whole
  (links, hashes, the page signature, every body), merged in one transaction with its hits,
  the position moved;
* a steady round: 1,000 new entries appended to A's feed, then one sync;
* baseline, same run: the same pages fetched and parsed as JSON without checks or writes (the
  transfer alone); and the same N rows inserted into B's empty `federation_remote_entry`
  directly in batches of 5,000 (the writes alone), removed again before the sync.

Targets (issue 14): initial sync of 1,000,000 tokens ≤ 120 s; a steady round with 1,000 new
tokens ≤ 1 s.

Run: .venv/bin/python benchmarks/federation.py --sync 1000000
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from rich.console import Console
from rich.table import Table

from taskforce.cases.selectors import NormalisedSelector, normalise
from taskforce.core.errors import Invalid
from taskforce.federation import blinding, pdq
from taskforce.federation.blinding import KeyFamily

console = Console(width=140)
SEED = bytes(range(32))
EPOCH = 1


def selectors(count: int, rng: random.Random) -> list[NormalisedSelector]:
    made: list[NormalisedSelector] = []
    for i in range(count):
        kind = i % 6
        if kind == 0:
            made.append(normalise("email", f"user{rng.randrange(10**9)}@example.com"))
        elif kind == 1:
            made.append(normalise("domain", f"site{rng.randrange(10**9)}.example.com"))
        elif kind == 2:
            made.append(normalise("ip", f"2001:db8::{rng.randrange(1 << 16):x}:{i:x}"))
        elif kind == 3:
            made.append(normalise("md5", f"{rng.getrandbits(128):032x}"))
        elif kind == 4:
            made.append(normalise("sha256", f"{rng.getrandbits(256):064x}"))
        else:
            made.append(_phone(rng))
    return made


def _phone(rng: random.Random) -> NormalisedSelector:
    """A UK-format mobile number as benchmarks/deconfliction.py makes them (some ranges are
    not allocated: drawn again)."""
    while True:
        try:
            return normalise("phone", f"+447{rng.randint(400, 999)}{rng.randrange(10**6):06d}")
        except Invalid:
            continue


def _evaluate(epoch: int, elements: list[bytes]) -> tuple[list[bytes], bytes]:
    return blinding.evaluate(SEED, epoch, elements)


def _tokenise(part: list[NormalisedSelector]) -> list[bytes]:
    """One worker's share, end to end (module level: pickled to the worker processes)."""
    public = blinding.public_key(SEED, EPOCH)
    return blinding.tokenise(part, EPOCH, public, _evaluate, batch=len(part))


def _best(repeat: int, run: Callable[[], object]) -> tuple[float, float]:
    """Best wall and CPU seconds (this process only) of `repeat` runs."""
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        run()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - cpu_started)
    return wall, cpu


def _evaluate_chunks(epoch: int, elements: list[bytes]) -> tuple[list[bytes], bytes]:
    return blinding.evaluate(SEED, epoch, elements, KeyFamily.PDQ_CHUNK)


def pdq_chunk_tokens(count: int, repeat: int, rng: random.Random) -> None:
    """PDQ hashes cut into 16 chunks and tokenised end to end under the PDQ-chunk key (blind →
    evaluate → verify → finalise, one core), against the same number of exact-match tokens."""
    hashes = [f"{rng.getrandbits(256):064x}" for _ in range(count)]
    public = blinding.public_key(SEED, EPOCH, KeyFamily.PDQ_CHUNK)
    chunk_s, _ = _best(repeat, lambda: pdq.chunk_inputs(hashes, EPOCH))
    made: list[list[bytes]] = []

    def tokenise() -> None:
        made[:] = pdq.tokenise(hashes, EPOCH, public, _evaluate_chunks, batch=1_008)

    tokens_s, _ = _best(repeat, tokenise)
    sample = rng.sample(range(count), min(20, count))
    assert [made[i] for i in sample] == pdq.tokens_for_key_holder(
        SEED, [hashes[i] for i in sample], EPOCH
    )
    chunks = count * pdq.CHUNKS
    console.print(
        f"PDQ: {count:,} hashes cut into {chunks:,} chunks in {chunk_s * 1e3:,.1f} ms; chunk "
        f"tokens end to end on one core: {chunks / tokens_s:,.0f} chunk tokens/s = "
        f"{count / tokens_s:,.0f} PDQ hashes/s ({tokens_s / chunks * 1e6:,.1f} µs per chunk)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync", type=int, default=0, help="measure the feeds' sync instead")
    parser.add_argument("--receiver", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--selectors", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2, help="timed passes; the best is shown")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pdq-hashes", type=int, default=1_000, help="PDQ hashes (16 chunks)")
    args = parser.parse_args()
    if args.sync:
        from federation_sync import measure_sync

        measure_sync(args.sync, args.receiver, console)
        return
    rng = random.Random(args.seed)
    values = selectors(args.selectors, rng)
    inputs = [blinding.token_input(s, EPOCH) for s in values]
    batches = [values[i : i + args.batch] for i in range(0, len(values), args.batch)]
    input_batches = [inputs[i : i + args.batch] for i in range(0, len(inputs), args.batch)]
    public = blinding.public_key(SEED, EPOCH)
    n = len(values)
    load_before = os.getloadavg()[0]

    # each step on its own, one core
    blinded = [blinding.blind(b) for b in input_batches]
    blind_s, _ = _best(args.repeat, lambda: [blinding.blind(b) for b in input_batches])
    evaluations = [blinding.evaluate(SEED, EPOCH, b.elements) for b in blinded]
    evaluate_s, _ = _best(
        args.repeat, lambda: [blinding.evaluate(SEED, EPOCH, b.elements) for b in blinded]
    )
    finalise_s, _ = _best(
        args.repeat,
        lambda: [
            blinding.finalise(b, ev, proof, public)
            for b, (ev, proof) in zip(blinded, evaluations, strict=True)
        ],
    )
    direct_s, _ = _best(
        args.repeat, lambda: [blinding.token_for_key_holder(SEED, s, EPOCH) for s in values]
    )

    # end to end, one core
    one_s, _ = _best(args.repeat, lambda: [_tokenise(b) for b in batches])

    # end to end, worker processes (client and key holder on the same cores)
    with ProcessPoolExecutor(args.processes) as pool:
        list(pool.map(_tokenise, batches[: args.processes]))  # start the workers
        tokens: list[bytes] = []

        def parallel() -> None:
            tokens.clear()
            for part in pool.map(_tokenise, batches):
                tokens.extend(part)

        many_s, _ = _best(args.repeat, parallel)

    # the client's share alone: the key holder's work is on another machine
    client_s = blind_s + finalise_s

    # baseline: keyed HMAC-SHA-256 of the same inputs
    key = SEED
    sha256 = hashlib.sha256
    hmac_s, _ = _best(args.repeat, lambda: [hmac.new(key, x, sha256).digest() for x in inputs])

    # the blinded path gives the key's RFC 9497 output
    for i in rng.sample(range(n), min(200, n)):
        assert tokens[i] == blinding.token_for_key_holder(SEED, values[i], EPOCH), i
    assert len(set(tokens)) == len(set(inputs))

    title = (
        f"{n:,} selectors in batches of {args.batch:,}, best of {args.repeat}; "
        f"µs per value and values per second"
    )
    table = Table(title=title)
    for column in ("step", "cores", "µs / value", "values / s", "× HMAC time"):
        table.add_column(column, justify="left" if column == "step" else "right")

    def row(label: str, seconds: float, cores: int) -> None:
        table.add_row(
            label,
            str(cores),
            f"{seconds / n * 1e6:,.1f}",
            f"{n / seconds:,.0f}",
            f"{seconds / hmac_s:,.0f}",
        )

    row("blind (hash to group, 1 scalar mult)", blind_s, 1)
    row("evaluate (key holder: 1 scalar mult + batch DLEQ proof)", evaluate_s, 1)
    row("verify proof + finalise (unblind, hash)", finalise_s, 1)
    row("RFC Evaluate with the key (no blinding, no proof)", direct_s, 1)
    row("client's share: blind + verify + finalise", client_s, 1)
    row("end to end: blind → evaluate → verify → finalise", one_s, 1)
    row(f"end to end, {args.processes} processes", many_s, args.processes)
    row("baseline: HMAC-SHA-256 keyed token", hmac_s, 1)
    console.print(table)
    rate = n / many_s
    console.print(
        f"end to end on {args.processes} processes: {rate:,.0f} selectors/s; target ≥ 10,000: "
        f"{'met' if rate >= 10_000 else 'NOT met'}; end to end / HMAC time: "
        f"{one_s / hmac_s:,.0f}× on one core; the group steps' sum "
        f"{(blind_s + evaluate_s + finalise_s) / n * 1e6:,.0f} µs/value against "
        f"{one_s / n * 1e6:,.0f} µs/value end to end (load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} cores)"
    )

    if args.pdq_hashes:
        pdq_chunk_tokens(args.pdq_hashes, args.repeat, rng)


if __name__ == "__main__":
    main()
