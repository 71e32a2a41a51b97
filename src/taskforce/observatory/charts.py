"""The observatory's charts as plain SVG drawn on the server: no script, no style element, text
labels on the bars so a printout or a screenshot still says the numbers, a title and a
description for screen readers (each chart also has its data table beside it).

A suppressed value is drawn as an outline with "<10" (the threshold), never as a bar of some
height, so it cannot be read as a small number.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from taskforce.observatory import palette

_FONT = 'font-family="system-ui, sans-serif"'
_TEXT_WIDTH = 7.2  # about one character at 13 px, to leave room for a label


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart: a median, its 90th percentile (both None when
    suppressed) and the count they were computed from, shown beside the bar."""

    label: str
    value: float | None
    mark: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Column:
    """One month: its short label ("Nov"), the year under the first month and every January,
    and its value (None when suppressed)."""

    label: str
    value: int | None
    year: str = ""
    title: str = ""  # "November 2026", for the hover title


def nice_step(top: float, ticks: int = 4) -> float:
    """A round grid step (1, 2 or 5 × 10^n) giving about `ticks` lines up to `top`."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return float(factor * power)
    return float(10 * power)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"


def _open(width: int, height: int, ident: str, title: str, description: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="obs-chart-svg" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'{_FONT} font-size="13" fill="{palette.INK}">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
    ]


def bars(
    rows: Sequence[Bar],
    *,
    title: str,
    description: str,
    value_label: str,
    mark_label: str,
    suppressed: str,
    ident: str,
    number: Callable[[float], str] = _number,
) -> str:
    """Horizontal bars (e.g. median hours to removal by hosting country) with the 90th
    percentile as a dark tick, and a key naming both."""
    texts = [_number_note(number, r) for r in rows if r.value is not None]
    # room on the right for the column of figures, the longest included
    width, left, row = 560, 130, 30
    right = max(96, round(16 + _TEXT_WIDTH * max((len(t) for t in texts), default=0)))
    top_pad = 34
    height = top_pad + row * max(1, len(rows)) + 26
    drawn = [v for r in rows for v in (r.value, r.mark) if v is not None]
    top = max([*drawn, 1.0])
    step = nice_step(top)
    top = step * math.ceil(top / step)
    span = width - left - right

    def x(value: float) -> float:
        return left + span * value / top

    out = _open(width, height, ident, title, description)
    # key: a bar swatch for the median, a tick for the 90th percentile
    out.append(
        f'<rect x="{left}" y="8" width="14" height="12" fill="{palette.BAR}"/>'
        f'<text x="{left + 20}" y="18">{escape(value_label)}</text>'
        f'<rect x="{left + 180}" y="5" width="3" height="18" fill="{palette.MARK}"/>'
        f'<text x="{left + 190}" y="18">{escape(mark_label)}</text>'
    )
    bottom = top_pad + row * max(1, len(rows))
    tick = 0.0 if drawn else top + 1  # no scale where every bar is suppressed
    while tick <= top + 1e-9:
        out.append(
            f'<line x1="{x(tick):.1f}" y1="{top_pad - 4}" x2="{x(tick):.1f}" y2="{bottom}" '
            f'stroke="{palette.GRID}" stroke-width="1"/>'
            f'<text x="{x(tick):.1f}" y="{bottom + 18}" text-anchor="middle" '
            f'font-size="12">{number(tick)}</text>'
        )
        tick += step
    for i, r in enumerate(rows):
        y = top_pad + i * row
        out.append(f'<text x="{left - 8}" y="{y + 19}" text-anchor="end">{escape(r.label)}</text>')
        if r.value is None:
            out.append(
                f'<rect x="{left}" y="{y + 6}" width="40" height="18" fill="#ffffff" '
                f'stroke="{palette.SUPPRESSED_LINE}" stroke-dasharray="3 2"/>'
                f'<text x="{left + 20}" y="{y + 19}" text-anchor="middle" '
                f'font-size="12">{escape(suppressed)}</text>'
            )
            continue
        end = x(r.value)
        out.append(
            f'<rect x="{left}" y="{y + 6}" width="{max(end - left, 1):.1f}" height="18" '
            f'fill="{palette.BAR}"><title>{escape(r.label)}: {number(r.value)}</title></rect>'
        )
        if r.mark is not None:
            mx = x(r.mark)
            out.append(
                f'<rect x="{mx - 1.5:.1f}" y="{y + 2}" width="3" height="26" '
                f'fill="{palette.MARK}"/>'
            )
        # the figure in a column of its own past the scale, on every row alike: placed after
        # the bar on some rows and after the tick on others, it was read as the tick's value
        text = _number_note(number, r)
        out.append(f'<text x="{x(top) + 10:.1f}" y="{y + 19}">{escape(text)}</text>')
    out.append("</svg>")
    return "".join(out)


def _number_note(number: Callable[[float], str], r: Bar) -> str:
    return number(r.value or 0) + (f" · {r.note}" if r.note else "")


def columns(
    points: Sequence[Column],
    *,
    title: str,
    description: str,
    suppressed: str,
    ident: str,
    number: Callable[[float], str] = _number,
) -> str:
    """Monthly columns with each value written above its column; a suppressed month is a
    dashed outline with "<10" above it."""
    width, left, right, height = 520, 40, 6, 240
    plot_top, plot_bottom = 24, height - 46
    top: float = max([p.value or 0 for p in points] + [10])  # counts: at least 0-10
    step = max(1.0, nice_step(top))  # whole numbers
    top = step * math.ceil(top / step)
    slot = (width - left - right) / max(1, len(points))
    bar = slot * 0.64

    def y(value: float) -> float:
        return plot_bottom - (plot_bottom - plot_top) * value / top

    out = _open(width, height, ident, title, description)
    tick = 0.0
    while tick <= top + 1e-9:
        out.append(
            f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" y2="{y(tick):.1f}" '
            f'stroke="{palette.GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'font-size="12">{number(tick)}</text>'
        )
        tick += step
    for i, p in enumerate(points):
        cx = left + slot * i + slot / 2
        if p.value is None:
            h = 14.0
            out.append(
                f'<rect x="{cx - bar / 2:.1f}" y="{plot_bottom - h:.1f}" width="{bar:.1f}" '
                f'height="{h}" fill="#ffffff" stroke="{palette.SUPPRESSED_LINE}" '
                f'stroke-dasharray="3 2"/>'
            )
            label, label_y = suppressed, plot_bottom - h - 5
        else:
            out.append(
                f'<rect x="{cx - bar / 2:.1f}" y="{y(p.value):.1f}" width="{bar:.1f}" '
                f'height="{plot_bottom - y(p.value):.1f}" fill="{palette.BAR}">'
                f"<title>{escape(p.title or p.label)}: {number(p.value)}</title></rect>"
            )
            label, label_y = number(p.value), y(p.value) - 5
        out.append(
            f'<text x="{cx:.1f}" y="{label_y:.1f}" text-anchor="middle" '
            f'font-size="12">{escape(label)}</text>'
            f'<text x="{cx:.1f}" y="{plot_bottom + 17}" text-anchor="middle">'
            f"{escape(p.label)}</text>"
        )
        if p.year:
            out.append(
                f'<text x="{cx:.1f}" y="{plot_bottom + 33}" text-anchor="middle" '
                f'font-size="12">{escape(p.year)}</text>'
            )
    out.append("</svg>")
    return "".join(out)
