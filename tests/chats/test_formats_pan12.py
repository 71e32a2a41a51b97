"""PAN-12 XML: conversations and their ids, authors, times of day; entity bombs, DTDs and
files cut in the middle stop the file with the messages before kept."""

from __future__ import annotations

from pathlib import Path

from chats.exports import messages, pan12_xml, problems

from taskforce.chats.kinds import Author
from taskforce.chats.reading import ReadOptions, detect, read_file
from taskforce.core import budgets

CONVERSATIONS = {
    "e621da5de598c9321a1d505ea95e6a2d": [
        ("97964e7a9e8eb9cf78f2e4d7b2ff34c7", "03:20", "hi, how was school?"),
        ("0158d0d6781fc4d493f243d4caa49747", "03:21", "fine, we had a <quiz> & games"),
    ],
    "0a39f4fd6a4bdb9ba10af4c0a1a4f2d6": [
        ("97964e7a9e8eb9cf78f2e4d7b2ff34c7", "21:05", "see you at the match"),
    ],
}


def test_conversations_authors_and_times(tmp_path: Path) -> None:
    path = pan12_xml(tmp_path, CONVERSATIONS)
    assert detect(path.read_bytes()[:4096], path.name) == "pan12"
    events = list(read_file(path, ReadOptions()))
    assert problems(events) == []
    first, second, third = messages(events)
    assert first.conversation == "e621da5de598c9321a1d505ea95e6a2d"
    assert (first.ordinal, second.ordinal, third.ordinal) == (0, 1, 0)
    assert third.conversation == "0a39f4fd6a4bdb9ba10af4c0a1a4f2d6"
    assert first.author == Author("97964e7a9e8eb9cf78f2e4d7b2ff34c7", "pan12")
    assert first.sent_at is None
    assert first.time_text == "03:20"
    assert second.text == "fine, we had a <quiz> & games"
    assert [m.line for m in (first, second, third)] == [1, 2, 3]


def test_an_entity_bomb_is_refused(tmp_path: Path) -> None:
    bomb = (
        '<!DOCTYPE conversations [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    )
    path = pan12_xml(tmp_path, CONVERSATIONS, prolog=bomb)
    events = list(read_file(path, ReadOptions(format="pan12")))
    assert messages(events) == []
    [problem] = problems(events)
    assert problem.stops
    assert problem.field == "file"
    assert "declares XML entities or a DTD, which are refused" in problem.rule
    assert problem.rule.endswith("; no message came before it")  # not "the 0 messages"


def test_a_file_cut_in_the_middle_keeps_the_messages_before(tmp_path: Path) -> None:
    whole = pan12_xml(tmp_path, CONVERSATIONS, name="whole.xml").read_bytes()
    path = pan12_xml(tmp_path, CONVERSATIONS, cut_at=whole.index(b"see you") + 3)
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == [
        "hi, how was school?",
        "fine, we had a <quiz> & games",
    ]
    [problem] = problems(events)
    assert problem.stops
    assert problem.line == 3
    assert "is not valid XML" in problem.rule


def test_bad_messages_are_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = pan12_xml(
        tmp_path,
        {"c1": [("", "03:20", "no author"), ("a1", "25:61", "bad time"), ("a1", "03:22", "ok")]},
    )
    events = list(read_file(path, ReadOptions()))
    assert [(m.text, m.ordinal) for m in messages(events)] == [("ok", 0)]
    assert [(p.line, p.field) for p in problems(events)] == [(1, "author"), (2, "time")]


def test_a_field_over_the_budget_is_one_bad_message(tmp_path: Path) -> None:
    path = pan12_xml(tmp_path, {"c1": [("a1", "03:20", "x" * 3000), ("a1", "03:21", "ok")]})
    events = list(read_file(path, ReadOptions(budget=budgets.DEFAULT.smaller(max_field=1000))))
    assert [m.text for m in messages(events)] == ["ok"]
    [problem] = problems(events)
    assert (problem.line, problem.field, problem.stops) == (1, "text", False)


def test_xml_without_messages_says_so(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text('<?xml version="1.0"?><conversations><note>hi</note></conversations>')
    [problem] = problems(list(read_file(path, ReadOptions())))
    assert problem.stops
    assert "holds no PAN-12 message" in problem.rule
