"""Importing chat exports into a case: what is stored, re-imports that add only what is
missing, interrupted imports, participants merged by handle, times in UTC, bad lines
reported and good ones kept, attachments as names and hashes matched against known media."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from builders import Network, make_case
from chats_builders import (
    GAME_LOBBY,
    NOW,
    SCHOOL_RUN,
    csv_export,
    import_path,
    imported_case,
    write_export,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.chats import importing, reading, scoring
from taskforce.chats.kinds import AttachmentFile, Author, Event, Message
from taskforce.chats.models import (
    ChatAttachment,
    ChatConversation,
    ChatImport,
    ChatMember,
    ChatMention,
    ChatMessage,
    ChatParticipant,
)
from taskforce.chats.reading import ReadOptions
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_an_export_becomes_conversations_participants_members_and_tagged_messages(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    made = imported_case(session, settings, tmp_path)
    s = made.summary
    assert (s.messages_read, s.messages_added, s.messages_present) == (11, 11, 0)
    assert (s.conversations, s.participants, s.problems_count) == (2, 4, 0)
    assert s.case_reference == made.case.reference
    assert s.formats == "csv"
    conversations = {
        c.key: c
        for c in session.scalars(
            select(ChatConversation).where(ChatConversation.case_id == made.case.id)
        )
    }
    assert set(conversations) == {"csv:school-run", "csv:game-lobby"}
    lobby = conversations["csv:game-lobby"]
    assert (lobby.message_count, lobby.participant_count, lobby.platform) == (7, 2, "discord")
    assert lobby.first_at == datetime(2026, 2, 3, 19, 0, tzinfo=UTC)
    assert lobby.last_at == datetime(2026, 2, 3, 19, 5, tzinfo=UTC)
    assert lobby.scored_at is not None
    assert lobby.risk is not None
    tiger = session.scalar(select(ChatParticipant).where(ChatParticipant.key == "discord:tiger_77"))
    assert tiger is not None
    assert (tiger.names, tiger.message_count) == (["Tiger"], 5)
    member = session.scalar(
        select(ChatMember).where(
            ChatMember.conversation_id == lobby.id, ChatMember.participant_id == tiger.id
        )
    )
    assert member is not None
    assert (member.message_count, member.first_seq) == (5, 0)
    messages = session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == lobby.id).order_by(ChatMessage.seq)
    ).all()
    assert [m.seq for m in messages] == list(range(7))
    asked = messages[2]
    assert (asked.text, asked.line, asked.participant_id) == ("how old are you btw?", 8, tiger.id)
    assert asked.tactics
    assert asked.score > 0
    assert asked.tags["p"]
    record = session.get(ChatImport, s.import_id)
    assert record is not None
    assert (record.status, record.messages_added, record.conversations) == ("done", 11, 2)
    assert record.file_name == "lobby.csv"
    assert len(record.file_sha256) == 64
    audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "chats.import")).all()
    assert [(a.operation, a.subject_id, a.detail["added"]) for a in audited] == [
        ("collection", made.case.id, 11)
    ]


def test_times_without_an_offset_are_read_in_the_named_zone_and_stored_in_utc(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    case = make_case(session, network.gb)
    path = write_export(tmp_path, "school.csv", csv_export(SCHOOL_RUN))
    import_path(session, settings, network.gb, case, path, timezone="Europe/Berlin")
    first = session.scalar(select(ChatMessage).where(ChatMessage.seq == 0))
    assert first is not None
    assert first.time_text == "2026-02-01 08:00:00"
    assert first.sent_at == datetime(2026, 2, 1, 7, 0, tzinfo=UTC)  # 08:00 in Berlin, winter
    record = session.scalar(select(ChatImport))
    assert record is not None
    assert record.timezone == "Europe/Berlin"


def test_importing_the_same_export_again_adds_nothing(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    made = imported_case(session, settings, tmp_path)
    rows = [_count(session, m) for m in (ChatMessage, ChatConversation, ChatParticipant)]
    again = import_path(session, settings, made.person, made.case, made.path)
    assert (again.messages_read, again.messages_added, again.messages_present) == (11, 0, 11)
    assert [_count(session, m) for m in (ChatMessage, ChatConversation, ChatParticipant)] == rows
    tiger = session.scalar(select(ChatParticipant).where(ChatParticipant.handle == "tiger_77"))
    assert tiger is not None
    assert tiger.message_count == 5
    assert again.import_id != made.summary.import_id  # each import is on record


def test_identical_messages_are_each_kept_and_matched_again_on_re_import(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    ok = ("2026-02-01 08:05:00", "school-run", "ben.k", "Ben", "ok", "")
    path = write_export(tmp_path, "oks.csv", csv_export([*SCHOOL_RUN, ok, ok]))
    case = make_case(session, network.gb)
    first = import_path(session, settings, network.gb, case, path)
    assert first.messages_added == 6  # "ok" three times: at 08:02:30 once, at 08:05 twice
    longer = write_export(tmp_path, "more.csv", csv_export([*SCHOOL_RUN, ok, ok, ok]))
    again = import_path(session, settings, network.gb, case, longer)
    assert (again.messages_added, again.messages_present) == (1, 6)


def test_an_interrupted_import_keeps_its_batches_and_a_re_run_adds_only_the_rest(
    session: Session,
    settings: Settings,
    network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "BATCH", 3)
    rows = [
        (f"2026-02-04 10:{i:02d}:00", "long-chat", "ana.k", "Ana", f"message {i}", "")
        for i in range(20)
    ]
    later = ("2026-02-04 10:07:30", "later-chat", "ben.k", "Ben", "hello", "")
    rows.insert(7, later)  # a conversation that begins in the third batch
    path = write_export(tmp_path, "long.csv", csv_export(rows))
    case = make_case(session, network.gb)
    session.commit()
    seen: list[int] = []

    def stop_after_two(progress: importing.Progress) -> None:
        seen.append(progress.messages_read)
        if len(seen) == 2:
            raise KeyboardInterrupt

    options = ReadOptions()
    with pytest.raises(KeyboardInterrupt):
        importing.import_file(
            session, network.gb.caller, settings, case_id=case.id, path=path,
            display="long.csv", options=options, progress=stop_after_two, now=NOW,
            checkpoint=session.commit,
        )  # fmt: skip
    assert _count(session, ChatMessage) == 6  # two batches of three, committed
    stopped = session.scalar(select(ChatImport))
    assert stopped is not None
    assert stopped.status == "stopped"
    assert "interrupted after 6 messages" in stopped.detail
    # the third batch (read and begun while the second was written) left nothing behind
    assert session.scalars(select(ChatConversation.key)).all() == ["csv:long-chat"]
    assert session.scalars(select(ChatParticipant.handle)).all() == ["ana.k"]
    rest = importing.import_file(
        session, network.gb.caller, settings, case_id=case.id, path=path,
        display="long.csv", options=options, now=NOW, checkpoint=session.commit,
    )  # fmt: skip
    assert (rest.messages_added, rest.messages_present) == (15, 6)
    texts = session.scalars(
        select(ChatMessage.text)
        .join(ChatConversation)
        .where(ChatConversation.key == "csv:long-chat")
        .order_by(ChatMessage.seq)
    ).all()
    assert texts == [f"message {i}" for i in range(20)]  # each once, none missing
    conversation = session.scalar(
        select(ChatConversation).where(ChatConversation.key == "csv:long-chat")
    )
    assert conversation is not None
    assert conversation.message_count == 20
    assert conversation.scored_at is not None


def test_participants_are_merged_by_handle_across_files(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    case = make_case(session, network.gb)
    first = write_export(tmp_path, "a.csv", csv_export(GAME_LOBBY))
    other = [
        ("2026-02-05 17:00:00", "dm-7", "Tiger_77", "T. the gamer", "you there?", ""),
        ("2026-02-05 17:01:00", "dm-7", "sam.j", "Sam", "who is this", ""),
    ]
    second = write_export(tmp_path, "b.csv", csv_export(other))
    import_path(session, settings, network.gb, case, first)
    summary = import_path(session, settings, network.gb, case, second)
    assert summary.participants == 2
    tigers = session.scalars(
        select(ChatParticipant).where(ChatParticipant.key == "discord:tiger_77")
    ).all()
    assert len(tigers) == 1  # one person, whatever the case of the handle
    tiger = tigers[0]
    assert tiger.names == ["Tiger", "T. the gamer"]
    assert tiger.message_count == 6
    assert tiger.first_at == datetime(2026, 2, 3, 19, 0, tzinfo=UTC)
    assert tiger.last_at == datetime(2026, 2, 5, 17, 0, tzinfo=UTC)
    assert _count(session, ChatMember) == 4  # (lobby: tiger, lena) and (dm-7: tiger, sam)


def test_bad_lines_are_reported_with_file_and_line_and_good_ones_kept(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    text = csv_export(SCHOOL_RUN) + "31/02/2026 10:00,school-run,discord,ana.k,Ana,hi,\n"
    path = write_export(tmp_path, "broken.csv", text)
    case = make_case(session, network.gb)
    summary = import_path(session, settings, network.gb, case, path)
    assert (summary.messages_added, summary.problems_count) == (4, 1)
    problem = summary.problems[0]
    assert (problem.source, problem.line, problem.field) == ("broken.csv", 6, "time")
    assert "day 31 of February" in problem.rule
    assert importing.problem_text(problem).startswith("broken.csv:6: time: ")
    record = session.get(ChatImport, summary.import_id)
    assert record is not None
    assert record.problems[0]["line"] == 6


def test_an_export_with_nothing_readable_is_refused_naming_its_first_problems(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    path = write_export(tmp_path, "letter.txt", "Dear colleague,\nplease find attached.\n")
    case = make_case(session, network.gb)
    with pytest.raises(Invalid) as refused:
        import_path(session, settings, network.gb, case, path)
    assert refused.value.field == "file"
    assert "no message could be read: letter.txt" in refused.value.message
    assert "letter.txt: format:" in refused.value.message
    record = session.scalar(select(ChatImport))
    assert record is not None
    assert record.status == "stopped"
    assert record.detail.startswith("nothing could be read")


def test_another_agencys_case_is_missing_and_the_attempt_audited(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    partners_case = make_case(
        session, network.nl, sharing=SharingLevel.AMBER, partners=["GB-NCA"]
    )  # GB sees this case, but not its chats
    path = write_export(tmp_path, "school.csv", csv_export(SCHOOL_RUN))
    with pytest.raises(NotFound):
        import_path(session, settings, network.gb, partners_case, path)
    assert _count(session, ChatImport) == 0
    assert _count(session, ChatMessage) == 0
    refusals = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "chats.case.read")
    ).all()
    assert [r.outcome for r in refusals] == ["not_found"]


def _zip_events(source: str, files: list[AttachmentFile]) -> Iterator[Event]:
    """What the reader yields for a zipped export: its files' hashes first, then messages."""
    yield from files
    author = Author("+44 20 7946 0001", "whatsapp", "Ana")
    for i, names in enumerate([("IMG-0001.jpg",), ("IMG-0002.jpg", "gone.opus"), ()]):
        yield Message(
            source=f"{source}!chat.txt", line=i + 1, format="whatsapp", conversation="chat",
            title="Ana", ordinal=i, sent_at=datetime(2026, 2, 1, 9, i, tzinfo=UTC),
            time_text=f"01/02/2026, 09:0{i}", author=author, text=f"photo {i}",
            attachments=names,
        )  # fmt: skip


def test_attachments_are_kept_as_names_and_hashes_and_known_media_is_marked(
    session: Session,
    settings: Settings,
    network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known_md5, new_md5 = "0cc175b9c0f1b6a831c399e269772661", "92eb5ffee6ae2fec3ad71c777531578f"
    hashset_service.create_hash_set(
        session, network.gb.caller, HashSetCreate(name="Known", sharing=SharingLevel.RED)
    )
    known_list = tmp_path / "known.csv"
    known_list.write_text(f"md5,category\n{known_md5},national-a\n")
    hashset_service.import_file(session, network.gb.caller, name="Known", path=known_list)
    files = [
        AttachmentFile("export.zip!IMG-0001.jpg", "IMG-0001.jpg", 1200, known_md5, None, None,
                       media_type="image/jpeg"),
        AttachmentFile("export.zip!IMG-0002.jpg", "IMG-0002.jpg", 900, new_md5, None, None,
                       media_type="image/jpeg"),
    ]  # fmt: skip
    monkeypatch.setattr(
        reading, "read_file", lambda _path, _options, display: _zip_events(display, files)
    )
    path = write_export(tmp_path, "export.zip", "stand-in: the reader is replaced")
    case = make_case(session, network.gb)
    summary = import_path(session, settings, network.gb, case, path)
    assert (summary.attachments, summary.attachments_known) == (3, 1)
    rows = {a.name: a for a in session.scalars(select(ChatAttachment))}
    assert set(rows) == {"IMG-0001.jpg", "IMG-0002.jpg", "gone.opus"}
    known = rows["IMG-0001.jpg"]
    assert known.present
    assert known.known
    assert known.md5 == known_md5
    assert known.size == 1200
    assert known.matches[0]["hash_set"] == "Known"
    assert known.matches[0]["match_type"] == "exact"
    assert rows["IMG-0002.jpg"].present
    assert not rows["IMG-0002.jpg"].known
    gone = rows["gone.opus"]
    assert not gone.present
    assert gone.md5 is None
    assert not gone.known
    photo = session.scalar(select(ChatMessage).where(ChatMessage.seq == 1))
    assert photo is not None
    assert photo.attachment_count == 2
    assert summary.selectors_added == 1  # the new picture's MD5, as triage feeds a case


def test_identifiers_in_the_authors_and_the_text_are_proposed_as_mentions(
    session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    rows = [
        ("2026-02-06 20:00:00", "dm-9", "tiger_77", "Tiger", "text me on +44 20 7946 0018", ""),
        ("2026-02-06 20:01:00", "dm-9", "tiger_77", "Tiger", "or +44 20 7946 0018 later", ""),
    ]
    path = write_export(tmp_path, "dm.csv", csv_export(rows, platform="telegram"))
    case = make_case(session, network.gb)
    import_path(session, settings, network.gb, case, path)
    found = {(m.kind, m.origin): m for m in session.scalars(select(ChatMention))}
    phone = found[("phone", "text")]
    assert phone.value == "+442079460018"
    assert phone.occurrences == 2
    assert phone.status == "proposed"  # nothing becomes a selector by itself
    author = found[("username", "author")]
    assert author.platform == "telegram"
    assert author.occurrences == 2  # one per message the author wrote
    again = import_path(session, settings, network.gb, case, path)
    assert again.messages_added == 0
    assert session.scalar(select(ChatMention.occurrences).where(ChatMention.kind == "phone")) == 2


def test_the_risk_computed_during_the_import_is_the_one_scoring_reads_back(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    made = imported_case(session, settings, tmp_path)
    lobby = session.scalar(select(ChatConversation).where(ChatConversation.key == "csv:game-lobby"))
    assert lobby is not None
    during = (lobby.risk, lobby.flagged_seq, dict(lobby.tactic_counts))
    assert lobby.tactic_counts  # the conversation shows tactics
    scoring.rescore(session, [lobby.id], threshold=settings.chats_review_threshold, now=NOW)
    session.refresh(lobby)
    assert (lobby.risk, lobby.flagged_seq, dict(lobby.tactic_counts)) == during
    assert made.summary.flagged == (
        1 if (lobby.risk or 0) >= settings.chats_review_threshold else 0
    )


def test_a_conversation_that_comes_back_later_in_the_file_is_scored_on_all_its_messages(
    session: Session,
    settings: Settings,
    network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importing, "BATCH", 3)
    lobby, school = GAME_LOBBY, SCHOOL_RUN
    rows = [*lobby[:3], *school[:3], *lobby[3:]]  # the lobby, the school run, the lobby again
    path = write_export(tmp_path, "mixed.csv", csv_export(rows))
    case = make_case(session, network.gb)
    import_path(session, settings, network.gb, case, path)
    conversation = session.scalar(
        select(ChatConversation).where(ChatConversation.key == "csv:game-lobby")
    )
    assert conversation is not None
    assert conversation.message_count == 7
    during = (conversation.risk, conversation.flagged_seq, dict(conversation.tactic_counts))
    scoring.rescore(session, [conversation.id], threshold=settings.chats_review_threshold, now=NOW)
    session.refresh(conversation)
    assert (conversation.risk, conversation.flagged_seq, dict(conversation.tactic_counts)) == during
    assert sum(conversation.tactic_counts.values()) >= 2  # tactics from both of its parts
