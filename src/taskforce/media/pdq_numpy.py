"""PDQ in numpy, equal to Meta's reference on the published vectors, several times faster.

The reference (`pdqhash`, Meta's C++) blurs the whole float luma image with two passes of
box filters along rows and columns (the "Jarosz" tent filter), samples 64x64 points, takes a
16x16 DCT of them and sets each bit by comparison with the median. Only the 64x64 samples are
used, so here the second pass is computed at the sampled rows and columns alone, and each box
filter is a difference of cumulative sums (float64) instead of a running float32 sum. The
results agree with the reference bit for bit on every vector image (tests/media); the order of
floating-point additions differs, so a coefficient within rounding distance of the median could
in principle fall the other way — far inside the matching threshold.

Triage's reduced path (`dihedral_luma`) starts from a luma image instead — JPEG's own Y, often
DCT-scaled by libjpeg to 1/2-1/8 — and blurs it with the full-size filter re-expressed on the
smaller grid (`_scaled_operator`), so its hashes stay within a few bits of the reference.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

_LUMA = (np.float32(0.299), np.float32(0.587), np.float32(0.114))
_SIZE = 64
_MIN_DIM = 5


def _dct_matrix() -> npt.NDArray[np.float64]:
    scale = np.float32(np.sqrt(2.0 / 64))
    i = np.arange(1, 17, dtype=np.float64)[:, None]
    j = np.arange(64, dtype=np.float64)[None, :]
    matrix = (np.float64(scale) * np.cos((np.pi / 2.0 / 64) * i * (2 * j + 1))).astype(np.float32)
    return matrix.astype(np.float64)


_DCT = _dct_matrix()


def _window(old: int) -> int:
    return (old + 2 * _SIZE - 1) // (2 * _SIZE)


def _box_bounds(n: int, full: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """For each output position, the first and one-past-last input index it averages."""
    half = (full + 2) // 2
    k = np.arange(n)
    lo = np.maximum(k - (full - half), 0)
    hi = np.minimum(k + half - 1, n - 1) + 1
    return lo, hi


def luma(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    y: npt.NDArray[np.float32] = rgb.astype(np.float32) @ np.array(_LUMA, dtype=np.float32)
    return y


def _samples(n: int) -> npt.NDArray[np.intp]:
    return np.array([int(((i + 0.5) * n) / _SIZE) for i in range(_SIZE)], dtype=np.intp)


@lru_cache(maxsize=64)
def _operator(n: int) -> npt.NDArray[np.float32]:
    """The 64 x n matrix that blurs a line of n values twice and samples 64 of them.

    Two passes of the same box filter B followed by sampling S is S @ B @ B, a linear map: the
    blur of the whole image is then two matrix products, M_rows @ Y @ M_cols.T."""
    full = _window(n)
    lo, hi = _box_bounds(n, full)
    counts = (hi - lo).astype(np.float64)
    at = _samples(n)
    first = np.zeros((_SIZE, n))
    for row, k in enumerate(at):
        first[row, lo[k] : hi[k]] = 1.0 / counts[k]
    # (first @ B)[m] adds first[k] / counts[k] over m in [lo[k], hi[k]): a difference array
    weights = first / counts
    diff = np.zeros((n + 1, _SIZE))
    np.add.at(diff, lo, weights.T)
    np.add.at(diff, hi, -weights.T)
    return np.cumsum(diff[:-1], axis=0).T.astype(np.float32)


@lru_cache(maxsize=256)
def _scaled_operator(full: int, n: int) -> npt.NDArray[np.float32]:
    """`_operator(full)` for a line decoded at 1/s of its `full` length (libjpeg's DCT scaling:
    n = ceil(full / s)): each decoded value stands for the s full-size values it was made from.

    Blurring the small image with its own, s times narrower, filter moved PDQ's bits far from
    the full-size hash (mean 7 bits at 1/2 of 640x480, 15 at 1/8 of 1280x960); weighting it
    as the full-size filter would keeps them within a few bits (docs/benchmarks.md)."""
    scale = max(1, round(full / n))
    owner = np.minimum(np.arange(full) // scale, n - 1)  # the decoded value each full one is in
    weights = _operator(full).astype(np.float64)
    small = np.zeros((n, _SIZE))
    np.add.at(small, owner, weights.T)
    return small.T.astype(np.float32)


def _downsample(
    y: npt.NDArray[np.float32], full: tuple[int, int] | None = None
) -> npt.NDArray[np.float32]:
    """The 64x64 blurred samples; `full` (rows, columns): the size `y` was decoded down from."""
    rows, cols = y.shape
    full_rows, full_cols = full or (rows, cols)
    if (full_rows, full_cols) == (rows, cols):
        if rows == _SIZE and cols == _SIZE:
            return y
        block = _operator(rows) @ y @ _operator(cols).T
    else:
        block = _scaled_operator(full_rows, rows) @ y @ _scaled_operator(full_cols, cols).T
    return block.astype(np.float32, copy=False)


def _quality(block: npt.NDArray[np.float32]) -> int:
    hundred, top = np.float32(100), np.float32(255)
    down = np.trunc(((block[:-1, :] - block[1:, :]) * hundred) / top)
    across = np.trunc(((block[:, :-1] - block[:, 1:]) * hundred) / top)
    total = int(np.abs(down).astype(np.int64).sum() + np.abs(across).astype(np.int64).sum())
    return min(total // 90, 100)


def _bits(coefficients: npt.NDArray[np.float64]) -> str:
    median = np.sort(coefficients, axis=None)[127]  # Torben's median of 256: the 128th value
    bits = (coefficients > median).ravel()  # bit i*16+j, counted from the least significant
    value = int.from_bytes(np.packbits(bits[::-1]).tobytes(), "big")
    return f"{value:064x}"


def _coefficients(rgb: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float64], int] | None:
    if rgb.shape[0] < _MIN_DIM or rgb.shape[1] < _MIN_DIM:
        return None
    return _luma_coefficients(luma(rgb))


def _luma_coefficients(
    y: npt.NDArray[np.float32], full: tuple[int, int] | None = None
) -> tuple[npt.NDArray[np.float64], int] | None:
    if min(full or y.shape) < _MIN_DIM or min(y.shape) < 1:
        return None
    block = _downsample(y, full)
    quality = _quality(block)
    dct = _DCT @ block.astype(np.float64) @ _DCT.T
    return dct.astype(np.float32).astype(np.float64), quality


def pdq(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """(64 hex digits, quality 0-100) of an RGB image array (height x width x 3)."""
    found = _coefficients(rgb)
    if found is None:
        return "0" * 64, 0
    coefficients, quality = found
    return _bits(coefficients), quality


def pdq_luma(
    y: npt.NDArray[np.uint8] | npt.NDArray[np.float32], full: tuple[int, int] | None = None
) -> tuple[str, int]:
    """`pdq` of a luma image (height x width): see `dihedral_luma`."""
    found = _luma_coefficients(np.asarray(y, dtype=np.float32), full)
    if found is None:
        return "0" * 64, 0
    coefficients, quality = found
    return _bits(coefficients), quality


@lru_cache(maxsize=3)
def _signs(pattern: str) -> npt.NDArray[np.float64]:
    """+1 where the index is odd, -1 where even (made once: 8 % of a small picture's time)."""
    i = np.arange(16)[:, None]
    j = np.arange(16)[None, :]
    odd = {"i": i & 1, "j": j & 1, "ij": (i + j) & 1}[pattern]
    signs = np.where(odd == 1, 1.0, -1.0) * np.ones((16, 16))
    signs.flags.writeable = False
    return signs


def dihedral(rgb: npt.NDArray[np.uint8]) -> tuple[list[str], int]:
    """The eight hashes of the image turned and mirrored, in `pdqhash.compute_dihedral` order
    (original, rotate 90, 180, 270, flip x, flip y, flip +1, flip -1), from one DCT."""
    return _dihedral(_coefficients(rgb))


def dihedral_luma(
    y: npt.NDArray[np.uint8] | npt.NDArray[np.float32], full: tuple[int, int] | None = None
) -> tuple[list[str], int]:
    """`dihedral` of a luma image (height x width) already decoded as such, e.g. JPEG's own Y
    channel: no RGB round trip, so within a few bits of the reference rather than equal.
    `full` (height, width): the picture's size when `y` was decoded at reduced scale."""
    return _dihedral(_luma_coefficients(np.asarray(y, dtype=np.float32), full))


def _dihedral(found: tuple[npt.NDArray[np.float64], int] | None) -> tuple[list[str], int]:
    if found is None:
        return ["0" * 64] * 8, 0
    a, quality = found
    ij_even = -_signs("ij")  # +1 where i+j is even
    variants = [
        a,
        (a * _signs("j")).T,  # rotate 90: sign + where j odd, transposed
        a * ij_even,  # rotate 180: - where i+j odd
        (a * _signs("i")).T,  # rotate 270
        a * _signs("i"),  # flip x
        a * _signs("j"),  # flip y
        a.T,  # flip +1
        (a * ij_even).T,  # flip -1
    ]
    return [_bits(v) for v in variants], quality
