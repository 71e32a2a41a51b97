"""The block list's pages: /blocked, the public warning page (no login, no script), and
/ui/blocklist, where analysts see, search, add and remove entries (keys and their metadata
only: the page never loads or links to the listed material).

/ui/blocklist answers 404 to a caller without MANAGE_BLOCKLIST, as to an unknown address."""

from __future__ import annotations

import uuid
from collections.abc import Set
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError

from taskforce.blocklist import service, warning
from taskforce.blocklist.schemas import EntryCreate
from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep
from taskforce.core.proposals import service as proposals
from taskforce.core.proposals.models import ChangeProposal
from taskforce.hashsets.categories import SCHEMES
from taskforce.web import catalogue, parts
from taskforce.web.forms import CheckedWebDep, PageForm, attempt, field_error
from taskforce.web.session import WebCaller, WebCallerDep, render

public_router = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/ui/blocklist", include_in_schema=False)
PAGE_SIZE = 50
# the hotline's categories (what its assessments put on the list); the API takes any text
CATEGORIES = [(c.code, c.label) for c in SCHEMES["taskforce"].values() if c.illegal]
_STATES = {"active": "Active", "removed": "Removed", "all": "All"}


@public_router.get("/blocked", response_class=HTMLResponse)
def blocked(
    request: Request,
    lang: str | None = Query(default=None, max_length=16),
    url: str = Query(default="", max_length=2000),
) -> HTMLResponse:
    """In the language asked for (`?lang=`), else the browser's; the report link follows it
    where the report form speaks that language. A provider may pass the blocked address
    (`?url=`): the "blocked by mistake" link carries it into the form."""
    chosen = catalogue.choose("warning", lang, request.headers.get("accept-language"))
    base = request.app.state.settings.public_url.rstrip("/")
    # the report form in the same language where it has one
    form_lang = chosen if chosen in catalogue.CATALOGUES["report"] else catalogue.ENGLISH
    report = f"{base}/report" if form_lang == catalogue.ENGLISH else f"{base}/report/{form_lang}"
    response = HTMLResponse(warning.render(report, chosen, url.strip()))
    response.headers["Content-Language"] = chosen
    response.headers["Content-Security-Policy"] = (
        f"{warning.POLICY}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return response


def _manager(web: WebCallerDep) -> WebCaller:
    """Only callers who may manage the list reach its page (403 "Not allowed", as the other
    pages a role may not use; the entries are never shown to them)."""
    web.caller.require(Permission.MANAGE_BLOCKLIST)
    return web


ManagerDep = Annotated[WebCaller, Depends(_manager)]


def _checked_manager(web: ManagerDep, checked: CheckedWebDep) -> WebCaller:
    """A list manager's form: the role first (403), then the form's token."""
    return checked


CheckedManagerDep = Annotated[WebCaller, Depends(_checked_manager)]


def _report_of(source: str) -> uuid.UUID | None:
    kind, _, ref = source.partition(":")
    if kind != "report":
        return None
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def source_link(source: str, openable: Set[uuid.UUID] = frozenset()) -> tuple[str, str | None]:
    """How a source is shown: a hotline report (`report:<uuid>`) as its short id, linked to
    its page only where the viewer may open it (`openable`); anything else as written."""
    report_id = _report_of(source)
    if report_id is None:
        return source, None
    href = f"/ui/hotline/{report_id}" if report_id in openable else None
    return f"report {report_id.hex[:8].upper()}", href


def _page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    *,
    q: str = "",
    state: str = "active",
    page: int = 1,
    error: Invalid | Conflict | None = None,
    failed: str | None = None,
    form: dict[str, str] | None = None,
    done: str | None = None,
    changed: uuid.UUID | None = None,
) -> HTMLResponse:
    listing = service.search_entries(
        session,
        web.caller,
        query=q,
        state=state,
        limit=PAGE_SIZE,
        offset=(page - 1) * PAGE_SIZE,
    )

    # which reports the viewer may open: the reports service's rule, handed in by taskforce.pages
    reports = [r for e in listing.items if (r := _report_of(e.source))]
    openable = parts.section(request, "blocklist", session, web.caller, reports).get(
        "openable_reports", frozenset()
    )

    def link(**changes: object) -> str:
        params: dict[str, object] = {"q": q, "state": state, "page": page, **changes}
        kept = {
            k: v
            for k, v in params.items()
            if v and not (k == "page" and v == 1) and not (k == "state" and v == "active")
        }
        return "/ui/blocklist" + (f"?{urlencode(kept)}" if kept else "")

    return render(
        request,
        "blocklist/list.html",
        {
            "tab": "blocklist",
            "listing": listing,
            "summary": service.list_summary(session, web.caller),
            "q": q,
            "state": state,
            "states": _STATES,
            "page": page,
            "pages": max(1, -(-listing.total // PAGE_SIZE)),
            "link": link,
            "source_link": lambda source: source_link(source, openable),
            "categories": CATEGORIES,
            "category_labels": dict(CATEGORIES),
            "error": error,
            "failed": failed,  # which form the error belongs to: "add" or "remove"
            "form": form or {"match": "exact"},
            "done": done,
            "changed": service.get_entry(session, web.caller, changed) if changed else None,
            "steward": proposals.is_steward(session, web.caller),
        },
        status_code=422 if error else 200,
    )


@router.get("", response_class=HTMLResponse)
def entries(
    request: Request,
    session: SessionDep,
    web: ManagerDep,
    q: str = Query(default="", max_length=200),
    state: str = Query(default="active", max_length=10),
    page: int = Query(default=1, ge=1, le=100_000),
    added: uuid.UUID | None = Query(default=None),
    removed: uuid.UUID | None = Query(default=None),
    proposed: uuid.UUID | None = Query(default=None),
) -> HTMLResponse:
    """The list, searched by part of a key; the read is audited."""
    if state not in service.STATES:
        state = "active"
    done, changed = next(
        (
            (name, ref)
            for name, ref in (("added", added), ("removed", removed), ("proposed", proposed))
            if ref
        ),
        (None, None),
    )
    return _page(
        request, session, web, q=q.strip(), state=state, page=page, done=done, changed=changed
    )


class EntryForm(PageForm):
    url: str = Field(default="", max_length=5000)
    match: str = Field(default="exact", max_length=10)
    category: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=2000)


@router.post("", response_class=HTMLResponse)
def add(
    request: Request,
    session: SessionDep,
    web: CheckedManagerDep,
    sent: Annotated[EntryForm, Form()],
) -> Response:
    """List a URL or prefix; a refused one shows the form again with the rule it broke."""
    form = sent.model_dump()
    try:
        data = EntryCreate.model_validate(form)
        entry = attempt(session, lambda: service.add_entry(session, web.caller, data))
    except ValidationError as exc:
        return _page(request, session, web, error=field_error(exc), failed="add", form=form)
    except (Invalid, Conflict) as exc:
        return _page(request, session, web, error=exc, failed="add", form=form)
    # "#top": the form posts to "#add" (so a refusal shows at the form); the message is on top
    return RedirectResponse(f"/ui/blocklist?added={entry.id}#top", status_code=303)


@router.post("/{entry_id}/remove", response_class=HTMLResponse)
def remove(
    request: Request,
    entry_id: uuid.UUID,
    session: SessionDep,
    web: CheckedManagerDep,
    reason: str = Form(default="", max_length=1000),
    q: str = Form(default="", max_length=200),
    state: str = Form(default="active", max_length=10),
) -> Response:
    """Take an entry off the list, then show the view the button was on."""
    state = state if state in service.STATES else "active"
    back: dict[str, Any] = {"q": q.strip(), "state": state}
    try:
        if not reason.strip():
            raise Invalid("reason", "say why the entry comes off the list, e.g. content gone")
        done = attempt(
            session, lambda: service.remove_entry(session, web.caller, entry_id, reason=reason)
        )
    except (Invalid, Conflict) as exc:
        return _page(request, session, web, error=exc, failed="remove", **back)
    kept = {k: v for k, v in back.items() if v and not (k == "state" and v == "active")}
    outcome = "proposed" if isinstance(done, ChangeProposal) else "removed"
    return RedirectResponse(
        "/ui/blocklist?" + urlencode({**kept, outcome: str(entry_id)}), status_code=303
    )
