"""`taskforce chats evaluate` at the console: the figures printed (and as JSON) for a labelled
folder, on a data folder with no database (an agency runs it on its own node), and a refusal
that says what is missing — never exit 0 when nothing was measured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chats.labelled import mixed_folder
from typer.testing import CliRunner

from taskforce.chats import corpus, lexicon, tagging
from taskforce.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A console whose data folder holds no database: evaluate must not need one."""
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(data))
    monkeypatch.delenv("TASKFORCE_DATABASE_URL", raising=False)
    return CliRunner()


def test_the_figures_are_printed_with_what_they_were_measured_on(
    runner: CliRunner, tmp_path: Path
) -> None:
    folder = mixed_folder(tmp_path / "labelled")
    done = runner.invoke(app, ["chats", "evaluate", str(folder), "--threshold", "0.5"])
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "Evaluated 10 conversations (4 positive)" in text
    assert "labels from labels.csv" in text
    assert "Threshold 0.50" in text
    assert "1 with no label (not scored)" in text
    # F0.5 = 5/8, P = 3/5, R = 3/4 (worked out in test_evaluation.py)
    assert "F0.5              0.625  (precision 0.600, recall 0.750)" in text
    assert "Precision at 10   0.400  (at most 0.400: 4 positives)" in text  # a ceiling, not a miss
    assert "Precision at 50   –  (fewer than 50 conversations scored)" in text
    assert "never flagged    1 (25.0 %)" in text
    assert "  flagged                          3                   2" in text
    assert "  not flagged                      1                   4" in text
    assert "proves the pipeline, not the model" in text
    assert list((tmp_path / "data").iterdir()) == []  # no database was made or needed


def test_json_gives_the_same_figures(runner: CliRunner, tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path / "labelled")
    done = runner.invoke(app, ["chats", "evaluate", str(folder), "--json"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["threshold"] == 0.5  # chats_review_threshold, the default
    assert (found["conversations"], found["positives"]) == (10, 4)
    assert found["f_half"] == pytest.approx(5 / 8)
    assert found["precision_at"] == {"10": pytest.approx(0.4), "50": None, "100": None}
    assert found["confusion"] == {
        "true_positives": 3,
        "false_positives": 2,
        "false_negatives": 1,
        "true_negatives": 4,
    }
    assert found["latency"]["never_flagged"] == 1
    assert found["read"]["unlabelled"] == 1
    assert found["read"]["labels_not_found"] == 1


def test_a_folder_without_labels_exits_2_saying_what_to_add(
    runner: CliRunner, tmp_path: Path
) -> None:
    (tmp_path / "chat.log").write_text("[2024-03-01 10:00:00] alex: hi\n")
    done = runner.invoke(app, ["chats", "evaluate", str(tmp_path)])
    assert done.exit_code == 2
    assert "holds no labels: add labels.csv" in done.output
    assert "Traceback" not in done.output


def test_a_folder_without_conversations_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text("conversation,label\nchat,1\n")
    (tmp_path / "readme.txt").write_text("nothing here is a chat\n")
    done = runner.invoke(app, ["chats", "evaluate", str(tmp_path)])
    assert done.exit_code == 2
    assert "no conversation was read from 1 file of" in done.output


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--timezone", "Mars/Olympus"], "timezone"),
        (["--threshold", "1.5"], "threshold: must be between 0 and 1"),
        (["--folds", "1"], "cross-validation needs at least 2 folds"),
    ],
)
def test_a_bad_option_exits_2_naming_it(
    runner: CliRunner, tmp_path: Path, extra: list[str], said: str
) -> None:
    folder = mixed_folder(tmp_path / "labelled")
    done = runner.invoke(app, ["chats", "evaluate", str(folder), *extra])
    assert done.exit_code == 2
    assert said in done.output


def test_an_agencys_own_tagger_is_measured_with_model(runner: CliRunner, tmp_path: Path) -> None:
    """An agency trains its own tagger, saves it with skops, and measures that one."""
    shipped = corpus.shipped()
    keys = sorted(shipped.labels)[::3]
    own = tagging.build(
        corpus.Corpus(
            tuple(r for r in shipped.rows if r.conversation in keys),
            {k: shipped.labels[k] for k in keys},
        ),
        lexicon.shipped(),
        extra_version=["an agency's own"],
    )
    saved = tmp_path / "own.skops"
    tagging.save(own, saved)
    folder = mixed_folder(tmp_path / "labelled")
    done = runner.invoke(app, ["chats", "evaluate", str(folder), "--model", str(saved), "--json"])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    assert found["model_version"] == tagging.load(saved).version
    assert found["model_version"] != tagging.shipped().version
    assert found["conversations"] == 10


def test_a_model_file_that_is_not_one_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    folder = mixed_folder(tmp_path / "labelled")
    (tmp_path / "bad.skops").write_bytes(b"not a model")
    done = runner.invoke(
        app, ["chats", "evaluate", str(folder), "--model", str(tmp_path / "bad.skops")]
    )
    assert done.exit_code == 2
    assert "model: bad.skops: not a skops model file" in done.output
