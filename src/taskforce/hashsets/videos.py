"""Known videos: a video matches a known one when enough of its frames do (vPDQ).

As Meta's vPDQ matcher does it: both videos' frames are reduced to distinct PDQ hashes of
quality >= 50; a frame matches when a frame of the other video is within the PDQ threshold.
The *query share* is the part of the query's frames that match, the *known share* the part of
the known video's frames matched. ThreatExchange's defaults call it a match at a query share
of 80 % and any known share; both are settings. A clip cut from a known video therefore
matches (most of its frames are known) while the full video queried against a known clip
does not, unless the known share is what the caller asks about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from taskforce.hashsets.formats import Frame
from taskforce.media.hashing import MIN_PDQ_QUALITY


@dataclass(frozen=True)
class VideoMatch:
    entry: int  # the known video (its entry id, or position in the caller's list)
    query_share: float  # 0-1
    known_share: float  # 0-1
    distance: int  # the median distance of the query's matched frames to their best match


def usable(frames: Iterable[Frame]) -> list[Frame]:
    """Distinct frame hashes of quality >= 50, in their first order."""
    seen: dict[str, Frame] = {}
    for frame in frames:
        if frame.quality >= MIN_PDQ_QUALITY and frame.pdq not in seen:
            seen[frame.pdq] = frame
    return list(seen.values())


def shares(
    query_frames: int,
    pairs: Iterable[tuple[int, int, int, int]],
    known_frames: Mapping[int, int],
    min_query_share: float,
    min_known_share: float,
) -> list[VideoMatch]:
    """The known videos that match, best first.

    `pairs` are (query frame, known video, known frame, distance) for every pair of frames
    within the threshold; `known_frames` the number of usable frames of each known video."""
    best: dict[int, dict[int, int]] = defaultdict(dict)  # video -> query frame -> distance
    matched_known: dict[int, set[int]] = defaultdict(set)
    for query_frame, video, known_frame, distance in pairs:
        previous = best[video].get(query_frame)
        if previous is None or distance < previous:
            best[video][query_frame] = distance
        matched_known[video].add(known_frame)
    found = []
    for video, by_frame in best.items():
        total = known_frames.get(video, 0)
        if not query_frames or not total:
            continue
        query_share = len(by_frame) / query_frames
        known_share = min(1.0, len(matched_known[video]) / total)
        if query_share >= min_query_share and known_share >= min_known_share:
            distances: Sequence[int] = sorted(by_frame.values())
            found.append(
                VideoMatch(video, query_share, known_share, distances[len(distances) // 2])
            )
    return sorted(found, key=lambda m: (-m.query_share, -m.known_share, m.distance))
