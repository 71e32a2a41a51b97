"""vPDQ against Meta's published frame hashes (tests/vectors/vpdq).

The rule is the issue's: the same frame count and timestamps as the published output, and every
frame of quality >= 50 (on both sides) within 22 bits. Without the `vpdq` build these tests skip,
unless TASKFORCE_REQUIRE_VIDEO=1 (CI), where its absence fails them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.media import hashing, video

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "vpdq"
VIDEOS = ["doorknob-hd-no-bar", "pattern-hd-no-bar", "pattern-sd-grey-bar",
          "pattern-sd-with-small-logo-bar", "test-padded-dimensions"]  # fmt: skip

if not video.available():
    if os.environ.get("TASKFORCE_REQUIRE_VIDEO") == "1":
        pytest.fail("vpdq is not installed but TASKFORCE_REQUIRE_VIDEO=1", pytrace=False)
    pytest.skip("vpdq not installed (needs FFmpeg development packages)", allow_module_level=True)


def _published(name: str) -> list[video.VideoFrame]:
    frames = []
    for line in (VECTORS / "sample-hashes" / f"{name}.txt").read_text().splitlines():
        number, quality, pdq, timestamp = line.split(",")
        frames.append(video.VideoFrame(int(number), int(quality), pdq, float(timestamp)))
    return frames


@pytest.mark.parametrize("name", VIDEOS)
def test_frames_match_the_published_vpdq(name: str) -> None:
    ours = video.frames(VECTORS / "videos" / f"{name}.mp4", seconds_per_hash=0)
    theirs = _published(name)
    assert len(ours) == len(theirs)
    assert [(f.frame, f.timestamp) for f in ours] == [(f.frame, f.timestamp) for f in theirs]
    compared = 0
    for mine, published in zip(ours, theirs, strict=True):
        if min(mine.quality, published.quality) < video.QUALITY_CUTOFF:
            continue
        compared += 1
        assert hamming(hex_to_bytes(mine.pdq), hex_to_bytes(published.pdq)) <= 22, mine.frame
    assert compared > 0


def test_a_video_matches_its_copies_and_not_an_unrelated_one() -> None:
    grey_bars = video.frames(VECTORS / "videos" / "pattern-sd-grey-bar.mp4")
    with_logo = video.frames(VECTORS / "videos" / "pattern-sd-with-small-logo-bar.mp4")
    doorknob = video.frames(VECTORS / "videos" / "doorknob-hd-no-bar.mp4")
    assert video.match_share(grey_bars, grey_bars) == 1.0
    assert video.match_share(with_logo, grey_bars) == 1.0  # another encoding, a logo added
    assert video.match_share(doorknob, grey_bars) == 0.0


def test_hash_command_gives_videos_their_frames() -> None:
    from taskforce.cli import app

    target = VECTORS / "videos" / "test-padded-dimensions.mp4"
    result = CliRunner().invoke(app, ["hash", "--json", str(target)])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.splitlines()[0])
    assert line["media_type"] == "video/mp4" and line["error"] is None
    assert len(line["vpdq"]) == 5  # 150 frames at 30 fps: one a second
    assert hashing.hash_file(target, seconds_per_frame=0).vpdq is not None
