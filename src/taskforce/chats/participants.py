"""The people and identifiers of a case's chats, and the investigator's choice of which become
selectors of the case.

The import notes every identifier it finds (`note_mentions`: the authors' own accounts and what
the messages say, `chats.mentions`), once per case, kind and match key, counting where it was
seen. Nothing becomes a selector by itself: an investigator confirms a mention (it is added to
the case through `cases.additions`, the one deconfliction path, so a hit fires as for any
selector and the noise list is honoured) or dismisses it. A re-import counts a dismissed
mention again but never proposes it again; only an investigator puts it back (`reopen`).
Every read and decision is audited; another agency's mention id is the audited 'not found'.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy import case as when
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from taskforce.cases import additions
from taskforce.cases.deconfliction import NewSelector
from taskforce.cases.models import Case, Selector, SelectorValue
from taskforce.cases.selectors import NormalisedSelector, SelectorKind, normalise
from taskforce.chats import service
from taskforce.chats.mentions import Candidate
from taskforce.chats.models import (
    ChatConversation,
    ChatMember,
    ChatMention,
    ChatMessage,
    ChatParticipant,
)
from taskforce.chats.schemas import (
    MENTION_NOTE_MAX,
    ConfirmResult,
    ConversationRef,
    MentionRow,
    Mentions,
    ParticipantRow,
    Participants,
)
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import is_postgres, utcnow
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.settings import Settings

STATUSES = ("proposed", "confirmed", "dismissed")
NOTE_MAX = MENTION_NOTE_MAX
LISTED = 2_000  # mentions or participants on one list; the rest counted, not shown
_MENTIONS = cast(Table, ChatMention.__table__)
_KEY_CHUNK = 400  # keys per IN (...) when reading which mentions exist

# (conversation, message, participant or None, candidate), as the import finds them
Found = tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, Candidate]


def note_mentions(session: Session, case: Case, found: Sequence[Found]) -> int:
    """Store what an import batch found: one mention per case, kind and key, its occurrences
    counted and where it was first seen kept. Idempotent for the same batch only in the sense
    the import is (it calls this for messages it added). Returns how many mentions are new.

    One upsert (`ON CONFLICT` on the mention's key, rows in key order so concurrent imports
    wait instead of deadlocking); a mention first seen in a message and later as an author
    gains the author's participant. The status is never touched: a dismissed mention stays
    dismissed."""
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for conversation_id, message_id, participant_id, candidate in found:
        pair = (candidate.kind.value, candidate.key)
        row = grouped.get(pair)
        if row is None:
            grouped[pair] = {
                "id": uuid.uuid4(),
                "case_id": case.id,
                "owner_agency_id": case.owner_agency_id,
                "kind": candidate.kind.value,
                "value": candidate.value,
                "platform": candidate.platform,
                "key": candidate.key,
                "origin": candidate.origin,
                "participant_id": participant_id if candidate.origin == "author" else None,
                "conversation_id": conversation_id,
                "message_id": message_id,
                "occurrences": 1,
                "status": "proposed",
            }
            continue
        row["occurrences"] += 1
        if candidate.origin == "author" and row["participant_id"] is None:
            row["origin"], row["participant_id"] = "author", participant_id
    if not grouped:
        return 0
    existing = _existing(session, case.id, list(grouped))
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    statement = dialect_insert(_MENTIONS)
    new = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[_MENTIONS.c.case_id, _MENTIONS.c.kind, _MENTIONS.c.key],
            set_={
                "occurrences": _MENTIONS.c.occurrences + new.occurrences,
                "participant_id": func.coalesce(_MENTIONS.c.participant_id, new.participant_id),
                "origin": when((new.origin == "author", "author"), else_=_MENTIONS.c.origin),
            },
        ),
        [grouped[pair] for pair in sorted(grouped)],
    )
    return len(grouped) - len(existing)


def _existing(
    session: Session, case_id: uuid.UUID, pairs: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    keys = sorted({key for _kind, key in pairs})
    wanted = set(pairs)
    found: set[tuple[str, str]] = set()
    for start in range(0, len(keys), _KEY_CHUNK):
        found.update(
            (kind, key)
            for kind, key in session.execute(
                select(ChatMention.kind, ChatMention.key).where(
                    ChatMention.case_id == case_id,
                    ChatMention.key.in_(keys[start : start + _KEY_CHUNK]),
                )
            )
            if (kind, key) in wanted
        )
    return found


# --- reading ----------------------------------------------------------------------------------


def _mention_rows(session: Session, where: Sequence[Any], limit: int) -> list[MentionRow]:
    rows = session.execute(
        select(ChatMention, ChatConversation.title, ChatMessage.seq)
        .outerjoin(ChatConversation, ChatConversation.id == ChatMention.conversation_id)
        .outerjoin(ChatMessage, ChatMessage.id == ChatMention.message_id)
        .where(*where)
        .order_by(
            when((ChatMention.status == "proposed", 0), else_=1),
            when((ChatMention.origin == "author", 0), else_=1),
            ChatMention.occurrences.desc(),
            ChatMention.kind,
            ChatMention.key,
        )
        .limit(limit)
    ).all()
    return [_mention_row(m, title, seq) for m, title, seq in rows]


def _mention_row(m: ChatMention, title: str | None, seq: int | None) -> MentionRow:
    return MentionRow(
        id=m.id,
        kind=m.kind,
        value=m.value,
        platform=m.platform,
        origin=m.origin,
        occurrences=m.occurrences,
        status=m.status,
        selector_id=m.selector_id,
        participant_id=m.participant_id,
        conversation_id=m.conversation_id,
        conversation_title=title or "",
        message_seq=seq,
        decided_at=m.decided_at,
    )


def _audit_read(session: Session, caller: Caller, case_row: Case, action: str, n: int) -> None:
    audit.record(
        session,
        caller,
        action=action,
        operation=Operation.CONSULTATION,
        subject_type="case",
        subject_id=case_row.id,
        subject_agency_id=case_row.owner_agency_id,
        detail={"shown": n},
    )


def list_participants(session: Session, caller: Caller, case_id: uuid.UUID) -> Participants:
    """Everyone who wrote in the case's chats, most messages first, with their conversations
    and their own account's mention. Audited `chats.participants.read`."""
    case_row = service.own_case(session, caller, case_id)
    where = [ChatParticipant.case_id == case_row.id]
    total = session.scalar(select(func.count()).select_from(ChatParticipant).where(*where)) or 0
    people = list(
        session.scalars(
            select(ChatParticipant)
            .where(*where)
            .order_by(ChatParticipant.message_count.desc(), ChatParticipant.key)
            .limit(LISTED)
        )
    )
    ids = [p.id for p in people]
    conversations: dict[uuid.UUID, list[ConversationRef]] = {}
    mentions: dict[uuid.UUID, MentionRow] = {}
    if ids:
        for participant_id, conversation_id, title, count in session.execute(
            select(
                ChatMember.participant_id,
                ChatConversation.id,
                ChatConversation.title,
                ChatMember.message_count,
            )
            .join(ChatConversation, ChatConversation.id == ChatMember.conversation_id)
            .where(ChatMember.participant_id.in_(ids))
            .order_by(ChatConversation.title, ChatConversation.id)
        ):
            conversations.setdefault(participant_id, []).append(
                ConversationRef(id=conversation_id, title=title, messages=count)
            )
        for row in _mention_rows(
            session,
            [ChatMention.case_id == case_row.id, ChatMention.participant_id.in_(ids)],
            LISTED,
        ):
            if row.participant_id is not None:
                mentions.setdefault(row.participant_id, row)
    rows = [
        ParticipantRow(
            id=p.id,
            platform=p.platform,
            handle=p.handle,
            names=list(p.names or []),
            message_count=max(
                p.message_count, sum(c.messages for c in conversations.get(p.id, []))
            ),
            first_at=p.first_at,
            last_at=p.last_at,
            conversations=conversations.get(p.id, []),
            mention=mentions.get(p.id),
        )
        for p in people
    ]
    _audit_read(session, caller, case_row, "chats.participants.read", len(rows))
    return Participants(
        case_id=case_row.id, case_reference=case_row.reference, participants=rows, total=total
    )


def list_mentions(
    session: Session, caller: Caller, case_id: uuid.UUID, *, status: str | None = None
) -> Mentions:
    """The identifiers found in the case's chats (proposed first, authors' accounts first, the
    most often seen first). `status`: proposed | confirmed | dismissed, or None for all.
    Audited `chats.mentions.read`."""
    if status is not None and status not in STATUSES:
        raise Invalid("status", f"must be one of {', '.join(STATUSES)}")
    case_row = service.own_case(session, caller, case_id)
    counts = dict.fromkeys(STATUSES, 0)
    for name, n in session.execute(
        select(ChatMention.status, func.count())
        .where(ChatMention.case_id == case_row.id)
        .group_by(ChatMention.status)
    ):
        counts[name] = n
    where = [ChatMention.case_id == case_row.id]
    if status is not None:
        where.append(ChatMention.status == status)
    rows = _mention_rows(session, where, LISTED)
    total = counts[status] if status is not None else sum(counts.values())
    _audit_read(session, caller, case_row, "chats.mentions.read", len(rows))
    return Mentions(
        case_id=case_row.id,
        case_reference=case_row.reference,
        status=status,
        mentions=rows,
        total=total,
        counts=counts,
    )


def find_mentions(
    session: Session, caller: Caller, case_id: uuid.UUID, raw: str
) -> list[uuid.UUID]:
    """The case's mentions a typed value names: the value as shown (`+442079460958`,
    `lily.rose`), its key (`snapchat:lily.rose`), or what the selectors' rules make of it
    (`020 7946 0958` read in the agency's country). For the command line's `confirm VALUE`."""
    case_row = service.own_case(session, caller, case_id)
    text = raw.strip()
    wanted = {text.lower(), text.lower().removeprefix("@")}
    for kind in (SelectorKind.PHONE, SelectorKind.EMAIL, SelectorKind.URL):
        try:
            wanted.add(normalise(kind, text, default_region=caller.country).key)
        except Invalid:
            continue
    wanted.discard("")
    return list(
        session.scalars(
            select(ChatMention.id).where(
                ChatMention.case_id == case_row.id,
                or_(ChatMention.key.in_(wanted), ChatMention.value.in_(wanted)),
            )
        )
    )


# --- deciding ---------------------------------------------------------------------------------


def _chosen(
    session: Session, caller: Caller, mention_ids: Sequence[uuid.UUID], case_id: uuid.UUID | None
) -> tuple[Case, list[ChatMention]]:
    """The mentions, all of one case of the caller's agency (that of `case_id` if given);
    another agency's id, or one of another case than asked, is the audited 'not found'."""
    if not mention_ids:
        raise Invalid("mentions", "choose at least one identifier")
    chosen: list[ChatMention] = []
    for mention_id in dict.fromkeys(mention_ids):
        where = [ChatMention.case_id == case_id] if case_id is not None else []
        chosen.append(
            service.own_row(session, caller, ChatMention, mention_id, noun="mention", where=where)
        )
    cases = {m.case_id for m in chosen}
    if len(cases) > 1:
        raise Invalid("mentions", "must all be of one case")
    return service.case_for_import(session, caller, cases.pop()), chosen


def confirm(
    session: Session,
    caller: Caller,
    settings: Settings,
    mention_ids: Sequence[uuid.UUID],
    *,
    note: str = "",
    case_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> ConfirmResult:
    """Make the mentions selectors of their case (a dismissed one too: that is the
    investigator's call), deconflicted at once; audited `chats.mention.confirm`."""
    caller.require(Permission.ADD_SELECTOR)
    if len(note) > NOTE_MAX:
        raise Invalid("note", f"at most {NOTE_MAX} characters")
    case_row, chosen = _chosen(session, caller, mention_ids, case_id)
    now = now or utcnow()
    wanted = [m for m in chosen if m.status != "confirmed"]
    if not wanted:
        raise Conflict("every chosen identifier is a selector of the case already")
    label = note.strip() or "found in the case's chats"
    items = [
        NewSelector(
            NormalisedSelector(SelectorKind(m.kind), m.value, m.platform, m.key),
            raw=m.value,
            note=label,
        )
        for m in wanted
    ]
    report = additions.add_computed_selectors(
        session, caller, settings, case_id=case_row.id, selectors=items
    )
    selectors = _selectors_of(session, case_row.id, wanted)
    for mention in wanted:
        mention.status = "confirmed"
        mention.selector_id = selectors.get((mention.kind, mention.key))
        mention.decided_by_user_id = caller.user_id
        mention.decided_at = now
    audit.record(
        session,
        caller,
        action="chats.mention.confirm",
        operation=Operation.COLLECTION,
        subject_type="case",
        subject_id=case_row.id,
        subject_agency_id=case_row.owner_agency_id,
        detail={
            "mentions": [str(m.id) for m in wanted],
            "added": report.accepted,
            "already_there": report.duplicates,
            "hits": report.hits,
        },
    )
    session.flush()
    return ConfirmResult(
        case_id=case_row.id,
        case_reference=case_row.reference,
        confirmed=len(wanted),
        added=report.accepted,
        already_there=report.duplicates,
        hits=report.hits,
    )


def _selectors_of(
    session: Session, case_id: uuid.UUID, mentions: Sequence[ChatMention]
) -> dict[tuple[str, str], uuid.UUID]:
    """The case's selector for each mention's (kind, key): matched on the key deconfliction
    stored (`SelectorValue`), so a mention and its selector are the same identifier by the
    one rule of `cases.selectors.normalise`."""
    wanted = {(m.kind, m.key) for m in mentions}
    found: dict[tuple[str, str], uuid.UUID] = {}
    for selector_id, kind, key in session.execute(
        select(Selector.id, SelectorValue.kind, SelectorValue.key)
        .join(SelectorValue, SelectorValue.id == Selector.value_id)
        .where(Selector.case_id == case_id, SelectorValue.key.in_({m.key for m in mentions}))
    ):
        if (kind, key) in wanted:
            found[(kind, key)] = selector_id
    return found


def dismiss(
    session: Session,
    caller: Caller,
    mention_ids: Sequence[uuid.UUID],
    *,
    note: str = "",
    case_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> int:
    """Mark the mentions as not worth a selector (a re-import will not propose them again);
    audited `chats.mention.dismiss`. A confirmed one is a selector: remove it from the case."""
    if len(note) > NOTE_MAX:
        raise Invalid("note", f"at most {NOTE_MAX} characters")
    return _decide(session, caller, mention_ids, "dismissed", note, case_id, now)


def reopen(
    session: Session,
    caller: Caller,
    mention_ids: Sequence[uuid.UUID],
    *,
    case_id: uuid.UUID | None = None,
    now: datetime | None = None,
) -> int:
    """Propose dismissed mentions again (an investigator's change of mind); audited."""
    return _decide(session, caller, mention_ids, "proposed", "", case_id, now)


def _decide(
    session: Session,
    caller: Caller,
    mention_ids: Sequence[uuid.UUID],
    status: str,
    note: str,
    case_id: uuid.UUID | None,
    now: datetime | None,
) -> int:
    case_row, chosen = _chosen(session, caller, mention_ids, case_id)
    confirmed = [m.value for m in chosen if m.status == "confirmed"]
    if confirmed:
        raise Conflict(
            f"{', '.join(confirmed[:5])}: a selector of the case already; remove the selector "
            "from the case instead"
        )
    now = now or utcnow()
    changed = [m for m in chosen if m.status != status]
    for mention in changed:
        mention.status = status
        mention.decided_by_user_id = caller.user_id
        mention.decided_at = now
    audit.record(
        session,
        caller,
        action="chats.mention.dismiss" if status == "dismissed" else "chats.mention.reopen",
        operation=Operation.ALTERATION,
        subject_type="case",
        subject_id=case_row.id,
        subject_agency_id=case_row.owner_agency_id,
        detail={"mentions": [str(m.id) for m in changed], "note": note.strip()},
    )
    session.flush()
    return len(changed)
