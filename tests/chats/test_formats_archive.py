"""Zipped exports: attachments hashed and yielded before the messages, members that climb out,
are absolute or are links refused by name, zip bombs refused, one level of nesting read."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from chats.exports import (
    Said,
    TelegramChat,
    attachments,
    messages,
    png,
    problems,
    talk,
    telegram_json,
    whatsapp_lines,
    zip_of,
)

from taskforce.chats.kinds import AttachmentFile, Message
from taskforce.chats.reading import ReadOptions, read_file

PHOTO = "00000012-PHOTO-2021-05-20-09-01-00.jpg"
START = datetime(2021, 5, 20, 9, 0)  # noqa: DTZ001 - a phone's clock


def whatsapp_with_media() -> dict[str, bytes | Path]:
    said = [*talk(3, start=START), Said(START, "Alice", "our team photo", PHOTO)]
    return {
        "_chat.txt": whatsapp_lines(said, "ios-uk").encode(),
        PHOTO: png(seed=3),
        "00000013-AUDIO-2021-05-20-09-02-00.opus": b"OggS" + bytes(range(256)) * 4,
    }


def test_attachments_are_hashed_and_come_before_the_messages(tmp_path: Path) -> None:
    members = whatsapp_with_media()
    path = zip_of(tmp_path, members, name="WhatsApp Chat - Team.zip")
    events = list(read_file(path, ReadOptions()))
    assert problems(events) == []
    kinds = [type(e) for e in events]
    assert kinds == [AttachmentFile, AttachmentFile] + [Message] * 4
    photo, audio = attachments(events)
    data = members[PHOTO]
    assert isinstance(data, bytes)
    assert photo.name == PHOTO
    assert photo.source == f"WhatsApp Chat - Team.zip!{PHOTO}"
    assert (photo.size, photo.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert photo.md5 == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert photo.media_type == "image/png"
    assert photo.pdq is not None
    assert len(photo.pdq) == 64
    assert audio.pdq is None
    assert audio.sha1 is not None
    last = messages(events)[-1]
    assert last.attachments == (PHOTO,)  # names the AttachmentFile by its name
    assert last.source == "WhatsApp Chat - Team.zip!_chat.txt"
    assert last.conversation == "WhatsApp Chat - Team"  # iOS's _chat.txt: the zip's name


def test_members_that_climb_out_are_absolute_or_links_are_refused(tmp_path: Path) -> None:
    path = zip_of(
        tmp_path,
        {
            "../../etc/cron.d/x.txt": b"10/02/2024, 10:00 - A: climbing\n",
            "/abs/chat.txt": b"10/02/2024, 10:00 - A: absolute\n",
            "chats/WhatsApp Chat with Bob.txt": b"10/02/2024, 10:00 - Bob: kept\n",
        },
        symlinks={"link.txt": "/etc/passwd"},
    )
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == ["kept"]
    assert messages(events)[0].conversation == "WhatsApp Chat with Bob"
    refused = {p.source.split("!", 1)[1]: p.rule for p in problems(events)}
    assert set(refused) == {"../../etc/cron.d/x.txt", "/abs/chat.txt", "link.txt"}
    assert "climbs out" in refused["../../etc/cron.d/x.txt"]
    assert "absolute" in refused["/abs/chat.txt"]
    assert "symbolic link" in refused["link.txt"]
    assert not any(p.stops for p in problems(events))


def test_a_zip_bomb_member_is_refused_and_the_rest_read(tmp_path: Path) -> None:
    path = zip_of(
        tmp_path,
        {
            "bomb.txt": bytes(16 << 20),  # 16 MiB of zeros: about 1000 to 1 compressed
            "room.log": b"[2020-12-31 21:41:05] Alice: still read\n",
        },
    )
    events = list(read_file(path, ReadOptions()))
    assert [m.text for m in messages(events)] == ["still read"]
    [problem] = problems(events)
    assert problem.source == "export.zip!bomb.txt"
    assert "zip bomb" in problem.rule


def test_one_level_of_nesting_is_read_two_are_refused(tmp_path: Path) -> None:
    chat = telegram_json(tmp_path, [TelegramChat(5, "Team", talk(2, start=START))])
    inner = zip_of(tmp_path, {"result.json": chat, "photos/p.jpg": png(seed=5)}, name="in.zip")
    outer = zip_of(tmp_path, {"in.zip": inner, "room.log": b"21:44 <carol> outer\n"})
    events = list(read_file(outer, ReadOptions()))
    assert [a.source for a in attachments(events)] == ["export.zip!in.zip!photos/p.jpg"]
    assert [m.conversation for m in messages(events)] == ["5", "5", "room"]
    assert problems(events) == []
    deeper = zip_of(tmp_path, {"outer.zip": outer}, name="deeper.zip")
    events = list(read_file(deeper, ReadOptions()))
    assert [m.source for m in messages(events)] == ["deeper.zip!outer.zip!room.log"]
    [problem] = problems(events)
    assert problem.source == "deeper.zip!outer.zip!in.zip"
    assert "only one level of nesting" in problem.rule


def test_a_broken_zip_stops_with_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    [problem] = list(read_file(path, ReadOptions()))
    assert isinstance(problem, type(problems([problem])[0]))
    assert problem.stops
    assert "is not a readable zip" in problem.rule


def test_reading_twice_gives_equal_events(tmp_path: Path) -> None:
    path = zip_of(tmp_path, whatsapp_with_media())
    assert list(read_file(path, ReadOptions())) == list(read_file(path, ReadOptions()))
