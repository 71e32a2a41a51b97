"""`evaluation.evaluate` on labelled folders an agency would hand it: a small mixed set whose
figures are worked out by hand below, a PAN-12-shaped folder (XML and a predators file), and
the shipped synthetic corpus, with and without cross-validation."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest
from chats.exports import whatsapp_txt
from chats.labelled import (
    CONVERSATIONS,
    GROOMING,
    ORDINARY,
    THRESHOLD,
    flagged_after,
    mixed_folder,
    pan12_folder,
    said,
)

from taskforce.chats import corpus, evaluation, scorecard, tagging
from taskforce.chats.reading import ReadOptions


def test_figures_on_a_small_mixed_set_equal_the_hand_computation(tmp_path: Path) -> None:
    report = evaluation.evaluate(
        mixed_folder(tmp_path),
        tagger=tagging.shipped(),
        threshold=THRESHOLD,
        options=ReadOptions(timezone="Europe/London"),
        folds=None,
    )
    f = report.figures
    # what was measured on what
    assert (report.files, report.conversations_read, report.unlabelled) == (3, 11, 1)
    assert report.labels_not_found == 1  # "ghost"
    assert report.problems == 1
    assert "chats.csv line 5" in report.problem_samples[0]
    assert report.messages == sum(len(t) for _, t in CONVERSATIONS.values()) + 3
    assert report.model_version == tagging.shipped().version
    assert (f.conversations, f.positives, f.threshold) == (10, 4, THRESHOLD)
    # confusion: TP g1 g2 g3, FN g4, FP b5 b6, TN b1–b4
    c = f.confusion
    assert (c.true_positives, c.false_positives) == (3, 2)
    assert (c.false_negatives, c.true_negatives) == (1, 4)
    # P = 3/5, R = 3/4, F0.5 = 1.25·(3/5)(3/4) / (0.25·3/5 + 3/4) = 0.5625 / 0.9 = 5/8
    assert f.precision == pytest.approx(3 / 5)
    assert f.recall == pytest.approx(3 / 4)
    assert f.f_half == pytest.approx(5 / 8)
    # ten scored: the top 10 is all of them, 4 positive; 50 and 100 cannot be measured
    assert f.at_k == {10: pytest.approx(4 / 10), 50: None, 100: None}
    # latency: the three flagged positives, each counted on its own texts; g4 never flagged
    read = [flagged_after(CONVERSATIONS[k][1]) for k in ("WhatsApp Chat with G1", "g2", "g3")]
    assert None not in read
    assert flagged_after(ORDINARY) is None
    assert (f.latency.flagged, f.latency.never_flagged) == (3, 1)
    assert f.latency.median == statistics.median(r for r in read if r is not None)
    assert f.latency.mean == pytest.approx(statistics.fmean(r for r in read if r is not None))
    assert sum(b.conversations for b in f.reliability) == 10
    assert sum(b.positives for b in f.reliability) == 4


def test_the_threshold_moves_the_confusion_table(tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path)
    everything = evaluation.evaluate(
        folder, tagger=tagging.shipped(), threshold=0.0, options=ReadOptions(), folds=None
    )
    c = everything.figures.confusion
    assert (c.true_positives, c.false_positives, c.false_negatives) == (4, 6, 0)
    assert everything.figures.latency.never_flagged == 0


def test_a_pan12_folder_is_labelled_by_its_predators_file(tmp_path: Path) -> None:
    report = evaluation.evaluate(
        pan12_folder(tmp_path),
        tagger=tagging.shipped(),
        threshold=THRESHOLD,
        options=ReadOptions(),
        folds=None,
    )
    f = report.figures
    assert report.labels.endswith("predators.txt")
    assert (report.files, report.problems, report.unlabelled) == (1, 0, 0)
    assert (f.conversations, f.positives) == (12, 4)
    # three predator chats full of tactics are flagged, the fourth (ordinary talk) is not,
    # and no ordinary conversation is: P = 3/3, R = 3/4, F0.5 = 1.25·0.75 / (0.25 + 0.75)
    c = f.confusion
    assert (c.true_positives, c.false_positives, c.false_negatives) == (3, 0, 1)
    assert f.f_half == pytest.approx(1.25 * 0.75 / 1.0)
    # the top 10: the three flagged, then seven of the nine equal risks by id, not the last
    assert f.at_k[10] == pytest.approx(3 / 10)
    assert f.latency.median == flagged_after(GROOMING)


def test_risk_only_cross_validation_on_a_folder_without_tactic_labels(tmp_path: Path) -> None:
    report = evaluation.evaluate(
        pan12_folder(tmp_path),
        tagger=tagging.shipped(),
        threshold=THRESHOLD,
        options=ReadOptions(),
        folds=2,
    )
    assert report.folds == 2
    assert "the risk model trained on the other folds" in report.trained
    assert "no message-level tactic labels" in report.trained
    assert len(report.fold_f_half) == 2
    assert (report.figures.conversations, report.figures.positives) == (12, 4)


def _corpus_counts() -> tuple[int, int, int]:
    with (corpus.CORPUS_DIR / "labels.csv").open() as f:
        labels = list(csv.DictReader(f))
    with (corpus.CORPUS_DIR / "messages.csv").open() as f:
        messages = sum(1 for _ in csv.DictReader(f))
    return len(labels), sum(r["label"] == "1" for r in labels), messages


def test_the_shipped_corpus_is_a_labelled_folder_and_says_it_trained_the_tagger() -> None:
    report = evaluation.evaluate(
        corpus.CORPUS_DIR,
        tagger=tagging.shipped(),
        threshold=THRESHOLD,
        options=ReadOptions(),
        folds=None,
    )
    conversations, positives, messages = _corpus_counts()
    assert (report.figures.conversations, report.figures.positives) == (conversations, positives)
    assert (report.messages, report.problems, report.unlabelled) == (messages, 0, 0)
    assert "figures on its training data" in report.trained
    assert "training data" in scorecard.render(report)


def test_cross_validation_of_the_whole_tagger_on_the_corpus_layout(tmp_path: Path) -> None:
    """A folder in the corpus layout (messages.csv with tactics): each fold's message models
    are built from the other folds' messages. A slice of the shipped corpus, so it is quick."""
    shipped = corpus.shipped()
    keys = sorted(shipped.labels)
    chosen = [k for k in keys if shipped.labels[k]][:12] + [
        k for k in keys if not shipped.labels[k]
    ][:18]
    part = corpus.Corpus(
        tuple(r for r in shipped.rows if r.conversation in chosen),
        {k: shipped.labels[k] for k in chosen},
    )
    corpus.write(part, tmp_path)
    report = evaluation.evaluate(
        tmp_path, tagger=tagging.shipped(), threshold=THRESHOLD, options=ReadOptions(), folds=3
    )
    assert "message models and the risk model trained on the other folds" in report.trained
    assert len(report.fold_f_half) == 3
    # every labelled conversation scored once, by the fold that held it out
    assert (report.figures.conversations, report.figures.positives) == (30, 12)
    assert report.messages == len(part.rows)
    assert report.figures.recall is not None


def test_a_folder_whose_conversations_carry_no_label_is_refused(tmp_path: Path) -> None:
    whatsapp_txt(tmp_path, said(ORDINARY), name="WhatsApp Chat with Kim.txt")
    (tmp_path / "labels.csv").write_text("conversation,label\nKim,1\n")
    with pytest.raises(evaluation.NoLabels, match="none of the 1 conversations read is labelled"):
        evaluation.evaluate(
            tmp_path, tagger=tagging.shipped(), threshold=0.5, options=ReadOptions(), folds=None
        )


def test_a_folder_with_no_readable_conversation_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("this is not a chat export\n")
    (tmp_path / "labels.csv").write_text("conversation,label\nnotes,1\n")
    with pytest.raises(evaluation.NoLabels, match="no conversation was read from 1 file of"):
        evaluation.evaluate(
            tmp_path, tagger=tagging.shipped(), threshold=0.5, options=ReadOptions(), folds=None
        )


def test_a_packed_conversation_reads_back_as_the_tagger_scored_it() -> None:
    """The harness keeps each conversation packed in arrays (bounded memory); read back, it
    gives the risk model the same messages, so the same risk and flag."""
    tagger = tagging.shipped()
    texts = [*ORDINARY[:3], *GROOMING]
    tags = tagger.tag(texts)
    authors = ["whatsapp:Alex", "whatsapp:Sam", None] * len(texts)
    packed = evaluation.Packed()
    for author, tag in zip(authors, tags, strict=False):
        packed.append(author, tag)
    direct = [tagging.scored(i, a, t) for i, (a, t) in enumerate(zip(authors, tags, strict=False))]
    assert len(packed) == len(texts)
    for got, want in zip(packed, direct, strict=True):
        assert (got.seq, got.tactics, dict(got.probabilities)) == (
            want.seq,
            want.tactics,
            dict(want.probabilities),
        )
        assert (got.author is None) == (want.author is None)
    assert packed[-1].seq == len(texts) - 1
    assert [m.seq for m in packed[2:4]] == [2, 3]
    ours, theirs = tagger.assess(packed, THRESHOLD), tagger.assess(direct, THRESHOLD)
    assert (ours.risk, ours.flagged_seq) == (theirs.risk, theirs.flagged_seq)
    with pytest.raises(IndexError):
        packed[len(texts)]


def test_progress_is_told_how_far_the_reading_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(evaluation, "PROGRESS_EVERY", 50)
    told: list[str] = []
    report = evaluation.evaluate(
        mixed_folder(tmp_path),
        tagger=tagging.shipped(),
        threshold=THRESHOLD,
        options=ReadOptions(),
        folds=None,
        progress=told.append,
    )
    assert told == [f"{n} messages read" for n in range(50, report.messages + 1, 50)]
