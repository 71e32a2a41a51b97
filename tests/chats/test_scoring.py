"""Scoring stored conversations: the verdict the queue ranks by is written on the conversation
from its messages in order (on SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from builders import make_agency, make_case, make_person
from sqlalchemy import insert
from sqlalchemy.orm import Session

from taskforce.chats import scoring, tactics, tagging
from taskforce.chats.models import ChatConversation, ChatMessage, ChatParticipant

NOW = datetime(2025, 5, 6, 7, 8, tzinfo=UTC)

GROOMING = [
    ("adult", "hey you're really good at minecraft"),
    ("child", "thanks"),
    ("adult", "how old are you btw"),
    ("child", "12"),
    ("adult", "you're so mature for your age"),
    ("adult", "don't tell your parents we talk ok"),
    ("child", "ok"),
    ("adult", "are you home alone right now"),
    ("adult", "add me on snap"),
    ("adult", "send me a pic of you"),
    ("adult", "we should meet up in person"),
]
BENIGN = [
    ("a", "did you finish the maths homework"),
    ("b", "yeah question 4 was hard"),
    ("a", "wanna play minecraft after school"),
    ("b", "sure"),
    ("a", "my mum says i can come to practice on saturday"),
    ("b", "cool see you"),
]


def _conversation(
    session: Session,
    case_id: uuid.UUID,
    agency_id: uuid.UUID,
    key: str,
    lines: list[tuple[str, str]],
) -> ChatConversation:
    conversation = ChatConversation(case_id=case_id, owner_agency_id=agency_id, key=key)
    session.add(conversation)
    session.flush()
    people: dict[str, ChatParticipant] = {}
    tags = tagging.shipped().tag([text for _, text in lines])
    for seq, ((who, text), tag) in enumerate(zip(lines, tags, strict=True)):
        if who not in people:
            people[who] = ChatParticipant(
                case_id=case_id, owner_agency_id=agency_id, handle=who, key=f"{key}:{who}"
            )
            session.add(people[who])
            session.flush()
        session.add(
            ChatMessage(
                conversation_id=conversation.id,
                participant_id=people[who].id,
                seq=seq,
                digest=f"{key}-{seq}",
                text=text,
                tactics=tactics.bits(tag.tactics),
                score=tag.score,
                tags=tagging.tags_to_json(tag),
            )
        )
    session.flush()
    return conversation


def test_rescore_writes_the_risk_the_flag_and_the_tactics(session: Session) -> None:
    agency = make_agency(session)
    case = make_case(session, make_person(session, agency))
    groom = _conversation(session, case.id, agency.id, "g", GROOMING)
    benign = _conversation(session, case.id, agency.id, "b", BENIGN)
    scoring.rescore(session, [groom.id, benign.id, uuid.uuid4()], threshold=0.5, now=NOW)
    session.expire_all()
    stored_groom = session.get(ChatConversation, groom.id)
    stored_benign = session.get(ChatConversation, benign.id)
    assert stored_groom is not None
    assert stored_benign is not None
    groom, benign = stored_groom, stored_benign
    assert groom.risk is not None
    assert benign.risk is not None
    assert groom.risk > 0.5 > benign.risk
    assert groom.flagged_seq is not None
    assert 2 <= groom.flagged_seq <= 10
    assert benign.flagged_seq is None
    assert groom.tactic_counts["age_probing"] == 1
    assert groom.tactic_counts["secrecy"] == 1
    assert benign.tactic_counts == {}
    assert groom.scored_at == NOW
    assert groom.model_version == tagging.shipped().version


def test_a_higher_threshold_flags_later_or_never(session: Session) -> None:
    agency = make_agency(session)
    case = make_case(session, make_person(session, agency))
    groom = _conversation(session, case.id, agency.id, "g", GROOMING)
    scoring.rescore(session, [groom.id], threshold=0.3, now=NOW)
    early = groom.flagged_seq
    scoring.rescore(session, [groom.id], threshold=0.95, now=NOW)
    assert early is not None
    assert groom.flagged_seq is None or groom.flagged_seq > early


def test_a_long_conversation_is_read_across_batches_in_order(session: Session) -> None:
    """4,500 messages (more than two read batches), three of them showing secrecy: all three
    counted, and the flag, if any, is at one of them or after."""
    agency = make_agency(session)
    case = make_case(session, make_person(session, agency))
    conversation = ChatConversation(case_id=case.id, owner_agency_id=agency.id, key="long")
    session.add(conversation)
    session.flush()
    secret = tagging.shipped().tag(["keep this between us"])[0]
    ordinary = tagging.shipped().tag(["ok see you"])[0]
    marked = {10, 2_500, 4_400}
    session.execute(
        insert(ChatMessage),
        [
            {
                "id": uuid.uuid4(),
                "conversation_id": conversation.id,
                "seq": seq,
                "digest": f"d{seq}",
                "text": "keep this between us" if seq in marked else "ok see you",
                "tactics": tactics.bits((secret if seq in marked else ordinary).tactics),
                "tags": tagging.tags_to_json(secret if seq in marked else ordinary),
            }
            for seq in range(4_500)
        ],
    )
    scoring.rescore(session, [conversation.id], threshold=0.5, now=NOW)
    assert conversation.tactic_counts == {"secrecy": 3}
    assert conversation.risk is not None
    assert conversation.risk < 0.5  # one tactic, three times in 4,500 messages
    assert conversation.flagged_seq is None
