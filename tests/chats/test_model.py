"""The per-tactic models: fitted deterministically, better on held-out tactic messages than on
ordinary ones, explained by n-grams of the text, saved and loaded with skops only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from skops import io as skops_io

from taskforce.chats import corpus, model, tagging
from taskforce.chats.model import ModelFileError, TacticModel
from taskforce.chats.tactics import TACTICS, Tactic


def _examples(keys: set[str]) -> Iterator[tuple[str, tuple[Tactic, ...]]]:
    grouped = corpus.shipped().conversations()
    for key in sorted(keys):
        for row in grouped[key]:
            yield row.text, row.tactics


def test_two_fits_are_identical() -> None:
    keys = set(corpus.shipped().labels)
    one, two = model.fit(_examples(keys)), model.fit(reversed(list(_examples(keys))))
    assert one.version == two.version
    texts = ["how old are you", "add me on discord", "we won 3-1"]
    np.testing.assert_array_equal(one.predict(texts), two.predict(texts))
    assert one.version != model.fit(_examples(set(sorted(keys)[:100]))).version


def test_held_out_tactic_messages_score_above_ordinary_ones() -> None:
    """Fitted on four fifths of the conversations; on the fifth held out, each tactic's
    messages get a higher probability of it than the ordinary messages do (the area under the
    ROC curve, per tactic). On a synthetic corpus: this proves the pipeline, not the model."""
    keys = list(corpus.shipped().labels)
    train, held = corpus.split(keys, 0)
    fitted = model.fit(_examples(train))
    rows = list(_examples(held))
    probabilities = fitted.predict([text for text, _ in rows])
    for column, tactic in enumerate(fitted.tactics):
        positive = probabilities[[tactic in t for _, t in rows], column]
        ordinary = probabilities[[not t for _, t in rows], column]
        assert len(positive) >= 3, tactic
        # the share of (tactic, ordinary) pairs ranked the right way round
        auc = (positive[:, None] > ordinary[None, :]).mean()
        assert auc > 0.9, (tactic, auc)
        assert np.median(positive) > 0.5 > np.median(ordinary), tactic


def test_a_tactic_never_seen_never_fires() -> None:
    fitted = model.fit([("how old are you", (Tactic.AGE_PROBING,)), ("lol ok", ()), ("ok", ())])
    column = fitted.tactics.index(Tactic.MEETING)
    assert fitted.predict(["where do you live"])[0, column] < 0.001
    assert fitted.predict([]).shape == (0, len(TACTICS))


def test_explanations_name_ngrams_of_the_text_with_their_weights() -> None:
    shipped = tagging.shipped().model
    text = "Add me on Telegram tonight"
    found = shipped.explain(text, Tactic.PLATFORM_MOVE, top=5)
    assert 0 < len(found) <= 5
    for c in found:
        kind, ngram = c.feature.split(":", 1)
        assert kind in {"char", "word"}
        assert ngram.strip() in text.lower()
        assert c.contribution == pytest.approx(c.value * c.weight)
    assert found[0].contribution > 0
    assert abs(found[0].contribution) >= abs(found[-1].contribution)
    # the sum of every n-gram's part and the intercept is the model's score
    every = shipped.explain(text, Tactic.PLATFORM_MOVE, top=10_000)
    column = shipped.tactics.index(Tactic.PLATFORM_MOVE)
    score = sum(c.contribution for c in every) + shipped.intercept[column]
    assert 1 / (1 + np.exp(-score)) == pytest.approx(shipped.predict([text])[0, column])


def test_a_saved_tagger_loads_back_the_same(tmp_path: Path) -> None:
    shipped = tagging.shipped()
    path = tmp_path / "tagger.skops"
    tagging.save(shipped, path)
    loaded = tagging.load(path)
    assert loaded.version == shipped.version
    texts = ["how old are you", "see you at practice", "turn on your cam"]
    assert loaded.tag(texts) == shipped.tag(texts)
    assert path.read_bytes()[:2] == b"PK"  # a skops zip, not a pickle


class Smuggled:
    """A type no one listed: loading must refuse it before building it."""

    def __init__(self) -> None:
        self.payload = "run me"


def test_a_file_with_an_untrusted_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.skops"
    state = tagging.shipped().model.state()
    state["char"] = Smuggled()
    skops_io.dump(state, path)
    with pytest.raises(ModelFileError, match=r"evil\.skops: holds types taskforce does not trust"):
        TacticModel.load(path)
    with pytest.raises(ModelFileError, match="Smuggled"):
        tagging.load(path)


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.skops"
    path.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match=r"notes\.skops: not a skops model file"):
        TacticModel.load(path)
    other = tmp_path / "other.skops"
    skops_io.dump({"format": 1, "char": 3, "word": 4}, other)
    with pytest.raises(ModelFileError, match=r"other\.skops: char/word: not TF-IDF vectorisers"):
        TacticModel.load(other)
    skops_io.dump({"format": 1}, other)
    with pytest.raises(ModelFileError, match=r"other\.skops: char: missing"):
        TacticModel.load(other)


TRICKY = [
    "",
    "   ",
    "a",
    "ab",
    "\tTab\there  double  space",
    "ÉCOLE élève İstanbul Straße",
    "emoji 😀😀 ok",
    "x\x00y",
    "how old\nare you",
    "supercalifragilisticexpialidocious" * 3,
    "how how old old are you you",
    "!!!",
    "add me on discord add me on discord",
]


def test_the_fast_ngram_counting_gives_scikit_learns_matrix() -> None:
    """The tagger's numpy path for character and word n-grams is the same TF-IDF matrix as
    scikit-learn's transform, on every corpus line and on awkward text."""
    fitted = tagging.shipped().model
    texts = [r.text for r in corpus.shipped().rows] + TRICKY
    for fast, reference in (
        (model.CharNgrams(fitted.char), fitted.char),
        (model.WordNgrams(fitted.word), fitted.word),
    ):
        assert fast.usable
        ours, theirs = fast.transform(texts), reference.transform(texts)
        assert ours.shape == theirs.shape
        assert abs(ours - theirs).max() < 1e-12
    assert model.CharNgrams(fitted.char).transform([]).shape[0] == 0
