"""What the chat pages, API and console read and send: one shape for the three interfaces,
built by the workflows (`views`, `review`, `importing`, `participants`). Each part of the domain
keeps its shapes in its own section below; requests are checked again by the workflow (the
field named in a refusal)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from taskforce.chats.tactics import TACTICS, Tactic

# --- conversations, messages and the review queue (views.py, review.py) ------------------------

NOTE_MAX = 4000  # characters of a reviewer's note
TACTIC_NAMES = frozenset(t.value for t in Tactic)


class TacticCount(BaseModel):
    """A tactic a conversation shows, and in how many of its messages."""

    tactic: str
    label: str
    stage: str
    count: int

    @classmethod
    def of(cls, counts: dict[str, int]) -> list[TacticCount]:
        """A conversation's `tactic_counts`, most frequent first (unknown names skipped: a
        tactic retired from the lexicon)."""
        found = [
            cls(tactic=info.tactic.value, label=info.label, stage=info.stage.value, count=n)
            for name, n in counts.items()
            if n and name in TACTIC_NAMES and (info := TACTICS[Tactic(name)])
        ]
        return sorted(found, key=lambda t: (-t.count, TACTICS[Tactic(t.tactic)].bit))


class QueueItem(BaseModel):
    """A conversation as the queue lists it: enough to choose what to read next."""

    id: uuid.UUID
    case_id: uuid.UUID
    case_reference: str
    title: str
    platform: str
    format: str
    message_count: int
    participant_count: int
    first_at: datetime | None
    last_at: datetime | None
    risk: float | None = Field(description="calibrated 0–1; None: not scored yet")
    flagged: bool = Field(description="risk at or over the agency's review threshold")
    flagged_seq: int | None = Field(description="the message at which the risk reached it")
    tactics: list[TacticCount]
    decision: str = Field(description="unreviewed | concern | no_concern | unclear")
    decision_label: str
    reviewed_at: datetime | None
    reviewer: str | None


class QueuePage(BaseModel):
    """One page of the queue, riskiest first (flagged ones first, unscored last). `next` is
    the cursor of the following page (None: this is the last)."""

    items: list[QueueItem]
    next: str | None
    decision: str | None = Field(description="the decision shown; None: every one")
    case_id: uuid.UUID | None
    threshold: float
    counts: dict[str, int] = Field(description="conversations by decision, in this scope")


class ReviewCreate(BaseModel):
    """A reviewer's decision on a conversation. The note says what the reviewer saw: it is
    required for a concern, for unclear, and for 'no concern' on a flagged conversation."""

    decision: str = Field(max_length=16, description="concern | no_concern | unclear")
    note: str = Field(default="", max_length=NOTE_MAX)


class ReviewRead(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    at: datetime
    decision: str
    decision_label: str
    note: str
    reviewer: str
    risk: float | None = Field(description="the risk the reviewer saw")
    model_version: str


class ContributionRead(BaseModel):
    """One reason of the conversation's risk (the risk model's feature and its weight)."""

    feature: str
    value: float
    weight: float
    contribution: float


class MemberRead(BaseModel):
    """A participant of the conversation, and whether their identifiers became selectors."""

    participant_id: uuid.UUID
    platform: str
    handle: str
    names: list[str]
    message_count: int
    first_seq: int
    mentions: dict[str, int] = Field(description="their identifiers by status")


class TacticTag(BaseModel):
    tactic: str
    label: str
    stage: str
    probability: float | None
    shown: bool = Field(description="the tagger shows it (a rule fired or over its threshold)")


class RuleSpan(BaseModel):
    """A lexicon rule that fired, and where in the text (character offsets)."""

    tactic: str
    rule: str
    start: int
    end: int


class Segment(BaseModel):
    """A run of a message's text; `tactic` is set where a rule marked it."""

    text: str
    tactic: str | None = None
    rule: str | None = None


class AttachmentRead(BaseModel):
    """A file a message carried: its name and hashes, never its bytes."""

    id: uuid.UUID
    message_id: uuid.UUID | None
    name: str
    present: bool
    size: int | None
    media_type: str | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    pdq: str | None
    known: bool
    matches: list[dict[str, Any]]
    error: str


class MessageRead(BaseModel):
    id: uuid.UUID
    seq: int
    line: int
    sent_at: datetime | None
    time_text: str
    participant_id: uuid.UUID | None
    author: str = Field(description="handle, or name and handle; empty for a system line")
    text: str
    tactics: list[TacticTag]
    rules: list[RuleSpan]
    segments: list[Segment] = Field(description="the text cut where rules fired")
    score: float
    flagged_here: bool = Field(description="the risk reached the threshold at this message")
    attachments: list[AttachmentRead]


class MessagePage(BaseModel):
    """Messages in sequence order from `start`; `total` in the conversation."""

    items: list[MessageRead]
    start: int
    limit: int
    total: int


class TimelineEntry(BaseModel):
    """A message where a tactic shows, in the order of the conversation."""

    seq: int
    message_id: uuid.UUID
    tactic: str
    label: str
    probability: float | None


class StageRead(BaseModel):
    """One stage of the grooming models with the tactics seen in it (never assumed in order)."""

    stage: str
    label: str
    entries: list[TimelineEntry]


class ConversationRead(QueueItem):
    """A conversation's header: its queue row, and what the page says of its source, the
    model that scored it and the risk's reasons."""

    case_title: str
    key: str
    source: str
    threshold: float
    scored_at: datetime | None
    model_version: str
    contributions: list[ContributionRead]
    reasons_missing: str = Field(default="", description="why the reasons are not given")


class ConversationView(BaseModel):
    """What the conversation page and `GET .../conversations/{id}` show: the header, the
    members, the tactic timeline by stage, one page of messages, the attachments and every
    review. The risk is a lead for a reviewer, never evidence by itself."""

    conversation: ConversationRead
    members: list[MemberRead]
    stages: list[StageRead]
    messages: MessagePage
    attachments: list[AttachmentRead]
    reviews: list[ReviewRead]


class RuleWhy(BaseModel):
    """A lexicon rule that fired, with the words it matched and the lexicon's reason."""

    rule: str
    language: str
    why: str
    words: str
    start: int
    end: int


class FeatureWeight(BaseModel):
    """An n-gram of the text and its part in the tactic's score (TF-IDF value × weight)."""

    feature: str
    value: float
    weight: float
    contribution: float


class TacticWhy(BaseModel):
    tactic: str
    label: str
    stage: str
    probability: float
    threshold: float
    shown: bool
    rules: list[RuleWhy]
    features: list[FeatureWeight]


class ExplanationRead(BaseModel):
    """Why the tagger scored a message as it did: per tactic, its probability against its
    threshold, the rules that fired and the n-grams that weighed most. `same_model` is false
    when the message was tagged by another model version than the one explaining it now."""

    message_id: uuid.UUID
    seq: int
    model_version: str
    same_model: bool
    tactics: list[TacticWhy]


class ImportBrief(BaseModel):
    id: uuid.UUID
    file_name: str
    format: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    actor_label: str
    messages_read: int
    messages_added: int
    messages_present: int
    problems_count: int
    conversations: int
    attachments: int
    attachments_known: int
    detail: str


class CaseChats(BaseModel):
    """A case's conversations (riskiest first) and the imports that brought them."""

    case_id: uuid.UUID
    case_reference: str
    case_title: str
    case_open: bool
    threshold: float
    conversations: list[QueueItem]
    imports: list[ImportBrief]


# --- participants and identifiers (participants.py) --------------------------------------------

MENTION_NOTE_MAX = 500  # characters of the note kept on the selectors a confirmation adds


class MentionRow(BaseModel):
    """A mention as the investigator sees it: the value, where it was first seen, how often,
    and what became of it (its selector once confirmed)."""

    id: uuid.UUID
    kind: str
    value: str
    platform: str | None
    origin: str  # author | text
    occurrences: int
    status: str
    selector_id: uuid.UUID | None
    participant_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    conversation_title: str
    message_seq: int | None
    decided_at: datetime | None


class ConversationRef(BaseModel):
    id: uuid.UUID
    title: str
    messages: int  # the participant's messages in it


class ParticipantRow(BaseModel):
    """Someone who wrote in the case's chats, with where, and their own account's mention
    (None: the author's handle is no account, e.g. a WhatsApp contact name)."""

    id: uuid.UUID
    platform: str
    handle: str
    names: list[str]
    message_count: int
    first_at: datetime | None
    last_at: datetime | None
    conversations: list[ConversationRef] = Field(default_factory=list)
    mention: MentionRow | None = None


class Participants(BaseModel):
    case_id: uuid.UUID
    case_reference: str
    participants: list[ParticipantRow]
    total: int


class Mentions(BaseModel):
    case_id: uuid.UUID
    case_reference: str
    status: str | None
    mentions: list[MentionRow]
    total: int
    counts: dict[str, int]  # per status, whatever the filter


class ConfirmResult(BaseModel):
    case_id: uuid.UUID
    case_reference: str
    confirmed: int  # mentions now confirmed
    added: int  # selectors new to the case
    already_there: int  # the case held the value already (now linked to the mention)
    hits: int  # new hits against other cases


class MentionsDecide(BaseModel):
    """Identifiers of the case's chats to confirm as selectors of the case (or to dismiss);
    `note` is kept as the selectors' note ("Sam, the club's coach")."""

    mention_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=MENTION_NOTE_MAX)


class MentionsDecided(BaseModel):
    case_id: uuid.UUID
    changed: int  # mentions whose status changed


# --- importing exports (importing.py) ------------------------------------------------------------


class ImportProblem(BaseModel):
    """A line, item or member of an export that could not be read, and why."""

    source: str = Field(description="the file, and the zip member: 'export.zip!chat.txt'")
    line: int = Field(description="1-based line or item; 0: the source as a whole")
    field: str
    rule: str


class ImportSummary(BaseModel):
    """What one import did: read, added, already there, and the first problems with their
    file, line and reason. `stopped` says why the import, or one source of it, ended early."""

    import_id: uuid.UUID
    case_reference: str
    file_name: str
    files: list[str] = Field(default_factory=list, description="sources read (a zip's members)")
    formats: str = ""
    messages_read: int = 0
    messages_added: int = 0
    messages_present: int = Field(default=0, description="already imported before")
    conversations: int = 0
    participants: int = 0
    attachments: int = 0
    attachments_known: int = Field(default=0, description="matched known media")
    selectors_added: int = Field(default=0, description="new media as MD5/PDQ case selectors")
    problems_count: int = 0
    problems: list[ImportProblem] = Field(default_factory=list, description="the first 100")
    flagged: int = Field(default=0, description="its conversations at or over the threshold")
    stopped: str | None = None


class ImportRead(ImportBrief):
    """An import's record: the file (name, size, SHA-256), the zone read in, the counts and
    the first problems."""

    case_id: uuid.UUID
    file_sha256: str
    file_bytes: int
    timezone: str
    problems: list[ImportProblem]
