"""The evaluation's figures on a labelled set small enough to compute by hand (the working is
in each test), so a regression in the arithmetic shows as a wrong number an analyst would see."""

from __future__ import annotations

import pytest

from taskforce.chats import metrics
from taskforce.chats.metrics import Outcome

# Seven conversations, threshold 0.5 — by hand:
#   predicted positive (risk ≥ 0.5): a, b (positives), d, g (negatives) → TP 2, FP 2
#   predicted negative: c (positive) → FN 1; e, f → TN 2
SET = [
    Outcome("a", True, 0.9, messages=12, flagged_after=3),
    Outcome("b", True, 0.6, messages=40, flagged_after=5),
    Outcome("c", True, 0.3, messages=8, flagged_after=None),
    Outcome("d", False, 0.7, messages=20, flagged_after=2),
    Outcome("e", False, 0.2, messages=6),
    Outcome("f", False, 0.05, messages=9),
    Outcome("g", False, 0.55, messages=15, flagged_after=15),
]


def test_confusion_precision_recall_and_f_half_match_the_hand_computation() -> None:
    table = metrics.confusion(SET, 0.5)
    assert (table.true_positives, table.false_positives) == (2, 2)
    assert (table.false_negatives, table.true_negatives) == (1, 2)
    assert table.total == 7
    p, r = metrics.precision(table), metrics.recall(table)
    assert p == pytest.approx(2 / 4)
    assert r == pytest.approx(2 / 3)
    # F0.5 = 1.25·P·R / (0.25·P + R) = (5/12) / (19/24) = 10/19
    assert metrics.f_beta(p, r) == pytest.approx(10 / 19)
    # β = 0.5 weighs precision: with P < R it is below F1 = 2PR / (P + R) = 4/7
    assert metrics.f_beta(p, r, beta=1.0) == pytest.approx(4 / 7)


def test_a_risk_equal_to_the_threshold_is_flagged() -> None:
    table = metrics.confusion([Outcome("x", True, 0.5, 3), Outcome("y", False, 0.4999, 3)], 0.5)
    assert (table.true_positives, table.true_negatives) == (1, 1)


def test_precision_is_undefined_when_nothing_is_flagged_and_recall_without_positives() -> None:
    none_flagged = metrics.confusion([Outcome("x", True, 0.1, 3)], 0.5)
    assert metrics.precision(none_flagged) is None
    assert metrics.f_beta(metrics.precision(none_flagged), metrics.recall(none_flagged)) is None
    no_positive = metrics.confusion([Outcome("x", False, 0.9, 3)], 0.5)
    assert metrics.recall(no_positive) is None
    assert metrics.precision(no_positive) == 0.0
    # flagged only negatives, missed the positive: P = R = 0, so F = 0 (not a division by 0)
    both_wrong = metrics.confusion([Outcome("x", False, 0.9, 3), Outcome("y", True, 0.1, 3)], 0.5)
    assert metrics.f_beta(metrics.precision(both_wrong), metrics.recall(both_wrong)) == 0.0


def test_precision_at_k_reads_the_queue_top_down_and_needs_k_conversations() -> None:
    # ranking: a .9, d .7, b .6, g .55, c .3, e .2, f .05 → top 3 hold a and b
    assert [o.conversation for o in metrics.ranking(SET)][:4] == ["a", "d", "b", "g"]
    assert metrics.precision_at(SET, 1) == 1.0
    assert metrics.precision_at(SET, 3) == pytest.approx(2 / 3)
    assert metrics.precision_at(SET, 7) == pytest.approx(3 / 7)
    assert metrics.precision_at(SET, 10) is None  # only 7 scored: no "precision at 10"
    with pytest.raises(ValueError, match="k must be at least 1"):
        metrics.precision_at(SET, 0)


def test_equal_risks_rank_by_conversation_id_so_the_figure_is_stable() -> None:
    tied = [Outcome("b", False, 0.8, 3), Outcome("a", True, 0.8, 3), Outcome("c", False, 0.1, 3)]
    assert metrics.precision_at(tied, 1) == 1.0
    assert metrics.precision_at(list(reversed(tied)), 1) == 1.0


def test_latency_counts_messages_read_before_positives_were_flagged() -> None:
    # positives a (3), b (5), c (never); d and g are negatives and do not count
    found = metrics.latency(SET)
    assert (found.positives, found.flagged, found.never_flagged) == (3, 2, 1)
    assert found.median == 4.0
    assert found.mean == 4.0
    assert found.never_share == pytest.approx(1 / 3)
    odd = metrics.latency([*SET, Outcome("h", True, 0.8, 30, flagged_after=30)])
    assert odd.median == 5.0  # 3, 5, 30
    assert odd.mean == pytest.approx(38 / 3)


def test_latency_without_any_flagged_positive_has_no_median() -> None:
    found = metrics.latency([Outcome("c", True, 0.3, 8)])
    assert (found.median, found.mean, found.never_share) == (None, None, 1.0)
    assert metrics.latency([]).never_share is None


def test_reliability_table_bands_the_risks_and_compares_mean_risk_with_the_observed_rate() -> None:
    low, high = metrics.reliability(SET, bands=(0.0, 0.5, 1.0))
    # [0, 0.5): c .3 (positive), e .2, f .05 → 1 of 3, mean risk .55/3
    assert (low.conversations, low.positives) == (3, 1)
    assert low.mean_risk == pytest.approx(0.55 / 3)
    assert low.observed == pytest.approx(1 / 3)
    # [0.5, 1.0]: a .9, d .7, b .6, g .55 → 2 of 4, mean risk 2.75/4
    assert (high.conversations, high.positives) == (4, 2)
    assert high.mean_risk == pytest.approx(2.75 / 4)
    assert high.observed == 0.5


def test_reliability_keeps_empty_bands_and_puts_a_risk_of_one_in_the_last() -> None:
    rows = metrics.reliability([Outcome("x", True, 1.0, 3), Outcome("y", False, 0.0, 3)])
    assert len(rows) == 10
    assert (rows[0].conversations, rows[-1].conversations) == (1, 1)
    assert rows[-1].observed == 1.0
    assert rows[5].conversations == 0
    assert rows[5].mean_risk is None
    with pytest.raises(ValueError, match="ascending"):
        metrics.reliability(SET, bands=(0.5, 0.2))


def test_brier_score_by_hand() -> None:
    # (.1)² + (.4)² + (.7)² + (.7)² + (.2)² + (.05)² + (.55)² = 1.495, over 7
    assert metrics.brier(SET) == pytest.approx(1.495 / 7)
    assert metrics.brier([]) is None


def test_figures_gathers_every_figure_at_the_threshold() -> None:
    found = metrics.figures(SET, 0.5, at_k=(3, 10))
    assert (found.conversations, found.positives, found.threshold) == (7, 3, 0.5)
    assert found.f_half == pytest.approx(10 / 19)
    assert found.at_k == {3: pytest.approx(2 / 3), 10: None}
    assert found.latency.median == 4.0
    assert sum(b.conversations for b in found.reliability) == 7
    with pytest.raises(ValueError, match="threshold must be between 0 and 1"):
        metrics.figures(SET, 1.5)
