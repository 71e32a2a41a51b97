"""Labelled folders for the evaluation harness's tests, as an agency would hand them over: a
small mixed set (WhatsApp, CSV, PAN-12 XML, labels.csv) whose figures are worked out by hand in
`test_evaluation.py`, and a PAN-12-shaped folder (XML and a predators file). Benign, fictional
text; the tactic phrases are the shipped lexicon's plain wording."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from chats.exports import Said, chat_csv, pan12_xml, whatsapp_txt

from taskforce.chats import tagging

THRESHOLD = 0.5
# a stranger working through the tactics, one lexicon phrase a message, the other answering
GROOMING = [
    "hey gg, you're really good at minecraft",
    "thanks",
    "how old are you btw",
    "12",
    "you're so mature for your age",
    "lol",
    "i can buy you some robux if you want",
    "ok",
    "don't tell your parents we talk ok",
    "ok",
    "are you home alone right now",
    "yeah",
    "add me on snap",
    "sure",
    "send me a pic of you",
    "hmm",
    "we should meet up in person",
    "idk",
]
ORDINARY = [
    "did you finish the maths homework",
    "the test was so hard lol",
    "coach said we have a match on saturday",
    "my brother broke my controller again",
    "that video was so funny",
    "what did you get for question 4",
    "we won 3-1!! you should have seen the last goal",
    "my dog ate my pencil case haha",
]
START = datetime(2024, 3, 1, 16, 0)  # noqa: DTZ001 - a phone's local time


def said(texts: list[str]) -> list[Said]:
    people = ("Alex Doe", "Sam Roe")
    return [Said(START + timedelta(minutes=3 * i), people[i % 2], t) for i, t in enumerate(texts)]


CONVERSATIONS: dict[str, tuple[bool, list[str]]] = {
    # label, texts; predicted by the tagger (hand reading): the loaded ones flagged, the
    # ordinary ones not
    "WhatsApp Chat with G1": (True, GROOMING),  # TP
    "g2": (True, ORDINARY[:4] + GROOMING),  # TP
    "g3": (True, ORDINARY[:2] + GROOMING),  # TP
    "g4": (True, ORDINARY),  # FN: grooming that shows no tactic the tagger knows
    "b1": (False, ORDINARY),  # TN
    "b2": (False, ORDINARY[::-1]),  # TN
    "b3": (False, ORDINARY[2:]),  # TN
    "b4": (False, ORDINARY[:5]),  # TN
    "b5": (False, GROOMING),  # FP: labelled benign, reads as grooming
    "b6": (False, ORDINARY[:1] + GROOMING),  # FP
}


def mixed_folder(folder: Path) -> Path:
    """The ten conversations above in three formats, one unlabelled conversation, one label
    naming no conversation, and one line with a date that does not parse."""
    folder.mkdir(parents=True, exist_ok=True)
    whatsapp_txt(folder, said(GROOMING), name="WhatsApp Chat with G1.txt")
    rows = []
    for key in ("g2", "b1", "b2", "b5", "unlabelled"):
        texts = CONVERSATIONS[key][1] if key in CONVERSATIONS else ORDINARY[:3]
        for line in said(texts):
            rows.append([line.when.isoformat(), key, line.author or "", line.text])
    rows.insert(3, ["31/02/2024 10:00", "b1", "Alex Doe", "this line's date is wrong"])
    chat_csv(folder, rows, header=("time", "conversation", "author", "text"), name="chats.csv")
    pan12_xml(
        folder,
        {
            key: [
                (f"author{i % 2}{key}", f"16:{i:02d}", text)
                for i, text in enumerate(CONVERSATIONS[key][1])
            ]
            for key in ("g3", "g4", "b3", "b4", "b6")
        },
        name="more.xml",
    )
    with (folder / "labels.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["conversation", "label"])
        for key, (label, _) in CONVERSATIONS.items():
            writer.writerow([key, "grooming" if label else "benign"])
        writer.writerow(["ghost", "1"])
    return folder


def flagged_after(texts: list[str]) -> int | None:
    """Independently of the harness: tag the texts, assess, and count the messages read."""
    tagger = tagging.shipped()
    tags = tagger.tag(texts)
    authors = ("a", "b")
    scored = [tagging.scored(i, authors[i % 2], t) for i, t in enumerate(tags)]
    seq = tagger.assess(scored, THRESHOLD).flagged_seq
    return None if seq is None else seq + 1


def pan12_folder(folder: Path) -> Path:
    """PAN-12's shape: conversations with author hashes, and the predators file. Two
    predators, each in two conversations (three full of tactics, the last, by id, ordinary
    talk like the eight others — so its risk ties theirs and it ranks last of them)."""
    predators = ("9f1c2e0a4b5d6e7f8a9b0c1d2e3f4a5b", "0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    conversations = {}
    for n in range(12):
        key = f"{n:032x}"
        child = f"{n + 100:032x}"
        if n in (0, 1, 2, 11):
            groomer = predators[n % 2]
            texts = GROOMING if n < 11 else ORDINARY
        else:
            groomer = f"{n + 200:032x}"
            texts = ORDINARY
        people = (groomer, child)
        conversations[key] = [(people[i % 2], f"21:{i:02d}", text) for i, text in enumerate(texts)]
    pan12_xml(folder, conversations, name="pan12-sexual-predator-identification-test.xml")
    (folder / "pan12-sexual-predator-identification-groundtruth-problem1-predators.txt").write_text(
        "\n".join(predators) + "\n"
    )
    return folder
