"""PDQ hashes across nodes: pigeonhole chunks, and the OPRF inputs of their chunk tokens.

A PDQ selector matches by Hamming distance, so one token per hash cannot find it. The hash is
cut into 16 chunks of 16 bits (`core.mih.chunk_key`, the local index's pigeonhole): two hashes
within distance 15 differ in at most 15 chunks, so at least one chunk is equal. Each chunk
becomes a token under the key holder's PDQ-chunk key (`blinding.KeyFamily.PDQ_CHUNK`) of
`taskforce/v1|<epoch>|pdq-chunk|<position>|<chunk hex>`: bound to its position (chunk 3 equal
to chunk 7 is no agreement), its epoch and its key family (an exact-match token never equals a
chunk token). An equal chunk token is a **candidate**, never a hit: the owner of the hash
confirms it on the plaintext (`candidates.py`).

Why 16 and not 32 chunks (which would find every pair within the hub's threshold of 31): a
chunk of b bits has 2^b values, so a peer could evaluate all of them and read the chunks of
every published hash; at 8 bits that costs 8,192 evaluations, at 16 bits about a million,
rationed by the chunk key's budget (docs/federation.md, "PDQ candidates").

Pure: no database, no files, no clock.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence

import numpy as np

from taskforce.core import mih
from taskforce.core.errors import Invalid
from taskforce.federation import blinding
from taskforce.federation.blinding import KeyFamily

FORM = "pdq-chunks"
"""The feed form of a PDQ selector that may not cross in plaintext: its 16 chunk tokens, in
position order, base64, joined by commas."""
CHUNKS = 16
CHUNK_BITS = mih.BITS // CHUNKS
TOKEN_BYTES = 64
FOUND_FOR_SURE = CHUNKS - 1
"""The largest distance at which two hashes always share a chunk (pigeonhole); beyond it a
pair is found only when a chunk happens to agree."""
_HEX = frozenset("0123456789abcdef")


def _checked(hashes: Sequence[str]) -> bytes:
    for index, value in enumerate(hashes):
        if len(value) != mih.BITS // 4 or not set(value) <= _HEX:
            raise Invalid(f"hashes[{index}]", "a PDQ hash: 64 lower-case hexadecimal digits")
    return bytes.fromhex("".join(hashes))


def chunks(hashes: Sequence[str]) -> list[list[int]]:
    """The 16 chunks of each hash, most significant first (the local index's chunk keys)."""
    if not hashes:
        return []
    words = mih.words_of(_checked(hashes), len(hashes))
    table = np.stack([mih.chunk_key(words, h, CHUNK_BITS) for h in range(CHUNKS)], axis=1)
    return [[int(c) for c in row] for row in table]


def chunk_inputs(hashes: Sequence[str], epoch: int) -> list[bytes]:
    """The OPRF inputs of every chunk of every hash, 16 per hash in position order."""
    prefix = blinding.DOMAIN + b"|" + str(epoch).encode() + b"|pdq-chunk|"
    blinding.key_info(epoch)  # the epoch's rule, one place
    return [
        prefix + f"{position}|{chunk:04x}".encode()
        for row in chunks(hashes)
        for position, chunk in enumerate(row)
    ]


def distance(a: str, b: str) -> int:
    """Hamming distance of two PDQ hashes."""
    raw = _checked([a, b])
    return (int.from_bytes(raw[:32], "big") ^ int.from_bytes(raw[32:], "big")).bit_count()


def _grouped(tokens: Sequence[bytes]) -> list[list[bytes]]:
    return [list(tokens[i : i + CHUNKS]) for i in range(0, len(tokens), CHUNKS)]


def tokenise(
    hashes: Sequence[str],
    epoch: int,
    public: bytes,
    evaluate_batch: blinding.Evaluate,
    *,
    batch: int = 1_008,
) -> list[list[bytes]]:
    """The 16 chunk tokens of each hash, blinded and evaluated under the PDQ-chunk key whose
    published key is `public` (the evaluation's proof is checked against it)."""
    inputs = chunk_inputs(hashes, epoch)
    return _grouped(blinding.tokenise_inputs(inputs, epoch, public, evaluate_batch, batch=batch))


def tokens_for_key_holder(seed: bytes, hashes: Sequence[str], epoch: int) -> list[list[bytes]]:
    """The same chunk tokens computed with the PDQ-chunk key itself (the key holder's own)."""
    inputs = chunk_inputs(hashes, epoch)
    return _grouped(blinding.tokens_for_key_holder(seed, inputs, epoch, KeyFamily.PDQ_CHUNK))


def encode_tokens(tokens: Sequence[bytes]) -> str:
    """A feed value of form `pdq-chunks`."""
    if len(tokens) != CHUNKS or any(len(t) != TOKEN_BYTES for t in tokens):
        raise Invalid("value", f"{CHUNKS} chunk tokens of {TOKEN_BYTES} bytes")
    return ",".join(base64.b64encode(t).decode() for t in tokens)


def decode_tokens(value: str) -> list[bytes] | None:
    """The 16 tokens of a `pdq-chunks` value; None if it is not one."""
    parts = value.split(",")
    if len(parts) != CHUNKS:
        return None
    try:
        tokens = [base64.b64decode(p, validate=True) for p in parts]
    except (binascii.Error, ValueError):
        return None
    return tokens if all(len(t) == TOKEN_BYTES for t in tokens) else None


def decode_hash(value: str) -> bytes | None:
    """The 32 bytes of a PDQ hash in hex (a GREEN plaintext entry); None if it is not one."""
    if len(value) != mih.BITS // 4 or not set(value) <= _HEX:
        return None
    return bytes.fromhex(value)
