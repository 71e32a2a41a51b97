"""In a real browser: the analyst opens the review queue of the demo's chat logs (imported
through the importer while the test was seeded), opens the flagged conversation at the flag,
sees the message that raised the risk highlighted with the words that fired a rule, asks why
and reads the tagger's reasons, records a decision with a note, and finds the conversation
reviewed in the queue. Nothing overflows at 390 px, the strict policy refuses nothing and no
image is ever loaded. Screenshots go to $TASKFORCE_SCREENSHOTS when set."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_builders import PASSWORD, gb_investigator, sign_in, watched_page
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from taskforce import demo_chats
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Role, system_caller
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings

pytestmark = pytest.mark.browser
ANALYST = "analyst@gb-nca.example.com"


def seed(session: Session, settings: Settings) -> None:
    caller = gb_investigator(session)
    case = case_service.open_case(session, caller, CaseCreate(title="Operation Lantern"))
    demo_chats.build(session, settings, caller, case, utcnow())  # imported by the investigator
    auth_service.create_user(
        session,
        system_caller(),
        email=ANALYST,
        agency_code="GB-NCA",
        role=Role.ANALYST,
        password=PASSWORD,
    )


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.seed.with_args(seed)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_analyst_reviews_the_flagged_conversation(
    live_server: object, browser: Browser, tmp_path: Path, width: int
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    watched = watched_page(browser, width, tmp_path)
    page, shots, refused, images = watched.page, watched.shots, watched.refused, watched.images
    sign_in(page, base, ANALYST)

    page.goto(f"{base}/ui/chats")
    expect(page.locator("h1")).to_have_text("Chats to review")
    rows = page.locator("#queue tbody tr")
    expect(rows).to_have_count(4)
    first = rows.first
    expect(first).to_contain_text("WhatsApp Chat with")
    expect(first).to_contain_text("Flagged")
    expect(first).to_contain_text("Secrecy")
    expect(page.locator(".lead-note")).to_contain_text("never evidence by itself")
    page.screenshot(path=str(shots / f"chats-queue-{width}.png"), full_page=True)
    _fits(page, width)

    first.locator("a.chat-title").click()
    flagged = page.locator("li.msg-flagged")
    expect(flagged).to_be_visible()
    expect(flagged).to_contain_text("risk reached the threshold here")
    assert page.locator("li.msg-tactic mark.rule").count() >= 3
    expect(page.locator("#timeline")).to_contain_text("Access")
    expect(page.locator("#attachments")).to_contain_text("IMG-20260301-WA0007.jpg")
    expect(page.locator(".lead-note")).to_contain_text("never evidence by itself")
    _fits(page, width)
    page.screenshot(path=str(shots / f"chats-conversation-{width}.png"), full_page=True)

    secrecy = page.locator("li.msg", has_text="don't tell your parents")
    secrecy.get_by_role("link", name="Why these tactics?").click()
    why = page.locator(".why")
    expect(why).to_be_visible()
    expect(why).to_contain_text("Secrecy")
    expect(why).to_contain_text("threshold")
    expect(why).to_contain_text("Model n-grams")
    _fits(page, width)
    why.screenshot(path=str(shots / f"chats-why-{width}.png"))

    page.locator("input[name=decision][value=concern]").check()
    page.locator("textarea[name=note]").fill("age asked, secrecy, another app, a meeting")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".alert-ok")).to_contain_text("Your decision is recorded")
    expect(page.locator("#review .reviews")).to_contain_text("a meeting")
    expect(page.locator("#review .reviews")).to_contain_text(ANALYST)
    _fits(page, width)

    page.locator(".page-head .eyebrow a.ref").click()  # the case's chats
    expect(page.locator("h1")).to_contain_text("Chats of Operation Lantern")
    expect(page.locator("#conversations tbody tr")).to_have_count(4)
    expect(page.locator("#imports tbody tr")).to_have_count(3)
    _fits(page, width)
    page.screenshot(path=str(shots / f"chats-case-{width}.png"), full_page=True)

    page.goto(f"{base}/ui/chats")
    expect(page.locator("#queue tbody tr")).to_have_count(3)
    page.goto(f"{base}/ui/chats?decision=reviewed")
    reviewed = page.locator("#queue tbody tr")
    expect(reviewed).to_have_count(1)
    expect(reviewed.first).to_contain_text("Concern")
    _fits(page, width)
    page.screenshot(path=str(shots / f"chats-reviewed-{width}.png"), full_page=True)
    assert refused == []
    assert images == []
