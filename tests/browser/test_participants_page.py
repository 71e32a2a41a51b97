"""In a real browser, at a laptop's and a phone's width: an investigator opens the participants
and identifiers of a case's chats, ticks two identifiers, confirms them with a note and sees
them become selectors of the case; the page never scrolls sideways and the strict policy
refuses nothing. Screenshots go to $TASKFORCE_SCREENSHOTS when set."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_builders import gb_investigator, sign_in, watched_page
from chats_builders import imported
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.models import Case
from taskforce.cases.schemas import CaseCreate
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings

pytestmark = pytest.mark.browser


def seed(session: Session, _settings: Settings) -> None:
    caller = gb_investigator(session)
    case = case_service.open_case(session, caller, CaseCreate(title="Operation Harbour"))
    imported(session, case, title="Chat with Sam")


@pytest.mark.seed.with_args(seed)
@pytest.mark.parametrize("width", [1280, 390])
def test_identifiers_are_confirmed_from_the_page_at_both_widths(
    live_server: object, browser: Browser, tmp_path: Path, width: int
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    settings: Settings = live_server.settings  # type: ignore[attr-defined]
    engine = make_engine(settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        case_id = session.scalars(select(Case.id)).one()
    engine.dispose()
    watched = watched_page(browser, width, tmp_path)
    page, shots, refused = watched.page, watched.shots, watched.refused
    sign_in(page, base)

    page.goto(f"{base}/ui/chats/cases/{case_id}/participants")
    expect(page.locator("h1")).to_have_text("Participants and identifiers")
    expect(page.locator("#people")).to_contain_text("+44 20 7946 0958")
    rows = page.locator("#identifiers tbody tr")
    expect(rows).to_have_count(4)
    page.screenshot(path=str(shots / f"chats-participants-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.locator("#identifiers tr", has_text="sam_22").locator("input[type=checkbox]").check()
    page.locator("#identifiers tr", has_text="+442079460958").locator(
        "input[type=checkbox]"
    ).check()
    page.fill("input[name=note]", "Sam, the club's coach")
    page.click("button[value=confirm]")
    expect(page.locator(".alert-ok")).to_contain_text("2 confirmed: 2 selectors added")
    expect(page.locator("#identifiers .state-open")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.locator("#people a", has_text="Chat with Sam").first.click()
    expect(page.locator("h1")).to_contain_text("Chat with Sam")  # the conversation page
    assert refused == []
