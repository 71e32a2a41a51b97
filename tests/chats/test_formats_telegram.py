"""Telegram Desktop JSON exports: one chat and the full account export, texts as strings or
entity lists, attachments, service messages, times, and files cut in the middle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from chats.exports import Said, TelegramChat, messages, problems, talk, telegram_json

from taskforce.chats.kinds import Author
from taskforce.chats.reading import ReadOptions, detect, read_file
from taskforce.core import budgets

START = datetime(2021, 6, 1, 18, 0)  # noqa: DTZ001 - UTC in these builders


def test_single_chat_export(tmp_path: Path) -> None:
    said = [
        Said(START, "Alice Example", "hi, did the parcel arrive?"),
        Said(START + timedelta(minutes=1), "Bob", "yes", "photo_1@01-06-2021_18-01-00.jpg"),
        Said(START + timedelta(minutes=2), None, ""),
        Said(START + timedelta(minutes=3), "Bob", "the manual", "manual.pdf"),
    ]
    path = telegram_json(tmp_path, [TelegramChat(4242, "Alice Example", said)])
    assert detect(path.read_bytes()[:4096], path.name) == "telegram"
    events = list(read_file(path, ReadOptions(timezone="Europe/Berlin")))
    assert problems(events) == []
    first, photo, service, document = messages(events)
    assert first.conversation == "4242"
    assert first.title == "Alice Example"
    assert first.sent_at == START.replace(tzinfo=UTC)  # date_unixtime, not the zone
    assert first.time_text == "2021-06-01T18:00:00"
    assert first.author is not None
    assert first.author.platform == "telegram"
    assert first.author.name == "Alice Example"
    assert first.author.handle.startswith("user")
    assert photo.attachments == ("photo_1@01-06-2021_18-01-00.jpg",)
    assert service.author is None
    assert service.text == "Alice Example invite members"
    assert document.attachments == ("manual.pdf",)
    assert [m.ordinal for m in (first, photo, service, document)] == [0, 1, 2, 3]
    assert [m.line for m in (first, photo, service, document)] == [1, 2, 3, 4]


def test_full_export_reads_every_chat_with_its_id(tmp_path: Path) -> None:
    chats = [
        TelegramChat(1, "Football team", talk(3, start=START)),
        TelegramChat(2, "Carol", talk(2, start=START, authors=("Carol",))),
    ]
    path = telegram_json(tmp_path, chats, full=True, entities=True)
    found = messages(list(read_file(path, ReadOptions())))
    assert [(m.conversation, m.title, m.ordinal) for m in found] == [
        ("1", "Football team", 0),
        ("1", "Football team", 1),
        ("1", "Football team", 2),
        ("2", "Carol", 0),
        ("2", "Carol", 1),
    ]
    assert found[0].text.endswith("https://example.com/x")  # entity texts joined
    assert found[3].author == Author(
        found[3].author.handle if found[3].author else "", "telegram", "Carol"
    )


def test_a_file_cut_in_the_middle_keeps_the_messages_before(tmp_path: Path) -> None:
    said = talk(10, start=START)
    whole = telegram_json(tmp_path, [TelegramChat(7, "Dan", said)], name="whole.json")
    data = whole.read_bytes()
    cut = data.index(b'"id": 6,')  # inside the sixth message
    path = telegram_json(tmp_path, [TelegramChat(7, "Dan", said)], cut_at=cut + 3)
    events = list(read_file(path, ReadOptions()))
    assert [m.ordinal for m in messages(events)] == [0, 1, 2, 3, 4]
    [problem] = problems(events)
    assert problem.stops
    assert (problem.source, problem.line, problem.field) == ("result.json", 6, "file")
    assert "is not valid JSON" in problem.rule
    assert "5 messages before it are kept" in problem.rule
    assert "\n" not in problem.rule  # one line: the parser's arrow under the byte is dropped


def test_bad_messages_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(
        '{"name": "Eve", "type": "personal_chat", "id": 9, "messages": ['
        '{"id": 1, "type": "message", "date": "2021-06-01T18:00:00", "from": "Eve",'
        ' "from_id": "user9", "text": "ok"},'
        '{"id": 2, "type": "message", "date": "2021-02-30T18:00:00", "from": "Eve",'
        ' "from_id": "user9", "text": "bad date"},'
        '{"id": 3, "type": "message", "date": "2021-06-01T18:01:00", "text": "no author"},'
        '{"id": 4, "type": "message", "date": "2021-06-01T18:02:00", "from": "Eve",'
        ' "from_id": "user9", "text": {"odd": 1}},'
        "[1, 2],"
        '{"id": 6, "type": "message", "date": "2021-06-01T18:03:00+02:00", "from": "Eve",'
        ' "from_id": "user9", "text": "last"}]}'
    )
    events = list(read_file(path, ReadOptions(timezone="Europe/Berlin")))
    found = messages(events)
    assert [m.text for m in found] == ["ok", "last"]
    assert found[0].sent_at == datetime(2021, 6, 1, 16, 0, tzinfo=UTC)  # local time, Berlin
    assert found[1].sent_at == datetime(2021, 6, 1, 16, 3, tzinfo=UTC)  # its own offset
    assert [(p.line, p.field) for p in problems(events)] == [
        (2, "date"),
        (3, "from_id"),
        (4, "text"),
        (5, "message"),
    ]


def test_a_token_over_the_budget_stops_the_file(tmp_path: Path) -> None:
    said = [*talk(3, start=START), Said(START, "Alice", "x" * 300_000), *talk(3, start=START)]
    path = telegram_json(tmp_path, [TelegramChat(1, "A", said)])
    options = ReadOptions(budget=budgets.DEFAULT.smaller(max_token=100_000))
    events = list(read_file(path, options))
    assert len(messages(events)) == 3
    [problem] = problems(events)
    assert problem.stops
    assert problem.line == 4
    assert "100,000 bytes" in problem.rule


def test_reading_twice_gives_equal_events(tmp_path: Path) -> None:
    path = telegram_json(tmp_path, [TelegramChat(3, "F", talk(40, start=START))], full=True)
    assert list(read_file(path, ReadOptions())) == list(read_file(path, ReadOptions()))


def test_json_that_is_no_telegram_export_says_so(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"theme": "dark", "list": [1, 2]}')
    [problem] = problems(list(read_file(path, ReadOptions())))
    assert problem.stops
    assert "holds no Telegram chat" in problem.rule
    empty = tmp_path / "result.json"
    empty.write_text('{"name": "Quiet", "type": "personal_chat", "id": 3, "messages": []}')
    assert list(read_file(empty, ReadOptions())) == []  # a chat without messages is fine
