"""A conversation's risk from its messages' tactics, in order: pure, so the import, the review
pages and the evaluation compute it the same way.

The features are few and readable — for each tactic the strongest evidence so far (1 when a
lexicon rule or the model showed it, else the model's probability), how many distinct tactics
and grooming stages were shown, the share of messages that showed one, how concentrated the
tactics are in one author — and a plain logistic regression turns them into a risk. Its
probabilities are checked against the outcomes with a reliability table (`reliability`), and
each feature's part in a risk is its value times its weight (`Assessment.contributions`), so
the page can say why. The running risk after each message gives `flagged_seq`: how early a
conversation would have reached the review threshold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.linear_model import LogisticRegression

from taskforce.chats.tactics import TACTICS, Stage, Tactic

FEATURES: tuple[str, ...] = (
    *(f"max_{t.value}" for t in TACTICS),
    "distinct_tactics",
    "distinct_stages",
    "tactic_message_share",
    "top_author_share",
)
FEATURE_LABELS: dict[str, str] = {
    **{f"max_{t.value}": f"Strongest sign of {info.label.lower()}" for t, info in TACTICS.items()},
    "distinct_tactics": f"Share of the {len(TACTICS)} tactics shown",
    "distinct_stages": f"Share of the {len(Stage)} grooming stages shown",
    "tactic_message_share": "Share of messages showing a tactic",
    "top_author_share": "Share of the tactics shown by one author",
}
C = 1.0
SEED = 19
CLOSE = 1e-9  # a running risk this near the threshold is computed exactly (see `assess`)


def _logit(p: float) -> float:
    """The score at which the model's risk is `p` (±inf outside (0, 1))."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class ScoredMessage:
    """A message as the risk model reads it: its place, its author (any stable key) and the
    tagger's verdict."""

    seq: int
    author: str | None
    tactics: frozenset[Tactic]
    probabilities: Mapping[Tactic, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FeatureContribution:
    feature: str
    label: str
    value: float
    weight: float

    @property
    def contribution(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class TimelineEntry:
    """A message that showed a tactic: the timeline of the conversation page."""

    seq: int
    tactics: tuple[Tactic, ...]
    stages: tuple[Stage, ...]
    risk: float  # the running risk after this message


@dataclass(frozen=True)
class Assessment:
    risk: float
    contributions: tuple[FeatureContribution, ...]  # the largest part first
    flagged_seq: int | None  # first message at which the running risk reached the threshold
    timeline: tuple[TimelineEntry, ...]
    tactic_counts: dict[str, int]  # messages showing each tactic


class Running:
    """The features of a conversation read message by message (constant memory per message)."""

    def __init__(self) -> None:
        self.strongest = dict.fromkeys(TACTICS, 0.0)
        self.shown: set[Tactic] = set()
        self.messages = 0
        self.with_tactic = 0
        self.by_author: dict[str | None, int] = {}
        self.counts: dict[str, int] = {}
        self._fixed: float | None = None  # see `estimate`

    def add(self, message: ScoredMessage) -> None:
        self.messages += 1
        strongest = self.strongest
        for tactic, p in message.probabilities.items():
            if p > strongest[tactic]:
                strongest[tactic] = float(p)
                self._fixed = None
        if message.tactics:
            self._fixed = None
            self.with_tactic += 1
            self.by_author[message.author] = self.by_author.get(message.author, 0) + 1
            for tactic in message.tactics:
                strongest[tactic] = 1.0
                self.shown.add(tactic)
                self.counts[tactic.value] = self.counts.get(tactic.value, 0) + 1

    def estimate(self, weights: Sequence[float], intercept: float) -> float:
        """`vector() · weights + intercept` summed in Python floats: the same value as the
        model's but for the last bits (numpy's dot adds in another order), for a quick look
        at every message; the parts that change only with a tactic are summed once each."""
        if self._fixed is None:
            n = len(TACTICS)
            fixed = sum(self.strongest[t] * w for t, w in zip(TACTICS, weights, strict=False))
            fixed += len(self.shown) / n * weights[n]
            fixed += len({TACTICS[t].stage for t in self.shown}) / len(Stage) * weights[n + 1]
            if self.with_tactic:
                top = max(self.by_author.values(), default=0)
                fixed += top / self.with_tactic * weights[n + 3]
            self._fixed = fixed + intercept
        share = self.with_tactic / self.messages if self.messages else 0.0
        return self._fixed + share * weights[len(TACTICS) + 2]

    def vector(self) -> NDArray[np.float64]:
        stages = {TACTICS[t].stage for t in self.shown}
        top = max(self.by_author.values(), default=0)
        return np.array(
            [
                *(self.strongest[t] for t in TACTICS),
                len(self.shown) / len(TACTICS),
                len(stages) / len(Stage),
                self.with_tactic / self.messages if self.messages else 0.0,
                top / self.with_tactic if self.with_tactic else 0.0,
            ]
        )


def features(messages: Iterable[ScoredMessage]) -> NDArray[np.float64]:
    running = Running()
    for message in messages:
        running.add(message)
    return running.vector()


@dataclass(frozen=True)
class RiskModel:
    """Weights and intercept of the conversation model, and the fingerprint of what it was
    fitted on."""

    weights: tuple[float, ...]
    intercept: float
    version: str

    def probability(self, vector: NDArray[np.float64]) -> float:
        score = float(np.dot(vector, self.weights)) + self.intercept
        return 1.0 / (1.0 + math.exp(-score))


def fit(
    conversations: Sequence[Sequence[ScoredMessage]], labels: Sequence[int], version: str
) -> RiskModel:
    """Fit the conversation model: a logistic regression on the full conversations' features,
    balanced between the classes, deterministic."""
    x = np.vstack([features(c) for c in conversations])
    y = np.asarray(labels, dtype=np.int8)
    classifier = LogisticRegression(
        C=C, class_weight="balanced", solver="liblinear", random_state=SEED, max_iter=1000
    )
    classifier.fit(x, y)
    return RiskModel(
        tuple(float(w) for w in classifier.coef_[0]), float(classifier.intercept_[0]), version
    )


def assess(messages: Iterable[ScoredMessage], threshold: float, *, model: RiskModel) -> Assessment:
    """The conversation's risk, why (each feature's value × weight), the first message at
    which the running risk reached `threshold`, and the timeline of the tactics shown. Reads
    `messages` once, in order, keeping only the timeline: a stream of any length will do."""
    running = Running()
    flagged: int | None = None
    timeline: list[TimelineEntry] = []
    weights, intercept = model.weights, model.intercept
    # the running risk of a message without a tactic matters only while not yet flagged, and
    # only whether it reached the threshold: a quick estimate tells, unless it is too close
    # to call, when the model's own arithmetic decides (so `flagged_seq` is exactly its)
    low, high = _logit(threshold - CLOSE), _logit(threshold + CLOSE)
    for message in messages:
        running.add(message)
        if message.tactics:
            risk = model.probability(running.vector())
            if flagged is None and risk >= threshold:
                flagged = message.seq
            ordered = tuple(t for t in TACTICS if t in message.tactics)
            stages = tuple(dict.fromkeys(TACTICS[t].stage for t in ordered))
            timeline.append(TimelineEntry(message.seq, ordered, stages, risk))
        elif flagged is None:
            score = running.estimate(weights, intercept)
            if score >= high or (score > low and model.probability(running.vector()) >= threshold):
                flagged = message.seq
    vector = running.vector()
    risk = model.probability(vector)  # after the last message (an empty conversation's too)
    contributions = sorted(
        (
            FeatureContribution(name, FEATURE_LABELS[name], float(v), w)
            for name, v, w in zip(FEATURES, vector, model.weights, strict=True)
        ),
        key=lambda c: (-abs(c.contribution), c.feature),
    )
    return Assessment(risk, tuple(contributions), flagged, tuple(timeline), dict(running.counts))


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    mean_predicted: float
    observed: float  # share of positives among the conversations in the bin


def reliability(probabilities: Sequence[float], labels: Sequence[int], bins: int = 5) -> list[Bin]:
    """The reliability table: in each probability band, the mean predicted risk against the
    share that really were positive (calibrated: the two agree)."""
    table = []
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    for k in range(bins):
        low, high = k / bins, (k + 1) / bins
        mask = (p >= low) & ((p < high) if k < bins - 1 else (p <= high))
        count = int(mask.sum())
        if count:
            table.append(Bin(low, high, count, float(p[mask].mean()), float(y[mask].mean())))
        else:
            table.append(Bin(low, high, 0, 0.0, 0.0))
    return table
