"""The review queue ranks the agency's conversations for an analyst (flagged first, unscored
last, pages that neither skip nor repeat), and each decision is a person's: kept in order with
the risk and model the reviewer saw, audited, and explained by a note where someone else will
act on it. Another agency's conversation or case is the audited 'not found'."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from builders import Network, make_case
from chats_builders import conversation, grooming_lines, ordinary_lines
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import review
from taskforce.chats.models import ChatConversation, ChatReview
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.inbox.models import InboxNotice

THRESHOLD = 0.5
NOW = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)


@dataclass
class Five:
    case: Case
    other: Case
    c: dict[str, ChatConversation]


def _five(session: Session, network: Network) -> Five:
    case = make_case(session, network.gb, title="Operation Harbour")
    other = make_case(session, network.gb, title="Operation Meadow")
    made = {
        "low": conversation(session, case, "low", ordinary_lines(), risk=0.2),
        "unscored": conversation(session, case, "unscored", ordinary_lines()),
        "high": conversation(session, case, "high", grooming_lines(), risk=0.91, flagged_seq=5),
        "edge": conversation(session, other, "edge", grooming_lines(), risk=0.5, flagged_seq=6),
        "mid": conversation(session, case, "mid", grooming_lines(), risk=0.62, flagged_seq=5),
    }
    return Five(case, other, made)


def test_the_queue_ranks_flagged_first_then_by_risk_and_unscored_last(
    session: Session, network: Network
) -> None:
    made = _five(session, network)
    page = review.queue(session, network.gb_analyst.caller, threshold=THRESHOLD)
    assert [i.title for i in page.items] == ["high", "mid", "edge", "low", "unscored"]
    assert [i.flagged for i in page.items] == [True, True, True, False, False]
    assert page.items[0].case_reference == made.case.reference
    assert page.items[0].tactics[0].label in {"Age probing", "Flattery", "Secrecy"}
    assert page.items[-1].risk is None
    assert page.counts == {"unreviewed": 5, "concern": 0, "no_concern": 0, "unclear": 0}
    assert page.next is None


def test_pages_follow_the_cursor_without_skipping_or_repeating(
    session: Session, network: Network
) -> None:
    _five(session, network)
    # ties: three more at exactly the same risk
    case = make_case(session, network.gb, title="Operation Tie")
    for n in range(3):
        conversation(session, case, f"tie{n}", ordinary_lines(), risk=0.2)
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = review.queue(session, network.gb.caller, threshold=THRESHOLD, limit=2, after=after)
        seen += [i.title for i in page.items]
        after = page.next
        if after is None:
            break
    assert len(seen) == 8
    assert len(set(seen)) == 8
    assert seen[:3] == ["high", "mid", "edge"]
    assert seen[-1] == "unscored"


def test_a_cursor_that_is_not_the_queues_is_refused_by_name(
    session: Session, network: Network
) -> None:
    with pytest.raises(Invalid) as refused:
        review.queue(session, network.gb.caller, threshold=THRESHOLD, after="nonsense")
    assert refused.value.field == "after"
    with pytest.raises(Invalid) as refused:
        review.queue(session, network.gb.caller, threshold=THRESHOLD, decision="maybe")
    assert refused.value.field == "decision"


def test_filters_by_case_and_decision(session: Session, network: Network) -> None:
    made = _five(session, network)
    caller = network.gb_analyst.caller
    only = review.queue(session, caller, threshold=THRESHOLD, case_id=made.other.id)
    assert [i.title for i in only.items] == ["edge"]
    review.decide(
        session,
        caller,
        made.c["high"].id,
        decision="concern",
        note="asks the child's age, then secrecy and another app",
        threshold=THRESHOLD,
        now=NOW,
    )
    waiting = review.queue(session, caller, threshold=THRESHOLD)
    assert "high" not in [i.title for i in waiting.items]
    reviewed = review.queue(session, caller, threshold=THRESHOLD, decision="reviewed")
    assert [(i.title, i.decision, i.reviewer) for i in reviewed.items] == [
        ("high", "concern", network.gb_analyst.user.email)
    ]
    assert review.queue(session, caller, threshold=THRESHOLD, decision="concern").items
    everything = review.queue(session, caller, threshold=THRESHOLD, decision="all")
    assert len(everything.items) == 5
    assert everything.counts["concern"] == 1
    assert everything.counts["unreviewed"] == 4


def test_decisions_are_kept_in_order_audited_and_the_latest_shown(
    session: Session, network: Network
) -> None:
    made = _five(session, network)
    chat = made.c["high"]
    caller = network.gb_analyst.caller
    review.decide(
        session, caller, chat.id, decision="unclear", note="needs the earlier export",
        threshold=THRESHOLD, now=NOW,
    )  # fmt: skip
    later = NOW.replace(hour=11)
    review.decide(
        session, network.gb.caller, chat.id, decision="concern", note="secrecy and a new app",
        threshold=THRESHOLD, now=later,
    )  # fmt: skip
    rows = session.scalars(
        select(ChatReview).where(ChatReview.conversation_id == chat.id).order_by(ChatReview.at)
    ).all()
    assert [(r.decision, r.risk, r.model_version) for r in rows] == [
        ("unclear", 0.91, "test-model"),
        ("concern", 0.91, "test-model"),
    ]
    assert rows[0].actor_label != rows[1].actor_label
    session.refresh(chat)
    assert (chat.decision, chat.reviewed_at) == ("concern", later)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "chats.review", AuditEntry.subject_id == chat.id)
        .order_by(AuditEntry.at)
    ).all()
    assert [e.detail["decision"] for e in entries] == ["unclear", "concern"]
    assert entries[1].detail["previous"] == "unclear"
    assert entries[1].detail["risk"] == 0.91
    assert entries[1].detail["model_version"] == "test-model"
    assert entries[0].actor_user_id == network.gb_analyst.user.id


@pytest.mark.parametrize(
    ("name", "decision", "rule"),
    [
        ("high", "concern", "say what the concern is"),
        ("low", "unclear", "say what is unclear"),
        ("high", "no_concern", "the tagger flagged this conversation"),
    ],
)
def test_a_decision_others_act_on_needs_a_note(
    session: Session, network: Network, name: str, decision: str, rule: str
) -> None:
    made = _five(session, network)
    with pytest.raises(Invalid) as refused:
        review.decide(
            session, network.gb.caller, made.c[name].id, decision=decision, note="   ",
            threshold=THRESHOLD,
        )  # fmt: skip
    assert refused.value.field == "note"
    assert rule in refused.value.rule


def test_no_concern_on_an_unflagged_conversation_needs_no_note_and_bad_decisions_are_named(
    session: Session, network: Network
) -> None:
    made = _five(session, network)
    done = review.decide(
        session, network.gb.caller, made.c["low"].id, decision="no_concern", note="",
        threshold=THRESHOLD,
    )  # fmt: skip
    assert done.decision == "no_concern"
    assert done.note == ""
    with pytest.raises(Invalid) as refused:
        review.decide(
            session, network.gb.caller, made.c["low"].id, decision="guilty", note="x",
            threshold=THRESHOLD,
        )  # fmt: skip
    assert refused.value.field == "decision"
    assert "concern, no_concern, unclear" in refused.value.rule


def test_another_agency_sees_nothing_and_its_attempts_are_audited(
    session: Session, network: Network
) -> None:
    made = _five(session, network)
    chat, case = made.c["high"], made.case
    assert review.queue(session, network.us.caller, threshold=THRESHOLD, decision="all").items == []
    # a partner that could see a shared case still sees none of its chats
    assert review.queue(session, network.nl.caller, threshold=THRESHOLD, decision="all").items == []
    with pytest.raises(NotFound):
        review.decide(
            session, network.us.caller, chat.id, decision="no_concern", note="not ours",
            threshold=THRESHOLD,
        )  # fmt: skip
    with pytest.raises(NotFound):
        review.queue(session, network.us.caller, threshold=THRESHOLD, case_id=case.id)
    refused = session.scalars(
        select(AuditEntry.action).where(
            AuditEntry.outcome == "not_found",
            AuditEntry.actor_agency_id == network.us.caller.agency_id,
        )
    ).all()
    assert set(refused) == {"chats.conversation.read", "chats.case.read"}
    session.refresh(chat)
    assert chat.decision == "unreviewed"


def test_case_chats_lists_every_decision_riskiest_first(session: Session, network: Network) -> None:
    made = _five(session, network)
    review.decide(
        session, network.gb.caller, made.c["mid"].id, decision="concern", note="meeting asked",
        threshold=THRESHOLD,
    )  # fmt: skip
    chats = review.case_chats(session, network.gb.caller, made.case.id, threshold=THRESHOLD)
    assert [c.title for c in chats.conversations] == ["high", "mid", "low", "unscored"]
    assert chats.case_open
    assert chats.imports == []
    with pytest.raises(NotFound):
        review.case_chats(session, network.us.caller, made.case.id, threshold=THRESHOLD)


def test_a_concern_goes_to_the_agencys_inbox_once_without_the_chat(
    session: Session, network: Network
) -> None:
    """The decision "Concern: refer to the investigator" is true: the agency's inbox gets a
    notice linking the conversation (its case and title, never a message or the note);
    deciding concern again, or no concern, posts nothing more, and no other agency is told."""
    made = _five(session, network)
    chat = made.c["high"]
    for decision, note in (("unclear", "ask the team"), ("concern", "secret kept, another app")):
        review.decide(
            session, network.gb.caller, chat.id, decision=decision, note=note,
            threshold=THRESHOLD,
        )  # fmt: skip
    review.decide(
        session, network.gb.caller, chat.id, decision="concern", note="still", threshold=THRESHOLD
    )
    notices = session.scalars(select(InboxNotice)).all()
    assert [(n.agency_id, n.kind) for n in notices] == [(chat.owner_agency_id, "chats.concern")]
    notice = notices[0]
    assert notice.title == f"Chat of concern in {made.case.reference}: {chat.title}"
    assert notice.link == f"/ui/chats/conversations/{chat.id}#review"
    assert "secret kept" not in notice.title + notice.body  # the note stays on the page
    assert "recorded a concern (risk 0.91)" in notice.body
