"""/ui/proposals: changes to shared records (a hosting provider's abuse contact or networks,
another agency's block-list entry) that wait for the record's keeper or the network coordinator,
and what became of them. Approve or reject with a reason; every decision is the service's
(`core.proposals`), these routes only turn forms into calls and results into the page."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from taskforce.core.errors import Conflict, Invalid
from taskforce.core.http import SessionDep
from taskforce.core.proposals import service
from taskforce.core.proposals.schemas import ProposalRead
from taskforce.web.forms import CheckedWebDep
from taskforce.web.session import WebCaller, WebCallerDep, render

router = APIRouter(prefix="/ui/proposals", include_in_schema=False)
PAGE_SIZE = 50
STATES = {"pending": "Waiting", "approved": "Approved", "rejected": "Rejected", "all": "All"}


def target_link(p: ProposalRead) -> str | None:
    """Where the record is shown: the provider's page, the block list searched for the key."""
    if p.target_type == "hosting_provider":
        return f"/ui/hosting/{p.target_id}"
    if p.target_type == "blocklist_entry":
        key = p.target_label.rsplit(" (", 1)[0]
        return "/ui/blocklist?" + urlencode({"state": "all", "q": key})
    return None


def _page(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    *,
    state: str = "pending",
    page: int = 1,
    error: Invalid | Conflict | None = None,
    failed: uuid.UUID | None = None,
    form: dict[str, str] | None = None,
    done: ProposalRead | None = None,
) -> HTMLResponse:
    listing = service.list_proposals(
        session, web.caller, state=state, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )

    def link(**changes: object) -> str:
        params: dict[str, object] = {"state": state, "page": page, **changes}
        kept = {
            k: v
            for k, v in params.items()
            if v and not (k == "page" and v == 1) and not (k == "state" and v == "pending")
        }
        return "/ui/proposals" + (f"?{urlencode(kept)}" if kept else "")

    return render(
        request,
        "proposals.html",
        {
            "tab": "proposals",
            "listing": listing,
            "state": state,
            "states": STATES,
            "page": page,
            "pages": max(1, -(-listing.total // PAGE_SIZE)),
            "link": link,
            "target_link": target_link,
            "error": error,
            "failed": failed,
            "form": form or {},
            "done": done,
        },
        status_code=422 if error else 200,
    )


@router.get("", response_class=HTMLResponse)
def proposals(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    state: str = Query(default="pending", max_length=10),
    page: int = Query(default=1, ge=1, le=100_000),
    decided: uuid.UUID | None = Query(default=None),
) -> HTMLResponse:
    """Proposals you made, about records your agency keeps, or (stewards) all; the read is
    audited."""
    if state not in STATES:
        state = "pending"
    done = service.get_proposal(session, web.caller, decided) if decided else None
    return _page(request, session, web, state=state, page=page, done=done)


def _decide(
    request: Request,
    session: SessionDep,
    web: WebCaller,
    proposal_id: uuid.UUID,
    *,
    approve: bool,
    reason: str,
    state: str,
) -> Response:
    state = state if state in STATES else "pending"
    try:
        with session.begin_nested():  # a refused change leaves the page's transaction usable
            service.decide(session, web.caller, proposal_id, approve=approve, reason=reason)
    except (Invalid, Conflict) as exc:
        return _page(
            request,
            session,
            web,
            state=state,
            error=exc,
            failed=proposal_id,
            form={"reason": reason, "action": "approve" if approve else "reject"},
        )
    back = {"decided": str(proposal_id)} | ({"state": state} if state != "pending" else {})
    return RedirectResponse(f"/ui/proposals?{urlencode(back)}", status_code=303)


@router.post("/{proposal_id}/approve", response_class=HTMLResponse)
def approve(
    request: Request,
    proposal_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
    state: str = Form(default="pending", max_length=10),
) -> Response:
    return _decide(request, session, web, proposal_id, approve=True, reason=reason, state=state)


@router.post("/{proposal_id}/reject", response_class=HTMLResponse)
def reject(
    request: Request,
    proposal_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    reason: str = Form(default="", max_length=1000),
    state: str = Form(default="pending", max_length=10),
) -> Response:
    return _decide(request, session, web, proposal_id, approve=False, reason=reason, state=state)
