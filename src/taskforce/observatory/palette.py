"""The observatory's colours: one sequential scale that reads in greyscale and for the common
colour-vision deficiencies (ColorBrewer's YlGnBu, marked colour-blind safe by ColorBrewer
2.0), and the two states that are not a value, drawn so they never pass for one."""

from __future__ import annotations

from collections.abc import Sequence

# light (few) to dark (many): ColorBrewer 2.0's YlGnBu of 6 classes without its palest
# (#ffffcc, too near the sea and the page to read as "some"), so every class is visible
SEQUENTIAL: tuple[str, ...] = ("#c7e9b4", "#7fcdbb", "#41b6c4", "#2c7fb8", "#253494")
NO_DATA = "#e4e4e4"  # nothing reported: flat light grey
SUPPRESSED_LINE = "#8a939c"  # fewer than the threshold: fine grey hatching on white
BORDER = "#ffffff"  # between countries
BAR = "#2c7fb8"  # bars and columns (the scale's fourth class: white text reads on it)
MARK = "#253494"  # the 90th percentile tick
INK = "#1f2933"  # labels
GRID = "#d0d5da"  # axis and grid lines


def quantile_breaks(values: Sequence[int], classes: int = len(SEQUENTIAL)) -> list[int]:
    """Upper bounds (inclusive) of each class but the last, at the values' quantiles (nearest
    rank), so each class holds about as many countries; equal bounds collapse into one, so a
    handful of values gives fewer classes, never an empty one."""
    ordered = sorted(values)
    breaks: list[int] = []
    for k in range(1, classes):
        rank = max(0, min(len(ordered) - 1, round(k * len(ordered) / classes) - 1))
        if not ordered:
            break
        value = ordered[rank]
        if value < ordered[-1] and (not breaks or value > breaks[-1]):
            breaks.append(value)
    return breaks


def _offset(breaks: Sequence[int]) -> int:
    """With fewer classes than colours the darker ones are used: one value alone is dark."""
    return len(SEQUENTIAL) - 1 - len(breaks)


def colour(value: int, breaks: Sequence[int]) -> str:
    return SEQUENTIAL[_offset(breaks) + sum(1 for b in breaks if value > b)]


def classes(breaks: Sequence[int], lowest: int, highest: int) -> list[tuple[str, int, int]]:
    """The legend: (colour, first, last) of each class in use, counts inclusive."""
    result = []
    first = lowest
    for i, last in enumerate([*breaks, highest]):
        result.append((SEQUENTIAL[_offset(breaks) + i], first, last))
        first = last + 1
    return result
