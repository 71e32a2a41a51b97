"""Known videos: vPDQ frames in hash sets (CSV, VICS, `taskforce hash --json`), matched by
the share of a video's frames that match, over the service and the API. The frames are
Meta's published vPDQ hashes of its benign sample videos (tests/vectors/vpdq)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from builders import Network, token_for
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.hashsets import formats, matching, service
from taskforce.hashsets.models import HashEntryFrame
from taskforce.hashsets.schemas import HashSetCreate, MatchHit, MatchQuery, MatchRequest

SAMPLES = Path(__file__).parents[1] / "vectors" / "vpdq" / "sample-hashes"


def published(name: str) -> list[str]:
    """A sample video's frames as `hex,quality,seconds` (the file is frame,quality,hex,secs)."""
    frames = []
    for line in (SAMPLES / f"{name}.txt").read_text().splitlines():
        _frame, quality, pdq, seconds = line.split(",")
        frames.append(f"{pdq},{quality},{seconds}")
    return frames


PATTERN = published("pattern-hd-no-bar")
DOORKNOB = published("doorknob-hd-no-bar")


def _video_csv(tmp_path: Path, rows: list[tuple[str, list[str], str]]) -> Path:
    path = tmp_path / "videos.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["sha1", "vpdq", "series"])
        for sha1, frames, series in rows:
            writer.writerow([sha1, json.dumps(frames), series])
    return path


def _known_videos(session: Session, network: Network, tmp_path: Path, **kw: object) -> None:
    data = HashSetCreate(name="Known videos", **kw)
    service.create_hash_set(session, network.gb.caller, data)
    path = _video_csv(tmp_path, [("a" * 40, PATTERN, "Pattern"), ("b" * 40, DOORKNOB, "Door")])
    report = service.import_file(session, network.gb.caller, name="Known videos", path=path)
    assert (report.format, report.added, report.rejected) == ("csv", 2, [])


def _match(
    session: Session, network: Network, settings: Settings, frames: list[str]
) -> list[MatchHit]:
    request = MatchRequest(hashes=[MatchQuery(vpdq=frames)])
    [result] = matching.match(session, network.gb.caller, settings, request)
    return result.matches


def test_a_video_matches_by_the_share_of_its_frames(
    session: Session, network: Network, settings: Settings, tmp_path: Path
) -> None:
    _known_videos(session, network, tmp_path)
    [same] = _match(session, network, settings, PATTERN)
    assert (same.match_type, same.series, same.distance) == ("video", "Pattern", 0)
    assert same.query_share == same.known_share == 1.0

    clip = PATTERN[40:100]  # two seconds cut out of the known video
    [cut] = _match(session, network, settings, clip)
    assert cut.series == "Pattern"
    assert cut.query_share == 1.0
    assert 0.2 < (cut.known_share or 0) < 0.4

    [door] = _match(session, network, settings, DOORKNOB)
    assert door.series == "Door"

    half = PATTERN[:60] + DOORKNOB[:60]  # 50 % of each: below the 80 % query share
    assert _match(session, network, settings, half) == []


def test_the_thresholds_are_settings(
    session: Session, network: Network, settings: Settings, tmp_path: Path
) -> None:
    _known_videos(session, network, tmp_path)
    clip = PATTERN[40:100]
    strict = settings.model_copy(update={"video_match_known_share": 0.9})
    assert _match(session, network, strict, clip) == []
    half = PATTERN[:100] + DOORKNOB[:100]
    lenient = settings.model_copy(update={"video_match_query_share": 0.25})
    assert {m.series for m in _match(session, network, lenient, half)} == {"Pattern", "Door"}


@pytest.mark.usefixtures("settings")
def test_video_import_is_idempotent_and_keeps_distinct_usable_frames(
    session: Session, network: Network, tmp_path: Path
) -> None:
    _known_videos(session, network, tmp_path)
    frames = session.scalar(select(func.count()).select_from(HashEntryFrame))
    distinct = {f.pdq for f in formats.parse_vpdq(PATTERN + DOORKNOB) if f.quality >= 50}
    assert frames == len(distinct)
    path = _video_csv(tmp_path, [("a" * 40, PATTERN, "Pattern")])
    again = service.import_file(session, network.gb.caller, name="Known videos", path=path)
    assert (again.added, again.already_present) == (0, 1)
    assert session.scalar(select(func.count()).select_from(HashEntryFrame)) == frames


def test_exports_carry_the_frames(session: Session, network: Network, tmp_path: Path) -> None:
    _known_videos(session, network, tmp_path)
    for fmt in ("csv", "vics"):
        out = io.StringIO()
        service.export(session, network.gb.caller, name="Known videos", fmt=fmt, out=out)
        path = tmp_path / f"export.{fmt}"
        path.write_text(out.getvalue())
        [pattern, _door] = [
            e for e in formats.read(path, fmt) if isinstance(e, formats.ParsedEntry)
        ]
        assert [str(f) for f in pattern.vpdq or []] == [str(f) for f in formats.parse_vpdq(PATTERN)]


def test_taskforce_hash_json_lines_become_entries(tmp_path: Path) -> None:
    video = {
        "path": "clip.mp4",
        "sha1": "c" * 40,
        "vpdq": [
            {"frame": i, "quality": 100, "pdq": PATTERN[i].split(",")[0], "timestamp": i / 30}
            for i in range(3)
        ],
    }
    image = {"path": "a.jpg", "md5": "d" * 32, "pdq": "f" * 64, "pdq_quality": 90}
    failed = {"path": "b.jpg", "error": "truncated file"}
    path = tmp_path / "hashes.jsonl"
    path.write_text("\n".join(json.dumps(o) for o in (video, image, failed, [1])) + "\n")
    assert formats.detect_format(path) == "hash-json"
    parsed = list(formats.read(path, "hash-json", source="own seizures"))
    clip, photo, bad_file, not_object = parsed
    assert isinstance(clip, formats.ParsedEntry)
    assert len(clip.vpdq or []) == 3
    assert isinstance(photo, formats.ParsedEntry)
    assert photo.pdq_quality == 90
    assert isinstance(bad_file, formats.BadLine)
    assert "truncated file" in bad_file.rule
    assert isinstance(not_object, formats.BadLine)
    assert not_object.line == 4


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("not json", "vpdq"),
        ("[]", "vpdq"),
        (json.dumps([PATTERN[0], "abc,100,0.0"]), "vpdq[1]"),
        (json.dumps([PATTERN[0].replace(",100,", ",101,")]), "vpdq[0]"),
        (json.dumps([PATTERN[0].rsplit(",", 1)[0] + ",-1"]), "vpdq[0]"),
    ],
)
def test_bad_frames_name_their_place(raw: str, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        formats.parse_vpdq(raw)
    assert caught.value.field == field


def test_bad_csv_line_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "videos.csv"
    path.write_text(
        "sha1,vpdq\n"
        f'{"a" * 40},"{json.dumps(PATTERN[:2]).replace(chr(34), chr(34) * 2)}"\n'
        f'{"b" * 40},"[""nonsense""]"\n'
    )
    good, bad = list(formats.read(path, "csv"))
    assert isinstance(good, formats.ParsedEntry)
    assert len(good.vpdq or []) == 2
    assert isinstance(bad, formats.BadLine)
    assert (bad.line, bad.field) == (3, "vpdq[0]")


def test_match_api_answers_for_videos_and_hides_red_sets(
    client: TestClient, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    _known_videos(session, network, tmp_path)
    gb = token_for(session, settings, network.gb)
    us = token_for(session, settings, network.us)
    body = {"hashes": [{"vpdq": PATTERN[10:80]}]}
    r = client.post("/api/v1/match", json=body, headers=gb)
    assert r.status_code == 200, r.text
    [hit] = r.json()[0]["matches"]
    assert hit["match_type"] == "video"
    assert hit["query_share"] == 1.0
    assert client.post("/api/v1/match", json=body, headers=us).json()[0]["matches"] == []
    r = client.post("/api/v1/match", json={"hashes": [{"vpdq": ["xyz,1,0"]}]}, headers=gb)
    assert r.status_code == 422
    assert r.json()["field"] == "hashes[0].vpdq[0]"
