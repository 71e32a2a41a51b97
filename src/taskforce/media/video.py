"""vPDQ: Meta's video hash, a PDQ hash per sampled frame (the `vpdq` bindings, FFmpeg inside).

A video matches a known one by the share of its frames that match (PDQ distance <= 31, both
frames of quality >= 50), counted over unique frame hashes as Meta's vPDQ README describes.
`vpdq` builds against FFmpeg's development libraries; where it is missing, video files still
get their exact hashes and a note saying why no vPDQ was computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from taskforce.core.hamming import hamming, hex_to_bytes

try:  # pragma: no cover - depends on the machine
    import vpdq
except ImportError:  # pragma: no cover
    vpdq = None

QUALITY_CUTOFF = 50
FRAME_THRESHOLD = 31


class VideoUnavailable(Exception):
    """This installation cannot compute vPDQ (the `vpdq` package did not build)."""


@dataclass(frozen=True)
class VideoFrame:
    frame: int
    quality: int
    pdq: str
    timestamp: float


def available() -> bool:
    return vpdq is not None


def frames(path: Path, *, seconds_per_hash: float = 1.0) -> list[VideoFrame]:
    """vPDQ of a video file: one frame per `seconds_per_hash` (0 = every frame)."""
    if vpdq is None:
        raise VideoUnavailable("vPDQ unavailable: the vpdq package is not installed")
    features = vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash)
    return [
        VideoFrame(int(f.frame_number), int(f.quality), str(f.hex), round(float(f.timestamp), 3))
        for f in features
    ]


def match_share(query: Sequence[VideoFrame], known: Sequence[VideoFrame]) -> float:
    """Share of the query's unique usable frames within the threshold of a known frame."""
    wanted = {f.pdq for f in query if f.quality >= QUALITY_CUTOFF}
    stored = [hex_to_bytes(f.pdq) for f in known if f.quality >= QUALITY_CUTOFF]
    if not wanted or not stored:
        return 0.0
    matched = sum(
        1
        for pdq in wanted
        if any(hamming(hex_to_bytes(pdq), other) <= FRAME_THRESHOLD for other in stored)
    )
    return matched / len(wanted)
