"""Triage on a synthetic seizure: known files found exactly and by PDQ, new ones reported,
bad files explained, archives opened safely, an interrupted run resumed to the same result.
The `seizure` and `known_set` fixtures live in builders.py (the pages' tests use them too)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from builders import Network, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Selector
from taskforce.core.settings import Settings
from taskforce.media import hashing
from taskforce.triage import service
from taskforce.triage.report import Summary


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "results.csv").open(newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


def _run(
    session: Session, network: Network, settings: Settings, seizure: Path, out: Path, **kw: object
) -> Summary:
    options = service.Options(workers=2, **kw)  # type: ignore[arg-type]
    return service.run(session, network.gb.caller, settings, [seizure], out, options)


@pytest.mark.usefixtures("known_set")
def test_known_new_and_bad_files(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "report"
    summary = _run(session, network, settings, seizure, out)
    rows = _rows(out)
    p = str(seizure)
    assert rows[f"{p}/DCIM/IMG_0002.jpg"]["match_type"] == "exact"
    assert rows[f"{p}/DCIM/IMG_0002.jpg"]["category"] == "taskforce:national-a"
    for name in ("IMG_0000.jpg", "resized.jpg"):
        assert rows[f"{p}/DCIM/{name}"]["match_type"] == "perceptual"
        assert rows[f"{p}/DCIM/{name}"]["series"] == "Series Hill"
    turned = rows[f"{p}/DCIM/turned.jpg"]  # found through the query's rotations
    assert turned["match_type"] == "perceptual"
    assert turned["victim_identified"] == "True"
    assert int(turned["distance"]) <= 31
    assert rows[f"{p}/DCIM/IMG_0004.jpg"]["match_type"] == "none"
    assert rows[f"{p}/png-named.jpg"]["media_type"] == "image/png"
    assert rows[f"{p}/empty.jpg"]["match_type"] == "none"  # never "known" by the empty MD5
    assert "empty file" in rows[f"{p}/empty.jpg"]["error"]
    assert "cannot decode" in rows[f"{p}/truncated.jpg"]["error"]
    assert rows[f"{p}/bundle.zip!/../../outside/escape.jpg"]["match_type"] == "exact"
    assert rows[f"{p}/old.tar.gz!/holiday/beach.jpg"]["pdq"]
    assert not (tmp_path / "outside").exists()
    assert not (out / ".work").exists()

    assert summary.files_total == len(rows) == 15
    assert (summary.matched_exact, summary.matched_perceptual) == (2, 4)
    assert summary.identified_victims == 2  # IMG_0001 and turned.jpg
    assert {e["path"] for e in summary.errors} == {f"{p}/empty.jpg", f"{p}/truncated.jpg"}
    saved = json.loads((out / "summary.json").read_text())
    assert saved["matched_exact"] == 2
    assert saved["new_images"] == summary.new_images
    vics = json.loads((out / "results.vics.json").read_text())
    assert len(vics["value"][0]["Media"]) == summary.files_hashed - 1  # empty file once
    html = (out / "report.html").read_text()
    assert "Series Hill" in html
    assert "<img" not in html


@pytest.mark.usefixtures("known_set")
def test_interrupted_run_resumes_to_the_same_result(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    whole = tmp_path / "whole"
    _run(session, network, settings, seizure, whole)
    resumed = tmp_path / "resumed"
    calls = 0

    def stop_after_six(_done: int, _path: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.run(
            session,
            network.gb.caller,
            settings,
            [seizure],
            resumed,
            service.Options(workers=2),
            stop_after_six,
        )
    assert len((resumed / "results.jsonl").read_text().splitlines()) == 6
    _run(session, network, settings, seizure, resumed)
    assert (resumed / "results.csv").read_text() == (whole / "results.csv").read_text()


@pytest.mark.usefixtures("known_set")
def test_new_material_feeds_the_case(
    session: Session,
    network: Network,
    settings: Settings,
    seizure: Path,
    tmp_path: Path,
) -> None:
    case = make_case(session, network.gb, title="Seizure 1")
    summary = _run(
        session, network, settings, seizure, tmp_path / "r", case_reference=case.reference
    )
    held = session.scalars(select(Selector).where(Selector.case_id == case.id)).all()
    kinds = sorted(s.kind for s in held)
    assert summary.selectors_added == len(held) > 0
    assert set(kinds) == {"md5", "pdq"}
    known_md5 = hashing.hash_file(seizure / "DCIM" / "IMG_0002.jpg").md5
    assert known_md5 not in {s.value for s in held}  # known material is not new material
