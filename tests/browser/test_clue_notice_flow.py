"""In a real browser: GB-NCA writes a clue notice with a sanitised image → ZA-SAPS answers →
the ranking updates → GB closes the notice (child identified) → the notice, the series and
GB's own triage results show the child identified; US-HSI, outside the targeted region, sees
nothing."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from browser_builders import PASSWORD, sign_in
from builders import Person, jpeg, make_case, make_triage_run, picture
from notice_builders import gps_exif
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.settings import Settings
from taskforce.series import service as series_service
from taskforce.series.schemas import MediaAdd, MediaHashes, SeriesCreate, VictimCreate

SERIES: dict[str, uuid.UUID] = {}
SEIZED_MD5 = "7d793037a0760186574b0282f2f435e7"  # a file of GB's seizure, later in the series

pytestmark = pytest.mark.browser


def seed(session: Session, _settings: Settings) -> None:
    for code, country, tz, phone in (
        ("GB-NCA", "GB", "Europe/London", "+442079460001"),
        ("ZA-SAPS", "ZA", "Africa/Johannesburg", "+27123456789"),
        ("US-HSI", "US", "America/New_York", "+12025550123"),
    ):
        agency_service.register_agency(
            session,
            system_caller(),
            AgencyCreate(
                code=code,
                name=f"{code} (fictional)",
                country=country,
                timezone=tz,
                contact_desk=f"{code} 24/7 desk",
                contact_phone=phone,
                contact_email=f"desk@{code.lower()}.example.com",
            ),
        )
        user = auth_service.create_user(
            session,
            system_caller(),
            email=f"inv@{code.lower()}.example.com",
            agency_code=code,
            role=Role.INVESTIGATOR,
            password=PASSWORD,
        )
        if code == "GB-NCA":
            caller = auth_service.caller_for(session, user, channel="cli")
            series = series_service.create_series(session, caller, SeriesCreate(name="Blue Room"))
            series_service.add_victim(session, caller, series.id, VictimCreate(label="BR-V1"))
            series_service.add_media(
                session, caller, series.id, MediaAdd(media=[MediaHashes(md5=SEIZED_MD5)])
            )
            case = make_case(session, Person(user, caller), title="Operation Blue Room")
            run = make_triage_run(
                session,
                Person(user, caller),
                case,
                [
                    {
                        "path": "/evidence/disk1/DCIM/IMG_0042.jpg",
                        "md5": SEIZED_MD5,
                        "media_type": "image/jpeg",
                    }
                ],
            )
            SERIES["id"] = series.id
            SERIES["run"] = run.id


@pytest.mark.seed.with_args(seed)
def test_notice_answered_ranked_closed_and_series_identified(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    photo = tmp_path / "socket.jpg"
    photo.write_bytes(jpeg(picture(31), exif=gps_exif()))

    gb = browser.new_context().new_page()
    sign_in(gb, base, "inv@gb-nca.example.com")
    gb.goto(f"{base}/ui/series/{SERIES['id']}")
    gb.click("text=Write a clue notice")
    gb.fill("input[name=title]", "Where is the blue room?")
    gb.fill("textarea[name=request]", "Sockets and a cereal box are visible.")
    gb.check("input[name=targets][value='Sub-Saharan Africa']")
    gb.locator("select[name=kind]").first.select_option("electrical")
    gb.locator("textarea[name=description]").first.fill("Wall socket, three round pins")
    gb.locator("input[name=image]").first.set_input_files(str(photo))
    gb.locator("input[name=attest]").first.check()
    gb.click("text=Send the notice")
    expect(gb.locator("h1")).to_have_text("Where is the blue room?")
    expect(gb.locator(".cn-figure")).to_contain_text("removed EXIF, GPS position")
    notice_url = gb.url
    # the stored picture is a real, decodable image
    # (once it has loaded: the page can be ready before its picture is)
    loaded_width = """img => img.complete ? img.naturalWidth : new Promise(done => {
        img.addEventListener("load", () => done(img.naturalWidth));
        img.addEventListener("error", () => done(0));
    })"""
    assert gb.locator(".cn-figure img").evaluate(loaded_width) == 640

    za = browser.new_context().new_page()
    sign_in(za, base, "inv@za-saps.example.com")
    za.click("nav >> text=Notices")
    za.click("text=Where is the blue room?")
    za.fill("input[name=countries]", "ZA, NA, LS")
    za.select_option("select[name=confidence]", "high")
    za.click("text=Answer clue 1")
    expect(za.locator("#ranking")).to_contain_text("South Africa")
    expect(za.locator(".cn-answers")).to_contain_text("ZA-SAPS")

    us = browser.new_context().new_page()
    sign_in(us, base, "inv@us-hsi.example.com")
    us.goto(f"{base}/ui/notices")
    expect(us.locator("main")).not_to_contain_text("Where is the blue room?")
    assert us.goto(notice_url).status == 404  # type: ignore[union-attr]

    gb.reload()
    expect(gb.locator("#ranking tbody tr")).to_have_count(3)
    expect(gb.locator("#ranking")).to_contain_text("Lesotho")
    gb.select_option("#close select[name=country]", "ZA")
    gb.select_option("#close select[name=identified_by]", "ZA-SAPS")
    gb.click("#close button[type=submit]")
    expect(gb.locator(".alert-ok")).to_contain_text("Child identified in South Africa")
    expect(gb.locator("#series")).to_contain_text("Identified")

    gb.goto(f"{base}/ui/series/{SERIES['id']}")
    expect(gb.locator("#victims")).to_contain_text("identified")
    expect(gb.locator("#victims")).to_contain_text("ZA-SAPS")

    gb.goto(f"{base}/ui/triage-runs/{SERIES['run']}")  # GB's own seizure, triaged before
    expect(gb.locator(".identification")).to_contain_text("Series Blue Room")
    expect(gb.locator(".identification")).to_contain_text("victim identified by ZA-SAPS")

    za.goto(f"{base}/ui/notices")
    expect(za.locator(".cn-inbox")).to_contain_text("is closed: the child was identified")
