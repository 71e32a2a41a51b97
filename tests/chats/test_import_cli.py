"""`taskforce chats import FILE... --case REF --agency CODE [--as EMAIL]` on a fresh hub: the
summary table, the problems with file and line, re-runs, and the exit codes a script relies
on (0 done, 1 some files refused, 2 none imported)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pytest
from chats_builders import GAME_LOBBY, SCHOOL_RUN, csv_export, write_export
from cli_hub import add_agency, fresh_hub, hub_session
from sqlalchemy import select
from typer.testing import CliRunner

from taskforce.agencies import service as agency_service
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate
from taskforce.chats.models import ChatImport, ChatMessage
from taskforce.cli import app
from taskforce.core.auth.models import User

T = TypeVar("T")


def _hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[CliRunner, dict[str, str]]:
    """A hub with GB-NCA (an investigator, ana@) and US-HSI, each with a case: references."""
    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(runner, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    add_agency(runner, "US-HSI", country="US", timezone="America/New_York", phone="+12025550123")
    added = runner.invoke(
        app,
        ["user", "add", "ana@nca.example.com", "--agency", "GB-NCA", "--role", "investigator"],
        input="a-long-passphrase\na-long-passphrase\n",
    )
    assert added.exit_code == 0, added.output
    references = {}
    with hub_session(tmp_path) as session:
        for code in ("GB-NCA", "US-HSI"):
            caller = agency_service.operator(session, code)
            case = case_service.open_case(session, caller, CaseCreate(title="Operation Lobby"))
            references[code] = case.reference
    return runner, references


def _rows(tmp_path: Path, model: type[T]) -> list[T]:
    with hub_session(tmp_path) as session:
        return list(session.scalars(select(model)))


def test_files_are_imported_with_a_summary_and_a_re_run_adds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cases = _hub(tmp_path, monkeypatch)
    monkeypatch.chdir(tmp_path)  # the files named as an investigator types them
    write_export(tmp_path / "exports", "school.csv", csv_export(SCHOOL_RUN))
    bad_line = "31/02/2026 10:00,game-lobby,discord,kid.lena,Lena,hi,\n"
    write_export(tmp_path / "exports", "lobby.csv", csv_export(GAME_LOBBY) + bad_line)
    school, lobby = Path("exports/school.csv"), Path("exports/lobby.csv")
    args = [
        "chats", "import", str(school), str(lobby), "--case", cases["GB-NCA"],
        "--agency", "GB-NCA", "--as", "ana@nca.example.com", "--timezone", "Europe/Berlin",
    ]  # fmt: skip
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    school_row = next(line for line in lines if line.startswith(str(school)))
    assert school_row.split()[1:] == ["csv", "4", "4", "0", "0", "1", "0"]
    lobby_row = next(line for line in lines if line.startswith(str(lobby)))
    assert lobby_row.split()[1:6] == ["csv", "7", "7", "0", "1"]
    assert f"  {lobby}:9: time: '31/02/2026' is not a date" in first.stdout
    records = _rows(tmp_path, ChatImport)
    ana = next(u.id for u in _rows(tmp_path, User) if u.email == "ana@nca.example.com")
    assert sorted(r.file_name for r in records) == sorted([str(school), str(lobby)])
    assert {r.imported_by_user_id for r in records} == {ana}
    assert {r.timezone for r in records} == {"Europe/Berlin"}
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    school_row = next(line for line in again.stdout.splitlines() if line.startswith(str(school)))
    assert school_row.split()[1:5] == ["csv", "4", "0", "4"]
    assert len(_rows(tmp_path, ChatMessage)) == 11


def test_a_file_that_cannot_be_imported_makes_the_command_fail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cases = _hub(tmp_path, monkeypatch)
    school = write_export(tmp_path, "school.csv", csv_export(SCHOOL_RUN))
    letter = write_export(tmp_path, "letter.txt", "Dear colleague,\nplease find attached.\n")
    base = ["chats", "import", "--case", cases["GB-NCA"], "--agency", "GB-NCA"]
    some = runner.invoke(app, [*base, str(school), str(letter)])
    assert some.exit_code == 1, some.output
    assert f"error: {letter}: file: no message could be read: {letter}:" in some.stderr
    assert "1 of 2 files could not be imported" in some.stderr
    assert len(_rows(tmp_path, ChatMessage)) == 4  # the good file is imported all the same
    none = runner.invoke(app, [*base, str(letter)])
    assert none.exit_code == 2
    assert "nothing was imported" in none.stderr
    missing = runner.invoke(app, [*base, str(tmp_path / "nowhere.csv")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr
    folder = runner.invoke(app, [*base, str(tmp_path)])
    assert folder.exit_code == 2
    assert "is a folder: name the export files in it" in folder.stderr
    zone = runner.invoke(app, [*base, str(school), "--timezone", "Mars/Olympus"])
    assert zone.exit_code == 2
    assert "timezone" in zone.stderr


def test_another_agencys_case_or_user_is_not_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner, cases = _hub(tmp_path, monkeypatch)
    school = write_export(tmp_path, "school.csv", csv_export(SCHOOL_RUN))
    theirs = runner.invoke(
        app, ["chats", "import", str(school), "--case", cases["US-HSI"], "--agency", "GB-NCA"]
    )
    assert theirs.exit_code == 1
    assert f"case {cases['US-HSI']} of GB-NCA not found" in theirs.stderr, theirs.stderr
    other_user = runner.invoke(
        app,
        [
            "chats", "import", str(school), "--case", cases["US-HSI"], "--agency", "US-HSI",
            "--as", "ana@nca.example.com",
        ],
    )  # fmt: skip
    assert other_user.exit_code == 1
    assert "user ana@nca.example.com of US-HSI not found" in other_user.stderr
    assert _rows(tmp_path, ChatMessage) == []
    assert _rows(tmp_path, ChatImport) == []


def test_a_log_gets_progress_lines_not_a_bars_blank_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With stderr a file (a cron job's log), the bar is off and a line says how far the
    import is every PROGRESS_LINE_EVERY messages; nothing else, no empty line."""
    from taskforce.chats import cli as chats_cli

    runner, cases = _hub(tmp_path, monkeypatch)
    monkeypatch.setattr(chats_cli, "PROGRESS_LINE_EVERY", 1)
    school = write_export(tmp_path, "school.csv", csv_export(SCHOOL_RUN + GAME_LOBBY))
    done = runner.invoke(
        app, ["chats", "import", str(school), "--case", cases["GB-NCA"], "--agency", "GB-NCA"]
    )
    assert done.exit_code == 0, done.output
    lines = done.stderr.splitlines()
    assert lines, "a progress line"
    assert all(line.startswith("school.csv: ") for line in lines), lines
    assert "messages read" in lines[-1]
    assert "% of the file)" in lines[-1]
