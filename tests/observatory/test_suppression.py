"""Small counts never published, nor given away by a total; rates with their interval."""

from __future__ import annotations

import math

import pytest

from taskforce.observatory.suppression import (
    durations,
    per_million,
    percentile,
    poisson_interval,
    suppress,
    with_total,
)


def test_a_count_below_the_threshold_is_suppressed_not_zeroed() -> None:
    assert suppress(9, 10) is None
    assert suppress(0, 10) is None
    assert suppress(10, 10) == 10
    assert suppress(None, 10) is None


def test_one_suppressed_cell_beside_a_total_takes_the_smallest_shown_cell_with_it() -> None:
    cells, total = with_total([50, 4, 12, 30], 96, 10)
    assert cells == [50, None, None, 30]  # 12 suppressed too: 96 - 80 would reveal the 4
    assert total == 96


def test_two_suppressed_cells_need_no_more() -> None:
    cells, total = with_total([50, 4, 3, 30], 87, 10)
    assert cells == [50, None, None, 30]
    assert total == 87


def test_a_lone_suppressed_cell_hides_the_total() -> None:
    cells, total = with_total([4], 4, 3)
    assert (cells, total) == ([4], 4)  # passes the threshold: nothing to hide
    cells, total = with_total([2, 0, 0], 2, 3)  # 0 cells are not rows: the 2 is alone
    assert cells == [None, None, None]
    assert total is None
    cells, total = with_total([2], 2, 3)
    assert cells == [None]
    assert total is None


def test_a_total_below_the_threshold_suppresses_every_cell() -> None:
    assert with_total([5, 4], 9, 10) == ([None, None], None)


def test_nothing_suppressed_leaves_the_table_alone() -> None:
    assert with_total([10, 20], 30, 10) == ([10, 20], 30)


def test_byar_interval_is_close_to_the_exact_poisson_interval() -> None:
    # exact (Garwood) 95 % limits from chi-square tables
    assert poisson_interval(10) == pytest.approx((4.795, 18.390), abs=0.02)
    assert poisson_interval(100) == pytest.approx((81.364, 121.627), abs=0.05)
    low, high = poisson_interval(0)
    assert low == 0
    assert math.isclose(high, 3.689, abs_tol=0.05)


def test_rate_per_million_with_its_interval_and_none_without_a_denominator() -> None:
    rate = per_million(20, 2_000_000)
    assert rate is not None
    value, low, high = rate
    assert value == 10.0
    assert low < value < high
    assert per_million(None, 2_000_000) is None  # the count is suppressed
    assert per_million(20, None) is None  # never invented
    assert per_million(20, 0) is None


def test_percentiles_interpolate_and_are_suppressed_with_their_count() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25
    assert percentile([10, 20, 30, 40], 90) == pytest.approx(37)
    assert durations([10, 20, 30, 40], 3) == (25.0, 37.0)
    assert durations([10, 20], 3) == (None, None)
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
