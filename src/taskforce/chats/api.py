"""Chat logs over the API (`/api/v1/chats/...`), mirroring the pages: imports into a case,
conversations with their tagged messages, participants and identifiers to confirm, the
review queue. Another agency's id is answered 404, as if missing."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taskforce.chats import importing, participants, review, views
from taskforce.chats.reading import FORMATS
from taskforce.chats.schemas import (
    CaseChats,
    ConfirmResult,
    ConversationView,
    ExplanationRead,
    ImportBrief,
    ImportRead,
    ImportSummary,
    Mentions,
    MentionsDecide,
    MentionsDecided,
    MessagePage,
    Participants,
    QueuePage,
    ReviewCreate,
    ReviewRead,
)
from taskforce.core import spool, uploads
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import MAX_OFFSET, limit_query
from taskforce.core.settings import Settings

router = APIRouter(prefix="/chats", tags=["chats"])  # under /api/v1 (app.py)

# --- import (importing.py) -------------------------------------------------------------------


def _check_case(session: Session, caller: Caller, case_id: uuid.UUID) -> None:
    """The case checked before a byte of the upload is kept, and the check's transaction
    ended, so nothing is held while the bytes arrive."""
    importing.check_case(session, caller, case_id)
    session.commit()


async def receive_export(
    request: Request,
    session: Session,
    caller: Caller,
    settings: Settings,
    case_id: uuid.UUID,
    given: dict[str, str | None],
    name: str | None,
) -> ImportSummary:
    """The upload (a raw body, or a multipart form's `file` field with the options beside it)
    spooled in the data folder, imported batch by batch off the event loop, and removed:
    attachment bytes never rest on disk after the request."""
    await run_in_threadpool(_check_case, session, caller, case_id)
    with spool.spool_file(settings.data_dir, "chat-export") as path:
        if uploads.is_multipart(request):
            form = await uploads.form_to_file(request, path)
            if not form.received:
                raise Invalid("file", "send the export in the form's 'file' field")
            given = {**given, **{k: form.text(k) for k in importing.OPTIONS if form.text(k)}}
            name = form.filename
        else:
            await uploads.body_to_file(request, path)
        options = importing.read_options(settings, given)
        display = spool.safe_name(name or "", default="upload")
        with spool.under_name(settings.data_dir, path, display) as named:

            def run() -> ImportSummary:
                return importing.import_file(
                    session,
                    caller,
                    settings,
                    case_id=case_id,
                    path=named,
                    display=display,
                    options=options,
                    checkpoint=session.commit,
                )

            return await run_in_threadpool(run)


@router.post("/cases/{case_id}/imports", response_model=ImportSummary)
async def import_export(
    case_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    name: str | None = Query(
        default=None, max_length=500, description="the export's file name (a raw body)"
    ),
    timezone: str | None = Query(default=None, description="IANA zone of times without offset"),
    format_: str | None = Query(
        default=None, alias="format", description=f"one of {', '.join(FORMATS)}; else detected"
    ),
    platform: str | None = Query(default=None, description="authors' platform (CSV, logs)"),
    date_order: str | None = Query(default=None, description="dmy, mdy or ymd"),
    encoding: str | None = Query(default=None, description="a legacy export's, e.g. cp1252"),
) -> ImportSummary:
    """Import a chat export into one of your agency's cases: the file as the request body
    (`name` gives its file name, which names a conversation the export has no id for) or a
    multipart form's `file` field, the options in the query or the form. At most
    `chats_upload_bytes` (413 beyond). Another agency's case is 404 before a byte is kept.
    Bad lines are reported with their source and line (`problems`, the first 100) and the
    good ones kept; sending it again adds only what is missing (`messages_present`). An
    export of which no message could be read is 422, naming its first problems."""
    given = {
        "timezone": timezone,
        "format": format_,
        "platform": platform,
        "date_order": date_order,
        "encoding": encoding,
    }
    return await receive_export(request, session, caller, settings, case_id, given, name)


@router.get("/cases/{case_id}/imports", response_model=list[ImportBrief])
def list_imports(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> list[ImportBrief]:
    """The imports into one of your agency's cases, newest first (404 for any other case);
    each one's problems are on `GET /chats/imports/{id}`."""
    found = importing.list_imports(session, caller, case_id)
    return [ImportBrief.model_validate(i, from_attributes=True) for i in found]


@router.get("/imports/{import_id}", response_model=ImportRead)
def get_import(import_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ImportRead:
    """One import's record: the file (name, size, SHA-256), the zone it was read in, its
    counts, status and first problems (404 unless your agency's)."""
    return ImportRead.model_validate(
        importing.get_import(session, caller, import_id), from_attributes=True
    )


# --- participants and identifiers (participants.py) ------------------------------------------


@router.get("/cases/{case_id}/participants", response_model=Participants)
def case_participants(case_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> Participants:
    """Who wrote in the case's chats (most messages first): names, conversations, and their
    own account's identifier with its status. An audited read."""
    return participants.list_participants(session, caller, case_id)


@router.get("/cases/{case_id}/mentions", response_model=Mentions)
def case_mentions(
    case_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    status: str | None = Query(
        default=None,
        max_length=16,
        description="proposed | confirmed | dismissed (all if left out)",
    ),
) -> Mentions:
    """The identifiers found in the case's chats (authors' accounts and what the messages
    say), proposed ones first, with where each was first seen and how often. An audited read."""
    return participants.list_mentions(session, caller, case_id, status=status)


@router.post("/cases/{case_id}/mentions/confirm", response_model=ConfirmResult)
def confirm_mentions(
    case_id: uuid.UUID,
    data: MentionsDecide,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> ConfirmResult:
    """Make the identifiers selectors of the case, deconflicted at once (new hits counted and
    notified as for any selector). Another case's or agency's identifier is 404."""
    return participants.confirm(
        session, caller, settings, data.mention_ids, note=data.note, case_id=case_id
    )


@router.post("/cases/{case_id}/mentions/dismiss", response_model=MentionsDecided)
def dismiss_mentions(
    case_id: uuid.UUID, data: MentionsDecide, session: SessionDep, caller: CallerDep
) -> MentionsDecided:
    """Dismiss identifiers (a re-import will not propose them again; `reopen` does)."""
    changed = participants.dismiss(
        session, caller, data.mention_ids, note=data.note, case_id=case_id
    )
    return MentionsDecided(case_id=case_id, changed=changed)


@router.post("/cases/{case_id}/mentions/reopen", response_model=MentionsDecided)
def reopen_mentions(
    case_id: uuid.UUID, data: MentionsDecide, session: SessionDep, caller: CallerDep
) -> MentionsDecided:
    """Propose dismissed identifiers again."""
    changed = participants.reopen(session, caller, data.mention_ids, case_id=case_id)
    return MentionsDecided(case_id=case_id, changed=changed)


# --- conversations and the review queue (views.py, review.py) --------------------------------


@router.get("/queue", response_model=QueuePage)
def review_queue(
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    case_id: uuid.UUID | None = Query(default=None, description="one case of your agency"),
    decision: str = Query(
        default="unreviewed",
        max_length=16,
        description="unreviewed, reviewed, concern, no_concern, unclear or all",
    ),
    limit: int = limit_query(50, 500),
    after: str = Query(default="", max_length=80, description="the `next` of the page before"),
) -> QueuePage:
    """The agency's conversations riskiest first: those at or over the review threshold
    (flagged) first, those not scored yet last. The score is a lead for a reviewer, never
    evidence by itself."""
    return review.queue(
        session,
        caller,
        threshold=settings.chats_review_threshold,
        case_id=case_id,
        decision=decision,
        limit=limit,
        after=after or None,
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationView)
def get_conversation(
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    start: int = Query(default=0, ge=0, le=MAX_OFFSET, description="first message (seq)"),
    limit: int = limit_query(views.PAGE, 1000),
    at_flagged: bool = Query(default=False, description="start a few messages before the flag"),
) -> ConversationView:
    """A conversation with its members, risk, tactic timeline, one page of messages (the rule
    spans given as offsets and as cut segments), attachments (names and hashes) and reviews.
    Audited as a read."""
    return views.conversation(
        session,
        caller,
        conversation_id,
        threshold=settings.chats_review_threshold,
        start=start,
        limit=limit,
        at_flagged=at_flagged,
    )


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
def get_messages(
    conversation_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    start: int = Query(default=0, ge=0, le=MAX_OFFSET, description="first message (seq)"),
    limit: int = limit_query(views.PAGE, 1000),
) -> MessagePage:
    """A page of a conversation's messages in sequence order (audited as a read)."""
    return views.message_page(session, caller, conversation_id, start=start, limit=limit)


@router.get(
    "/conversations/{conversation_id}/messages/{message_id}/explanation",
    response_model=ExplanationRead,
)
def explain_message(
    conversation_id: uuid.UUID, message_id: uuid.UUID, session: SessionDep, caller: CallerDep
) -> ExplanationRead:
    """Why the tagger scored a message as it did: per tactic its probability against its
    threshold, the lexicon rules that fired (with their reasons) and the n-grams that weighed
    most in the model (audited as a read)."""
    return views.explain(session, caller, conversation_id, message_id)


@router.post(
    "/conversations/{conversation_id}/review",
    response_model=ReviewRead,
    status_code=status.HTTP_201_CREATED,
)
def review_conversation(
    conversation_id: uuid.UUID,
    data: ReviewCreate,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> ReviewRead:
    """Record your decision (concern, no_concern, unclear) with a note: required for a
    concern, for unclear, and for no_concern on a flagged conversation. Every decision is kept
    and audited; nothing is acted on by the tagger."""
    done = review.decide(
        session,
        caller,
        conversation_id,
        decision=data.decision,
        note=data.note,
        threshold=settings.chats_review_threshold,
    )
    return views.review_read(done)


@router.get("/cases/{case_id}/conversations", response_model=CaseChats)
def case_conversations(
    case_id: uuid.UUID, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> CaseChats:
    """A case's conversations (riskiest first, every decision) and the imports that brought
    them."""
    return review.case_chats(session, caller, case_id, threshold=settings.chats_review_threshold)
