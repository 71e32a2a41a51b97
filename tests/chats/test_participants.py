"""Participants and identifiers of a case's chats: noted once per case, kind and key as the
import finds them; an investigator confirms them into selectors of the case (deconflicted: a
hit with another agency's case appears) or dismisses them; another agency sees none of it."""

from __future__ import annotations

import pytest
from builders import Network, add_selector, make_case
from chats_builders import PHONE, Line, by_key, conversation, imported, known_abroad, note
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import hits
from taskforce.cases.models import Selector
from taskforce.chats import mentions, participants
from taskforce.chats.models import ChatMessage
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Conflict, NotFound
from taskforce.core.settings import Settings


def test_mentions_are_noted_once_per_identifier_and_counted(
    session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = imported(session, case)
    found = by_key(session, case)
    assert set(found) == {
        "+442079460958",
        "snapchat:sam_22",
        "sam@example.com",
        "http://example.com/club",
    }
    phone = found["+442079460958"]
    assert (phone.origin, phone.occurrences, phone.status) == ("author", 3, "proposed")
    assert phone.participant_id is not None
    assert phone.conversation_id == chat.id
    snap = found["snapchat:sam_22"]
    assert (snap.origin, snap.occurrences, snap.platform) == ("text", 2, "snapchat")
    first = session.get(ChatMessage, snap.message_id)
    assert first is not None
    assert first.seq == 2
    # noting the same batch again adds no mention, only counts
    assert note(session, case, chat) == 0
    session.expire_all()
    assert len(by_key(session, case)) == 4
    assert by_key(session, case)["snapchat:sam_22"].occurrences == 4


def test_the_participant_list_shows_messages_conversations_and_the_account(
    session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = imported(session, case)
    listing = participants.list_participants(session, network.gb.caller, case.id)
    assert listing.case_reference == case.reference
    assert [p.handle for p in listing.participants] == [PHONE, "Kim"]
    sam, kim = listing.participants
    assert [(c.id, c.messages) for c in sam.conversations] == [(chat.id, 3)]
    assert sam.mention is not None
    assert sam.mention.value == "+442079460958"
    assert kim.mention is None  # a contact name is no account
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "chats.participants.read")
    ).one()
    assert entry.operation == "consultation"


def test_confirming_makes_a_selector_that_deconflicts_with_another_agency(
    session: Session, settings: Settings, network: Network
) -> None:
    known = known_abroad(session, settings, network)
    case, us_case, found = known.case, known.us_case, known.found
    phone, snap = found["+442079460958"], found["snapchat:sam_22"]
    result = participants.confirm(
        session, network.gb.caller, settings, [phone.id, snap.id], note="Sam, club coach"
    )
    assert (result.confirmed, result.added, result.hits) == (2, 2, 1)
    session.refresh(phone)
    assert phone.status == "confirmed"
    selector = session.get(Selector, phone.selector_id)
    assert selector is not None
    assert (selector.case_id, selector.kind, selector.value) == (case.id, "phone", phone.value)
    assert selector.note == "Sam, club coach"
    snap_selector = session.get(Selector, by_key(session, case)["snapchat:sam_22"].selector_id)
    assert snap_selector is not None
    assert snap_selector.platform == "snapchat"
    [hit] = hits.list_hits(session, network.us.caller)
    assert (hit.type, hit.case_id, hit.selector_value) == ("phone", us_case.id, "+442079460958")
    assert (
        session.scalars(select(AuditEntry).where(AuditEntry.action == "chats.mention.confirm"))
        .one()
        .detail["hits"]
        == 1
    )
    # confirming again is refused: it is a selector already
    with pytest.raises(Conflict):
        participants.confirm(session, network.gb.caller, settings, [phone.id])


def test_the_noise_list_is_honoured_no_hit_on_a_common_address(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = conversation(
        session, case, "noise", [Line("sam", "write to noreply@discord.com")], platform="csv"
    )
    message = session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == chat.id)
    ).one()
    found = [(chat.id, message.id, None, c) for c in mentions.in_text(message.text, "GB")]
    participants.note_mentions(session, case, found)
    other = make_case(session, network.us, title="Operation Other")
    add_selector(session, settings, network.us, other, "email", "noreply@discord.com")
    [mention] = by_key(session, case).values()
    result = participants.confirm(session, network.gb.caller, settings, [mention.id])
    assert (result.added, result.hits) == (1, 0)
    selector = session.get(Selector, mention.selector_id)
    assert selector is not None
    assert selector.noise_reason


def test_a_dismissed_mention_stays_dismissed_through_a_reimport(
    session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    chat = imported(session, case)
    url = by_key(session, case)["http://example.com/club"]
    assert participants.dismiss(session, network.gb.caller, [url.id], note="club website") == 1
    note(session, case, chat)
    session.expire_all()
    url = by_key(session, case)["http://example.com/club"]
    assert (url.status, url.occurrences) == ("dismissed", 2)
    listing = participants.list_mentions(session, network.gb.caller, case.id, status="proposed")
    assert "http://example.com/club" not in [m.value for m in listing.mentions]
    assert listing.counts == {"proposed": 3, "confirmed": 0, "dismissed": 1}
    # only an investigator puts it back
    assert participants.reopen(session, network.gb.caller, [url.id]) == 1
    assert by_key(session, case)["http://example.com/club"].status == "proposed"
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"chats.mention.dismiss", "chats.mention.reopen"} <= actions


def test_another_agency_gets_an_audited_not_found(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    imported(session, case)
    mention = by_key(session, case)["+442079460958"]
    # NL is GB's partner: it still sees none of the case's chats
    for call in (
        lambda: participants.confirm(session, network.nl.caller, settings, [mention.id]),
        lambda: participants.dismiss(session, network.us.caller, [mention.id]),
        lambda: participants.list_mentions(session, network.nl.caller, case.id),
        lambda: participants.list_participants(session, network.us.caller, case.id),
    ):
        with pytest.raises(NotFound):
            call()
    refused = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "not_found")).all()
    assert len(refused) == 4
    assert {e.subject_id for e in refused} == {mention.id, case.id}
    # a mention of another case than the one asked is missing too
    other = make_case(session, network.gb, title="Operation Meadow")
    with pytest.raises(NotFound):
        participants.confirm(session, network.gb.caller, settings, [mention.id], case_id=other.id)
    assert by_key(session, case)["+442079460958"].status == "proposed"


def test_find_mentions_reads_a_value_as_typed(session: Session, network: Network) -> None:
    case = make_case(session, network.gb, title="Operation Harbour")
    imported(session, case)
    found = by_key(session, case)
    caller = network.gb.caller
    assert participants.find_mentions(session, caller, case.id, "020 7946 0958") == [
        found["+442079460958"].id
    ]
    assert participants.find_mentions(session, caller, case.id, "snapchat:Sam_22") == [
        found["snapchat:sam_22"].id
    ]
    assert participants.find_mentions(session, caller, case.id, "nobody") == []
