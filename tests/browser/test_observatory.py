"""The public observatory in a real browser, at a laptop's and a phone's width: the page never
scrolls sideways (the map and charts scale to the screen, wide tables scroll in their own
box), no script runs and the policy refuses nothing the page needs (the console stays clean),
and the map draws a shape for every country. Screenshots go to $TASKFORCE_SCREENSHOTS when set
(else the test's tmp_path), for a person to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from observatory_pages import figures, publish
from playwright.sync_api import Browser, ConsoleMessage, Response, expect
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.observatory import worldmap

pytestmark = pytest.mark.browser

# the page's own width against the window's; elements past the right edge that are not inside
# a box that scrolls (the tables' boxes do)
OVERFLOW_JS = """() => {
  const vw = window.innerWidth;
  const out = [];
  if (document.documentElement.scrollWidth > vw)
    out.push(`page ${document.documentElement.scrollWidth}px wide in ${vw}px`);
  const scrolls = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== 'visible') return true;
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 1 && r.right > vw + 0.5 && !scrolls(el))
      out.push(`${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''} ends at ${r.right}`);
  }
  return out.slice(0, 8);
}"""


def seed(session: Session, _settings: Settings) -> None:
    publish(session, figures("2026-10"))
    publish(session, figures("2026-11"))


@pytest.mark.seed.with_args(seed)
@pytest.mark.parametrize(("width", "height"), [(1366, 800), (390, 844)])
def test_the_observatory_fits_a_laptop_and_a_phone(
    live_server: object, browser: Browser, tmp_path: Path, width: int, height: int
) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)  # a refused style or script says so here

    def fetched(answer: Response) -> None:
        if answer.status >= 400 and not answer.url.endswith("/favicon.ico"):
            errors.append(f"{answer.url}: {answer.status}")

    page.on("console", keep)
    page.on("response", fetched)
    response = page.goto(f"{base}/observatory")
    assert response is not None
    assert response.status == 200
    expect(page.locator("h1")).to_have_text("What the network receives, confirms and removes")
    shots = Path(os.environ.get("TASKFORCE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"observatory-{width}.png"), full_page=True)
    assert page.evaluate(OVERFLOW_JS) == []
    # the map scales to the page: as wide as its card's content, never wider than the window
    box = page.locator("svg.obs-map").bounding_box()
    assert box is not None
    assert box["x"] > 0
    assert box["x"] + box["width"] <= width
    assert box["width"] > width * 0.6
    assert page.locator("svg.obs-map g[id^=obs-map-]").count() == len(worldmap.shapes())
    expect(page.locator("#removal table caption")).to_contain_text("Time to removal")
    assert page.evaluate("() => document.scripts.length") == 0
    assert errors == []
    context.close()
