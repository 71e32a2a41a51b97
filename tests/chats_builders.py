"""A case with imported chats, for every chat test that needs one: the network's people
(`builders.make_network`), a case of GB-NCA's investigator, and a small synthetic CSV export
of two conversations imported into it (fictional names, benign wording; one conversation
shows grooming tactics in plain words: age questions, secrecy, moving to another app).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from builders import Network, Person, make_case, make_network
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import importing
from taskforce.chats.reading import ReadOptions
from taskforce.chats.schemas import ImportSummary
from taskforce.core.settings import Settings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HEADER = ("time", "conversation", "platform", "author", "name", "text", "attachments")

# (time, conversation, author handle, display name, text, attachments)
SCHOOL_RUN = [
    ("2026-02-01 08:00:00", "school-run", "ana.k", "Ana", "Can you take the kids today?", ""),
    ("2026-02-01 08:01:10", "school-run", "ben.k", "Ben", "Yes, I finish at three", ""),
    ("2026-02-01 08:02:00", "school-run", "ana.k", "Ana", "Thanks, see you tonight", ""),
    ("2026-02-01 08:02:30", "school-run", "ben.k", "Ben", "ok", ""),
]
GAME_LOBBY = [
    ("2026-02-03 19:00:00", "game-lobby", "tiger_77", "Tiger", "hey nice game today", ""),
    ("2026-02-03 19:00:40", "game-lobby", "kid.lena", "Lena", "thanks!! you too", ""),
    ("2026-02-03 19:01:30", "game-lobby", "tiger_77", "Tiger", "how old are you btw?", ""),
    ("2026-02-03 19:02:00", "game-lobby", "kid.lena", "Lena", "12, why", ""),
    (
        "2026-02-03 19:03:00",
        "game-lobby",
        "tiger_77",
        "Tiger",
        "don't tell your parents we talk, they wouldn't get it",
        "",
    ),
    (
        "2026-02-03 19:04:00",
        "game-lobby",
        "tiger_77",
        "Tiger",
        "add me on another app, it's more private",
        "photo1.jpg",
    ),
    (
        "2026-02-03 19:05:00",
        "game-lobby",
        "tiger_77",
        "Tiger",
        "I can send you a gift card for the game if you want",
        "",
    ),
]


def csv_export(rows: Sequence[tuple[str, ...]], *, platform: str = "discord") -> str:
    """A CSV export of `rows` (time, conversation, author, name, text, attachments)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for time, conversation, author, name, text, files in rows:
        writer.writerow((time, conversation, platform, author, name, text, files))
    return out.getvalue()


def write_export(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class ImportedCase:
    network: Network
    person: Person  # GB-NCA's investigator, who imported
    case: Case
    summary: ImportSummary
    path: Path


def import_path(
    session: Session,
    settings: Settings,
    person: Person,
    case: Case,
    path: Path,
    *,
    timezone: str = "UTC",
) -> ImportSummary:
    """`importing.import_file` of one file in the test's transaction (no commit)."""
    return importing.import_file(
        session,
        person.caller,
        settings,
        case_id=case.id,
        path=path,
        display=path.name,
        options=ReadOptions(timezone=timezone),
        now=NOW,
    )


def imported_case(
    session: Session,
    settings: Settings,
    folder: Path,
    *,
    network: Network | None = None,
    title: str = "Operation Lobby",
) -> ImportedCase:
    """A case of GB-NCA with the two synthetic conversations imported (11 messages, four
    participants, one attachment named but not held)."""
    network = network or make_network(session)
    case = make_case(session, network.gb, title=title)
    path = write_export(folder, "lobby.csv", csv_export(SCHOOL_RUN + GAME_LOBBY))
    summary = import_path(session, settings, network.gb, case, path)
    return ImportedCase(network=network, person=network.gb, case=case, summary=summary, path=path)
