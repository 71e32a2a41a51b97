"""The conversation risk: grooming conversations of the corpus rank above ordinary ones, the
risk is explained feature by feature, the running risk says how early a conversation would be
flagged, and the probabilities agree with the outcomes (reliability table)."""

from __future__ import annotations

import math

import pytest

from taskforce.chats import corpus, risk, tagging
from taskforce.chats.risk import ScoredMessage
from taskforce.chats.tactics import Stage, Tactic

T = Tactic


def _scored(texts: list[str], author: str = "a") -> list[ScoredMessage]:
    tags = tagging.shipped().tag(texts)
    return [tagging.scored(i, author, t) for i, t in enumerate(tags)]


@pytest.fixture(scope="module")
def corpus_risks() -> list[tuple[float, int]]:
    tagger = tagging.shipped()
    data = corpus.shipped()
    found = []
    for key, rows in sorted(data.conversations().items()):
        tags = tagger.tag([r.text for r in rows])
        messages = [
            tagging.scored(i, r.author, t) for i, (r, t) in enumerate(zip(rows, tags, strict=True))
        ]
        found.append((tagger.assess(messages, 0.5).risk, data.labels[key]))
    return found


def test_grooming_conversations_rank_above_ordinary_ones(
    corpus_risks: list[tuple[float, int]],
) -> None:
    grooming = [r for r, label in corpus_risks if label]
    ordinary = [r for r, label in corpus_risks if not label]
    pairs = sum(g > o for g in grooming for o in ordinary) / (len(grooming) * len(ordinary))
    assert pairs > 0.98
    assert sum(r >= 0.5 for r in grooming) / len(grooming) > 0.9
    assert sum(r < 0.5 for r in ordinary) / len(ordinary) > 0.95


def test_the_reliability_table_agrees_with_the_outcomes(
    corpus_risks: list[tuple[float, int]],
) -> None:
    table = risk.reliability([r for r, _ in corpus_risks], [y for _, y in corpus_risks], bins=5)
    assert sum(b.count for b in table) == len(corpus_risks)
    low, high = table[0], table[-1]
    assert low.count > 50
    assert high.count > 50
    assert abs(low.mean_predicted - low.observed) < 0.15
    assert abs(high.mean_predicted - high.observed) < 0.15


def test_the_risk_is_the_sum_of_its_features_parts() -> None:
    messages = _scored(["how old are you", "12", "don't tell your parents", "add me on snap"])
    assessment = tagging.shipped().assess(messages, 0.5)
    model = tagging.shipped().risk_model
    score = sum(c.contribution for c in assessment.contributions) + model.intercept
    assert 1 / (1 + math.exp(-score)) == pytest.approx(assessment.risk)
    assert {c.feature for c in assessment.contributions} == set(risk.FEATURES)
    assert assessment.contributions[0].contribution == max(
        (c.contribution for c in assessment.contributions), key=abs
    )
    named = {c.feature: c for c in assessment.contributions}
    shown = set().union(*(m.tactics for m in messages))
    assert {T.AGE_PROBING, T.SECRECY, T.PLATFORM_MOVE} <= shown
    assert named["distinct_tactics"].value == pytest.approx(len(shown) / 9)
    assert named["max_secrecy"].value == 1.0
    assert named["distinct_tactics"].label == "Share of the 9 tactics shown"  # a value 0–1


def test_the_running_risk_flags_at_the_first_message_over_the_threshold() -> None:
    texts = [
        "hey nice build",
        "thanks",
        "how old are you",
        "13",
        "don't tell your parents we talk",
        "are you home alone",
        "add me on snap",
        "send me a pic of you",
    ]
    assessment = tagging.shipped().assess(_scored(texts), 0.5)
    assert assessment.flagged_seq is not None
    before = [e for e in assessment.timeline if e.seq < assessment.flagged_seq]
    assert all(e.risk < 0.5 for e in before)
    at = next(e for e in assessment.timeline if e.seq == assessment.flagged_seq)
    assert at.risk >= 0.5
    assert [e.seq for e in assessment.timeline] == [2, 4, 5, 6, 7]
    assert assessment.timeline[1].tactics == (T.SECRECY,)
    assert assessment.timeline[1].stages == (Stage.ISOLATION,)
    assert assessment.tactic_counts == {
        "age_probing": 1,
        "secrecy": 1,
        "isolation": 1,
        "platform_move": 1,
        "image_request": 1,
    }
    # a threshold never reached: never flagged
    assert tagging.shipped().assess(_scored(texts), 0.9999).flagged_seq is None


def test_each_new_tactic_raises_the_risk() -> None:
    texts = [
        "how old are you",
        "you're so mature for your age",
        "i'll top up your phone",
        "don't tell your parents",
        "add me on snap",
        "we should meet up in person",
    ]
    risks = [tagging.shipped().assess(_scored(texts[:n]), 0.5).risk for n in range(1, 7)]
    assert risks == sorted(risks)
    assert risks[-1] > 0.9


def test_an_ordinary_conversation_with_one_lookalike_line_stays_low() -> None:
    texts = [
        "did you finish the maths homework",
        "yes",
        "let's meet at the library after class",
        "ok",
        "don't tell dad about the surprise party!!",
        "haha ok",
        "see you",
    ]
    assessment = tagging.shipped().assess(_scored(texts), 0.5)
    assert assessment.risk < 0.5
    assert assessment.flagged_seq is None


def test_an_empty_conversation_is_not_flagged() -> None:
    assessment = tagging.shipped().assess([], 0.5)
    assert assessment.flagged_seq is None
    assert assessment.timeline == ()
    assert assessment.risk < 0.5


def test_top_author_share_reads_who_showed_the_tactics() -> None:
    one = [
        ScoredMessage(0, "x", frozenset({T.AGE_PROBING})),
        ScoredMessage(1, "y", frozenset()),
        ScoredMessage(2, "x", frozenset({T.SECRECY})),
    ]
    two = [*one[:2], ScoredMessage(2, "y", frozenset({T.SECRECY}))]
    share = risk.FEATURES.index("top_author_share")
    assert risk.features(one)[share] == 1.0
    assert risk.features(two)[share] == 0.5
