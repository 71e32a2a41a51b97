"""In a real browser: an investigator marks a GREEN case "not for export" from its page, sees
the interop page count it out, downloads a STIX bundle for the network's material, and finds
that export listed with its SHA-256 and signature. Screenshots go to $TASKFORCE_SCREENSHOTS
when set (else the test's tmp_path)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from browser_builders import gb_investigator, sign_in
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce.cases import additions
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

pytestmark = pytest.mark.browser


def seed(session: Session, settings: Settings) -> None:
    caller = gb_investigator(session)
    for title, values in (
        ("Operation Lark", ("lark.example.com", "wren.example.com")),
        ("Operation Finch", ("finch.example.com",)),
    ):
        case = case_service.open_case(
            session, caller, CaseCreate(title=title, sharing=SharingLevel.GREEN)
        )
        for value in values:
            additions.add_selector(
                session,
                caller,
                settings,
                case_id=case.id,
                data=SelectorCreate(type="domain", value=value),
            )


@pytest.mark.seed.with_args(seed)
def test_mark_a_case_then_download_and_find_the_export(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, base)

    page.click("nav.mainnav >> text=Exports")
    expect(page.locator("#releasable .figures")).to_contain_text("3 selectors of 2 GREEN cases")

    page.goto(f"{base}/ui/cases?scope=mine")
    page.click("text=Operation Finch")
    expect(page.locator("#exports")).to_contain_text("may leave the hub as")
    page.click("#exports button:has-text('Mark not for export')")
    expect(page.locator("#exports")).to_contain_text("not for export")
    expect(page.locator(".timeline")).to_contain_text("Not for export: no → yes")
    page.screenshot(path=str(shots / "case-not-for-export-1366.png"), full_page=True)

    page.goto(f"{base}/ui/interop")
    expect(page.locator("#releasable .figures")).to_contain_text("2 selectors of 1 GREEN case")
    with page.expect_download() as info:
        page.click("#releasable button:has-text('STIX 2.1 bundle')")
    saved = tmp_path / "bundle.json"
    info.value.save_as(saved)
    bundle = json.loads(saved.read_text())
    assert bundle["type"] == "bundle"
    assert "finch.example.com" not in saved.read_text()
    assert "lark.example.com" in saved.read_text()

    page.reload()
    row = page.locator("#exports tbody tr").first
    expect(row).to_contain_text("STIX 2.1 bundle")
    expect(row).to_contain_text(hashlib.sha256(saved.read_bytes()).hexdigest())
    expect(row.locator("a", has_text=".sig.json")).to_be_visible()
    page.screenshot(path=str(shots / "interop-1366.png"), full_page=True)
