"""The shipped synthetic corpus: rebuilt byte for byte by its generator, of the size and
languages promised, labelled, and free of the words it must never hold."""

from __future__ import annotations

import re
from pathlib import Path

from taskforce.chats import corpus, lexicon
from taskforce.chats.tactics import Tactic


def test_the_generator_rebuilds_the_shipped_files(tmp_path: Path) -> None:
    corpus.build(tmp_path)
    for name in (corpus.MESSAGES, corpus.LABELS):
        assert (tmp_path / name).read_bytes() == (corpus.CORPUS_DIR / name).read_bytes(), name


def test_the_corpus_has_the_size_languages_and_kinds_promised() -> None:
    data = corpus.shipped()
    grouped = data.conversations()
    assert 150 <= len(grouped) <= 300
    assert set(grouped) == set(data.labels)
    lengths = [len(rows) for rows in grouped.values()]
    assert min(lengths) >= 10
    assert max(lengths) <= 40
    languages = {key.split("-")[1] for key in grouped}
    assert languages == {"en", "de", "fr", "es", "nl"}
    positives = sum(data.labels.values())
    assert 0.25 < positives / len(grouped) < 0.5
    shown = {t for row in data.rows for t in row.tactics}
    assert shown == set(Tactic)
    # only grooming conversations hold tactic messages
    for key, rows in grouped.items():
        if not data.labels[key]:
            assert not any(r.tactics for r in rows), key


def test_every_conversation_id_says_synthetic() -> None:
    assert all(key.startswith("syn-") for key in corpus.shipped().labels)
    readme = " ".join((corpus.CORPUS_DIR / "README.md").read_text(encoding="utf-8").split())
    assert "SYNTHETIC" in readme
    assert "not that the model works" in readme


def test_ordinary_conversations_hold_lookalike_lines() -> None:
    """Hard negatives: benign conversations where a rule fires on a line that is not a tactic
    in its context (a surprise party kept from dad, a lunch meeting)."""
    data = corpus.shipped()
    benign = [r for r in data.rows if not data.labels[r.conversation]]
    fired = [r for r in benign if lexicon.shipped().find(r.text)]
    assert len(fired) >= 10


BANNED = re.compile(
    r"\b(sex\w*|nude\w*|naked|undress\w*|porn\w*|breasts?|genital\w*|bra|underwear|kiss\w*|"
    r"bed(room)?|body|sexy|hot|nackt\w*|desnud\w*|naakt)\b",
    re.IGNORECASE,
)


def test_the_corpus_holds_no_sexual_wording() -> None:
    for row in corpus.shipped().rows:
        assert not BANNED.search(row.text), row
