"""Triage on a synthetic seizure: known files found exactly and by PDQ, new ones reported,
bad files explained, archives opened safely, an interrupted run resumed to the same result."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from builders import Network, make_case
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Selector
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.media import hashing
from taskforce.triage import service


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A benign synthetic picture: smooth colour waves, different for every seed."""
    r = np.random.default_rng(seed)
    x = np.linspace(0, 1, size[0])
    y = np.linspace(0, 1, size[1])[:, None]
    base = (np.sin(x * r.uniform(3, 12)) * np.cos(y * r.uniform(3, 12)) + 1) * 127
    rgb = np.stack([base, np.roll(base, 40, axis=1), base[::-1]], axis=2).astype(np.uint8)
    return Image.fromarray(rgb)


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@pytest.fixture
def seizure(tmp_path: Path) -> Path:
    root = tmp_path / "seizure"
    (root / "DCIM").mkdir(parents=True)
    for i in range(5):
        (root / "DCIM" / f"IMG_{i:04d}.jpg").write_bytes(jpeg(picture(i)))
    (root / "DCIM" / "resized.jpg").write_bytes(jpeg(picture(0).resize((320, 240)), 70))
    (root / "DCIM" / "turned.jpg").write_bytes(
        jpeg(picture(1).transpose(Image.Transpose.ROTATE_90))
    )
    (root / "empty.jpg").write_bytes(b"")
    (root / "truncated.jpg").write_bytes(jpeg(picture(3))[:400])
    picture(4).save(root / "png-named.jpg", format="PNG")
    with zipfile.ZipFile(root / "bundle.zip", "w") as z:
        z.writestr("../../outside/escape.jpg", jpeg(picture(2)))
        z.writestr("notes.txt", "shopping list")
    with tarfile.open(root / "old.tar.gz", "w:gz") as t:
        data = jpeg(picture(6))
        info = tarfile.TarInfo("holiday/beach.jpg")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return root


@pytest.fixture
def known_set(session: Session, network: Network, seizure: Path, tmp_path: Path) -> str:
    """GB's hash set: IMG_0000 by PDQ, IMG_0001 by PDQ (victim identified), IMG_0002 by MD5."""
    h = [hashing.hash_file(seizure / "DCIM" / f"IMG_{i:04d}.jpg") for i in range(3)]
    source = tmp_path / "known.csv"
    source.write_text(
        "md5,pdq,category,series,victim_identified\n"
        f",{h[0].pdq},vic-us:1,Series Hill,false\n"
        f",{h[1].pdq},national-b,Series Lake,true\n"
        f"{h[2].md5},,national-a,,false\n"
        "d41d8cd98f00b204e9800998ecf8427e,,national-c,,false\n"  # the empty file's MD5
    )
    hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Known", sharing=SharingLevel.RED)
    )
    hashset_service.import_file(session, network.gb.caller, name="Known", path=source)
    return "Known"


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "results.csv").open(newline="") as f:
        return {r["path"]: r for r in csv.DictReader(f)}


def _run(session: Session, network: Network, settings: Settings, seizure: Path, out: Path,
         **kw: object) -> service.report.Summary:  # fmt: skip
    options = service.Options(workers=2, **kw)  # type: ignore[arg-type]
    return service.run(session, network.gb.caller, settings, [seizure], out, options)


def test_known_new_and_bad_files(
    session: Session, network: Network, settings: Settings, seizure: Path, known_set: str,
    tmp_path: Path,
) -> None:  # fmt: skip
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
    assert turned["match_type"] == "perceptual" and turned["victim_identified"] == "True"
    assert int(turned["distance"]) <= 31
    assert rows[f"{p}/DCIM/IMG_0004.jpg"]["match_type"] == "none"
    assert rows[f"{p}/png-named.jpg"]["media_type"] == "image/png"
    assert rows[f"{p}/empty.jpg"]["match_type"] == "none"  # never "known" by the empty MD5
    assert "empty file" in rows[f"{p}/empty.jpg"]["error"]
    assert "cannot decode" in rows[f"{p}/truncated.jpg"]["error"]
    assert rows[f"{p}/bundle.zip!/../../outside/escape.jpg"]["match_type"] == "exact"
    assert rows[f"{p}/old.tar.gz!/holiday/beach.jpg"]["pdq"]
    assert not (tmp_path / "outside").exists() and not (out / ".work").exists()

    assert summary.files_total == len(rows) == 15
    assert (summary.matched_exact, summary.matched_perceptual) == (2, 4)
    assert summary.identified_victims == 2  # IMG_0001 and turned.jpg
    assert {e["path"] for e in summary.errors} == {f"{p}/empty.jpg", f"{p}/truncated.jpg"}
    saved = json.loads((out / "summary.json").read_text())
    assert saved["matched_exact"] == 2 and saved["new_images"] == summary.new_images
    vics = json.loads((out / "results.vics.json").read_text())
    assert len(vics["value"][0]["Media"]) == summary.files_hashed - 1  # empty file once
    html = (out / "report.html").read_text()
    assert "Series Hill" in html and "<img" not in html


def test_interrupted_run_resumes_to_the_same_result(
    session: Session, network: Network, settings: Settings, seizure: Path, known_set: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    whole = tmp_path / "whole"
    _run(session, network, settings, seizure, whole)
    resumed = tmp_path / "resumed"
    calls = 0

    def stop_after_six(done: int, _path: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.run(session, network.gb.caller, settings, [seizure], resumed,
                    service.Options(workers=2), stop_after_six)  # fmt: skip
    assert len((resumed / "results.jsonl").read_text().splitlines()) == 6
    _run(session, network, settings, seizure, resumed)
    assert (resumed / "results.csv").read_text() == (whole / "results.csv").read_text()


def test_new_material_feeds_the_case(
    session: Session, network: Network, settings: Settings, seizure: Path, known_set: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    case = make_case(session, network.gb, title="Seizure 1")
    summary = _run(session, network, settings, seizure, tmp_path / "r",
                   case_reference=case.reference)  # fmt: skip
    held = session.scalars(select(Selector).where(Selector.case_id == case.id)).all()
    kinds = sorted(s.kind for s in held)
    assert summary.selectors_added == len(held) > 0
    assert set(kinds) == {"md5", "pdq"}
    known_md5 = hashing.hash_file(seizure / "DCIM" / "IMG_0002.jpg").md5
    assert known_md5 not in {s.value for s in held}  # known material is not new material
