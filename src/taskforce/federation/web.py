"""The Network page (`/ui/network`, this node's network admin): this node's peering document to
copy and its fingerprint, the peers and their state, adding a peer (its fingerprint shown to
compare over the phone before anything is stored) and removing one."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering
from taskforce.federation.models import Peer
from taskforce.web.forms import CheckedWebDep, PageForm, attempt
from taskforce.web.session import WebCallerDep, render

router = APIRouter(prefix="/ui/network", include_in_schema=False)


class PeerForm(PageForm):
    document: str = Field(default="", max_length=8000)
    confirmed: bool = False


def _read(text: str) -> identity.PeeringDocument:
    try:
        data = json.loads(text)
    except ValueError:
        raise Invalid("document", "paste the other node's peering document (JSON)") from None
    return identity.read_document(data)


def _page(
    request: Request,
    session: Session,
    settings: Settings,
    *,
    sent: str = "",
    pending: identity.PeeringDocument | None = None,
    error: Invalid | None = None,
) -> HTMLResponse:
    own = peering.node(session)
    peers = peering.list_peers(session)
    context: dict[str, Any] = {
        "own": own,
        "document": (
            json.dumps(peering.peering_document(session, settings), indent=2, sort_keys=True)
            if own
            else None
        ),
        "fingerprint": peering.own_fingerprint(settings) if own else None,
        "peers": peers,
        "agency_counts": {p.id: len(peering.peer_agencies(session, p)) for p in peers},
        "sent": sent,
        "pending": pending,
        "error": error,
    }
    status = 422 if error else 200
    return render(request, "federation/network.html", context, status_code=status)


@router.get("", response_class=HTMLResponse)
def network(
    request: Request, session: SessionDep, settings: SettingsDep, web: WebCallerDep
) -> HTMLResponse:
    web.caller.require(Permission.MANAGE_PEERS)
    return _page(request, session, settings)


@router.post("/peers", response_class=HTMLResponse)
def add_peer(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[PeerForm, Form()],
) -> Response:
    """First post: the document is checked and its fingerprint shown; nothing is stored. The
    second, with `confirmed`, adds the peer."""
    web.caller.require(Permission.MANAGE_PEERS)
    try:
        document = _read(form.document)
        if not form.confirmed:
            return _page(request, session, settings, sent=form.document, pending=document)
        peer = attempt(session, lambda: peering.add_peer(session, web.caller, document))
    except Conflict as refused:
        error = Invalid("document", refused.message)
        return _page(request, session, settings, sent=form.document, error=error)
    except Invalid as refused:
        return _page(request, session, settings, sent=form.document, error=refused)
    return RedirectResponse(f"/ui/network?added={peer.id}", status_code=303)


@router.post("/peers/{peer_id}/remove")
def remove_peer(peer_id: uuid.UUID, session: SessionDep, web: CheckedWebDep) -> Response:
    web.caller.require(Permission.MANAGE_PEERS)
    peer = session.get(Peer, peer_id)
    if peer is None:
        raise NotFound("no such peer")
    peering.remove_peer(session, web.caller, peer.name)
    return RedirectResponse("/ui/network?removed=1", status_code=303)
