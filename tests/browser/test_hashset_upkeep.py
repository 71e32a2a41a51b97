"""In a real browser: an investigator imports a letter into a hash set and sees an error, not a
success; renames the set; deletes it behind the confirmation that names what goes with it.
Screenshots go to $TASKFORCE_SCREENSHOTS when set (else the test's tmp_path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_builders import gb_investigator, sign_in
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate

pytestmark = pytest.mark.browser


def seed(session: Session, _settings: Settings) -> None:
    caller = gb_investigator(session)
    hashset_service.create_hash_set(session, caller, HashSetCreate(name="Known"))
    lines = [formats.ParsedEntry(line=n, md5=f"{n:032x}") for n in range(1, 4)]
    hashset_service.import_entries(session, caller, name="Known", entries=lines, fmt="lines")


@pytest.mark.seed.with_args(seed)
def test_refused_import_rename_and_delete(
    live_server: object, browser: Browser, tmp_path: Path
) -> None:
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    base = live_server.url  # type: ignore[attr-defined]
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    sign_in(page, base)

    page.goto(f"{base}/ui/hashsets")
    letter = tmp_path / "letter.txt"
    letter.write_text("Dear colleague,\nplease find the files attached.\nKind regards\n")
    page.set_input_files("input[name=file]", str(letter))
    page.click("form[action$='/import'] button[type=submit]")
    expect(page.locator(".alert-error")).to_contain_text("not a hash list")
    expect(page.locator(".alert-ok")).to_have_count(0)
    page.screenshot(path=str(shots / "hashset-import-refused-1440.png"), full_page=True)

    page.click("text=Rename, export mark or delete")
    expect(page.locator("button", has_text="Delete Known and its 3 entries")).to_be_visible()
    page.screenshot(path=str(shots / "hashset-manage-1440.png"), full_page=True)
    page.fill("input[name=name]", "Known 2026")
    page.click("button:has-text('Rename')")
    expect(page).to_have_url(f"{base}/ui/hashsets")
    expect(page.locator("table")).to_contain_text("Known 2026")

    page.click("text=Rename, export mark or delete")
    page.click("button:has-text('Delete Known 2026')")
    expect(page).to_have_url(f"{base}/ui/hashsets")
    expect(page.locator("table")).not_to_contain_text("Known 2026")
