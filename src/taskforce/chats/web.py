"""The chat pages (`/ui/chats...`): the review queue, a conversation with its tactic timeline
and the messages that raised its risk highlighted, a case's chats with the import form, and
the participants and identifiers an investigator confirms as selectors."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from taskforce.cases import service as case_service
from taskforce.chats import importing, participants, review, service, views
from taskforce.chats.schemas import MENTION_NOTE_MAX, NOTE_MAX, ImportRead, ImportSummary
from taskforce.chats.tactics import TACTICS
from taskforce.core import spool, uploads
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Conflict, Invalid, TaskforceError
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.core.settings import Settings
from taskforce.web.forms import CheckedWebDep, PageForm, attempt, check_csrf
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui/chats", include_in_schema=False)

# --- the review queue and conversations (views.py, review.py) --------------------------------

QUEUE_PAGE = 50
LEAD_NOT_EVIDENCE = (
    "The risk is the tagger's ranking of what to read first: a lead for review, never evidence "
    "by itself. Read the conversation; a person decides, and nothing is acted on without one."
)


def _case_choices(session: Session, web: WebCaller) -> list[Any]:
    """The agency's cases, for the queue's case filter."""
    page = case_service.list_cases(session, web.caller, scope="mine", limit=500)
    return sorted(page.items, key=lambda c: c.reference, reverse=True)


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
    decision: str = Query(default="unreviewed", max_length=16),
    case: str = Query(default="", max_length=64),
    after: str = Query(default="", max_length=80),
) -> HTMLResponse:
    decision = decision if decision in review.FILTERS else "unreviewed"
    try:
        case_id = uuid.UUID(case) if case else None
    except ValueError:
        raise Invalid("case", "choose one of your agency's cases") from None
    page = review.queue(
        session,
        web.caller,
        threshold=settings.chats_review_threshold,
        case_id=case_id,
        decision=decision,
        limit=QUEUE_PAGE,
        after=after or None,
    )

    def link(**changes: object) -> str:
        params: dict[str, object] = {"decision": decision, "case": case, **changes}
        kept = {
            k: v for k, v in params.items() if v and not (k == "decision" and v == "unreviewed")
        }
        return "/ui/chats" + (f"?{urlencode(kept)}" if kept else "")

    return render(
        request,
        "chats/queue.html",
        {
            "page": page,
            "decision": decision,
            "case": case,
            "after": after,
            "filters": review.FILTERS,
            "labels": service.DECISION_LABELS,
            "cases": _case_choices(session, web),
            "link": link,
            "lead_not_evidence": LEAD_NOT_EVIDENCE,
        },
    )


def _conversation(
    request: Request,
    session: Session,
    settings: Any,
    web: WebCaller,
    conversation_id: uuid.UUID,
    *,
    start: int | None = None,
    at_flagged: bool = False,
    reviewed: bool = False,
    explain: str = "",
    error: TaskforceError | None = None,
) -> HTMLResponse:
    view = views.conversation(
        session,
        web.caller,
        conversation_id,
        threshold=settings.chats_review_threshold,
        start=start,
        at_flagged=at_flagged,
    )
    shown = view.messages
    following_chat = None
    if reviewed:  # the next conversation the analyst may take up
        waiting = review.queue(
            session, web.caller, threshold=settings.chats_review_threshold, limit=1
        )
        following_chat = waiting.items[0] if waiting.items else None
    explained = None
    asked = next((m for m in shown.items if str(m.id) == explain), None) if explain else None
    if asked is not None:
        explained = views.explain(session, web.caller, conversation_id, asked.id)
    return render(
        request,
        "chats/conversation.html",
        {
            "v": view,
            "c": view.conversation,
            "tactics": TACTICS,
            "decisions": service.DECISIONS,
            "labels": service.DECISION_LABELS,
            "note_max": NOTE_MAX,
            "reviewed": reviewed,
            "next_chat": following_chat,
            "error": error,
            "explained": explained,
            "previous": max(0, shown.start - shown.limit) if shown.start > 0 else None,
            "following": (
                shown.items[-1].seq + 1
                if shown.items and shown.items[-1].seq + 1 < view.conversation.message_count
                else None
            ),
            "lead_not_evidence": LEAD_NOT_EVIDENCE,
        },
        status_code=422 if error else 200,
    )


@router.get("/conversations/{conversation_id}", response_class=HTMLResponse)
def conversation_page(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
    start: int = Query(default=0, ge=0, le=2**31 - 1),
    at: str = Query(default="", max_length=8, description="'flagged': open at the flag"),
    reviewed: str = Query(default="", max_length=4),
    explain: str = Query(default="", max_length=64, description="a shown message's id"),
) -> HTMLResponse:
    return _conversation(
        request,
        session,
        settings,
        web,
        conversation_id,
        start=start,
        at_flagged=at == "flagged",
        reviewed=bool(reviewed),
        explain=explain,
    )


class ReviewForm(PageForm):
    """The decision form: the decision and what the reviewer saw."""

    decision: str = Field(default="", max_length=16)
    note: str = Field(default="", max_length=NOTE_MAX + 100)
    start: str = Field(default="", max_length=12)


@router.post("/conversations/{conversation_id}/review")
def review_conversation(
    request: Request,
    conversation_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[ReviewForm, Form()],
) -> Response:
    try:
        attempt(
            session,
            lambda: review.decide(
                session,
                web.caller,
                conversation_id,
                decision=form.decision,
                note=form.note,
                threshold=settings.chats_review_threshold,
            ),
        )
    except Invalid as exc:
        start = int(form.start) if form.start.isdigit() else 0
        return _conversation(
            request, session, settings, web, conversation_id, start=start, error=exc
        )
    return RedirectResponse(
        f"/ui/chats/conversations/{conversation_id}?reviewed=1#review", status_code=303
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_chats_page(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
) -> HTMLResponse:
    return _case_page(request, session, settings, web, case_id)


# --- import (importing.py) -------------------------------------------------------------------


def _case_page(
    request: Request,
    session: Session,
    settings: Settings,
    web: WebCaller,
    case_id: uuid.UUID,
    *,
    summary: ImportSummary | None = None,
    error: TaskforceError | None = None,
) -> HTMLResponse:
    """The case's chats page, with what an import from it just did (its summary, or why it was
    refused: 422) when it comes back from one."""
    chats = review.case_chats(
        session, web.caller, case_id, threshold=settings.chats_review_threshold
    )
    return render(
        request,
        "chats/case.html",
        {
            "chats": chats,
            "lead_not_evidence": LEAD_NOT_EVIDENCE,
            "import_summary": summary,
            "import_error": error,
        },
        status_code=422 if error else 200,
    )


@router.get("/imports/{import_id}", response_class=HTMLResponse)
def import_page(
    request: Request, import_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    """One import's record with the problems it kept (the first 100: file, line, rule), so a
    bad line can be found again after the import's page is gone. An audited read."""
    record = ImportRead.model_validate(
        importing.get_import(session, web.caller, import_id), from_attributes=True
    )
    case = service.own_case(session, web.caller, record.case_id)
    return render(
        request,
        "chats/import.html",
        {"record": record, "case_reference": case.reference, "case_title": case.title},
    )


def _check_case(session: Session, caller: Caller, case_id: uuid.UUID) -> None:
    """The case checked before a byte of the upload is kept, and the check's transaction
    ended, so nothing is held while the bytes arrive."""
    importing.check_case(session, caller, case_id)
    session.commit()


@router.post("/cases/{case_id}/import", response_class=HTMLResponse)
async def import_export(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
) -> Response:
    """A chat export from the case's chats page: a multipart form with the fields
    `csrf_token`, `file` (the export), and optionally `timezone`, `format`, `platform`,
    `date_order`, `encoding` (see `chats/_import_form.html`). The case is checked before a
    byte is kept (another agency's: 404); the file goes to a spool file in the data folder,
    is imported batch by batch, and is removed. The page is rendered again with the import's
    summary (its counts and first problems) or what was wrong (422): as the hash-list upload
    does, so a refused form keeps the page it came from."""
    await run_in_threadpool(_check_case, session, web.caller, case_id)
    with spool.spool_file(settings.data_dir, "chat-export") as path:
        try:
            form = await uploads.form_to_file(request, path)
        except Invalid as exc:
            return await run_in_threadpool(
                _case_page, request, session, settings, web, case_id, error=exc
            )
        check_csrf(request, form.text("csrf_token"), web)

        def run() -> Response:
            try:
                if not form.filename or not form.received:
                    raise Invalid("file", "choose the export file to import")
                given = {k: form.text(k) for k in importing.OPTIONS}
                options = importing.read_options(settings, dict(given))
                display = spool.safe_name(form.filename)
                with spool.under_name(settings.data_dir, path, display) as named:
                    summary = importing.import_file(
                        session,
                        web.caller,
                        settings,
                        case_id=case_id,
                        path=named,
                        display=display,
                        options=options,
                        checkpoint=session.commit,
                    )
            except Invalid as exc:  # a refused import's record is committed, "stopped"
                return _case_page(request, session, settings, web, case_id, error=exc)
            return _case_page(request, session, settings, web, case_id, summary=summary)

        return await run_in_threadpool(run)


# --- participants and identifiers (participants.py) ------------------------------------------


class MentionsForm(PageForm):
    """The participants page's decision on the ticked identifiers."""

    mention: list[str] = Field(default_factory=list, max_length=1000)
    action: str = Field(default="confirm", max_length=16)  # confirm | dismiss | reopen
    note: str = Field(default="", max_length=MENTION_NOTE_MAX)


def _participants_page(
    request: Request,
    session: Session,
    web: WebCaller,
    case_id: uuid.UUID,
    *,
    status: str = "",
    done: str = "",
    error: TaskforceError | None = None,
) -> HTMLResponse:
    caller = web.caller
    people = participants.list_participants(session, caller, case_id)
    found = participants.list_mentions(session, caller, case_id, status=status or None)
    return render(
        request,
        "chats/participants.html",
        {
            "people": people,
            "found": found,
            "status": status,
            "statuses": participants.STATUSES,
            "can_decide": caller.can(Permission.ADD_SELECTOR),
            "done": done,
            "error": error,
        },
        status_code=422 if error is not None else 200,
    )


@router.get("/cases/{case_id}/participants", response_class=HTMLResponse)
def participants_page(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    web: WebCallerDep,
    status: str = Query(default="", max_length=16),
    done: str = Query(default="", max_length=200),
) -> HTMLResponse:
    """Who wrote in the case's chats and the identifiers found, to confirm as selectors."""
    if status and status not in participants.STATUSES:
        status = ""
    return _participants_page(request, session, web, case_id, status=status, done=done)


@router.post("/cases/{case_id}/mentions", response_class=HTMLResponse)
def decide_mentions(
    request: Request,
    case_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[MentionsForm, Form()],
) -> Response:
    """Confirm (selectors of the case, deconflicted), dismiss or reopen the ticked ones."""

    def call() -> str:
        ids = []
        for raw in form.mention:
            try:
                ids.append(uuid.UUID(raw))
            except ValueError:
                raise Invalid("mentions", "choose identifiers listed on the page") from None
        if form.action == "dismiss":
            n = participants.dismiss(session, web.caller, ids, note=form.note, case_id=case_id)
            return f"{n} dismissed"
        if form.action == "reopen":
            n = participants.reopen(session, web.caller, ids, case_id=case_id)
            return f"{n} proposed again"
        done = participants.confirm(
            session, web.caller, settings, ids, note=form.note, case_id=case_id
        )
        hits = f", {done.hits} new hit{'' if done.hits == 1 else 's'}" if done.hits else ""
        return (
            f"{done.confirmed} confirmed: {done.added} selector{'' if done.added == 1 else 's'} "
            f"added to {done.case_reference}{hits}"
        )

    try:
        said = attempt(session, call)
    except (Invalid, Conflict) as exc:
        return _participants_page(request, session, web, case_id, error=exc)
    return RedirectResponse(
        f"/ui/chats/cases/{case_id}/participants?{urlencode({'done': said})}", status_code=303
    )
