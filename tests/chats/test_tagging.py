"""The tagger: rules and model together, the stored JSON form, explanations that name what is
in the text, and the speed the import relies on (counted, not timed)."""

from __future__ import annotations

from taskforce.chats import corpus, lexicon, tagging
from taskforce.chats.kinds import RuleHit, Tags
from taskforce.chats.tactics import Tactic

T = Tactic


def test_a_rule_shows_its_tactic_and_the_model_gives_its_probability() -> None:
    tagger = tagging.shipped()
    tags = tagger.tag(["are you home alone? add me on snap", "did you finish the homework"])
    assert {T.ISOLATION, T.PLATFORM_MOVE} <= tags[0].tactics
    assert {h.rule for h in tags[0].rules} == {"en-iso-alone", "en-move-add"}
    assert tags[0].probabilities[T.PLATFORM_MOVE] > 0.1
    assert tags[1].tactics == frozenset()
    assert tags[1].rules == ()
    assert all(p >= tagging.FLOOR for p in tags[1].probabilities.values())


def test_the_model_alone_shows_a_tactic_no_rule_names() -> None:
    """A phrasing the lexicon lacks, learnt from the corpus's other phrasings."""
    tags = tagging.shipped().tag(["how old are you then"])[0]
    assert T.AGE_PROBING in tags.tactics


def test_identical_texts_get_identical_tags_in_order() -> None:
    texts = ["ok", "how old are you", "ok", "lol"]
    tags = tagging.shipped().tag(texts)
    assert tags[0] == tags[2]
    assert T.AGE_PROBING in tags[1].tactics
    assert tagging.shipped().tag([]) == []


def test_tags_round_trip_through_the_stored_json() -> None:
    tags = tagging.shipped().tag(["don't tell your parents, delete this chat"])[0]
    data = tagging.tags_to_json(tags)
    assert data["rules"][0][:2] == ["secrecy", "en-secret-dont-tell"]
    assert "secrecy" in data["t"]
    assert tagging.tags_from_json(data) == tags
    assert tagging.tags_from_json({}) == Tags()
    # stored by an older version without "t": rules and probabilities ≥ 0.5 show
    old = tagging.tags_from_json(
        {
            "p": {"gifts": 0.7, "meeting": 0.2, "future_tactic": 0.9},
            "rules": [["secrecy", "r", 0, 3]],
        }
    )
    assert old.tactics == {T.GIFTS, T.SECRECY}
    assert old.rules == (RuleHit(T.SECRECY, "r", 0, 3),)


def test_an_explanation_names_the_rules_and_ngrams_of_the_text() -> None:
    text = "hey are you home alone right now"
    explanation = tagging.shipped().explain(text)
    first = explanation.tactics[0]
    assert first.tactic == T.ISOLATION
    assert first.shown
    assert first.rules[0][1].id == "en-iso-alone"
    assert "alone" in first.rules[0][1].why
    assert first.features
    for contribution in first.features:
        kind, ngram = contribution.feature.split(":", 1)
        assert kind in {"char", "word"}
        assert ngram.strip() in text.lower()
    assert first.features[0].contribution > 0


def test_two_builds_of_the_tagger_are_identical() -> None:
    """Built twice from the shipped corpus (the risk model's folds included): the same
    version, the same risk weights, the same tags — what `model_version` on a conversation
    relies on."""
    one = tagging.build(corpus.shipped(), lexicon.shipped())
    two = tagging.build(corpus.shipped(), lexicon.shipped())
    assert one.version == two.version == tagging.shipped().version
    assert one.risk_model == two.risk_model
    texts = ["how old are you", "see you at practice", "keep this between us"]
    assert one.tag(texts) == two.tag(texts)
