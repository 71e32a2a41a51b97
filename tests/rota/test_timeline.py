"""The 14-day timeline: bars where the shifts are, in the viewer's zone, days the clocks change
on drawn 23 or 25 hours wide, gaps red, time off hatched, and a drawing a screen reader and an
XML parser can read."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from defusedxml import ElementTree

from taskforce.rota import engine, timeline
from taskforce.rota.timeline import HOUR, LABEL

SVG = "{http://www.w3.org/2000/svg}"
AMS = ZoneInfo("Europe/Amsterdam")
NY = ZoneInfo("America/New_York")
NL = uuid.UUID(int=1)
US = uuid.UUID(int=2)
ANY = uuid.UUID(int=10)
PRES = uuid.UUID(int=11)
DESKS = [(NL, "NL-NP"), (US, "US-HSI")]
REQUIREMENTS = [(ANY, "Any desk on duty"), (PRES, "Preservation in Spanish")]


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def shift(desk: uuid.UUID, a: datetime, b: datetime, source: str = "rule") -> engine.Shift:
    return engine.Shift(desk_id=desk, starts_at=a, ends_at=b, source=source, source_id=None)


def draw(
    zone: ZoneInfo = AMS, start_day: date = date(2026, 3, 23), **kw: object
) -> timeline.Timeline:
    args: dict[str, object] = {
        "desks": DESKS,
        "requirements": REQUIREMENTS,
        "shifts": [],
        "off_duty": [],
        "gaps": [],
        "start_day": start_day,
        "zone": zone,
    }
    args.update(kw)
    return timeline.draw(**args)  # type: ignore[arg-type]


def test_a_bar_sits_where_its_shift_is_in_real_hours() -> None:
    # Monday 23 March 2026 starts at 23:00 UTC on the Sunday in Amsterdam (CET, UTC+1)
    t = draw(shifts=[shift(NL, at(2026, 3, 24, 8), at(2026, 3, 24, 16), "rotation")])
    assert t.start == at(2026, 3, 22, 23)
    (bar,) = t.of("rotation")
    assert bar.lane == "NL-NP"
    assert bar.x == pytest.approx(LABEL + 33 * HOUR)
    assert bar.width == pytest.approx(8 * HOUR)
    assert f'x="{LABEL + 33 * HOUR:g}"' in t.svg
    assert "Tue 24 Mar 09:00 CET – 17:00 CET" in bar.title  # the viewer's clock
    assert "08:00 – 16:00 UTC" in bar.title  # and UTC


def test_the_same_shift_moves_with_the_viewers_zone_but_keeps_its_length() -> None:
    s = shift(NL, at(2026, 3, 24, 8), at(2026, 3, 24, 16))
    ams, ny = draw(shifts=[s]), draw(NY, shifts=[s])
    assert ny.start == at(2026, 3, 23, 4)  # New York's midnight (EDT, UTC-4)
    (a,), (b,) = ams.of("rule"), ny.of("rule")
    assert b.x - a.x == pytest.approx(-5 * HOUR)  # New York's day starts 5 hours later
    assert a.width == b.width
    assert "04:00 EDT – 12:00 EDT" in b.title


def test_spring_forward_day_is_23_hours_and_autumn_day_25() -> None:
    spring = draw(start_day=date(2026, 3, 23))
    days = {d.day: d for d in spring.days}
    assert days[date(2026, 3, 29)].hours == 23
    assert days[date(2026, 3, 29)].width == pytest.approx(23 * HOUR)
    assert days[date(2026, 3, 30)].x == pytest.approx(days[date(2026, 3, 29)].x + 23 * HOUR)
    assert spring.end - spring.start == timedelta(days=14, hours=-1)
    assert "Sun 29 Mar (23 h)" in spring.svg
    autumn = draw(start_day=date(2026, 10, 19))
    assert {d.day: d.hours for d in autumn.days}[date(2026, 10, 25)] == 25
    assert autumn.width == pytest.approx(LABEL + (14 * 24 + 1) * HOUR)
    assert all(d.hours == 24 for d in draw(ZoneInfo("UTC")).days)


def test_a_shift_across_the_missing_hour_is_drawn_its_true_length() -> None:
    # 00:00-08:00 Amsterdam clock on the spring day is 7 real hours: 23:00-06:00 UTC
    s = shift(NL, at(2026, 3, 28, 23), at(2026, 3, 29, 6))
    (bar,) = draw(shifts=[s]).of("rule")
    assert bar.width == pytest.approx(7 * HOUR)
    assert "Sun 29 Mar 00:00 CET – 08:00 CEST" in bar.title


def test_hour_ticks_follow_a_half_hour_zone() -> None:
    kolkata = draw(ZoneInfo("Asia/Kolkata"), start_day=date(2026, 1, 5))
    assert kolkata.start == at(2026, 1, 4, 18, 30)
    root = ElementTree.fromstring(str(kolkata.svg))
    ticks = [
        float(line.get("x1", "0"))
        for line in root.iter(f"{SVG}line")
        if line.get("class") == "hour"
    ]
    assert len(ticks) == 14 * 3  # 06, 12 and 18 every day
    assert ticks[0] == pytest.approx(LABEL + 6 * HOUR)


def test_gaps_are_red_in_their_requirements_lane_and_time_off_hatched() -> None:
    t = draw(
        gaps=[
            engine.Gap(
                requirement_id=PRES, starts_at=at(2026, 3, 25, 1), ends_at=at(2026, 3, 25, 5)
            )
        ],
        off_duty=[
            engine.OffDuty(
                desk_id=US,
                starts_at=at(2026, 3, 24, 4),
                ends_at=at(2026, 3, 25, 4),
                reason="public holiday: Fictional Day",
            )
        ],
    )
    (gap,) = t.of("gap")
    assert gap.lane == "Preservation in Spanish"
    assert gap.width == pytest.approx(4 * HOUR)
    (off,) = t.of("off")
    assert off.lane == "US-HSI"
    assert "public holiday: Fictional Day" in off.title
    root = ElementTree.fromstring(str(t.svg))
    rects = {
        r.get("class"): r for r in root.iter(f"{SVG}rect") if r.get("class", "").startswith("bar")
    }
    assert rects["bar bar-gap"].get("fill") == timeline.GAP_COLOUR
    assert rects["bar bar-off"].get("fill") == "url(#rota-hatch)"
    # the requirement lanes are above the desks'
    assert gap.y < off.y


def test_intervals_are_clipped_to_the_window_and_unknown_lanes_left_out() -> None:
    t = draw(
        shifts=[
            shift(NL, at(2026, 3, 20), at(2026, 3, 23, 2)),  # began before the window
            shift(US, at(2026, 4, 5, 20), at(2026, 4, 9)),  # ends after it
            shift(uuid.UUID(int=99), at(2026, 3, 24), at(2026, 3, 25)),  # no such desk
            shift(NL, at(2026, 1, 1), at(2026, 1, 2)),  # outside
        ]
    )
    first, last = t.of("rule")
    assert first.x == LABEL
    assert first.width == pytest.approx(3 * HOUR)
    assert last.x + last.width == pytest.approx(t.width)
    assert len(t.bars) == 2


def test_the_drawing_is_accessible_well_formed_and_deterministic() -> None:
    kw: dict[str, Any] = {
        "shifts": [shift(NL, at(2026, 3, 24, 8), at(2026, 3, 24, 16), "override")],
        "gaps": [
            engine.Gap(requirement_id=ANY, starts_at=at(2026, 3, 26), ends_at=at(2026, 3, 26, 2))
        ],
        "now": at(2026, 3, 24, 12),
    }
    t = draw(**kw)
    assert t.svg == draw(**kw).svg
    root = ElementTree.fromstring(str(t.svg))
    assert root.get("role") == "img"
    assert "1 shifts over 2 desks, 1 gaps in cover" in (root.get("aria-label") or "")
    assert root.find(f"{SVG}title") is not None
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("class", "").startswith("bar"):
            assert rect.find(f"{SVG}title") is not None  # every bar has its tooltip
    (now,) = [line for line in root.iter(f"{SVG}line") if line.get("class") == "now"]
    assert float(now.get("x1", "0")) == pytest.approx(LABEL + 37 * HOUR)
    assert "<script" not in t.svg
    assert "style=" not in t.svg


def test_a_label_is_escaped() -> None:
    t = draw(desks=[(NL, 'NL <b>"x"</b>')])
    assert "<b>" not in t.svg
    ElementTree.fromstring(str(t.svg))
