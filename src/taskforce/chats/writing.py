"""Writing an import's batches: the conversations and authors of a batch found in the case or
created, the messages their conversations lack (by digest) told apart from those already
there, then — once tagged — messages, members, attachment records and identifiers written
with SQLAlchemy Core executemany statements (a few per batch whatever its size: no ORM object
and no query per message), counts kept, finished conversations scored, and the batch
handed to the caller's checkpoint (the interface commits there).

State kept across batches is small: counters per conversation and per participant, the
names and hashes of the files the export held, the digests of the last messages
(`batching.Repeats`), and the tagged messages of conversations this import created (for
scoring them without reading them back; at most `FRESH_HELD`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import attachments, batching, mentions, participants, scoring
from taskforce.chats.batching import Repeats, conversation_key, participant_key
from taskforce.chats.kinds import AttachmentFile, Message, Problem
from taskforce.chats.models import (
    ChatAttachment,
    ChatConversation,
    ChatImport,
    ChatMember,
    ChatMessage,
    ChatParticipant,
)
from taskforce.chats.risk import ScoredMessage
from taskforce.chats.schemas import ImportProblem, ImportSummary
from taskforce.core.caller import Caller
from taskforce.core.settings import Settings

PROBLEMS_KEPT = 100  # on the import's record; the count has them all
NAMES_KEPT = 20  # display names of a participant
FRESH_HELD = 100_000  # messages of conversations this import created, held for scoring
_IN_CHUNK = 500  # values per `IN (...)`

# Core tables: a batch is a few executemany statements, no ORM object per row
_CONVERSATIONS = cast(Table, ChatConversation.__table__)
_PARTICIPANTS = cast(Table, ChatParticipant.__table__)
_MEMBERS = cast(Table, ChatMember.__table__)
_MESSAGES = cast(Table, ChatMessage.__table__)
_ATTACHMENTS = cast(Table, ChatAttachment.__table__)


def problem_text(problem: ImportProblem) -> str:
    """`chat.txt:812: time: '31/02/2024, 10:00' is not a date`, for a person to read."""
    where = f"{problem.source}:{problem.line}" if problem.line else problem.source
    return f"{where}: {problem.field}: {problem.rule}"


@dataclass
class _Conversation:
    id: uuid.UUID
    message_count: int
    first_at: datetime | None
    last_at: datetime | None
    scored: bool
    members: dict[uuid.UUID, list[int]]  # participant -> [messages, first seq, stored 0/1]
    dirty: bool = False  # messages added since it was last scored
    # every message of a conversation this import created, as the risk model reads them, so
    # scoring need not read them back (None: not held, read back from the database)
    held: list[ScoredMessage] | None = None
    changed: bool = False  # counts to write
    bound: Any = None  # its id as the database driver takes it (`_Messages`)
    began: bool = False  # this import created it


@dataclass
class _Participant:
    id: uuid.UUID
    names: list[str]
    message_count: int
    first_at: datetime | None
    last_at: datetime | None
    key: str = ""  # its id as the risk model keys authors (as `scoring` reads them back)
    own: list[mentions.Candidate] | None = None  # its own account's identifiers, once known
    bound: Any = None  # its id as the database driver takes it (`_Messages`)

    def __post_init__(self) -> None:
        self.key = str(self.id)


@dataclass
class Prepared:
    """A batch read, its conversations and authors in the database, and its new messages
    (conversation key, digest, message), waiting for their tags."""

    batch: list[Message]
    new: list[tuple[str, str, Message]]
    touched: set[uuid.UUID]
    conversations: list[dict[str, Any]]  # rows of the conversations it begins
    participants: list[dict[str, Any]]  # rows of the authors new to the case


def _chunks(values: Sequence[Any], size: int = _IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _new_ids(count: int) -> list[uuid.UUID]:
    """`count` new message ids laid out as UUID version 7 (RFC 9562: the milliseconds since
    1970, then 74 random bits), sorted: the primary-key index of a table of millions then
    grows at its end, where random (version 4) ids made every batch rewrite pages all over it
    (an import slowed as the table grew). Still unique across nodes (74 random bits a
    millisecond); what an id tells is when it was imported."""
    ms = time.time_ns() // 1_000_000 & (1 << 48) - 1
    raw = os.urandom(10 * count)
    randoms = sorted(int.from_bytes(raw[i : i + 10], "big") >> 6 for i in range(0, 10 * count, 10))
    high = ms << 80 | 7 << 76
    return [uuid.UUID(int=high | (r >> 62) << 64 | 2 << 62 | (r & _LOW62)) for r in randoms]


_LOW62 = (1 << 62) - 1


def _update_by_id(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """One executemany UPDATE of `rows` (each with `_id` and the same other keys)."""
    if not rows:
        return
    keys = [k for k in rows[0] if k != "_id"]
    stmt = update(table).where(table.c.id == bindparam("_id"))
    session.execute(stmt.values({k: bindparam(k) for k in keys}), rows)


class _Messages:
    """A batch's message rows, written in one executemany: the import's largest cost.

    On SQLite (the default database) the rows are plain tuples given to the driver, each value
    converted once by its column type's own converter for the dialect (so they read back as
    any other row does), the tags as the JSON text the tagging worker made; no statement is
    compiled nor a dict made per row. Elsewhere SQLAlchemy Core's insert, which PostgreSQL's
    driver handles well."""

    COLUMNS = (
        "conversation_id", "import_id", "participant_id", "seq", "digest", "line", "sent_at",
        "time_text", "text", "tactics", "score", "tags", "attachment_count", "id",
    )  # fmt: skip  # the table's order (its primary key comes from a mixin, last)

    def __init__(self, session: Session, import_id: uuid.UUID) -> None:
        self.session = session
        dialect = session.get_bind().dialect
        self.raw = dialect.name == "sqlite"

        def convert(name: str) -> Callable[[Any], Any]:
            found = _MESSAGES.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            return found or (lambda value: value)

        self.uuid, self.time = convert("id"), convert("sent_at")
        self.import_id: Any = self.uuid(import_id) if self.raw else import_id
        # the statement as SQLAlchemy writes it for the dialect, its parameters in our order
        compiled = (
            insert(_MESSAGES)
            .values({c: bindparam(c) for c in self.COLUMNS})
            .compile(dialect=dialect)
        )
        if self.raw and list(compiled.positiontup or ()) != list(self.COLUMNS):
            raise RuntimeError(f"chat_message insert: parameters in another order ({compiled})")
        self.sql = str(compiled)
        self.tuples: list[tuple[Any, ...]] = []
        self.dicts: list[dict[str, Any]] = []

    def clear(self) -> None:
        self.tuples, self.dicts = [], []

    def add(
        self,
        message_id: uuid.UUID,
        conversation: _Conversation,
        person: _Participant | None,
        digest: str,
        m: Message,
        verdict: batching.Tagged,
    ) -> None:
        if not self.raw:
            self.dicts.append(
                {
                    "id": message_id,
                    "conversation_id": conversation.id,
                    "import_id": self.import_id,
                    "participant_id": person.id if person else None,
                    "seq": m.ordinal,
                    "digest": digest,
                    "line": m.line,
                    "sent_at": m.sent_at,
                    "time_text": m.time_text[:64],
                    "text": m.text,
                    "tactics": verdict[0],
                    "score": verdict[1],
                    "tags": json.loads(verdict[2]),
                    "attachment_count": len(m.attachments),
                }
            )
            return
        if conversation.bound is None:
            conversation.bound = self.uuid(conversation.id)
        author = None
        if person is not None:
            if person.bound is None:
                person.bound = self.uuid(person.id)
            author = person.bound
        sent_at = m.sent_at
        self.tuples.append(
            (
                conversation.bound,
                self.import_id,
                author,
                m.ordinal,
                digest,
                m.line,
                None if sent_at is None else self.time(sent_at),
                m.time_text[:64],
                m.text,
                verdict[0],
                verdict[1],
                verdict[2],
                len(m.attachments),
                self.uuid(message_id),
            )
        )

    def write(self) -> None:
        if self.tuples:
            self.session.connection().exec_driver_sql(self.sql, self.tuples)
        if self.dicts:
            self.session.execute(insert(_MESSAGES), self.dicts)
        self.clear()


class Writer:
    """One file's import: the caches that span its batches, and the writing of each batch."""

    def __init__(
        self,
        session: Session,
        caller: Caller,
        settings: Settings,
        case: Case,
        record: ChatImport,
        *,
        checkpoint: Callable[[], None] | None,
        now: datetime,
    ) -> None:
        self.session = session
        self.caller = caller
        self.settings = settings
        self.case = case
        self.record = record
        self.checkpoint = checkpoint
        self.now = now
        self.repeats = Repeats()
        self.fresh_held = 0
        self.held = attachments.Held()
        self.conversations: dict[str, _Conversation] = {}
        self.participants: dict[str, _Participant] = {}
        self.summary = ImportSummary(
            import_id=record.id, case_reference=case.reference, file_name=record.file_name
        )
        self.sources: dict[str, None] = {}
        self.formats: set[str] = set()
        self.bytes_read = 0
        self.rows = _Messages(session, record.id)

    # --- events ---------------------------------------------------------------------------

    def problem(self, found: Problem) -> None:
        self.sources.setdefault(found.source)
        self.summary.problems_count += 1
        row = ImportProblem(
            source=found.source, line=found.line, field=found.field, rule=found.rule
        )
        if len(self.summary.problems) < PROBLEMS_KEPT:
            self.summary.problems.append(row)
        if found.stops and self.summary.stopped is None:
            self.summary.stopped = problem_text(row)[:1000]

    def attachment(self, found: AttachmentFile) -> None:
        self.held.add(found)
        self.bytes_read += found.size  # a photo barely compresses: about its share of a zip

    # --- one batch --------------------------------------------------------------------------

    def prepare(self, batch: list[Message]) -> Prepared:
        """The batch's conversations and authors found or created, and the messages their
        conversations lack (by digest): what is to be tagged and stored."""
        keys = [conversation_key(m) for m in batch]
        conversations = self._load_conversations(batch, keys)
        people = self._load_participants(batch)
        digests = [self.repeats.digest(k, m) for k, m in zip(keys, batch, strict=True)]
        present = self._present(keys, digests)
        new = [(k, d, m) for k, d, m in zip(keys, digests, batch, strict=True) if d not in present]
        touched = {self.conversations[k].id for k in keys}
        return Prepared(batch, new, touched, conversations, people)

    def store(self, prepared: Prepared, tagged: list[batching.Tagged]) -> None:
        """Write the batch's new messages with their tags, the counts, the scores of the
        conversations it finished, and the import's record; checkpoint."""
        s = self.summary
        s.messages_read += len(prepared.batch)
        s.messages_present += len(prepared.batch) - len(prepared.new)
        for m in prepared.batch:
            self.sources.setdefault(m.source)
            self.formats.add(m.format)
            self.bytes_read += len(m.text) + len(m.time_text) + 24
        self.held.match(self.session, self.caller, self.settings)
        # created with the batch, never before it: an interrupted import leaves no empty one
        if prepared.conversations:
            self.session.execute(insert(_CONVERSATIONS), prepared.conversations)
        if prepared.participants:
            self.session.execute(insert(_PARTICIPANTS), prepared.participants)
        if prepared.new:
            self._add(prepared.new, tagged)
        self._save_conversations()
        self._rescore(finished_only=prepared.touched)
        self._save_record()

    def _load_conversations(self, batch: list[Message], keys: list[str]) -> list[dict[str, Any]]:
        """The batch's conversations from the case; the rows of those missing, to insert
        when the batch is stored (their ids are made here)."""
        wanted = sorted({k for k in keys if k not in self.conversations})
        for chunk in _chunks(wanted):
            rows = self.session.execute(
                select(
                    ChatConversation.id,
                    ChatConversation.key,
                    ChatConversation.message_count,
                    ChatConversation.first_at,
                    ChatConversation.last_at,
                    ChatConversation.scored_at,
                ).where(ChatConversation.case_id == self.case.id, ChatConversation.key.in_(chunk))
            ).all()
            for r in rows:
                self.conversations[r.key] = _Conversation(
                    r.id, r.message_count, r.first_at, r.last_at, r.scored_at is not None, {}
                )  # held None: its earlier messages are in the database only
            found = {r.id: r.key for r in rows}
            for ids in _chunks(list(found)):
                for member in self.session.execute(
                    select(
                        ChatMember.conversation_id,
                        ChatMember.participant_id,
                        ChatMember.message_count,
                        ChatMember.first_seq,
                    ).where(ChatMember.conversation_id.in_(ids))
                ):
                    conversation = self.conversations[found[member.conversation_id]]
                    conversation.members[member.participant_id] = [
                        member.message_count,
                        member.first_seq,
                        1,
                    ]
        created = []
        first: dict[str, Message] = {}
        for k, m in zip(keys, batch, strict=True):
            if k not in self.conversations:
                first.setdefault(k, m)
        for k, m in first.items():
            conversation = _Conversation(
                uuid.uuid4(), 0, None, None, False, {}, held=[], began=True
            )
            self.conversations[k] = conversation
            created.append(
                {
                    "id": conversation.id,
                    "case_id": self.case.id,
                    "owner_agency_id": self.case.owner_agency_id,
                    "first_import_id": self.record.id,
                    "key": k,
                    "platform": (m.author.platform if m.author else m.format)[:100],
                    "format": m.format[:32],
                    "title": (m.title or m.conversation)[:500],
                    "source": m.source[:500],
                    "created_at": self.now,
                }
            )
        return created

    def _load_participants(self, batch: list[Message]) -> list[dict[str, Any]]:
        authors = {
            participant_key(m.author.platform, m.author.handle): m.author
            for m in batch
            if m.author is not None
        }
        wanted = sorted(k for k in authors if k not in self.participants)
        for chunk in _chunks(wanted):
            for r in self.session.execute(
                select(
                    ChatParticipant.id,
                    ChatParticipant.key,
                    ChatParticipant.names,
                    ChatParticipant.message_count,
                    ChatParticipant.first_at,
                    ChatParticipant.last_at,
                ).where(ChatParticipant.case_id == self.case.id, ChatParticipant.key.in_(chunk))
            ):
                self.participants[r.key] = _Participant(
                    r.id, list(r.names or []), r.message_count, r.first_at, r.last_at
                )
        created = []
        for k in wanted:
            if k in self.participants:
                continue
            author = authors[k]
            person = _Participant(uuid.uuid4(), [], 0, None, None)
            self.participants[k] = person
            created.append(
                {
                    "id": person.id,
                    "case_id": self.case.id,
                    "owner_agency_id": self.case.owner_agency_id,
                    "platform": author.platform[:100],
                    "handle": author.handle[:300],
                    "key": k,
                    "names": [],
                    "message_count": 0,
                }
            )
        return created

    def _present(self, keys: list[str], digests: list[str]) -> set[str]:
        """The batch's digests already stored in their conversations: one indexed query per
        few hundred digests. A digest covers its conversation's key, so the two IN lists
        cannot pair a digest with another conversation's, and the digest alone tells."""
        found: set[str] = set()
        if not self.repeats.forgot:
            # a conversation this import began holds only this file's messages, and while
            # `Repeats` forgot none of them, no two of the file's messages share a digest
            began = self.conversations
            pairs = [(k, d) for k, d in zip(keys, digests, strict=True) if not began[k].began]
            keys, digests = [k for k, _ in pairs], [d for _, d in pairs]
            if not keys:
                return found
        conversations = sorted({self.conversations[k].id for k in keys})
        for chunk in _chunks(sorted(set(digests))):
            found.update(
                r[0]
                for r in self.session.execute(
                    select(ChatMessage.digest).where(
                        ChatMessage.conversation_id.in_(conversations),
                        ChatMessage.digest.in_(chunk),
                    )
                )
            )
        return found

    def _add(self, new: list[tuple[str, str, Message]], tags: list[batching.Tagged]) -> None:
        """The batch's new messages counted on their conversations, authors and members, held
        for scoring, and written (`_Messages`), with their attachments and identifiers."""
        rows = self.rows
        rows.clear()
        files: list[dict[str, Any]] = []
        found: list[participants.Found] = []
        touched_people: set[str] = set()
        held = 0
        conversations, people = self.conversations, self.participants
        import_id = self.record.id
        scored = batching.scored
        region = self.caller.country
        ids = _new_ids(len(new))
        for (key, digest, m), verdict, message_id in zip(new, tags, ids, strict=True):
            conversation = conversations[key]
            person: _Participant | None = None
            sent_at, seq = m.sent_at, m.ordinal
            if m.author is not None:
                pkey = participant_key(m.author.platform, m.author.handle)
                person = people[pkey]
                touched_people.add(pkey)
                person.message_count += 1
                if sent_at is not None:
                    if person.first_at is None or sent_at < person.first_at:
                        person.first_at = sent_at
                    if person.last_at is None or sent_at > person.last_at:
                        person.last_at = sent_at
                name = m.author.name.strip()[:200]
                if name and name not in person.names and len(person.names) < NAMES_KEPT:
                    person.names.append(name)
                member = conversation.members.get(person.id)
                if member is None:
                    conversation.members[person.id] = [1, seq, 0]
                else:
                    member[0] += 1
                    if seq < member[1]:
                        member[1] = seq
                # the author's own account, worked out once per author, noted per message
                own = person.own
                if own is None:
                    own = person.own = mentions.of_author(m.author, region)
                found.extend((conversation.id, message_id, person.id, c) for c in own)
            conversation.message_count += 1
            if sent_at is not None:
                if conversation.first_at is None or sent_at < conversation.first_at:
                    conversation.first_at = sent_at
                if conversation.last_at is None or sent_at > conversation.last_at:
                    conversation.last_at = sent_at
            conversation.dirty = conversation.changed = True
            if conversation.held is not None:
                conversation.held.append(scored(seq, person.key if person else None, verdict))
                held += 1
            if verdict[4]:  # identifiers written in the text, found with its tags
                person_id = person.id if person else None
                found.extend((conversation.id, message_id, person_id, c) for c in verdict[4])
            rows.add(message_id, conversation, person, digest, m, verdict)
            if m.attachments:
                files.extend(
                    self.held.rows(
                        conversation_id=conversation.id,
                        message_id=message_id,
                        import_id=import_id,
                        names=m.attachments,
                    )
                )
                self.summary.attachments_known += self.held.known_count(m.attachments)
        self.fresh_held += held
        rows.write()
        if files:
            self.session.execute(insert(_ATTACHMENTS), files)
        self.summary.messages_added += len(new)
        self.summary.attachments += len(files)
        self._save_people(touched_people)
        self._save_members(new)
        if found:
            participants.note_mentions(self.session, self.case, found)
        self._bound_held()

    def _bound_held(self) -> None:
        """Memory stays bounded: past `FRESH_HELD` messages held, the largest conversations
        are let go (scored from the database, like any conversation an earlier import began)."""
        while self.fresh_held > FRESH_HELD:
            largest = max(
                (c for c in self.conversations.values() if c.held),
                key=lambda c: len(c.held or ()),
            )
            self.fresh_held -= len(largest.held or ())
            largest.held = None

    def _save_people(self, keys: set[str]) -> None:
        _update_by_id(
            self.session,
            _PARTICIPANTS,
            [
                {
                    "_id": p.id,
                    "names": p.names,
                    "message_count": p.message_count,
                    "first_at": p.first_at,
                    "last_at": p.last_at,
                }
                for p in (self.participants[k] for k in sorted(keys))
            ],
        )

    def _save_members(self, new: list[tuple[str, str, Message]]) -> None:
        created, changed = [], []
        for key in sorted({k for k, _, _ in new}):
            conversation = self.conversations[key]
            for person_id, member in conversation.members.items():
                row = {"message_count": member[0], "first_seq": member[1]}
                if member[2]:
                    changed.append({"cid": conversation.id, "pid": person_id, **row})
                else:
                    member[2] = 1
                    created.append(
                        {
                            "id": uuid.uuid4(),
                            "conversation_id": conversation.id,
                            "participant_id": person_id,
                            **row,
                        }
                    )
        if created:
            self.session.execute(insert(_MEMBERS), created)
        if changed:
            table = _MEMBERS
            stmt = (
                update(table)
                .where(
                    table.c.conversation_id == bindparam("cid"),
                    table.c.participant_id == bindparam("pid"),
                )
                .values(message_count=bindparam("message_count"), first_seq=bindparam("first_seq"))
            )
            self.session.execute(stmt, changed)

    def _save_conversations(self) -> None:
        changed = [c for c in self.conversations.values() if c.changed]
        _update_by_id(
            self.session,
            _CONVERSATIONS,
            [
                {
                    "_id": c.id,
                    "message_count": c.message_count,
                    "participant_count": len(c.members),
                    "first_at": c.first_at,
                    "last_at": c.last_at,
                }
                for c in changed
            ],
        )
        for c in changed:
            c.changed = False

    def _save_record(self) -> None:
        """The import's record as it stands, and the batch handed to the checkpoint."""
        s = self.summary
        r = self.record
        r.messages_read, r.messages_added = s.messages_read, s.messages_added
        r.messages_present, r.problems_count = s.messages_present, s.problems_count
        r.problems = [p.model_dump() for p in s.problems]
        r.conversations = len(self.conversations)
        r.attachments, r.attachments_known = s.attachments, s.attachments_known
        r.format = ", ".join(sorted(self.formats))[:100]
        if self.checkpoint is not None:
            self.checkpoint()

    def _rescore(self, *, finished_only: set[uuid.UUID] | None) -> None:
        """Score the conversations that gained messages. While the file is read, only those
        the batch no longer touched (a conversation that goes on is scored once, when it is
        done, not after every batch); at the end every one, and any never scored."""
        if finished_only is None:
            wanted = [c for c in self.conversations.values() if c.dirty or not c.scored]
        else:
            wanted = [
                c for c in self.conversations.values() if c.dirty and c.id not in finished_only
            ]
        if not wanted:
            return
        ids = [c.id for c in wanted]
        known = {c.id: c.held for c in wanted if c.held is not None}
        scoring.rescore(
            self.session,
            ids,
            threshold=self.settings.chats_review_threshold,
            now=self.now,
            known=known,
        )
        for c in wanted:
            c.dirty, c.scored = False, True
            if finished_only is not None and c.held is not None:
                # done with, as far as the file has shown: should it go on later (a CSV that
                # interleaves conversations), it is scored from the database
                self.fresh_held -= len(c.held)
                c.held = None

    # --- the end ----------------------------------------------------------------------------

    def finish(self) -> ImportSummary:
        self.held.match(self.session, self.caller, self.settings)
        self._rescore(finished_only=None)
        s = self.summary
        s.files = list(self.sources)[:1000]
        s.formats = ", ".join(sorted(self.formats))
        s.conversations = len(self.conversations)
        s.participants = len({pid for c in self.conversations.values() for pid in c.members})
        s.selectors_added = attachments.feed_case(
            self.session, self.caller, self.settings, self.case.id, self.held, s.file_name
        )
        ids = [c.id for c in self.conversations.values()]
        for chunk in _chunks(ids):
            s.flagged += (
                self.session.scalar(
                    select(func.count()).where(
                        ChatConversation.id.in_(chunk),
                        ChatConversation.risk >= self.settings.chats_review_threshold,
                    )
                )
                or 0
            )
        return s
