"""The conversation as an analyst reads it: who wrote, the risk and where it was reached, the
tactics by stage of the grooming models, messages with the words that fired a rule marked,
attachments as names and hashes, every review; each read audited, another agency's id the
audited 'not found'."""

from __future__ import annotations

from pathlib import Path

import pytest
from builders import Network, make_case
from chats_builders import Line, conversation, grooming_lines, imported_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.chats import review, scoring, tagging, views
from taskforce.chats.schemas import RuleSpan, Segment
from taskforce.chats.tactics import Tactic
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings

THRESHOLD = 0.5


def test_the_conversation_shows_its_header_timeline_and_marked_messages(
    session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = conversation(session, case, "Chat with Kim", grooming_lines(), risk=0.91, flagged_seq=5)
    view = views.conversation(session, network.gb_analyst.caller, chat.id, threshold=THRESHOLD)

    head = view.conversation
    assert (head.case_reference, head.title, head.flagged, head.flagged_seq) == (
        case.reference,
        "Chat with Kim",
        True,
        5,
    )
    assert {t.tactic for t in head.tactics} == {
        "age_probing",
        "flattery",
        "secrecy",
        "platform_move",
    }
    assert [(m.handle, m.message_count) for m in view.members] == [("sam", 5), ("kim", 3)]
    # stages in the models' order, each with the message where the tactic showed
    assert [(s.stage, [e.seq for e in s.entries]) for s in view.stages] == [
        ("access", [2]),
        ("trust", [4]),
        ("isolation", [5, 6]),
    ]
    secrecy = view.messages.items[5]
    assert secrecy.flagged_here
    assert [(t.tactic, t.probability, t.shown) for t in secrecy.tactics] == [
        ("secrecy", 0.97, True)
    ]
    assert [(s.text, s.tactic) for s in secrecy.segments] == [
        ("don't tell your parents", "secrecy"),
        (" we talk, ok?", None),
    ]
    moved = view.messages.items[6]
    assert [(a.name, a.known) for a in moved.attachments] == [("IMG-20260302-WA0001.jpg", True)]
    assert [a.name for a in view.attachments] == ["IMG-20260302-WA0001.jpg"]
    assert view.messages.total == 8
    assert head.contributions == []
    assert "another model version" in head.reasons_missing


def test_each_read_is_audited_with_the_messages_shown(session: Session, network: Network) -> None:
    case = make_case(session, network.gb)
    lines = [Line("a", f"message {n}") for n in range(30)]
    chat = conversation(session, case, "long", lines, risk=0.7, flagged_seq=20)
    view = views.conversation(
        session, network.gb.caller, chat.id, threshold=THRESHOLD, limit=10, at_flagged=True
    )
    assert [m.seq for m in view.messages.items] == list(range(15, 25))
    entry = session.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "chats.conversation.read", AuditEntry.subject_id == chat.id
        )
    ).one()
    assert entry.operation == "consultation"
    assert entry.actor_user_id == network.gb.user.id
    assert (entry.detail["first_seq"], entry.detail["last_seq"], entry.detail["messages"]) == (
        15,
        24,
        10,
    )
    later = views.conversation(
        session, network.gb.caller, chat.id, threshold=THRESHOLD, start=28, limit=10
    )
    assert [m.seq for m in later.messages.items] == [28, 29]
    with pytest.raises(Invalid) as refused:
        views.conversation(session, network.gb.caller, chat.id, threshold=THRESHOLD, limit=0)
    assert refused.value.field == "limit"


def test_another_agency_gets_the_audited_not_found(session: Session, network: Network) -> None:
    case = make_case(session, network.gb)
    chat = conversation(session, case, "ours", grooming_lines(), risk=0.9, flagged_seq=5)
    for other in (network.us, network.nl):
        with pytest.raises(NotFound):
            views.conversation(session, other.caller, chat.id, threshold=THRESHOLD)
    outcomes = session.scalars(
        select(AuditEntry.outcome).where(
            AuditEntry.action == "chats.conversation.read", AuditEntry.subject_id == chat.id
        )
    ).all()
    assert outcomes == ["not_found", "not_found"]


def test_the_review_history_is_on_the_page_in_order(session: Session, network: Network) -> None:
    case = make_case(session, network.gb)
    chat = conversation(session, case, "ours", grooming_lines(), risk=0.9, flagged_seq=5)
    for decision, note in (("unclear", "ask for the rest"), ("concern", "secrecy, new app")):
        review.decide(
            session, network.gb.caller, chat.id, decision=decision, note=note, threshold=0.5
        )
    view = views.conversation(session, network.gb.caller, chat.id, threshold=THRESHOLD)
    assert [(r.decision, r.note, r.risk) for r in view.reviews] == [
        ("unclear", "ask for the rest", 0.9),
        ("concern", "secrecy, new app", 0.9),
    ]
    assert view.conversation.decision == "concern"
    assert view.conversation.reviewer == network.gb.user.email


def test_rule_spans_outside_the_text_or_overlapping_never_break_the_text() -> None:
    text = "\u202eevil\u202c don't tell, secret"
    spans = views.rule_spans(
        {
            "rules": [
                ["secrecy", "s.1", 11, 21],
                ["secrecy", "s.2", 15, 30],  # overlaps the first
                ["secrecy", "s.3", 5, 500],  # past the end
                ["nonsense", "x", 0, 2],  # not a tactic
                "garbage",
            ]
        },
        text,
    )
    cut = views.segments(text, spans)
    assert "".join(s.text for s in cut) == text
    assert [s.rule for s in cut if s.tactic] == ["s.1"]
    assert views.segments("", []) == [Segment(text="")]
    assert views.segments("abc", [RuleSpan(tactic=Tactic.SECRECY, rule="r", start=0, end=3)])[
        0
    ].tactic == ("secrecy")


def test_a_scored_conversation_shows_its_reasons_and_a_message_its_explanation(
    session: Session, network: Network
) -> None:
    case = make_case(session, network.gb)
    chat = conversation(session, case, "ours", grooming_lines())
    scoring.rescore(session, [chat.id], threshold=THRESHOLD, now=utcnow())
    view = views.conversation(session, network.gb.caller, chat.id, threshold=THRESHOLD)
    assert view.conversation.model_version == tagging.shipped().version
    reasons = view.conversation.contributions
    assert reasons
    assert view.conversation.reasons_missing == ""
    assert any(r.contribution > 0 for r in reasons)

    secrecy = view.messages.items[5]
    why = views.explain(session, network.gb_analyst.caller, chat.id, secrecy.id)
    assert why.same_model
    assert why.seq == 5
    top = why.tactics[0]
    assert top.tactic == "secrecy"
    assert top.shown
    assert top.features
    assert all(r.words.lower() in secrecy.text.lower() for r in top.rules)
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "chats.message.explain")
    ).one()
    assert entry.detail["seq"] == 5
    with pytest.raises(NotFound):
        views.explain(session, network.us.caller, chat.id, secrecy.id)


def test_an_imported_case_reads_through_the_queue_and_the_page(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    imported = imported_case(session, settings, tmp_path)
    caller = imported.network.gb_analyst.caller
    queue = review.queue(session, caller, threshold=THRESHOLD, case_id=imported.case.id)
    assert [i.title for i in queue.items] == ["game-lobby", "school-run"]
    lobby = queue.items[0]
    assert lobby.risk is not None
    assert queue.items[1].risk is not None
    assert lobby.risk > queue.items[1].risk
    assert {"age_probing", "secrecy"} <= {t.tactic for t in lobby.tactics}
    view = views.conversation(session, caller, lobby.id, threshold=THRESHOLD)
    marked = [s.text.lower() for m in view.messages.items for s in m.segments if s.tactic]
    assert any("tell your parents" in words for words in marked)
    assert [a.name for a in view.attachments] == ["photo1.jpg"]
    assert {m.handle for m in view.members} == {"tiger_77", "kid.lena"}
