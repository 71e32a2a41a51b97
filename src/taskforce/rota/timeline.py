"""The rota's 14-day timeline, drawn on the server as SVG (no script): one lane per desk with
its shifts as bars coloured by where they come from, its time off duty hatched, and above them
one lane per coverage requirement with its gaps in red.

The grid is the *viewer's* clock: days start at the viewer's local midnights, so a day the
clocks change on is 23 or 25 hours wide, and x is proportional to real (UTC) time, never to
wall-clock time: a bar's width is its true length. The drawing is deterministic (no ids, no
clock read here: `now` is passed in), so tests compare a bar's x and width for a known shift.

Inputs are the engine's results (`engine.Shift`, `OffDuty`, `Gap`), taken structurally so
this module needs only their attributes.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from taskforce.rota import engine
from taskforce.rota.intervals import GapLike, OffDutyLike, ShiftLike

DAYS = 14
HOUR = 3.5  # viewBox units per real hour
LABEL = 140.0  # the lanes' name column: "Preservation in English" whole
HEAD = 40.0  # day names and hour ticks
LANE = 26.0
BAR = 18.0
SPLIT = 8.0  # between the requirement lanes and the desk lanes

# Where a shift comes from → its colour (also in rota.css for the key); off duty is hatched.
SOURCE_COLOURS = {
    "rule": "#2f6fdf",
    "rotation": "#0f8a6a",
    "temporary": "#7c4dcc",
    "override": "#c76a00",
}
SOURCE_LABELS = {
    "rule": "rule",
    "rotation": "rotation",
    "temporary": "temporary schedule",
    "override": "override",
}
GAP_COLOUR = "#c62828"
_MIDNIGHT = time(0)
GRID = "#d0d7e0"
MIDNIGHT = "#8a96a3"


class Named(Protocol):
    """A desk (`code`) or a requirement (`name`): what its lane is called."""

    @property
    def id(self) -> uuid.UUID: ...


@dataclass(frozen=True, slots=True)
class Lane:
    id: uuid.UUID
    label: str
    kind: str  # "desk" | "requirement"


@dataclass(frozen=True, slots=True)
class Bar:
    """One drawn interval: a shift ("rule", "rotation", …), time "off" duty or a "gap"."""

    lane: str
    kind: str
    starts_at: datetime
    ends_at: datetime
    x: float
    y: float
    width: float
    title: str
    detail: str  # the source or the reason, for the table


@dataclass(frozen=True, slots=True)
class Day:
    day: date
    x: float
    width: float
    hours: int  # 23, 24 or 25


@dataclass(frozen=True, slots=True)
class Timeline:
    svg: Markup
    start: datetime  # UTC, the viewer's first local midnight
    end: datetime
    zone: str
    days: tuple[Day, ...]
    bars: tuple[Bar, ...]
    width: float
    height: float

    def of(self, kind: str) -> list[Bar]:
        return [b for b in self.bars if b.kind == kind]


def _r(value: float) -> str:
    """Coordinates to two decimals, without trailing zeros (stable text for tests)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def window(start_day: date, zone: ZoneInfo, days: int = DAYS) -> tuple[datetime, datetime]:
    """The instants of the viewer's first and last-plus-one local midnights."""
    return (
        engine.local_instant(start_day, _MIDNIGHT, zone),
        engine.local_instant(start_day + timedelta(days=days), _MIDNIGHT, zone),
    )


def local_text(at: datetime, zone: ZoneInfo, *, with_date: bool = True) -> str:
    """ "Sun 29 Mar 03:00 CEST" in `zone` (or just "03:00 CEST")."""
    local = at.astimezone(zone)
    return local.strftime("%a %d %b %H:%M %Z" if with_date else "%H:%M %Z")


def span_text(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """An interval in the viewer's zone, then in UTC; the end's date only if it differs."""
    local_same = start.astimezone(zone).date() == end.astimezone(zone).date()
    utc_same = start.astimezone(UTC).date() == end.astimezone(UTC).date()
    local = f"{local_text(start, zone)} – {local_text(end, zone, with_date=not local_same)}"
    utc = (
        f"{start.astimezone(UTC):%a %d %b %H:%M} – "
        f"{end.astimezone(UTC).strftime('%H:%M' if utc_same else '%a %d %b %H:%M')} UTC"
    )
    return f"{local} · {utc}"


def _days(start: datetime, end: datetime, zone: ZoneInfo, start_day: date) -> list[Day]:
    days = []
    day = start_day
    begin = start
    while begin < end:
        after = engine.local_instant(day + timedelta(days=1), _MIDNIGHT, zone)
        hours = round((after - begin).total_seconds() / 3600)
        days.append(
            Day(day, _x(begin, start), (after - begin).total_seconds() / 3600 * HOUR, hours)
        )
        day, begin = day + timedelta(days=1), after
    return days


def _x(at: datetime, start: datetime) -> float:
    return LABEL + (at - start).total_seconds() / 3600 * HOUR


def _ticks(start: datetime, end: datetime, zone: ZoneInfo) -> Iterator[tuple[datetime, int]]:
    """(instant, local hour) of every local 06:00, 12:00 and 18:00 in the window: sampled
    every quarter of an hour of real time, so zones offset by :30 or :45 and days the clocks
    change on are drawn as they are lived."""
    at = start
    step = timedelta(minutes=15)
    while at < end:
        local = at.astimezone(zone)
        if local.minute == 0 and local.hour in (6, 12, 18):
            yield at, local.hour
        at += step


def _clip(
    starts_at: datetime, ends_at: datetime, start: datetime, end: datetime
) -> tuple[datetime, datetime] | None:
    a, b = max(starts_at, start), min(ends_at, end)
    return (a, b) if a < b else None


def draw(
    *,
    desks: Sequence[tuple[uuid.UUID, str]],
    requirements: Sequence[tuple[uuid.UUID, str]],
    shifts: Sequence[ShiftLike],
    off_duty: Sequence[OffDutyLike],
    gaps: Sequence[GapLike],
    start_day: date,
    zone: ZoneInfo,
    now: datetime | None = None,
    days: int = DAYS,
) -> Timeline:
    """The timeline of `days` local days from `start_day` in the viewer's `zone`.

    `desks` and `requirements` are (id, label) in the order their lanes are drawn; shifts,
    time off and gaps of ids not among them are left out."""
    start, end = window(start_day, zone, days)
    grid = _days(start, end, zone, start_day)
    width = LABEL + (end - start).total_seconds() / 3600 * HOUR
    lanes = [Lane(i, label, "requirement") for i, label in requirements]
    lanes += [Lane(i, label, "desk") for i, label in desks]
    height = HEAD + len(lanes) * LANE + (SPLIT if requirements and desks else 0) + 4
    y_of: dict[tuple[str, uuid.UUID], float] = {}
    y = HEAD
    for index, lane in enumerate(lanes):
        if lane.kind == "desk" and index == len(requirements) and requirements:
            y += SPLIT
        y_of[(lane.kind, lane.id)] = y
        y += LANE
    label_of = {(lane.kind, lane.id): lane.label for lane in lanes}

    bars: list[Bar] = []

    def add(
        kind: str, lane_key: tuple[str, uuid.UUID], a: datetime, b: datetime, what: str
    ) -> None:
        if lane_key not in y_of:
            return
        clipped = _clip(a, b, start, end)
        if clipped is None:
            return
        a, b = clipped
        name = label_of[lane_key]
        title = f"{name}: {what}, {span_text(a, b, zone)}"
        x = _x(a, start)
        bars.append(
            Bar(
                name,
                kind,
                a,
                b,
                x,
                y_of[lane_key] + (LANE - BAR) / 2,
                _x(b, start) - x,
                title,
                what,
            )
        )

    for g in sorted(gaps, key=lambda g: (g.starts_at, str(g.requirement_id))):
        add("gap", ("requirement", g.requirement_id), g.starts_at, g.ends_at, "not covered")
    for o in sorted(off_duty, key=lambda o: (o.starts_at, str(o.desk_id))):
        add("off", ("desk", o.desk_id), o.starts_at, o.ends_at, f"off duty ({o.reason})")
    for s in sorted(shifts, key=lambda s: (s.starts_at, str(s.desk_id))):
        kind = s.source if s.source in SOURCE_COLOURS else "rule"
        add(kind, ("desk", s.desk_id), s.starts_at, s.ends_at, f"on duty ({SOURCE_LABELS[kind]})")

    svg = _svg(
        width=width,
        height=height,
        zone=zone,
        start=start,
        end=end,
        grid=grid,
        lanes=lanes,
        y_of=y_of,
        bars=bars,
        now=now,
        summary=(
            f"Duty rota, {days} days from {start_day.isoformat()} in {zone.key}: "
            f"{sum(1 for b in bars if b.kind in SOURCE_COLOURS)} shifts over {len(desks)} desks, "
            f"{sum(1 for b in bars if b.kind == 'gap')} gaps in cover"
        ),
    )
    return Timeline(svg, start, end, zone.key, tuple(grid), tuple(bars), width, height)


def _svg(
    *,
    width: float,
    height: float,
    zone: ZoneInfo,
    start: datetime,
    end: datetime,
    grid: list[Day],
    lanes: list[Lane],
    y_of: dict[tuple[str, uuid.UUID], float],
    bars: list[Bar],
    now: datetime | None,
    summary: str,
) -> Markup:
    out: list[str] = []
    w, h = _r(width), _r(height)
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="rota-timeline" viewBox="0 0 {w} {h}" '
        f'width="{w}" height="{h}" role="img" aria-label="{escape(summary)}" '
        f'font-family="system-ui, sans-serif" font-size="11">'
    )
    out.append(f"<title>{escape(summary)}</title>")
    out.append(
        '<defs><pattern id="rota-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f3f4f6"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9aa4b1" stroke-width="2.5"/></pattern></defs>'
    )
    # lanes: alternate backgrounds, names
    for lane in lanes:
        y = y_of[(lane.kind, lane.id)]
        # a requirement's lane is neutral: only a gap is red, so red always means a gap
        fill = "#eef2f7" if lane.kind == "requirement" else "#f8fafc"
        out.append(
            f'<rect class="lane" x="0" y="{_r(y)}" width="{w}" height="{_r(LANE)}" fill="{fill}"/>'
        )
        out.append(
            f'<text class="lane-label" x="6" y="{_r(y + LANE / 2 + 3.5)}" '
            f'font-weight="{"600" if lane.kind == "desk" else "400"}">'
            f"{escape(_short(lane.label))}<title>{escape(lane.label)}</title></text>"
        )
    # the grid in the viewer's zone
    for day in grid:
        x = _r(day.x)
        out.append(
            f'<line class="midnight" x1="{x}" y1="0" x2="{x}" y2="{h}" stroke="{MIDNIGHT}" '
            'stroke-width="1"/>'
        )
        name = f"{day.day:%a %d %b}"
        if day.hours != 24:
            name += f" ({day.hours} h)"
        out.append(
            f'<text class="day" x="{_r(day.x + 3)}" y="13" font-weight="600">{escape(name)}'
            f"<title>{escape(f'{day.day:%A %d %B %Y}, {day.hours} hours in {zone.key}')}"
            "</title></text>"
        )
    for at, hour in _ticks(start, end, zone):
        x = _r(_x(at, start))
        out.append(
            f'<line class="hour" x1="{x}" y1="{_r(HEAD - 6)}" x2="{x}" y2="{h}" stroke="{GRID}" '
            'stroke-width="0.5"/>'
        )
        out.append(
            f'<text class="hour-label" x="{x}" y="{_r(HEAD - 9)}" text-anchor="middle" '
            f'font-size="9" fill="#4b5563">{hour:02d}</text>'
        )
    out.append(
        f'<line x1="{_r(LABEL)}" y1="0" x2="{_r(LABEL)}" y2="{h}" stroke="{MIDNIGHT}" '
        'stroke-width="1"/>'
    )
    for bar in bars:
        if bar.kind == "gap":
            fill, extra = GAP_COLOUR, ""
        elif bar.kind == "off":
            fill, extra = "url(#rota-hatch)", ' stroke="#9aa4b1" stroke-width="0.5"'
        else:
            fill, extra = SOURCE_COLOURS[bar.kind], ""
        out.append(
            f'<rect class="bar bar-{bar.kind}" x="{_r(bar.x)}" y="{_r(bar.y)}" '
            f'width="{_r(bar.width)}" height="{_r(BAR)}" rx="2" fill="{fill}"{extra}>'
            f"<title>{escape(bar.title)}</title></rect>"
        )
    if now is not None and start <= now < end:
        x = _r(_x(now, start))
        out.append(
            f'<line class="now" x1="{x}" y1="{_r(HEAD - 4)}" x2="{x}" y2="{h}" stroke="#111827" '
            f'stroke-width="1.5" stroke-dasharray="3 2"><title>now: '
            f"{escape(local_text(now, zone))} · {now.astimezone(UTC):%H:%M} UTC</title></line>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text and attribute above is escaped


def _short(label: str, limit: int = 25) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
