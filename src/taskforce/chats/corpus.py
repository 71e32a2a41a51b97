"""The SYNTHETIC corpus shipped with the tagger: conversations written for the tests from
templates, in several languages — ordinary chats between children and between adults, hard
negatives (a parent asking about a sibling's age, a birthday present between friends, classmates
meeting at the library) and conversations that show the grooming tactics in plain, non-sexual
wording. It contains no sexual content and no real person.

It proves that the pipeline works (reading, tagging, scoring, explaining, evaluating), NOT that
the model works on real chats: templates are far more regular than people. An agency measures
the tagger on its own labelled data with `taskforce chats evaluate`.

`build()` writes it deterministically (a fixed seed, no clock): `corpus/messages.csv`
(`conversation,time,author,text,tactics`, tactics pipe-separated) and `corpus/labels.csv`
(`conversation,label`). `load()` reads it back.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from taskforce.chats.tactics import Tactic

CORPUS_DIR = Path(__file__).with_name("corpus")
MESSAGES = "messages.csv"
LABELS = "labels.csv"
# the templates the generator fills in (beside the corpus, which is a plain labelled folder)
PHRASES = Path(__file__).with_name("corpus_phrases.json")
SEED = 19
START = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)

T = Tactic
# the usual order of the tactics in the synthetic grooming conversations (the real ones do not
# keep to it; the templates vary it: some tactics skipped, compliance tests anywhere)
ORDER = (
    T.AGE_PROBING,
    T.FLATTERY,
    T.GIFTS,
    T.SECRECY,
    T.ISOLATION,
    T.PLATFORM_MOVE,
    T.IMAGE_REQUEST,
    T.MEETING,
)


@dataclass(frozen=True)
class Bank:
    """One language's phrases. `{name}`, `{app}`, `{game}`, `{place}`, `{day}` are filled in."""

    kids: tuple[str, ...]  # children chatting: school, games, sport
    adults: tuple[str, ...]  # adults chatting: work, plans, family
    replies: tuple[str, ...]  # short answers anyone gives
    hard: tuple[str, ...]  # benign lines that look like a tactic (labelled benign)
    openers: tuple[str, ...]  # a stranger's friendly start in a game chat
    tactics: dict[Tactic, tuple[str, ...]]
    family: tuple[str, ...] = ()  # a parent and a child (adults' lines when empty)
    apps: tuple[str, ...] = ("snap", "whatsapp", "telegram", "discord", "insta")
    games: tuple[str, ...] = ("minecraft", "fortnite", "roblox", "fifa", "mario kart")
    places: tuple[str, ...] = ("the park", "the station", "the mall")
    days: tuple[str, ...] = ("saturday", "friday", "sunday")


@dataclass(frozen=True)
class Row:
    conversation: str
    time: str
    author: str
    text: str
    tactics: tuple[Tactic, ...]


@dataclass(frozen=True)
class Corpus:
    rows: tuple[Row, ...]
    labels: dict[str, int]  # conversation → 1 grooming, 0 benign

    def conversations(self) -> dict[str, list[Row]]:
        grouped: dict[str, list[Row]] = {}
        for row in self.rows:
            grouped.setdefault(row.conversation, []).append(row)
        return grouped


def _fill(rng: random.Random, bank: Bank, text: str, name: str) -> str:
    return text.format(
        name=name,
        app=rng.choice(bank.apps),
        game=rng.choice(bank.games),
        place=rng.choice(bank.places),
        day=rng.choice(bank.days),
    )


NAMES = ("alex", "sam", "jo", "kim", "robin", "noa", "lou", "mika", "tiki", "ren", "max", "ria")
HANDLES = ("{n}_{k}", "{n}.{k}", "{n}{k}", "x{n}{k}", "{n}_plays")


def _handle(rng: random.Random, taken: set[str]) -> str:
    while True:
        handle = rng.choice(HANDLES).format(n=rng.choice(NAMES), k=rng.randint(10, 99))
        if handle not in taken:
            taken.add(handle)
            return handle


def _vary(rng: random.Random, text: str) -> str:
    """People type the same thing many ways: capitals, punctuation, a filler word."""
    roll = rng.random()
    if roll < 0.2:
        text = text[:1].upper() + text[1:]
    elif roll < 0.25:
        text = text.upper()
    roll = rng.random()
    if roll < 0.15:
        text += "?" if rng.random() < 0.5 else "!!"
    elif roll < 0.25:
        text += " :)"
    elif roll < 0.3:
        text += "..."
    return text


def _grooming(
    rng: random.Random, bank: Bank, a: str, b: str
) -> list[tuple[str, str, tuple[Tactic, ...]]]:
    """An adult (a) befriends a child (b) in a game chat, then shows some of the tactics, most
    often in the usual order; some conversations are slow (much ordinary talk between)."""
    chosen = [t for t in ORDER if rng.random() < 0.65] or [T.AGE_PROBING, T.SECRECY]
    if rng.random() < 0.2 and len(chosen) > 2:  # the order is not a law
        i, j = rng.sample(range(len(chosen)), 2)
        chosen[i], chosen[j] = chosen[j], chosen[i]
    if rng.random() < 0.6:
        chosen.insert(rng.randint(1, len(chosen)), T.COMPLIANCE_TESTING)
    slow = rng.random() < 0.3
    lines: list[tuple[str, str, tuple[Tactic, ...]]] = [
        (a, rng.choice(bank.openers), ()),
        (b, rng.choice(bank.replies), ()),
    ]
    for _ in range(rng.randint(1, 6)):
        lines.append((a if len(lines) % 2 == 0 else b, rng.choice(bank.kids), ()))
    for tactic in chosen:
        for _ in range(rng.randint(0, 4 if slow else 2)):
            speaker = b if rng.random() < 0.5 else a
            lines.append((speaker, rng.choice(bank.kids + bank.replies), ()))
        lines.append((a, rng.choice(bank.tactics[tactic]), (tactic,)))
        lines.append((b, rng.choice(bank.replies), ()))
    return lines[:40]


def _ordinary(
    rng: random.Random, bank: Bank, kind: str, a: str, b: str
) -> list[tuple[str, str, tuple[Tactic, ...]]]:
    """Children, adults or a parent and a child talking; now and then a line that looks like a
    tactic and is not one (labelled benign)."""
    pool = {"children": bank.kids, "adults": bank.adults, "family": bank.family or bank.adults}[
        kind
    ]
    length = rng.randint(10, 36)
    lines: list[tuple[str, str, tuple[Tactic, ...]]] = []
    while len(lines) < length:
        speaker = a if len(lines) % 2 == 0 else b
        roll = rng.random()
        if roll < 0.12:
            lines.append((speaker, rng.choice(bank.hard), ()))
        elif roll < 0.4:
            lines.append((speaker, rng.choice(bank.replies), ()))
        else:
            lines.append((speaker, rng.choice(pool), ()))
    return lines


def _conversation(
    rng: random.Random, bank: Bank, kind: str, key: str, start: datetime
) -> list[Row]:
    taken: set[str] = set()
    a, b = _handle(rng, taken), _handle(rng, taken)
    lines = _grooming(rng, bank, a, b) if kind == "grooming" else _ordinary(rng, bank, kind, a, b)
    rows = []
    at = start
    for author, text, tactics in lines:
        at += timedelta(seconds=rng.randint(20, 900))
        other = b if author == a else a
        filled = _vary(rng, _fill(rng, bank, text, other.split("_")[0].split(".")[0]))
        rows.append(Row(key, at.isoformat(), author, filled, tactics))
    return rows


# conversations per language and kind
PLAN: dict[str, dict[str, int]] = {
    "en": {"children": 30, "adults": 15, "family": 15, "grooming": 35},
    "de": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
    "fr": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
    "es": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
    "nl": {"children": 12, "adults": 6, "family": 6, "grooming": 14},
}


def generate(seed: int = SEED) -> Corpus:
    """The corpus, the same for the same seed (no clock, no hash randomisation)."""
    rng = random.Random(seed)  # noqa: S311  (reproducible text, not secrets)
    rows: list[Row] = []
    labels: dict[str, int] = {}
    number = 0
    for language, plan in PLAN.items():
        bank = BANKS[language]
        for kind, count in plan.items():
            for _ in range(count):
                number += 1
                key = f"syn-{language}-{number:04d}"
                start = START + timedelta(hours=7 * number)
                rows.extend(_conversation(rng, bank, kind, key, start))
                labels[key] = int(kind == "grooming")
    return Corpus(tuple(rows), labels)


def write(corpus: Corpus, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / MESSAGES).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["conversation", "time", "author", "text", "tactics"])
        for row in corpus.rows:
            writer.writerow(
                [row.conversation, row.time, row.author, row.text, "|".join(row.tactics)]
            )
    with (directory / LABELS).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["conversation", "label"])
        for key, label in corpus.labels.items():
            writer.writerow([key, label])


def build(directory: Path = CORPUS_DIR, seed: int = SEED) -> Corpus:
    """Write the synthetic corpus to `directory` (the shipped one by default)."""
    corpus = generate(seed)
    write(corpus, directory)
    return corpus


def read(directory: Path) -> Corpus:
    """A corpus in this layout (the shipped one, or an agency's own labelled messages)."""
    rows: list[Row] = []
    with (directory / MESSAGES).open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            tactics = tuple(Tactic(t) for t in (record.get("tactics") or "").split("|") if t)
            rows.append(
                Row(
                    record["conversation"],
                    record["time"],
                    record["author"],
                    record["text"],
                    tactics,
                )
            )
    with (directory / LABELS).open(encoding="utf-8", newline="") as handle:
        labels = {r["conversation"]: int(r["label"]) for r in csv.DictReader(handle)}
    return Corpus(tuple(rows), labels)


@cache
def shipped() -> Corpus:
    """The corpus shipped in `chats/corpus/` (read once per process)."""
    return read(CORPUS_DIR)


def split(keys: Sequence[str], fold: int, folds: int = 5) -> tuple[set[str], set[str]]:
    """Training and held-out conversations for one fold: every `folds`-th key by sorted order."""
    ordered = sorted(keys)
    held = {k for i, k in enumerate(ordered) if i % folds == fold}
    return set(ordered) - held, held


def _banks(path: Path) -> dict[str, Bank]:
    """The phrase banks of `corpus_phrases.json` (plain, non-sexual wording; fictional)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    banks = {}
    for language, fields in data.items():
        tactics = {Tactic(k): tuple(v) for k, v in fields.pop("tactics").items()}
        banks[language] = Bank(tactics=tactics, **{k: tuple(v) for k, v in fields.items()})
    return banks


BANKS: dict[str, Bank] = _banks(PHRASES)
