"""WhatsApp text exports: Android and iOS in several locales, the date order inferred per file
or given, time zones with daylight saving, multi-line messages, the app's own lines and
attachments, and bad lines reported while the rest is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from chats.exports import (
    LRM,
    NNBSP,
    WHATSAPP_STYLES,
    Said,
    messages,
    problems,
    talk,
    whatsapp_txt,
)

from taskforce.chats.kinds import Author
from taskforce.chats.reading import ReadOptions, detect, read_file


def local(year: int, month: int, day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - a phone's clock


@pytest.mark.parametrize("style", WHATSAPP_STYLES)
def test_every_locale_shape_reads_the_same_messages(tmp_path: Path, style: str) -> None:
    said = talk(20, start=local(2021, 1, 3, 9, 5, 0))  # 3 January: ambiguous until the 13th?
    said += talk(5, start=local(2021, 1, 14, 18, 30, 0))  # the 14th tells the order
    path = whatsapp_txt(tmp_path, said, style=style)
    assert detect(path.read_bytes()[:4096], path.name) == "whatsapp"
    found = messages(list(read_file(path, ReadOptions())))
    assert len(found) == 25
    seconds = style.startswith("ios")
    for message, item in zip(found, said, strict=True):
        expected = item.when if seconds else item.when.replace(second=0)
        assert message.sent_at == expected.replace(tzinfo=UTC), (style, message.time_text)
        assert message.author == Author(item.author or "", "whatsapp")
        assert message.text == item.text
    assert [m.ordinal for m in found] == list(range(25))
    assert {m.conversation for m in found} == {"WhatsApp Chat with Alice Example"}


def test_day_first_and_month_first_inferred_from_the_file(tmp_path: Path) -> None:
    said = [
        Said(local(2021, 3, 4, 10, 0), "Alice", "first"),
        Said(local(2021, 3, 25, 10, 0), "Bob", "second"),
    ]
    uk = whatsapp_txt(tmp_path, said, style="android-uk", name="uk.txt")
    us = whatsapp_txt(tmp_path, said, style="android-us", name="us.txt")
    for path in (uk, us):
        found = messages(list(read_file(path, ReadOptions(format="whatsapp"))))
        assert [m.sent_at for m in found] == [
            datetime(2021, 3, 4, 10, 0, tzinfo=UTC),
            datetime(2021, 3, 25, 10, 0, tzinfo=UTC),
        ]


def test_an_ambiguous_file_takes_the_order_it_is_told(tmp_path: Path) -> None:
    path = whatsapp_txt(
        tmp_path, [Said(local(2021, 3, 4, 10, 0), "Alice", "hi")], style="android-uk"
    )
    [default] = messages(list(read_file(path, ReadOptions())))
    assert default.sent_at == datetime(2021, 3, 4, 10, 0, tzinfo=UTC)  # 24-hour clock: dmy
    [told] = messages(list(read_file(path, ReadOptions(date_order="mdy"))))
    assert told.sent_at == datetime(2021, 4, 3, 10, 0, tzinfo=UTC)
    assert told.time_text == "04/03/2021, 10:00"


def test_berlin_across_daylight_saving(tmp_path: Path) -> None:
    said = [
        Said(local(2021, 3, 27, 12, 0), "Alice", "winter"),
        Said(local(2021, 3, 29, 12, 0), "Alice", "summer"),
    ]
    path = whatsapp_txt(tmp_path, said, style="ios-de")
    winter, summer = messages(list(read_file(path, ReadOptions(timezone="Europe/Berlin"))))
    assert winter.sent_at == datetime(2021, 3, 27, 11, 0, tzinfo=UTC)  # CET, one hour
    assert summer.sent_at == datetime(2021, 3, 29, 10, 0, tzinfo=UTC)  # CEST, two hours
    assert summer.time_text == "[29.03.21, 12:00:00]".strip("[]")


def test_multiline_system_lines_and_attachments_android(tmp_path: Path) -> None:
    said = [
        Said(local(2021, 5, 20, 9, 0), None, "Messages and calls are end-to-end encrypted."),
        Said(local(2021, 5, 20, 9, 1), "Alice", "line one\nline two\n\nline four"),
        Said(local(2021, 5, 20, 9, 2), "+44 20 7946 0123", "look", "IMG-20210520-WA0001.jpg"),
        Said(local(2021, 5, 20, 9, 3), "Alice", "<Media omitted>"),
    ]
    path = whatsapp_txt(tmp_path, said, style="android-uk")
    system, multi, photo, omitted = messages(list(read_file(path, ReadOptions())))
    assert system.author is None
    assert system.text == "Messages and calls are end-to-end encrypted."
    assert multi.text == "line one\nline two\n\nline four"
    assert multi.line == 2
    assert photo.line == 6  # after the four lines of the message before
    assert photo.attachments == ("IMG-20210520-WA0001.jpg",)
    assert photo.text == "look"
    assert photo.author == Author("+44 20 7946 0123", "whatsapp")
    assert omitted.text == "<Media omitted>"
    assert omitted.attachments == ()


def test_ios_marks_system_lines_and_attachments(tmp_path: Path) -> None:
    said = [
        Said(local(2021, 5, 20, 9, 0), None, "Messages and calls are end-to-end encrypted."),
        Said(local(2021, 5, 20, 9, 1), "Alice", "", "00000012-PHOTO-2021-05-20-09-01-00.jpg"),
        Said(local(2021, 5, 20, 9, 2), "Bob", f"{LRM}image omitted"),
    ]
    path = whatsapp_txt(tmp_path, said, style="ios-us", name="_chat.txt")
    raw = path.read_text()
    assert f"9:00:00{NNBSP}AM] Homework club: {LRM}Messages" in raw
    system, photo, omitted = messages(list(read_file(path, ReadOptions())))
    assert system.author is None
    assert system.text == "Messages and calls are end-to-end encrypted."
    assert photo.attachments == ("00000012-PHOTO-2021-05-20-09-01-00.jpg",)
    assert photo.text == ""
    assert (omitted.author, omitted.text) == (Author("Bob", "whatsapp"), "image omitted")


def test_a_date_that_is_not_one_is_reported_and_its_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    path.write_text(
        "10/02/2024, 10:00 - Alice: one\n"
        "31/02/2024, 10:01 - Bob: not a day\n"
        "its second line\n"
        "10/02/2024, 10:02 - Alice: three\n",
        encoding="utf-8",
    )
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == ["one", "three"]
    assert [m.ordinal for m in messages(events)] == [0, 1]
    [problem] = problems(events)
    assert (problem.source, problem.line, problem.field) == (
        "WhatsApp Chat with Bob.txt",
        2,
        "time",
    )
    assert problem.rule == "'31/02/2024' is not a date (day 31 of February, reading it as dmy)"


def test_bad_bytes_in_a_message_are_one_problem_the_message_stays(tmp_path: Path) -> None:
    path = tmp_path / "WhatsApp Chat with Bob.txt"
    path.write_bytes(
        b"10/02/2024, 10:00 - Alice: one\nbad \xff\xfe here\n10/02/2024, 10:02 - Bob: two\n"
    )
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == ["one", "two"]
    [problem] = problems(events)
    assert (problem.line, problem.field) == (2, "line")


def test_bom_and_utf16_exports(tmp_path: Path) -> None:
    said = talk(3, start=local(2021, 1, 20, 8, 0))
    bom = whatsapp_txt(tmp_path, said, style="android-uk", name="a.txt", bom=True)
    wide = tmp_path / "WhatsApp Chat b.txt"
    wide.write_bytes(b"\xff\xfe" + bom.read_bytes()[3:].decode().encode("utf-16-le"))
    for path in (bom, wide):
        found = messages(list(read_file(path, ReadOptions())))
        assert [m.text for m in found] == [s.text for s in said]


def test_a_long_message_is_cut_and_the_cut_reported(tmp_path: Path) -> None:
    lines = "\n".join(["words " * 100] * 200)  # 120,000 characters over 200 lines
    path = whatsapp_txt(
        tmp_path,
        [
            Said(local(2021, 1, 20, 8, 0), "Alice", lines),
            Said(local(2021, 1, 20, 8, 1), "Bob", "ok"),
        ],
    )
    events = list(read_file(path, ReadOptions()))
    long, short = messages(events)
    assert len(long.text) <= 64 * 1024
    assert short.text == "ok"
    [problem] = problems(events)
    assert (problem.line, problem.field) == (1, "text")


def test_reading_twice_gives_equal_events(tmp_path: Path) -> None:
    path = whatsapp_txt(tmp_path, talk(50, step=timedelta(hours=5)), style="ios-iso")
    assert list(read_file(path, ReadOptions())) == list(read_file(path, ReadOptions()))


def test_the_apps_own_lines_with_a_colon_in_quotes_have_no_author(tmp_path: Path) -> None:
    path = tmp_path / "WhatsApp Chat with Team.txt"
    path.write_text(
        '10/02/2024, 10:00 - Alice changed the subject to "Plans: Saturday"\n'
        "10/02/2024, 10:01 - Bob: time: 10am\n",
        encoding="utf-8",
    )
    system, said = messages(list(read_file(path, ReadOptions())))
    assert system.author is None
    assert system.text == 'Alice changed the subject to "Plans: Saturday"'
    assert (said.author, said.text) == (Author("Bob", "whatsapp"), "time: 10am")


def test_utf16_without_bom_and_a_legacy_encoding(tmp_path: Path) -> None:
    text = "10/02/2024, 10:00 - Renée: café at noon\n10/02/2024, 10:01 - Bob: ok\n"
    wide = tmp_path / "WhatsApp Chat wide.txt"
    wide.write_bytes(text.encode("utf-16-le"))  # Windows tools write it without a BOM
    assert [m.text for m in messages(list(read_file(wide, ReadOptions())))] == [
        "café at noon",
        "ok",
    ]
    legacy = tmp_path / "WhatsApp Chat legacy.txt"
    legacy.write_bytes(text.encode("cp1252"))
    events = list(read_file(legacy, ReadOptions()))
    assert [m.text for m in messages(events)] == ["ok"]  # the cp1252 line is not UTF-8
    assert [(p.line, p.field) for p in problems(events)] == [(1, "line")]
    found = messages(list(read_file(legacy, ReadOptions(encoding="cp1252"))))
    assert [(m.author.handle if m.author else "", m.text) for m in found] == [
        ("Renée", "café at noon"),
        ("Bob", "ok"),
    ]
