"""vPDQ: Meta's video hash, a PDQ hash per sampled frame, with letterbox bars cut off first.

Meta's `vpdq` cannot crop, and a video re-published with black bars shares no frame hash with
the original (the bars are most of what PDQ sees at the edges). So frames are decoded here
with PyAV (FFmpeg, wheels with no build step) the way `vpdq` samples them, and each frame is
hashed by `pdq_numpy` after the bars are cut off:

* frame number: the decoder's output count from 0; frame rate: the stream's average rate,
  else its base rate; a frame is hashed when its number is a multiple of
  `int(seconds_per_hash * rate)` (at least 1); timestamp: number / rate in float32;
* pixels: RGB24 at the stream's size, FFmpeg's `SWS_AREA` scaler, as `vpdq` converts them.

With no bars the hashes are those of `vpdq`: the tests hold both to Meta's published vectors
(same frames and timestamps, every frame of quality >= 50 within 22 bits) and to each other.
`vpdq` itself (the `video` extra, built against FFmpeg) is kept as that reference only.

Bars are found once per video, never per frame (a per-frame crop would jitter, and a fade to
black would be "all bar"): a row or column is a bar when it is black by Meta's `unletterbox`
rule (`letterbox.py`) in every frame looked at, namely the keyframes, or when a video has
fewer than `MIN_PROBES` keyframes with picture, four frames a second. The crop is the same
whatever the hashing rate, so a video hashed at one frame a second and every frame agree.

A video matches a known one by the share of its frames that match (PDQ distance <= 31, both
frames of quality >= 50), counted over unique frame hashes as Meta's vPDQ README describes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.media import letterbox, pdq_numpy

if TYPE_CHECKING:
    import av  # imported where a video is opened: every `taskforce` command paid ~0.1 s for it

QUALITY_CUTOFF = 50
FRAME_THRESHOLD = 31
MIN_PROBES = 8  # keyframes with picture needed to trust the bars they show
PROBES_PER_SECOND = 4  # otherwise: frames looked at per second of video


class VideoUnavailable(Exception):
    """Meta's `vpdq` (the reference the tests compare with) is not installed here."""


class VideoError(ValueError):
    """The file cannot be decoded as a video; the message says why."""


@dataclass(frozen=True)
class VideoFrame:
    frame: int
    quality: int
    pdq: str
    timestamp: float


@dataclass(frozen=True)
class VideoHashes:
    """The frames of a video and the part of the picture they were hashed from."""

    frames: list[VideoFrame]
    width: int
    height: int
    crop: letterbox.Box | None  # None: no bars, the whole frame was hashed


def available() -> bool:
    """vPDQ is computed by PyAV, a required dependency: always true once installed."""
    return True


def reference_available() -> bool:
    return _vpdq() is not None


@cache
def _vpdq() -> Any:
    """Meta's binding, imported when the reference is asked for (~0.1 s for every command)."""
    try:  # pragma: no cover - depends on the machine
        import vpdq
    except ImportError:  # pragma: no cover
        return None
    return vpdq


def _rate(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.base_rate
    if not rate:
        raise VideoError("cannot decode video: no frame rate")
    return float(rate)


def _size(stream: av.video.stream.VideoStream) -> tuple[int, int]:
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise VideoError("cannot decode video: no frame size")
    return width, height


def _rgb(frame: av.VideoFrame, width: int, height: int) -> npt.NDArray[np.uint8]:
    array = frame.to_ndarray(width=width, height=height, format="rgb24", interpolation="AREA")
    return np.asarray(array, dtype=np.uint8)


def _open(path: Path) -> av.container.InputContainer:
    import av
    import av.error

    try:
        container = av.open(str(path), mode="r")
    except av.error.FFmpegError as exc:
        raise VideoError(f"cannot decode video: {exc}") from None
    if not container.streams.video:
        container.close()
        raise VideoError("cannot decode video: no video stream")
    return container


def _decoded(
    container: av.container.InputContainer, *, keyframes_only: bool = False
) -> Iterator[av.VideoFrame]:
    """The frames of the first video stream in decoder output order (vpdq's frame numbers)."""
    import av.error

    stream = container.streams.video[0]
    if keyframes_only:
        stream.codec_context.skip_frame = "NONKEY"
    try:
        yield from container.decode(stream)
    except av.error.FFmpegError as exc:
        raise VideoError(f"cannot decode video: {exc}") from None


def find_bars(
    path: Path, *, black_threshold: int = letterbox.BLACK_THRESHOLD
) -> tuple[letterbox.Box | None, int, int]:
    """(crop box or None, frame width, frame height): the bars every probed frame shows."""
    with _open(path) as container:
        stream = container.streams.video[0]
        width, height = _size(stream)
        boxes = [
            letterbox.content_box(_rgb(frame, width, height), black_threshold)
            for frame in _decoded(container, keyframes_only=True)
        ]
    if sum(b is not None for b in boxes) < MIN_PROBES:
        with _open(path) as container:
            stream = container.streams.video[0]
            step = max(1, round(_rate(stream) / PROBES_PER_SECOND))
            boxes += [
                letterbox.content_box(_rgb(frame, width, height), black_threshold)
                for number, frame in enumerate(_decoded(container))
                if number % step == 0
            ]
    return letterbox.crop_for(letterbox.union(boxes), width, height), width, height


def hash_video(
    path: Path,
    *,
    seconds_per_hash: float = 1.0,
    unletterbox: bool = True,
    black_threshold: int = letterbox.BLACK_THRESHOLD,
) -> VideoHashes:
    """vPDQ of a video file, one frame per `seconds_per_hash` (0: every frame), bars cut off
    unless `unletterbox` is false (then: the frames of Meta's `vpdq`, bars and all)."""
    if seconds_per_hash < 0:
        raise ValueError("seconds_per_hash must not be negative")
    crop = None
    if unletterbox:
        crop, _, _ = find_bars(path, black_threshold=black_threshold)
    found = []
    with _open(path) as container:
        stream = container.streams.video[0]
        width, height = _size(stream)
        rate = _rate(stream)
        every = max(1, int(seconds_per_hash * rate))
        for number, frame in enumerate(_decoded(container)):
            if number % every:
                continue
            rgb = _rgb(frame, width, height)
            if crop is not None:
                rgb = rgb[crop.top : crop.bottom, crop.left : crop.right]
            pdq, quality = pdq_numpy.pdq(rgb)
            timestamp = float(np.float32(number) / np.float32(rate))
            found.append(VideoFrame(number, quality, pdq, round(timestamp, 3)))
    return VideoHashes(found, width, height, crop)


def frames(
    path: Path, *, seconds_per_hash: float = 1.0, unletterbox: bool = True
) -> list[VideoFrame]:
    """The frame hashes of `hash_video`, without the crop box."""
    return hash_video(path, seconds_per_hash=seconds_per_hash, unletterbox=unletterbox).frames


def frames_reference(path: Path, *, seconds_per_hash: float = 1.0) -> list[VideoFrame]:
    """vPDQ by Meta's `vpdq` binding (no bar removal): what `hash_video` is held to."""
    vpdq = _vpdq()
    if vpdq is None:
        raise VideoUnavailable("the vpdq package is not installed (the `video` extra)")
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
