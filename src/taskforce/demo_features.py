"""The demo's victim-identification part, and what it adds so that every feature is seen
working, each through the real services: series with their children; a clue notice answered
by two agencies; and

* a **triage run recorded on a case** (`taskforce triage --case` as GB-NCA's investigator would
  run it) over synthetic pictures drawn here: two cameras' numbered bursts and two unrelated
  downloads, with EXIF camera, serial and capture time;
* the **candidate series** the linking engine proposes from that run's new images;
* the demo's clue notice **published** as a "trace an object" page (a drawn wall socket, a
  caption for the public) with a **tip** from a member of the public.

Every picture is generated (colour gradients and plain shapes): nothing real is shown.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseStatus
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import owned_by
from taskforce.demo_scenario import DEMO_SERIES
from taskforce.notices import publishing as notice_publishing
from taskforce.notices import service as notice_service
from taskforce.notices.models import Clue, ClueNotice
from taskforce.notices.schemas import (
    AnswerCreate,
    ClueCreate,
    ClueKind,
    Confidence,
    NoticeCreate,
    PublishImage,
    PublishRequest,
    TipCreate,
)
from taskforce.series import proposals as series_proposals
from taskforce.series import service as series_service
from taskforce.series.models import Series
from taskforce.series.schemas import MediaAdd, SeriesCreate, VictimCreate, VictimIdentify
from taskforce.triage import service as triage_service
from taskforce.triage.report import Summary

Callers = dict[tuple[str, str], Caller]  # (agency code, role or login kind) → caller, demo.py's
EVIDENCE = "demo-evidence"  # folders in the demo's data folder
TRIAGE_REPORT = "demo-triage-report"
# (file name, camera or None, minute of the burst): two cameras, each a numbered burst, and
# two downloads that belong to no series
SHOTS: tuple[tuple[str, tuple[str, str, str] | None, int], ...] = (
    *(
        (f"DCIM/100CANON/IMG_{n:04d}.JPG", ("Canon", "Canon EOS 80D", "DEMO0412345"), n)
        for n in range(101, 105)
    ),
    *(
        (
            f"DCIM/101NIKON/DSC_{n:04d}.JPG",
            ("NIKON CORPORATION", "NIKON D5300", "DEMO3099871"),
            n - 2000,
        )
        for n in range(2001, 2004)
    ),
    ("Downloads/holiday.jpg", None, 0),
    ("Downloads/meme.jpg", None, 0),
)
TIP = TipCreate(
    seen_where="Sockets like this one are sold in the hardware shops of the old market",
    country="PH",
    message="Fictional demo tip: the same socket is in my grandmother's house.",
)


@dataclass(frozen=True)
class Features:
    case_reference: str
    triage_files: int
    proposals: int
    public_token: str


def build(session: Session, settings: Settings, investigator: Caller) -> Features:
    """Triage run, candidate series and the published trace page, as `investigator` (GB-NCA's,
    who owns the demo's clue notice)."""
    case = session.scalar(
        select(Case)
        .where(
            owned_by(Case.owner_agency_id, investigator),
            Case.status == CaseStatus.OPEN.value,
        )
        .order_by(Case.reference)
        .limit(1)
    )
    assert case is not None, "the demo gives GB-NCA open cases"
    summary = _triage(session, settings, investigator, case)
    run = series_proposals.propose_for_case(session, investigator, case.id)
    token = _trace_page(session, settings, investigator)
    return Features(case.reference, summary.files_total, len(run.proposals), token)


# --- series and the clue notice (moved here from demo.py) ---------------------------------------


def series(session: Session, callers: Callers) -> None:
    """Series built from the demo hash sets, with fictional children, some identified, so the
    series, statistics and triage pages show what the network knows."""
    for agency, name, sharing, partners, first_seen, hash_set, set_series, children in DEMO_SERIES:
        caller = callers[(agency, "investigator")]
        series = series_service.create_series(
            session,
            caller,
            SeriesCreate(
                name=name,
                sharing=sharing,
                partners=list(partners),
                first_seen_at=first_seen,
                description="Fictional demo series: benign random hashes stand in for files.",
            ),
        )
        series_service.add_media(
            session,
            caller,
            series.id,
            MediaAdd(hash_set=hash_set, hash_set_series=set_series, source="demo"),
        )
        for label, age_band, sex, identified in children:
            victim = series_service.add_victim(
                session, caller, series.id, VictimCreate(label=label, age_band=age_band, sex=sex)
            )
            if identified:
                by, country, when = identified
                series_service.identify_victim(
                    session,
                    caller,
                    victim.id,
                    VictimIdentify(country=country, agency=by, identified_at=when),
                )


def clue_notice(session: Session, settings: Settings, callers: Callers) -> None:
    """An open clue notice for Series Harbour's unidentified child, answered by two agencies,
    so the notices pages show a ranking and a timeline."""
    gb = callers[("GB-NCA", "investigator")]
    harbour = session.scalar(select(Series).where(Series.name == "Series Harbour"))
    assert harbour is not None
    notice = notice_service.create_notice(
        session,
        gb,
        settings,
        NoticeCreate(
            series_id=harbour.id,
            title="Where is this bedroom? (demo)",
            request="Fictional demo notice. Objects seen behind a child of Series Harbour.",
            targets=["South-eastern Asia", "AU"],
            clues=[
                ClueCreate(
                    kind=ClueKind.ELECTRICAL,
                    description="Wall socket with two flat "
                    "parallel pins and a round earth pin, white plastic, no switch",
                ),
                ClueCreate(
                    kind=ClueKind.PACKAGING,
                    description="Snack packet, red and yellow, "
                    "text partly legible: 'SARAP' and 'net wt 60 g'",
                ),
                ClueCreate(
                    kind=ClueKind.LANGUAGE,
                    description="A radio is heard in the "
                    "background; a presenter speaks a language other than English",
                ),
            ],
        ),
    )
    clues = list(
        session.scalars(select(Clue).where(Clue.notice_id == notice.id).order_by(Clue.number))
    )
    answers = (
        ("PH-PNP", 0, ["PH", "US"], Confidence.MEDIUM, "Type B sockets are common in homes here"),
        ("PH-PNP", 1, ["PH"], Confidence.HIGH, "A local snack brand, sold only in PH"),
        ("AU-AFP", 2, ["PH", "ID"], Confidence.LOW, "Sounds like Tagalog or Bahasa"),
    )
    for agency, clue, countries, confidence, note in answers:
        notice_service.answer_clue(
            session,
            callers[(agency, "investigator")],
            settings,
            notice.id,
            clues[clue].id,
            AnswerCreate(countries=countries, confidence=confidence, note=note),
        )


# --- a triage run on a case ---------------------------------------------------------------------


def _picture(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Smooth colour waves, different for every seed: stands in for a photograph."""
    r = np.random.default_rng(seed)
    x = np.linspace(0, 1, size[0])
    y = np.linspace(0, 1, size[1])[:, None]
    base = (np.sin(x * r.uniform(3, 12)) * np.cos(y * r.uniform(3, 12)) + 1) * 127
    rgb = np.stack([base, np.roll(base, 40, axis=1), base[::-1]], axis=2).astype(np.uint8)
    return Image.fromarray(rgb)


def _jpeg(image: Image.Image, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85, **({"exif": exif} if exif is not None else {}))
    return buffer.getvalue()


def _exif(camera: tuple[str, str, str], minute: int) -> Image.Exif:
    make, model, serial = camera
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    details = exif.get_ifd(0x8769)
    details[0x9003] = f"2025:11:02 14:{minute % 60:02d}:00"  # DateTimeOriginal: one burst
    details[0xA431] = serial  # BodySerialNumber
    return exif


def write_evidence(folder: Path) -> int:
    """The synthetic seizure: files in camera folders, as a phone or camera card holds them."""
    shutil.rmtree(folder, ignore_errors=True)
    for seed, (name, camera, minute) in enumerate(SHOTS):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        exif = _exif(camera, minute) if camera else None
        path.write_bytes(_jpeg(_picture(seed + 7), exif))
    return len(SHOTS)


def _triage(session: Session, settings: Settings, caller: Caller, case: Case) -> Summary:
    evidence = settings.data_dir / EVIDENCE
    write_evidence(evidence)
    out_dir = settings.data_dir / TRIAGE_REPORT
    shutil.rmtree(out_dir, ignore_errors=True)
    return triage_service.run(
        session,
        caller,
        settings,
        [evidence],
        out_dir,
        triage_service.Options(workers=1, case_reference=case.reference),
    )


# --- the published trace-an-object page -------------------------------------------------------


def wall_socket() -> bytes:
    """A drawn wall socket (two flat pins, a round earth pin) on a wall: an object only."""
    image = Image.new("RGB", (480, 360), (214, 200, 176))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (150, 90, 330, 270), radius=18, fill=(246, 246, 240), outline=(170, 170, 160), width=3
    )
    draw.rectangle((200, 140, 212, 190), fill=(40, 40, 40))
    draw.rectangle((268, 140, 280, 190), fill=(40, 40, 40))
    draw.ellipse((228, 208, 252, 232), fill=(40, 40, 40))
    return _jpeg(image)


def _trace_page(session: Session, settings: Settings, caller: Caller) -> str:
    notice = session.scalar(
        select(ClueNotice)
        .where(owned_by(ClueNotice.owner_agency_id, caller))
        .order_by(ClueNotice.reference)
        .limit(1)
    )
    assert notice is not None, "the demo's clue notice is GB-NCA's"
    clue = session.scalar(
        select(Clue)
        .where(Clue.notice_id == notice.id, Clue.kind == ClueKind.ELECTRICAL.value)
        .limit(1)
    )
    assert clue is not None
    image = notice_service.add_image(
        session, caller, notice.id, clue.id, wall_socket(), attested=True
    )
    published = notice_publishing.publish(
        session,
        caller,
        notice.id,
        PublishRequest(
            images=[
                PublishImage(
                    id=image.id,
                    caption="A white wall socket with two flat pins and a round earth pin",
                )
            ]
        ),
    )
    assert published.public_token is not None
    notice_publishing.submit_tip(session, settings, published.public_token, TIP, address=None)
    return published.public_token
