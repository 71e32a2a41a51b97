"""Small counts, rates and percentiles, as the observatory publishes them (pure functions).

Primary suppression: a count below the threshold is `None` ("fewer than 10"), never 0 or a
rounded number. Secondary suppression: where a table shows a total beside its cells, one
suppressed cell would be revealed by the total minus the others, so a second cell (the
smallest one shown) is suppressed with it, or the total when there is no other cell. Every
figure computed from a suppressed count (a rate, a median time) is suppressed too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95 % interval


def suppress(count: int | None, threshold: int) -> int | None:
    """The count as published: `None` below the threshold (or when already suppressed)."""
    if count is None or count < threshold:
        return None
    return count


def with_total(
    cells: Sequence[int], total: int, threshold: int
) -> tuple[list[int | None], int | None]:
    """A table's cells and its total, primary and secondary suppression applied.

    Cells that are 0 are not rows and take no part. When exactly one shown cell is suppressed,
    total − (the others) would give it away: the smallest cell still shown is suppressed too
    (ties: the first), or the total itself when the suppressed cell is the only one."""
    shown: list[int | None] = [suppress(c, threshold) for c in cells]
    published_total = suppress(total, threshold)
    if published_total is None:
        return [None] * len(cells), None
    hidden = [i for i, c in enumerate(cells) if c > 0 and shown[i] is None]
    if len(hidden) != 1:
        return shown, published_total
    visible = [i for i, c in enumerate(shown) if c is not None and cells[i] > 0]
    if not visible:
        return shown, None
    smallest = min(visible, key=lambda i: cells[i])
    shown[smallest] = None
    return shown, published_total


def poisson_interval(count: int, z: float = Z95) -> tuple[float, float]:
    """A 95 % interval for a Poisson count, by Byar's approximation of the exact (Garwood)
    interval: Breslow & Day, *Statistical Methods in Cancer Research* vol. II (IARC, 1987),
    p. 69; Rothman & Boice (1979). Its error is well under 1 % for counts of 10 or more (the
    counts that pass suppression), so no scipy is needed for the chi-square quantiles."""
    if count < 0:
        raise ValueError("a count is not negative")
    low = 0.0
    if count > 0:
        low = count * (1 - 1 / (9 * count) - z / (3 * math.sqrt(count))) ** 3
    upper = count + 1
    high = upper * (1 - 1 / (9 * upper) + z / (3 * math.sqrt(upper))) ** 3
    return max(low, 0.0), high


def per_million(count: int | None, population: int | None) -> tuple[float, float, float] | None:
    """The rate per million of a population with its 95 % interval, rounded to 3 decimals;
    `None` when the count is suppressed or there is no population figure (never invented)."""
    if count is None or population is None or population <= 0:
        return None
    low, high = poisson_interval(count)
    scale = 1_000_000 / population
    return round(count * scale, 3), round(low * scale, 3), round(high * scale, 3)


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) of sorted values, interpolated linearly between the two
    nearest ranks (PostgreSQL's percentile_cont, numpy's default)."""
    if not ordered:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError("q is between 0 and 100")
    position = (len(ordered) - 1) * q / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction


def durations(ordered: Sequence[float], threshold: int) -> tuple[float | None, float | None]:
    """Median and 90th percentile of sorted durations, rounded to 0.1; both `None` when fewer
    than `threshold` values (a percentile of a suppressed count is suppressed with it)."""
    if len(ordered) < threshold or not ordered:
        return None, None
    return round(percentile(ordered, 50), 1), round(percentile(ordered, 90), 1)
