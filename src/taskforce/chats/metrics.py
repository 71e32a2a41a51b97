"""The figures the evaluation harness reports, computed from one outcome per conversation.

Pure arithmetic, so each figure can be checked by hand on a small labelled set:

* **F0.5, precision, recall** at the review threshold (a conversation is predicted positive
  when its final risk is ≥ the threshold). β = 0.5 weighs precision twice as much as recall, as
  PAN-12's sexual predator identification task did: an analyst's time goes to what is flagged,
  so a false alarm costs more than a miss the rest of the queue may still hold. PAN-12 scored
  *authors*; this harness scores *conversations* (what the review queue ranks), so its F0.5 is
  not comparable with PAN-12's published figures.
* **Precision at k** (10, 50, 100): the share of labelled positives among the k conversations
  of highest risk, as the queue shows them. Not reported when fewer than k conversations were
  scored (a figure over fewer would not be "at k").
* **Early-warning latency**: for each positive conversation, how many of its messages had been
  read when the running risk first reached the threshold (`risk.assess`'s `flagged_seq`, so a
  flag at the first message is 1); the median, the mean and the share never flagged.
* **Confusion table** and a **reliability table**: per band of risk, how many conversations,
  their mean risk and the share that were positive (a calibrated risk has the two close), with
  the Brier score over all.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

BETA = 0.5
AT_K = (10, 50, 100)
BANDS = tuple(i / 10 for i in range(11))  # 0.0, 0.1 … 1.0: ten bands of risk


@dataclass(frozen=True, slots=True)
class Outcome:
    """One labelled conversation as the tagger scored it. `flagged_after`: the number of its
    messages read when its running risk first reached the threshold (1 = at the first message),
    None if it never did."""

    conversation: str
    positive: bool
    risk: float
    messages: int
    flagged_after: int | None = None


@dataclass(frozen=True, slots=True)
class Confusion:
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def total(self) -> int:
        return (
            self.true_positives + self.false_positives + self.false_negatives + self.true_negatives
        )


@dataclass(frozen=True, slots=True)
class Latency:
    """Messages read before positive conversations were flagged. `median`/`mean` are over the
    flagged ones only (None when none was); `never_flagged` counts the others."""

    positives: int
    flagged: int
    never_flagged: int
    median: float | None
    mean: float | None

    @property
    def never_share(self) -> float | None:
        return self.never_flagged / self.positives if self.positives else None


@dataclass(frozen=True, slots=True)
class Band:
    """Conversations whose risk lies in [low, high) (the last band includes 1.0)."""

    low: float
    high: float
    conversations: int
    positives: int
    mean_risk: float | None
    observed: float | None  # share of positives; None in an empty band


@dataclass(frozen=True, slots=True)
class Figures:
    conversations: int
    positives: int
    threshold: float
    confusion: Confusion
    precision: float | None
    recall: float | None
    f_half: float | None
    at_k: dict[int, float | None]
    latency: Latency
    reliability: tuple[Band, ...]
    brier: float | None


def confusion(outcomes: Sequence[Outcome], threshold: float) -> Confusion:
    """Predicted positive: final risk ≥ `threshold` (what the review queue flags)."""
    tp = fp = fn = tn = 0
    for o in outcomes:
        predicted = o.risk >= threshold
        if predicted and o.positive:
            tp += 1
        elif predicted:
            fp += 1
        elif o.positive:
            fn += 1
        else:
            tn += 1
    return Confusion(tp, fp, fn, tn)


def precision(table: Confusion) -> float | None:
    """None when nothing was predicted positive (precision is then undefined, not 0 or 1)."""
    predicted = table.true_positives + table.false_positives
    return table.true_positives / predicted if predicted else None


def recall(table: Confusion) -> float | None:
    """None when the set holds no positive."""
    actual = table.true_positives + table.false_negatives
    return table.true_positives / actual if actual else None


def f_beta(p: float | None, r: float | None, beta: float = BETA) -> float | None:
    """(1 + β²)·P·R / (β²·P + R); 0 when both are 0; None when either is undefined."""
    if p is None or r is None:
        return None
    if p == 0 and r == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)


def ranking(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Highest risk first, ties by conversation id, so a ranking is the same on every run."""
    return sorted(outcomes, key=lambda o: (-o.risk, o.conversation))


def precision_at(outcomes: Sequence[Outcome], k: int) -> float | None:
    """Share of positives among the `k` highest risks; None when fewer than `k` were scored."""
    if k <= 0:
        raise ValueError(f"k must be at least 1, not {k}")
    if len(outcomes) < k:
        return None
    return sum(o.positive for o in ranking(outcomes)[:k]) / k


def latency(outcomes: Sequence[Outcome]) -> Latency:
    positives = [o for o in outcomes if o.positive]
    read = [o.flagged_after for o in positives if o.flagged_after is not None]
    return Latency(
        positives=len(positives),
        flagged=len(read),
        never_flagged=len(positives) - len(read),
        median=float(statistics.median(read)) if read else None,
        mean=statistics.fmean(read) if read else None,
    )


def reliability(outcomes: Sequence[Outcome], bands: Sequence[float] = BANDS) -> tuple[Band, ...]:
    """The reliability (calibration) table: one row per band of risk, empty bands included."""
    if len(bands) < 2 or list(bands) != sorted(bands):
        raise ValueError("bands must be at least two ascending edges")
    rows = []
    for i, (low, high) in enumerate(itertools.pairwise(bands)):
        last = i == len(bands) - 2
        inside = [o for o in outcomes if low <= o.risk < high or (last and o.risk == high)]
        positives = sum(o.positive for o in inside)
        rows.append(
            Band(
                low=low,
                high=high,
                conversations=len(inside),
                positives=positives,
                mean_risk=statistics.fmean(o.risk for o in inside) if inside else None,
                observed=positives / len(inside) if inside else None,
            )
        )
    return tuple(rows)


def brier(outcomes: Sequence[Outcome]) -> float | None:
    """Mean squared gap between risk and label (0 perfect; 0.25 is always saying 0.5)."""
    if not outcomes:
        return None
    return statistics.fmean((o.risk - float(o.positive)) ** 2 for o in outcomes)


def figures(
    outcomes: Sequence[Outcome], threshold: float, *, at_k: Sequence[int] = AT_K
) -> Figures:
    """Every figure of the report, from one outcome per labelled conversation."""
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise ValueError(f"threshold must be between 0 and 1, not {threshold}")
    table = confusion(outcomes, threshold)
    p, r = precision(table), recall(table)
    return Figures(
        conversations=len(outcomes),
        positives=sum(o.positive for o in outcomes),
        threshold=threshold,
        confusion=table,
        precision=p,
        recall=r,
        f_half=f_beta(p, r),
        at_k={k: precision_at(outcomes, k) for k in at_k},
        latency=latency(outcomes),
        reliability=reliability(outcomes),
        brier=brier(outcomes),
    )
