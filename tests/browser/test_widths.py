"""Every top-level page holds at the widths people use: a phone (375), a tablet (768), a
laptop's half screen (1093) and a desktop (1440), for each kind of member and for the public.

Measured in the DOM, not by eye: the page must not scroll sideways, no element may pass the
viewport's right edge (unless it sits inside its own scrolling box, as wide tables do), and
the header's parts (brand, menu, user, sign-out) must not overlap. Each page is also saved as
a screenshot, into $TASKFORCE_SCREENSHOTS when set (else the test's tmp_path), for a person to
look at."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from builders import jpeg, picture
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from taskforce.core.auth import service as auth_service
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.demo import DEMO_PASSWORD
from taskforce.notices import publishing, reading
from taskforce.notices import service as notice_service
from taskforce.notices.models import ClueNotice
from taskforce.notices.schemas import PublishImage, PublishRequest

pytestmark = pytest.mark.browser

WIDTHS = (375, 768, 1093, 1440)
MENU_BELOW = 1280  # narrower than this, the main menu folds into "Menu" (app.css)
PEOPLE = {
    "investigator": "investigator@np.example.net",
    "hotline-analyst": "analyst@nl-hotline.example.org",
    "agency-admin": "admin@nca.example.com",
    "network-admin": "admin@hub.example.org",
    "coordinator-analyst": "analyst@hub.example.org",
}

# Elements that pass the right edge of the viewport (none, or inside a scrolling box is fine).
OVERFLOW_JS = """() => {
  const vw = window.innerWidth;
  const out = [];
  const doc = document.documentElement.scrollWidth;
  if (doc > vw) out.push(`the page is ${doc}px wide in a ${vw}px window`);
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className
      ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
    + ' "' + (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40) + '"';
  // only a table, preformatted text or a drawing (the rota's timeline) may be wider than the
  // screen, inside a scrolling box
  const scrolls = (el) => {
    if (!el.closest('table, pre, svg')) return false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.height <= 1 || getComputedStyle(el).visibility === 'hidden') continue;
    if (r.right > vw + 0.5 && !scrolls(el)) {
      out.push(`${name(el)} ends at ${Math.round(r.right)}px`);
    }
  }
  return out.slice(0, 8);
}"""

# The header's parts that are shown, with their boxes.
HEADER_JS = """() => {
  const parts = [['brand', '.topbar .brand'], ['menu', '.topbar .menu > summary'],
    ['user name', '.topbar .who-name'], ['user agency and role', '.topbar .who-meta'],
    ['sign-out', '.topbar .who button']];
  document.querySelectorAll('.topbar .mainnav a').forEach((a, i) =>
    parts.push(['menu item "' + a.textContent.trim() + '"',
      `.topbar .mainnav a:nth-of-type(${i + 1})`]));
  const out = [];
  for (const [label, selector] of parts) {
    const el = document.querySelector(selector);
    if (!el) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    out.push({label, left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  }
  return out;
}"""


# The first link to one record (its path ends in an id) among the links given.
RECORD_JS = """els => (els.map(a => a.getAttribute('href'))
  .find(h => /\\/[0-9a-f]{8}-[0-9a-f-]{27}$/.test(h)) || '')"""


def overlaps(boxes: list[dict[str, float | str]]) -> list[str]:
    """Pairs of header parts whose boxes intersect (menu items among themselves may touch)."""
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            if str(a["label"]).startswith("menu item") and str(b["label"]).startswith("menu item"):
                continue
            if (
                float(a["left"]) < float(b["right"]) - 0.5
                and float(b["left"]) < float(a["right"]) - 0.5
                and float(a["top"]) < float(b["bottom"]) - 0.5
                and float(b["top"]) < float(a["bottom"]) - 0.5
            ):
                found.append(f"{a['label']} overlaps {b['label']}")
    return found


@dataclass(frozen=True)
class Site:
    url: str
    trace: str  # the published notice's public page


@pytest.fixture(scope="module")
def site(demo_server: Any) -> Site:
    """The demo network with its clue notice published (one synthetic picture): the public
    trace page is one of the pages to hold."""
    engine = make_engine(demo_server.settings)
    with unit_of_work(make_sessionmaker(engine)) as session:
        notice = session.scalars(select(ClueNotice)).first()
        assert notice is not None
        user = auth_service.find_user(session, "investigator@nca.example.com")
        assert user is not None
        owner = auth_service.caller_for(session, user, channel="cli")
        clue_id = reading.describe(session, owner, demo_server.settings, notice).clues[0].id
        image = notice_service.add_image(
            session, owner, notice.id, clue_id, jpeg(picture(7)), attested=True
        )
        publishing.publish(
            session,
            owner,
            notice.id,
            PublishRequest(images=[PublishImage(id=image.id, caption="A wall socket")]),
        )
        token = notice.public_token
    engine.dispose()
    assert token is not None
    return Site(url=demo_server.url, trace=f"/trace/{token}")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"


def save_shot(page: Page, path: Path, *, full_page: bool = True) -> None:
    """A screenshot for a person to look at. What the test checks is measured in the DOM, so
    a capture chromium cannot make (a very tall page on a busy machine) fails nothing: it is
    tried again at viewport size, then noted next to where it would be."""
    for whole in dict.fromkeys((full_page, False)):
        try:
            page.screenshot(path=str(path), full_page=whole)
            return
        except PlaywrightError:
            continue
    path.with_suffix(".txt").write_text("chromium could not capture this page\n")


def check_page(page: Page, url: str, shot: Path) -> list[str]:
    """Open one page; what does not hold at this width, each with the page named."""
    response = page.goto(url)
    assert response is not None, url
    assert response.status == 200, f"{url}: {response.status}"
    save_shot(page, shot)
    problems = [*page.evaluate(OVERFLOW_JS), *overlaps(page.evaluate(HEADER_JS))]
    return [
        f"{url} at {page.viewport_size and page.viewport_size['width']}px: {p}" for p in problems
    ]


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/ui/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/ui/")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("person", list(PEOPLE))
def test_member_pages_hold(
    browser: Browser, site: Site, shots: Path, person: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    sign_in(page, site.url, PEOPLE[person])
    # every item of the main menu (the same list feeds the full bar and the folded "Menu")
    hrefs = page.locator(".topbar .mainnav a").evaluate_all(
        "els => els.map(a => a.getAttribute('href'))"
    )
    targets = [str(href) for href in hrefs]
    assert "/ui/" in targets
    assert "/ui/cases" in targets
    problems: list[str] = []
    for target in targets:
        shot = shots / f"{person}-{slug(target)}-{width}.png"
        problems += check_page(page, site.url + target, shot)
        # and the first record each list leads to (a case, a hit, a report...): long
        # references, hashes and addresses live there
        record = page.locator(f'.page a[href^="{target}/"]').evaluate_all(RECORD_JS)
        if target != "/ui/" and record:
            shot = shots / f"{person}-{slug(target)}-record-{width}.png"
            problems += check_page(page, site.url + record, shot)
    assert not problems, "\n".join(problems)
    # the full bar on a wide screen; "Menu" (no script: a <details>) on a narrower one
    page.goto(site.url + "/ui/cases")
    bar, menu = page.locator(".topbar .mainnav"), page.locator(".topbar .menu > summary")
    if width < MENU_BELOW:
        expect(bar).to_be_hidden()
        menu.click()
        panel = page.locator(".topbar .menu-panel")
        expect(panel.get_by_role("link", name="Cases")).to_be_visible()
        box = panel.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        opened = panel.locator("a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
        assert [str(href) for href in opened] == targets
        save_shot(page, shots / f"{person}-menu-open-{width}.png", full_page=False)
    else:
        expect(bar).to_be_visible()
        expect(menu).to_be_hidden()
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_public_pages_hold(browser: Browser, site: Site, shots: Path, width: int) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    for path in ("/ui/login", "/report", "/blocked", site.trace, "/observatory"):
        name = "trace" if path == site.trace else slug(path)
        problems += check_page(page, site.url + path, shots / f"public-{name}-{width}.png")
    context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", [1280, 1366, 1600])
@pytest.mark.parametrize("person", ["investigator", "network-admin"])
def test_the_main_menu_never_wraps(browser: Browser, site: Site, person: str, width: int) -> None:
    """Wherever the full bar shows, its items sit on one line: a second line of menu pushes
    every page down and reads as two menus. The network admin's longer menu (Users, Sign-ins,
    Audit) stays a full bar on a 1366 px laptop and folds into "Menu" below it."""
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    sign_in(page, site.url, PEOPLE[person])
    bar = page.locator(".topbar .mainnav")
    if person == "network-admin" and width < 1366:
        expect(bar).to_be_hidden()
        expect(page.locator(".topbar .menu > summary")).to_be_visible()
    else:
        expect(bar).to_be_visible()
        tops = bar.locator("a").evaluate_all(
            "els => els.map(a => Math.round(a.getBoundingClientRect().top))"
        )
        assert len(tops) >= 10
        assert len(set(tops)) == 1, f"the menu wraps onto {len(set(tops))} lines at {width}px"
        assert page.locator(".topbar").evaluate("el => el.getBoundingClientRect().height") < 70
    context.close()
