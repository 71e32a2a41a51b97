"""The tactic tagger: the rule lexicon and the per-tactic models together, and the
conversation risk model fitted on what they say about the corpus.

A message shows a tactic when a lexicon rule for it fires or when the model's probability
reaches the tactic's threshold. The probability reported (`Tags.probabilities`, stored in
`ChatMessage.tags["p"]`, shown on the page) is always the model's own, unaltered by the rules —
a rule hit is reported beside it, with the rule and where it fired — so each number means one
thing. Probabilities under `FLOOR` are not kept.

`shipped()` builds the tagger from the synthetic corpus at first use (deterministic, well under
a second on the shipped corpus) and keeps it for the process. The corpus proves the pipeline,
not the model.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from taskforce.chats import corpus as corpus_module
from taskforce.chats import lexicon as lexicon_module
from taskforce.chats import model as model_module
from taskforce.chats import risk as risk_module
from taskforce.chats.kinds import RuleHit, Tags
from taskforce.chats.lexicon import Lexicon, Rule
from taskforce.chats.model import Contribution, TacticModel
from taskforce.chats.risk import Assessment, RiskModel, ScoredMessage
from taskforce.chats.tactics import Tactic

FLOOR = 0.05  # probabilities below this are not kept on a message
FOLDS = 5  # the risk model learns from message probabilities of conversations held out


@dataclass(frozen=True)
class TacticExplanation:
    tactic: Tactic
    probability: float  # the model's
    threshold: float
    shown: bool
    rules: tuple[tuple[RuleHit, Rule], ...]
    features: tuple[Contribution, ...]  # the n-grams of the text that weigh most


@dataclass(frozen=True)
class Explanation:
    text: str
    tactics: tuple[TacticExplanation, ...]  # shown ones first, then by probability


class Tagger:
    """Tags messages (`tag`), explains one (`explain`) and scores a conversation (`assess`)."""

    def __init__(self, lexicon: Lexicon, model: TacticModel, risk_model: RiskModel) -> None:
        self.lexicon = lexicon
        self.model = model
        self.risk_model = risk_model
        self.version = model_module.fingerprint(
            [lexicon.version, model.version, risk_model.version]
        )
        self._thresholds = dict(zip(model.tactics, model.thresholds, strict=True))
        self._threshold_row = np.asarray(model.thresholds, dtype=np.float64)

    def tag(self, texts: Sequence[str]) -> list[Tags]:
        """Each text's tags, in order. Identical texts are tagged once."""
        unique: dict[str, int] = {}
        for text in texts:
            unique.setdefault(text, len(unique))
        distinct = list(unique)
        probabilities = self.model.predict(distinct)
        tactics = self.model.tactics
        kept: list[dict[Tactic, float]] = [{} for _ in distinct]
        rows, columns = np.nonzero(probabilities >= FLOOR)
        values = np.round(probabilities[rows, columns], 4)
        for row, column, value in zip(
            rows.tolist(), columns.tolist(), values.tolist(), strict=True
        ):
            kept[row][tactics[column]] = value
        shown: list[set[Tactic]] = [set() for _ in distinct]
        rows, columns = np.nonzero(probabilities >= self._threshold_row)
        for row, column in zip(rows.tolist(), columns.tolist(), strict=True):
            shown[row].add(tactics[column])
        find = self.lexicon.find
        results: list[Tags] = []
        for text, p, s in zip(distinct, kept, shown, strict=True):
            hits = tuple(find(text))
            if hits:
                s.update(hit.tactic for hit in hits)
            results.append(Tags(p, frozenset(s), hits))
        return [results[unique[text]] for text in texts]

    def explain(self, text: str, top: int = 8) -> Explanation:
        """Why the text got its tags: per tactic shown or above the floor, the rules that fired
        (with their reasons) and the n-grams that weigh most in the model."""
        tags = self.tag([text])[0]
        probabilities = self.model.predict([text])[0]
        rows = []
        for i, tactic in enumerate(self.model.tactics):
            p = float(probabilities[i])
            rules = tuple(
                (hit, self.lexicon.by_id[hit.rule]) for hit in tags.rules if hit.tactic == tactic
            )
            shown = tactic in tags.tactics
            if not shown and p < FLOOR:
                continue
            rows.append(
                TacticExplanation(
                    tactic,
                    p,
                    self._thresholds[tactic],
                    shown,
                    rules,
                    tuple(self.model.explain(text, tactic, top)),
                )
            )
        rows.sort(key=lambda r: (not r.shown, -r.probability, r.tactic.value))
        return Explanation(text, tuple(rows))

    def assess(self, messages: Iterable[ScoredMessage], threshold: float) -> Assessment:
        """The conversation's risk with this tagger's risk model (see `risk.assess`)."""
        return risk_module.assess(messages, threshold, model=self.risk_model)


def scored(seq: int, author: str | None, tags: Tags) -> ScoredMessage:
    return ScoredMessage(seq, author, tags.tactics, tags.probabilities)


def tags_to_json(tags: Tags) -> dict[str, Any]:
    """The form stored in `ChatMessage.tags`: `{"p": {tactic: probability}, "t": [shown
    tactics], "rules": [[tactic, rule id, start, end], ...]}`."""
    return {
        "p": {tactic.value: p for tactic, p in tags.probabilities.items()},
        "t": sorted(t.value for t in tags.tactics),
        "rules": [[h.tactic.value, h.rule, h.start, h.end] for h in tags.rules],
    }


_VALUES = {t: t.value for t in Tactic}  # an enum's `.value` is a slow property on 3.11
EMPTY_JSON = "{}"  # a message with no tactic, no probability over the floor and no rule


def tags_json_text(tags: Tags) -> str:
    """`tags_to_json` as the text stored (compact; "{}" for a message with no tags, which
    `tags_from_json` reads back as no tags): made where the batch is tagged, so the importer
    stores it as it is."""
    if not tags.probabilities and not tags.rules and not tags.tactics:
        return EMPTY_JSON
    values = _VALUES
    return json.dumps(
        {
            "p": {values[tactic]: p for tactic, p in tags.probabilities.items()},
            "t": sorted(values[t] for t in tags.tactics),
            "rules": [[values[h.tactic], h.rule, h.start, h.end] for h in tags.rules],
        },
        separators=(",", ":"),
    )


def tags_from_json(data: dict[str, Any] | None) -> Tags:
    """The tags stored by `tags_to_json` (unknown tactics — from a newer version — skipped).
    Without "t", the shown tactics are the rules' and those at 0.5 or more."""
    if not data:
        return Tags()
    known = {t.value for t in Tactic}
    probabilities = {Tactic(k): float(v) for k, v in (data.get("p") or {}).items() if k in known}
    rules = tuple(
        RuleHit(Tactic(r[0]), str(r[1]), int(r[2]), int(r[3]))
        for r in data.get("rules") or ()
        if r and r[0] in known
    )
    if "t" in data:
        shown = frozenset(Tactic(t) for t in data["t"] if t in known)
    else:
        shown = frozenset(
            {h.tactic for h in rules}
            | {t for t, p in probabilities.items() if p >= model_module.DEFAULT_THRESHOLD}
        )
    return Tags(probabilities, shown, rules)


def build(
    data: corpus_module.Corpus, lexicon: Lexicon, *, extra_version: Iterable[str] = ()
) -> Tagger:
    """A tagger fitted on a corpus: the message model on all its messages; the risk model on
    message tags from models that did not see the conversation (five folds), so the risk model
    learns from probabilities as uncertain as those of new chats."""
    extra = list(extra_version)
    model = model_module.fit(((r.text, r.tactics) for r in data.rows), extra_version=extra)
    grouped = data.conversations()
    keys = sorted(grouped)
    held_out: dict[str, list[ScoredMessage]] = {}
    for fold in range(FOLDS):
        train, held = corpus_module.split(keys, fold, FOLDS)
        fold_model = model_module.fit(
            (r.text, r.tactics) for k in sorted(train) for r in grouped[k]
        )
        fold_tagger = Tagger(
            lexicon, fold_model, RiskModel((0.0,) * len(risk_module.FEATURES), 0.0, "")
        )
        for key in sorted(held):
            rows = grouped[key]
            tags = fold_tagger.tag([r.text for r in rows])
            held_out[key] = [
                scored(i, r.author, t) for i, (r, t) in enumerate(zip(rows, tags, strict=True))
            ]
    risk_model = risk_module.fit(
        [held_out[k] for k in keys], [data.labels.get(k, 0) for k in keys], model.version
    )
    return Tagger(lexicon, model, risk_model)


def save(tagger: Tagger, path: Path) -> None:
    """Write a tagger's models to a skops file (an agency's own, trained on its own data)."""
    risk = tagger.risk_model
    tagger.model.save(
        path,
        {
            "risk_weights": list(risk.weights),
            "risk_intercept": risk.intercept,
            "risk_version": risk.version,
            "risk_features": list(risk_module.FEATURES),
        },
    )


def load(path: Path, lexicon: Lexicon | None = None) -> Tagger:
    """A tagger saved by `save`, with the shipped lexicon unless another is given. Refuses a
    file holding untrusted types (`model.ModelFileError`)."""
    model, extra = TacticModel.load_with_extra(path)
    try:
        if list(extra["risk_features"]) != list(risk_module.FEATURES):
            raise model_module.ModelFileError(
                f"{path.name}: risk_features: made for other conversation features"
            )
        risk_model = RiskModel(
            tuple(float(w) for w in extra["risk_weights"]),
            float(extra["risk_intercept"]),
            str(extra["risk_version"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, model_module.ModelFileError):
            raise
        raise model_module.ModelFileError(f"{path.name}: no conversation model ({exc})") from exc
    return Tagger(lexicon or lexicon_module.shipped(), model, risk_model)


@cache
def shipped() -> Tagger:
    """The tagger built from the shipped synthetic corpus and lexicon (once per process).

    Its objects (the models' vocabularies: some 100,000 of them) live as long as the process,
    so they are moved out of the garbage collector's sight (`gc.freeze`): else every full
    collection walks them again, and an import, which makes many small objects, spent more
    time in the collector than in tagging. The freeze takes whatever is alive at that moment
    (after a collection): in a server, also what it held then — a bounded, one-time set that
    is never collected if it later becomes cyclic garbage."""
    tagger = build(corpus_module.shipped(), lexicon_module.shipped())
    gc.collect()
    gc.freeze()
    return tagger
