"""The labelled corpus's labels, files and folds: what `taskforce chats evaluate` reads before it
scores anything, and how it refuses a folder it cannot evaluate (file, line and rule)."""

from __future__ import annotations

from pathlib import Path

import pytest

from taskforce.chats import evaluation
from taskforce.core.errors import Invalid


def test_labels_csv_takes_1_0_grooming_and_benign(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text(
        "\ufeffConversation,Label\nc1,1\nc2,0\nc3,Grooming\nc4,benign\n\n", encoding="utf-8"
    )
    labels = evaluation.read_labels(tmp_path)
    assert labels.origin == "labels.csv"
    assert labels.conversations == {"c1": True, "c2": False, "c3": True, "c4": False}
    assert labels.of("c3", predator=False) is True  # labels.csv decides, not the authors
    assert labels.of("c9", predator=True) is None  # not labelled: not scored


@pytest.mark.parametrize(
    ("text", "where", "rule"),
    [
        ("id,label\nc1,1\n", "labels.csv line 1", "header must be 'conversation,label'"),
        ("conversation,label\nc1,1\nc2,maybe\n", "labels.csv line 3", "'maybe' is not 1, 0"),
        ("conversation,label\nc1\n", "labels.csv line 2", "needs a conversation and a label"),
        ("conversation,label\n,1\n", "labels.csv line 2", "the conversation is empty"),
        ("conversation,label\nc1,1\nc1,0\n", "labels.csv line 3", "both positive and negative"),
    ],
)
def test_a_bad_labels_row_is_refused_with_its_line_and_rule(
    tmp_path: Path, text: str, where: str, rule: str
) -> None:
    (tmp_path / "labels.csv").write_text(text, encoding="utf-8")
    with pytest.raises(Invalid, match=rule) as refused:
        evaluation.read_labels(tmp_path)
    assert refused.value.field == where


def test_pan12_predators_label_conversations_by_their_authors(tmp_path: Path) -> None:
    (tmp_path / "pan12-training-predators-2012.txt").write_text("aa11\n\nbb22\n")
    labels = evaluation.read_labels(tmp_path)
    assert labels.predators == {"aa11", "bb22"}
    assert labels.of("any", predator=True) is True
    assert labels.of("any", predator=False) is False  # PAN-12 labels every conversation


def test_pan12_test_set_ground_truth_is_read_and_its_line_files_are_not_chats(
    tmp_path: Path,
) -> None:
    (tmp_path / "pan12-sexual-predator-identification-groundtruth-problem1.txt").write_text(
        "aa11\n"
    )
    (tmp_path / "pan12-sexual-predator-identification-groundtruth-problem2.txt").write_text(
        "c1\t3\n"
    )
    (tmp_path / "pan12-sexual-predator-identification-diff.txt").write_text("c1\t3\n")
    (tmp_path / "pan12-sexual-predator-identification-test-corpus.xml").write_text("<x/>")
    assert evaluation.read_labels(tmp_path).predators == {"aa11"}
    assert [p.name for p in evaluation.chat_files(tmp_path)] == [
        "pan12-sexual-predator-identification-test-corpus.xml"
    ]


def test_a_folder_without_labels_or_with_both_kinds_is_refused(tmp_path: Path) -> None:
    with pytest.raises(evaluation.NoLabels, match=r"holds no labels: add labels\.csv"):
        evaluation.read_labels(tmp_path)
    (tmp_path / "labels.csv").write_text("conversation,label\n")
    with pytest.raises(evaluation.NoLabels, match="labels no conversation"):
        evaluation.read_labels(tmp_path)
    (tmp_path / "predators.txt").write_text("aa11\n")
    with pytest.raises(evaluation.NoLabels, match=r"both labels\.csv and predators\.txt"):
        evaluation.read_labels(tmp_path)


def test_the_files_read_are_the_chats_not_the_labels_nor_hidden_ones(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("conversation,label\nc,1\n")
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "README.md").write_text("# about this corpus")
    (tmp_path / ".DS_Store").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.csv").write_text("x")
    (tmp_path / "sub" / "labels.csv").write_text("x")  # only the top folder's labels are labels
    found = [p.relative_to(tmp_path).as_posix() for p in evaluation.chat_files(tmp_path)]
    assert found == ["b.txt", "sub/a.csv", "sub/labels.csv"]


def test_folds_are_stratified_and_the_same_on_every_run() -> None:
    labels = {f"p{i}": True for i in range(5)} | {f"n{i}": False for i in range(13)}
    folds = evaluation.assign_folds(labels, 3)
    assert folds == evaluation.assign_folds(dict(reversed(labels.items())), 3)
    for fold in range(3):
        positives = [c for c, f in folds.items() if f == fold and labels[c]]
        negatives = [c for c, f in folds.items() if f == fold and not labels[c]]
        assert len(positives) in (1, 2)  # 5 positives over 3 folds: 2, 2, 1
        assert len(negatives) in (4, 5)  # 13 over 3: 5, 4, 4


def test_folds_need_two_of_each_class_and_two_folds() -> None:
    with pytest.raises(Invalid, match="at least 2 folds"):
        evaluation.assign_folds({"a": True, "b": True, "c": False, "d": False}, 1)
    with pytest.raises(
        Invalid, match="at least 2 positive conversations to train on; the corpus has 1"
    ):
        evaluation.assign_folds({"a": True, "b": False, "c": False}, 2)
