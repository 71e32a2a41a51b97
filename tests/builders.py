"""Typed builders for test data, and callers of three agencies in three countries.

GB-NCA and NL-NP are partners; US-HSI is unrelated to both, which makes sharing tests natural.
"""

from __future__ import annotations

import io
import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import AgencyCreate
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseCreate, SelectorAdded, SelectorCreate
from taskforce.core.audit import seal
from taskforce.core.audit.verify import VerifyResult, load_evidence, verify
from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Role, system_caller
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.media import hashing
from taskforce.triage import recording, report
from taskforce.triage.models import TriageRun

PASSWORD = "correct-horse-battery"

AGENCIES = {
    "GB-NCA": ("GB", "Europe/London", "+442079460001"),
    "NL-NP": ("NL", "Europe/Amsterdam", "+31201234567"),
    "US-HSI": ("US", "America/New_York", "+12025550123"),
}


def make_agency(session: Session, code: str = "GB-NCA", **overrides: str) -> Agency:
    country, tz, phone = AGENCIES.get(code, ("GB", "Europe/London", "+442079460002"))
    data = AgencyCreate(
        code=code,
        name=overrides.get("name", f"{code} (fictional)"),
        country=overrides.get("country", country),
        timezone=overrides.get("timezone", tz),
        contact_desk=overrides.get("contact_desk", f"{code} 24/7 desk"),
        contact_phone=overrides.get("contact_phone", phone),
        contact_email=overrides.get("contact_email", f"desk@{code.lower()}.example.com"),
    )
    return agency_service.register_agency(session, system_caller(), data)


@dataclass
class Person:
    user: User
    caller: Caller


def make_person(
    session: Session, agency: Agency, *, role: Role = Role.INVESTIGATOR, email: str | None = None
) -> Person:
    email = email or f"{role.value}.{agency.code.lower()}@example.com"
    user = auth_service.create_user(
        session,
        system_caller(),
        email=email,
        agency_code=agency.code,
        role=role,
        password=PASSWORD,
    )
    return Person(user=user, caller=auth_service.caller_for(session, user, channel="api"))


def make_case(
    session: Session,
    person: Person,
    *,
    title: str = "Operation Test",
    sharing: SharingLevel = SharingLevel.RED,
    partners: list[str] | None = None,
) -> Case:
    return case_service.open_case(
        session, person.caller, CaseCreate(title=title, sharing=sharing, partners=partners or [])
    )


def add_selector(
    session: Session,
    settings: Settings,
    person: Person,
    case: Case,
    kind: str,
    value: str,
    **kw: object,
) -> SelectorAdded:
    return case_additions.add_selector(
        session,
        person.caller,
        settings,
        case_id=case.id,
        data=SelectorCreate(type=kind, value=value, **kw),
    )


@dataclass
class Network:
    gb: Person
    nl: Person
    us: Person
    gb_analyst: Person
    gb_reader: Person
    gb_admin: Person


def make_network(session: Session, *, partners: bool = True) -> Network:
    """GB-NCA, NL-NP (GB's partner unless `partners` is false) and US-HSI, with their people."""
    gb, nl, us = (make_agency(session, c) for c in ("GB-NCA", "NL-NP", "US-HSI"))
    if partners:
        agency_service.add_partnership(
            session, system_caller(), code="GB-NCA", partner_code="NL-NP"
        )
    return Network(
        gb=make_person(session, gb),
        nl=make_person(session, nl),
        us=make_person(session, us),
        gb_analyst=make_person(session, gb, role=Role.ANALYST),
        gb_reader=make_person(session, gb, role=Role.READ_ONLY),
        gb_admin=make_person(session, gb, role=Role.AGENCY_ADMIN),
    )


@pytest.fixture
def network(session: Session) -> Network:
    return make_network(session)


def token_for(session: Session, settings: Settings, person: Person) -> dict[str, str]:
    issued = auth_service.create_token(session, person.caller, settings, user=person.user)
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def provider_headers(session: Session, settings: Settings) -> dict[str, str]:
    """An internet provider (role provider, sponsored by GB-NCA) and its download token."""
    user = auth_service.create_user(
        session,
        system_caller(),
        email="noc@isp.example.net",
        agency_code="GB-NCA",
        role=Role.PROVIDER,
        display_name="Example ISP",
    )
    issued = auth_service.create_token(session, system_caller(), settings, user=user)
    session.commit()
    return {"Authorization": f"Bearer {issued.secret}"}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_field(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def web_login(client: TestClient, session: Session, person: Person) -> str:
    """Sign in through the form; returns a CSRF token of the new session."""
    session.commit()
    page = client.get("/ui/login")
    r = client.post(
        "/ui/login",
        data={
            "email": person.user.email,
            "password": PASSWORD,
            "csrf_token": csrf_field(page.text),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_field(client.get("/ui/").text)


# --- seized media (synthetic, benign) ---------------------------------------------------------


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A benign synthetic picture: smooth colour waves, different for every seed."""
    r = np.random.default_rng(seed)
    x = np.linspace(0, 1, size[0])
    y = np.linspace(0, 1, size[1])[:, None]
    base = (np.sin(x * r.uniform(3, 12)) * np.cos(y * r.uniform(3, 12)) + 1) * 127
    rgb = np.stack([base, np.roll(base, 40, axis=1), base[::-1]], axis=2).astype(np.uint8)
    return Image.fromarray(rgb)


def jpeg(image: Image.Image, quality: int = 90, exif: Image.Exif | None = None) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, **({"exif": exif} if exif else {}))
    return buffer.getvalue()


@pytest.fixture
def seizure(tmp_path: Path) -> Path:
    """15 files: pictures (some resized, turned), an empty and a truncated file, a PNG named
    .jpg, a zip with a `../` member name and a text file, a tar.gz with one picture."""
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
    """GB's RED hash set: IMG_0000 by PDQ (vic-us:1, Series Hill), IMG_0001 by PDQ (national-b,
    Series Lake, victim identified), IMG_0002 by MD5 (national-a)."""
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


def make_triage_run(
    session: Session, person: Person, case: Case, rows: list[dict[str, Any]]
) -> TriageRun:
    """A finished run recorded without hashing anything (rows as triage's journal has them)."""
    run = TriageRun(
        case_id=case.id,
        agency_id=case.owner_agency_id,
        actor_user_id=person.user.id,
        actor_label=person.caller.label,
        channel="cli",
        status="finished",
        evidence=["/evidence/disk1"],
        options={"pdq_threshold": 31, "hash_sets": []},
        report_dir="/reports/disk1",
    )
    session.add(run)
    session.flush()
    blank = dict.fromkeys(report.CSV_COLUMNS) | {"match_type": "none", "hash_set_id": None}
    recording.record_results(session, run.id, [blank | row for row in rows])
    session.refresh(run)
    return run


def seal_and_verify(factory: sessionmaker[Session], settings: Settings) -> VerifyResult:
    """Seal what the test wrote, as the server's sealer would, then verify the whole log
    against the Merkle tree and the signed heads in the test's audit folder."""
    sealed = seal.seal(factory, settings)
    assert sealed.problem is None, sealed.problem
    evidence = load_evidence(settings)
    try:
        with factory() as session:
            result = verify(session, evidence)
    finally:
        evidence.close()
    assert result.pending == 0
    assert result.newest_head == result.sealed
    return result
