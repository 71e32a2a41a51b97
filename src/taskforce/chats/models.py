"""Chat logs as evidence of a case: each import of an export, the conversations it held, their
participants (merged by handle across the case), every message with the tactics the tagger
found in it, the attachments the export named (names and hashes only, never their bytes), the
identifiers found in the text that may become selectors, and the reviewers' decisions.

Everything belongs to the agency that owns the case (`owner_agency_id`) and to no one else,
whatever the case's sharing level: chat text is the most sensitive thing the hub holds. What
crosses agencies goes through the selectors an investigator confirms (deconfliction).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime, UUIDPk, utcnow


class ChatImport(Base, UUIDPk):
    """One file imported into a case (a zip is one import, its members named in `problems`
    and counts): what was read, added, already there and rejected, and why it stopped."""

    __tablename__ = "chat_import"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    imported_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    file_name: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    # the format of the file, or of its members for a zip ("whatsapp", "telegram, csv", ...)
    format: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # for times without offset
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | stopped
    messages_read: Mapped[int] = mapped_column(Integer, default=0)
    messages_added: Mapped[int] = mapped_column(Integer, default=0)
    messages_present: Mapped[int] = mapped_column(Integer, default=0)  # already imported
    problems_count: Mapped[int] = mapped_column(Integer, default=0)
    # the first problems: [{"source": file or member, "line": n, "field": ..., "rule": ...}]
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    conversations: Mapped[int] = mapped_column(Integer, default=0)  # touched by this import
    attachments: Mapped[int] = mapped_column(Integer, default=0)
    attachments_known: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str] = mapped_column(String(1000), default="")  # why it stopped, if it did


class ChatConversation(Base, UUIDPk):
    """One conversation (a chat, a thread, a PAN-12 conversation), scored as a whole: its risk
    (calibrated, 0–1), the message at which that risk first reached the review threshold, the
    tactics it shows, and the latest review decision."""

    __tablename__ = "chat_conversation"
    __table_args__ = (UniqueConstraint("case_id", "key", name="uq_chat_conversation_case_key"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    first_import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_import.id"))
    # stable within the case: format + the export's own id, or its file name when it has none
    key: Mapped[str] = mapped_column(String(600))
    platform: Mapped[str] = mapped_column(String(100), default="")
    format: Mapped[str] = mapped_column(String(32), default="")
    title: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(500), default="")  # the file (and zip member)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    # the tagger's view, recomputed whenever messages are added (None: not scored yet)
    risk: Mapped[float | None] = mapped_column(Float, index=True)
    flagged_seq: Mapped[int | None] = mapped_column(Integer)  # first message at the threshold
    tactic_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    model_version: Mapped[str] = mapped_column(String(64), default="")
    # the latest review (history in chat_review): unreviewed | concern | no_concern | unclear
    decision: Mapped[str] = mapped_column(String(16), default="unreviewed", index=True)
    reviewed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def is_flagged(self, threshold: float) -> bool:
        """Whether the tagger ranks it for review (risk at or over `threshold`, the
        `chats_review_threshold`): the one meaning of 'flagged' for the queue, the page, a
        decision's note rule and the summaries (an unscored conversation is not flagged)."""
        return self.risk is not None and self.risk >= threshold


class ChatParticipant(Base, UUIDPk):
    """Someone who wrote in the case's chats, merged by handle: one row per platform and
    normalised handle (a WhatsApp phone number, a Telegram user id, a PAN-12 author hash)."""

    __tablename__ = "chat_participant"
    __table_args__ = (UniqueConstraint("case_id", "key", name="uq_chat_participant_case_key"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    platform: Mapped[str] = mapped_column(String(100), default="")
    handle: Mapped[str] = mapped_column(String(300))  # as the export gives it
    key: Mapped[str] = mapped_column(String(420))  # platform:handle, lower-cased
    names: Mapped[list[str]] = mapped_column(JSON, default=list)  # display names seen (≤ 20)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    first_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChatMember(Base, UUIDPk):
    """A participant in one conversation, with how much they wrote there."""

    __tablename__ = "chat_member"
    __table_args__ = (UniqueConstraint("conversation_id", "participant_id", name="uq_chat_member"),)

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_conversation.id"), index=True
    )
    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_participant.id"), index=True)
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    first_seq: Mapped[int] = mapped_column(Integer, default=0)


class ChatMessage(Base, UUIDPk):
    """One message. `seq` is its place in the conversation as the export orders it; `digest`
    makes a re-import add only what is missing. `tactics` is a bit set of `tactics.Tactic`;
    `tags` holds each tactic's probability and the lexicon rules that fired, with where."""

    __tablename__ = "chat_message"
    __table_args__ = (
        UniqueConstraint("conversation_id", "digest", name="uq_chat_message_digest"),
        Index("ix_chat_message_conversation_seq", "conversation_id", "seq"),
    )

    conversation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("chat_conversation.id"))
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_import.id"), index=True)
    participant_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("chat_participant.id"), index=True
    )  # None: a system line ("Messages are end-to-end encrypted")
    seq: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(32))
    line: Mapped[int] = mapped_column(Integer, default=0)  # in its source file
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: the export has none
    time_text: Mapped[str] = mapped_column(String(64), default="")  # as the export wrote it
    text: Mapped[str] = mapped_column(Text, default="")
    tactics: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)  # the highest tactic probability
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachment_count: Mapped[int] = mapped_column(Integer, default=0)


class ChatAttachment(Base, UUIDPk):
    """A file a message carried: its name as the export gives it and, when the export held the
    file, its hashes and whether known media matched them. The bytes are never kept."""

    __tablename__ = "chat_attachment"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_conversation.id"), index=True
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_message.id"), index=True)
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_import.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    present: Mapped[bool] = mapped_column(Boolean, default=False)  # the export held the file
    size: Mapped[int | None] = mapped_column(BigInteger)
    media_type: Mapped[str | None] = mapped_column(String(100))
    md5: Mapped[str | None] = mapped_column(String(32), index=True)
    sha1: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    pdq: Mapped[str | None] = mapped_column(String(64))
    # known media: [{"hash_set": ..., "agency": ..., "match_type": ..., "distance": n,
    # "category": ...}]; empty: matched nothing (or no hashes)
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    known: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    error: Mapped[str] = mapped_column(String(300), default="")  # why it could not be hashed


class ChatMention(Base, UUIDPk):
    """An identifier the case's chats hold (a participant's handle or phone number, or a
    handle, number, e-mail, URL or wallet written in a message), normalised by the selectors'
    own rules. An investigator confirms it (it becomes a selector of the case and
    deconflicts) or dismisses it; nothing becomes a selector by itself."""

    __tablename__ = "chat_mention"
    __table_args__ = (
        UniqueConstraint("case_id", "kind", "key", name="uq_chat_mention_case_kind_key"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_file.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a cases.selectors.SelectorKind value
    value: Mapped[str] = mapped_column(String(2048))  # canonical, as a selector would be
    platform: Mapped[str | None] = mapped_column(String(100))  # usernames only
    key: Mapped[str] = mapped_column(String(2200))  # the selector's match key
    origin: Mapped[str] = mapped_column(String(16), default="text")  # author | text
    participant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_participant.id"))
    # where it was first seen, and how often
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_conversation.id"))
    message_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("chat_message.id"))
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    selector_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("selector.id"))
    decided_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChatReview(Base, UUIDPk):
    """One reviewer's decision on a conversation, kept in order: the queue shows the latest,
    the conversation page every one, with the risk and model the reviewer saw."""

    __tablename__ = "chat_review"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_conversation.id"), index=True
    )
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agency.id"), index=True)
    reviewer_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("user_account.id"))
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    decision: Mapped[str] = mapped_column(String(16))  # concern | no_concern | unclear
    note: Mapped[str] = mapped_column(Text, default="")
    risk: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(64), default="")
