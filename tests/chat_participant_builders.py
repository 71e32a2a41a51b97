"""A case's chat written into the tables and its identifiers noted the way the import notes
them (`mentions.of_author`, `mentions.in_text`, `participants.note_mentions`): a WhatsApp
conversation whose author is a (fictional) phone number and who writes a Snapchat handle, an
e-mail address and a web address. Benign and fictional."""

from __future__ import annotations

from chat_review_builders import Line, conversation
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import mentions, participants
from taskforce.chats.kinds import Author
from taskforce.chats.models import ChatConversation, ChatMention, ChatMessage

PHONE = "+44 20 7946 0958"


def chat_lines() -> list[Line]:
    return [
        Line(PHONE, "hi, it's Sam from the club"),
        Line("Kim", "hi"),
        Line(PHONE, "add me on snap sam_22 or mail sam@example.com"),
        Line(PHONE, "my snap is sam_22, see example.com/club"),
    ]


def imported(session: Session, case: Case, title: str = "club") -> ChatConversation:
    """A WhatsApp conversation written into the tables, then its identifiers found and noted
    the way the import does (authors' accounts and the messages' text)."""
    chat = conversation(session, case, title, chat_lines(), platform="whatsapp")
    note(session, case, chat)
    return chat


def note(session: Session, case: Case, chat: ChatConversation) -> int:
    found: list[participants.Found] = []
    for message in session.scalars(
        select(ChatMessage).where(ChatMessage.conversation_id == chat.id).order_by(ChatMessage.seq)
    ):
        handle = next(line.author for n, line in enumerate(chat_lines()) if n == message.seq)
        for candidate in mentions.of_author(Author(handle, "whatsapp"), "GB"):
            found.append((chat.id, message.id, message.participant_id, candidate))
        for candidate in mentions.in_text(message.text, "GB", platform="whatsapp"):
            found.append((chat.id, message.id, message.participant_id, candidate))
    return participants.note_mentions(session, case, found)


def by_key(session: Session, case: Case) -> dict[str, ChatMention]:
    return {
        m.key: m for m in session.scalars(select(ChatMention).where(ChatMention.case_id == case.id))
    }
