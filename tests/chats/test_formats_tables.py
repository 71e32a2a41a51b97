"""CSV chat tables and plain logs: columns in several spellings, times with and without
offsets, bad rows reported by line and rule while the good ones are kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from chats.exports import chat_csv, messages, plain_log, problems

from taskforce.chats.kinds import Author
from taskforce.chats.reading import ReadOptions, detect, read_file
from taskforce.core import budgets
from taskforce.core.errors import Invalid


def test_csv_reads_time_author_text_and_optional_columns(tmp_path: Path) -> None:
    path = chat_csv(
        tmp_path,
        [
            ("2020-12-31T21:41:05+01:00", "alice_ex", "Alice", "c1", "discord", "hello", ""),
            ("2020-12-31 21:45:00", "bob_ex", "Bob", "c2", "", "hi", "a.jpg; b.pdf"),
            ("1609451100", "alice_ex", "Alice", "c1", "discord", "still there?", ""),
        ],
        header=("Date Time", "From", "Display Name", "Chat ID", "Platform", "Body", "Files"),
    )
    events = list(read_file(path, ReadOptions(timezone="Europe/Berlin", platform="signal")))
    assert problems(events) == []
    first, second, third = messages(events)
    assert first.sent_at == datetime(2020, 12, 31, 20, 41, 5, tzinfo=UTC)  # offset honoured
    assert first.author == Author("alice_ex", "discord", "Alice")
    assert (first.conversation, first.ordinal, first.line, first.format) == ("c1", 0, 2, "csv")
    assert second.sent_at == datetime(2020, 12, 31, 20, 45, tzinfo=UTC)  # Berlin, no offset
    assert second.author == Author("bob_ex", "signal", "Bob")  # platform from the options
    assert second.attachments == ("a.jpg", "b.pdf")
    assert (second.conversation, second.ordinal) == ("c2", 0)
    assert (third.conversation, third.ordinal, third.text) == ("c1", 1, "still there?")
    assert third.sent_at == datetime(2020, 12, 31, 21, 45, tzinfo=UTC)  # Unix seconds


def test_csv_without_conversation_column_is_the_file_and_semicolons_work(tmp_path: Path) -> None:
    path = chat_csv(
        tmp_path,
        [("31/12/2020 21:41", "alice", "see you at practice; bring the ball")],
        header=("time", "author", "text"),
        delimiter=";",
        name="club chat.csv",
    )
    [message] = messages(list(read_file(path, ReadOptions())))
    assert message.conversation == "club chat"
    assert message.author == Author("alice", "csv")
    assert message.text == "see you at practice; bring the ball"
    assert message.sent_at == datetime(2020, 12, 31, 21, 41, tzinfo=UTC)


def test_csv_bad_rows_are_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = chat_csv(
        tmp_path,
        [
            ("2024-02-10 10:00", "alice", "one"),
            ("31/02/2024 10:00", "bob", "no such day"),
            ("2024-02-10 10:02", "", "no author"),
            ("2024-02-10 10:03", "bob"),
            ("2024-02-10 10:04", "alice", "four"),
        ],
    )
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == ["one", "four"]
    assert [m.ordinal for m in messages(events)] == [0, 1]
    found = {(p.line, p.field) for p in problems(events)}
    assert found == {(3, "time"), (4, "author"), (5, "line")}
    bad_day = next(p for p in problems(events) if p.field == "time")
    assert bad_day.source == "chat.csv"
    assert "day 31 of February" in bad_day.rule


def test_csv_header_without_the_needed_columns_stops_naming_them(tmp_path: Path) -> None:
    path = chat_csv(tmp_path, [("x", "y")], header=("when", "who"))
    [problem] = problems(list(read_file(path, ReadOptions(format="csv"))))
    assert problem.stops
    assert problem.field == "header"
    assert problem.line == 1
    assert "time" in problem.rule
    assert "author" in problem.rule
    assert "text" in problem.rule


def test_csv_bad_encoding_is_one_bad_line_and_legacy_encoding_reads(tmp_path: Path) -> None:
    path = tmp_path / "chat.csv"
    path.write_bytes(
        b"time,author,text\n2024-01-01 10:00,ren\xe9e,caf\xe9 at noon\n2024-01-01 10:01,bob,ok\n"
    )
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == ["ok"]
    [problem] = problems(events)
    assert (problem.line, problem.field) == (2, "line")
    assert "is not utf-8 text" in problem.rule
    assert "cp1252" in problem.rule
    legacy = messages(list(read_file(path, ReadOptions(encoding="cp1252"))))
    assert next((m.author.handle if m.author else "", m.text) for m in legacy) == (
        "renée",
        "café at noon",
    )


def test_a_line_over_the_budget_is_one_problem(tmp_path: Path) -> None:
    path = chat_csv(
        tmp_path,
        [("2024-01-01 10:00", "alice", "x" * 5000), ("2024-01-01 10:01", "bob", "short")],
    )
    options = ReadOptions(budget=budgets.DEFAULT.smaller(max_token=1000))
    events = list(read_file(path, options))
    assert [m.text for m in messages(events)] == ["short"]
    [problem] = problems(events)
    assert problem.line == 2
    assert "longer than 1,000 bytes" in problem.rule


def test_plain_and_irc_logs(tmp_path: Path) -> None:
    path = plain_log(
        tmp_path,
        [
            "[2020-12-31 21:41:05] Alice: are you coming to the quiz?",
            "[2020-12-31 21:42:00] Bob: yes: after dinner",
            "this line is nothing",
            "[2020-13-31 21:43:00] Bob: bad month",
            "",
            "21:44 <carol> hello all",
            "21:45 * carol waves",
            "21:46 -!- dave has joined #quiz",
        ],
    )
    events = list(read_file(path, ReadOptions(timezone="Europe/London", platform="irc")))
    found = messages(events)
    assert [m.text for m in found] == [
        "are you coming to the quiz?",
        "yes: after dinner",
        "hello all",
        "* carol waves",
        "dave has joined #quiz",
    ]
    assert found[0].sent_at == datetime(2020, 12, 31, 21, 41, 5, tzinfo=UTC)
    assert found[0].author == Author("Alice", "irc")
    assert found[2].sent_at is None
    assert found[2].time_text == "21:44"
    assert found[3].author == Author("carol", "irc")
    assert found[4].author is None  # a system line
    assert [m.ordinal for m in found] == [0, 1, 2, 3, 4]
    assert {m.conversation for m in found} == {"room"}
    assert [(p.line, p.field) for p in problems(events)] == [(3, "line"), (4, "time")]


def test_detect_by_content() -> None:
    assert detect(b"timestamp,sender,message\n2020-01-01,a,b\n", "x.txt") == "csv"
    assert detect(b"[2020-12-31 21:41:05] Alice: hi\n", "x.txt") == "plain"
    assert detect(b"21:44 <carol> hello\n", "x.log") == "plain"
    assert detect(b"PK\x03\x04rest", "x") == "zip"
    assert detect(b"just some words\n", "notes.txt") is None


def test_unknown_format_stops_with_a_clear_rule(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some words\n")
    [problem] = problems(list(read_file(path, ReadOptions(), display="case/notes.txt")))
    assert problem.source == "case/notes.txt"
    assert problem.stops
    assert problem.field == "format"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Base"),
        ("format", "docx"),
        ("date_order", "ydm"),
        ("encoding", "klingon-8"),
    ],
)
def test_options_refuse_what_cannot_be(field: str, value: str) -> None:
    with pytest.raises(Invalid) as caught:
        ReadOptions(**{field: value})  # type: ignore[arg-type]
    assert caught.value.field == field
    assert value in caught.value.rule


def test_reading_twice_gives_equal_events(tmp_path: Path) -> None:
    path = chat_csv(tmp_path, [(f"2024-01-01 10:{i:02d}", "alice", f"m{i}") for i in range(30)])
    assert list(read_file(path, ReadOptions())) == list(read_file(path, ReadOptions()))


def test_the_date_order_is_the_files_not_each_rows(tmp_path: Path) -> None:
    rows = [
        ("03/04/2021 10:00", "alice", "a"),
        ("04/04/2021 10:00", "bob", "b"),
        ("04/25/2021 10:00", "alice", "c"),
    ]
    path = chat_csv(tmp_path, rows)
    found = messages(list(read_file(path, ReadOptions())))
    assert [m.sent_at for m in found] == [  # the 25 tells: month first, for every row
        datetime(2021, 3, 4, 10, 0, tzinfo=UTC),
        datetime(2021, 4, 4, 10, 0, tzinfo=UTC),
        datetime(2021, 4, 25, 10, 0, tzinfo=UTC),
    ]
    log = plain_log(tmp_path, ["[03/04/2021 10:00] alice: a", "[25/04/2021 10:00] bob: b"])
    found = messages(list(read_file(log, ReadOptions())))
    assert [m.sent_at for m in found] == [
        datetime(2021, 4, 3, 10, 0, tzinfo=UTC),
        datetime(2021, 4, 25, 10, 0, tzinfo=UTC),
    ]


def test_detect_a_quoted_header() -> None:
    assert detect(b'"Timestamp";"Sender";"Message"\n', "export.csv") == "csv"


def test_a_date_column_apart_from_the_time(tmp_path: Path) -> None:
    path = chat_csv(
        tmp_path,
        [("25/12/2021", "9:41 AM", "alice", "merry christmas"), ("26/12/2021", "", "bob", "x")],
        header=("Date", "Time", "Sender", "Message"),
    )
    events = list(read_file(path, ReadOptions(timezone="Europe/Berlin")))
    [found] = messages(events)
    assert found.sent_at == datetime(2021, 12, 25, 8, 41, tzinfo=UTC)
    assert found.time_text == "25/12/2021 9:41 AM"
    assert [(p.line, p.field) for p in problems(events)] == [(3, "time")]
