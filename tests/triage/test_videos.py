"""Triage recognises known videos by their vPDQ frames, letterboxed copies included. The
known set holds Meta's published vPDQ hashes of its benign sample videos; the seizure holds
the sample videos themselves, hashed here by taskforce."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from builders import Network, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.triage import service
from taskforce.triage.models import TriageResult

VECTORS = Path(__file__).parents[1] / "vectors" / "vpdq"


def _published(name: str) -> list[str]:
    """Frames as `hex,quality,seconds` (the file has frame,quality,hex,seconds)."""
    lines = (VECTORS / "sample-hashes" / f"{name}.txt").read_text().splitlines()
    return [f"{pdq},{quality},{secs}" for _n, quality, pdq, secs in (x.split(",") for x in lines)]


def test_known_videos_are_found_by_their_frames(
    session: Session, network: Network, settings: Settings, tmp_path: Path
) -> None:
    hashset_service.create_hash_set(session, network.gb.caller, HashSetCreate(name="Known videos"))
    known = tmp_path / "known.csv"
    with known.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["vpdq", "series", "victim_identified"])
        writer.writerow([json.dumps(_published("pattern-hd-no-bar")), "Pattern", "true"])
    imported = hashset_service.import_file(
        session, network.gb.caller, name="Known videos", path=known
    )
    assert (imported.added, imported.rejected) == (1, [])

    seizure = tmp_path / "seizure"
    (seizure / "clips").mkdir(parents=True)
    for name, target in (
        ("pattern-hd-no-bar.mp4", "clips/original.mp4"),
        ("pattern-sd-with-small-logo-bar.mp4", "clips/reposted.mov"),  # bars, smaller
        ("doorknob-hd-no-bar.mp4", "clips/other.mp4"),
    ):
        shutil.copy(VECTORS / "videos" / name, seizure / target)

    out = tmp_path / "report"
    case = make_case(session, network.gb)
    options = service.Options(workers=2, case_reference=case.reference)
    summary = service.run(session, network.gb.caller, settings, [seizure], out, options)

    with (out / "results.csv").open(newline="") as f:
        rows = {Path(r["path"]).name: r for r in csv.DictReader(f)}
    original, reposted, other = rows["original.mp4"], rows["reposted.mov"], rows["other.mp4"]
    assert original["match_type"] == "perceptual"
    assert original["series"] == "Pattern"
    assert float(original["video_share"]) >= 0.95
    assert int(original["distance"]) <= 22
    assert reposted["match_type"] == "perceptual"
    assert reposted["series"] == "Pattern"
    assert float(reposted["video_share"]) >= 0.8
    assert other["match_type"] == "none"
    assert other["video_share"] == ""
    assert summary.matched_perceptual == 2
    assert summary.identified_victims == 2

    recorded = {
        Path(r.path).name: r.video_share for r in session.scalars(select(TriageResult))
    }  # what the case's triage page shows
    assert recorded["original.mp4"] == float(original["video_share"])
    assert recorded["other.mp4"] is None
