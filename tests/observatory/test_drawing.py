"""The observatory's drawings without a page: the map's shapes read from the package's data
file, kept light; the classes of the colour scale; suppressed values drawn as outlines, never
as a number; text escaped."""

from __future__ import annotations

import re

from taskforce.observatory import charts, palette, worldmap


def test_every_country_of_the_map_is_kept_and_the_drawing_stays_light() -> None:
    shapes = worldmap.shapes()
    assert len(shapes) == 249  # the package's 250 codes, Antarctica left out
    assert {"GB", "NL", "SS", "XK", "EH", "AX"} <= shapes.keys()
    assert all(shape.path or shape.markers for shape in shapes.values())
    svg = worldmap.draw(
        {"NL": worldmap.Country("Netherlands", 390)},
        title="t",
        description="d",
        name_of=str,
        no_data="no reports",
    )
    assert len(svg.encode()) < 150_000  # the source file is 1.1 MB; the page aims under 300 KB
    assert svg.count("<g id=") == len(shapes)
    # whole numbers only, relative steps: no curve or decimal survives the simplification
    assert re.search(r'<path d="[^"]*[cCqQ.]', svg) is None


def test_path_data_is_read_as_svg_defines_it() -> None:
    rings = list(worldmap._rings("m 10,10 5,0 0,5 z M 0 0 h 3 v 3 l -3,0 Z c 1,1 2,2 3,3"))
    assert rings[0] == [(10.0, 10.0), (15.0, 10.0), (15.0, 15.0)]  # pairs after m are lines
    assert rings[1] == [(0.0, 0.0), (3.0, 0.0), (3.0, 3.0), (0.0, 3.0)]
    assert rings[2] == [(3.0, 3.0)]  # a curve after z starts at the subpath's start: 0,0 + 3,3


def test_a_country_below_the_threshold_is_hatched_and_one_without_reports_is_grey() -> None:
    svg = worldmap.draw(
        {
            "NL": worldmap.Country("Netherlands: 390", 390),
            "LU": worldmap.Country("Luxembourg: fewer than 10", suppressed=True),
        },
        title="Map <1>",
        description="d",
        name_of=lambda code: {"BE": "Belgium"}.get(code, code),
        no_data="no reports",
    )
    assert '<g id="obs-map-lu" fill="url(#obs-map-hatch)"><title>Luxembourg: fewer than 10' in svg
    assert f'<g id="obs-map-be" fill="{palette.NO_DATA}"><title>Belgium: no reports' in svg
    assert "Map &lt;1&gt;" in svg
    key = worldmap.legend(
        {"NL": worldmap.Country("x", 390)}, suppressed="fewer than 10", no_data="no reports"
    )
    assert [label for _, label in key] == ["390", "fewer than 10", "no reports"]


def test_quantile_classes_hold_every_value_and_never_an_empty_class() -> None:
    values = [12, 13, 26, 44, 69, 100, 250, 390, 1000, 5000]
    breaks = palette.quantile_breaks(values)
    assert breaks == sorted(set(breaks))
    assert len(breaks) == len(palette.SEQUENTIAL) - 1
    classes = palette.classes(breaks, min(values), max(values))
    assert classes[0][1] == 12
    assert classes[-1][2] == 5000
    assert all(first <= last for _, first, last in classes)
    for value in values:  # each value's colour is the class it falls in
        (colour,) = [c for c, first, last in classes if first <= value <= last]
        assert palette.colour(value, breaks) == colour
    # one value alone: one class, drawn dark rather than pale
    assert palette.quantile_breaks([7]) == []
    assert palette.colour(7, []) == palette.SEQUENTIAL[-1]


def test_suppressed_bars_and_columns_are_outlines_with_the_threshold() -> None:
    bars = charts.bars(
        [charts.Bar("Netherlands", 30.5, 70.0, "n = 380"), charts.Bar("Luxembourg", None)],
        title="Time <to> removal",
        description="d",
        value_label="Median hours",
        mark_label="90th percentile",
        suppressed="<10",
        ident="t",
    )
    assert "&lt;10" in bars
    assert 'stroke-dasharray="3 2"' in bars
    assert "Time &lt;to&gt; removal" in bars
    assert "30.5 · n = 380" in bars
    assert "<script" not in bars
    columns = charts.columns(
        [charts.Column("Jan", None, "2026"), charts.Column("Feb", 17)],
        title="Hits",
        description="d",
        suppressed="<10",
        ident="h",
    )
    assert columns.count('stroke-dasharray="3 2"') == 1
    assert ">17</text>" in columns
    ticks = re.findall(r'text-anchor="end" font-size="12">([^<]+)<', columns)
    assert ticks == ["0", "5", "10", "15", "20"]  # counts: whole-number steps


def test_nice_steps() -> None:
    assert charts.nice_step(160) == 50
    assert charts.nice_step(20) == 5
    assert charts.nice_step(0) == 1


def test_the_bars_figures_stand_in_one_column_past_every_tick() -> None:
    """After the bar on one row and after the tick on the next, a reader took the median's
    figure for the 90th percentile's: the figures now stand in a column of their own."""
    drawn = charts.bars(
        [
            charts.Bar("Netherlands", 28.5, 74.8, "n = 58"),  # the tick far from the bar
            charts.Bar("Germany", 32.2, 35.0, "n = 26"),  # the tick close to it
            charts.Bar("France", 146.7, 150.0, "n = 1,234"),  # the tick at the scale's end
        ],
        title="t",
        description="d",
        value_label="Median hours",
        mark_label="90th percentile",
        suppressed="<10",
        ident="r",
    )
    width = float(re.findall(r'viewBox="0 0 ([\d.]+) ', drawn)[0])
    ticks = [
        float(x) + 1.5
        for x in re.findall(r'<rect x="([\d.]+)" y="\d+" width="3" height="26"', drawn)
    ]
    found = re.findall(r'<text x="([\d.]+)" y="\d+">([\d.,]+ · n = [\d,]+)<', drawn)
    labels = [float(x) for x, _ in found]
    assert len(ticks) == len(labels) == 3
    assert len(set(labels)) == 1  # one column
    assert labels[0] > max(ticks)
    assert labels[2] + 7.2 * len(found[2][1]) <= width  # the longest fits the drawing
