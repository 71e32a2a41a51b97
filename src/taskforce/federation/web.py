"""The Network page (`/ui/network`, this node's network admin): this node's peering document to
copy and its fingerprint, the peers, their state and what each receives in words, adding a peer
(its fingerprint shown to compare over the phone before anything is stored) and removing one.
A peer's page (`/ui/network/peers/{id}`): its national profile, the key-holder flag, and the
status of its sync as the sync wrote it."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from taskforce.core.caller import Permission
from taskforce.core.errors import Conflict, Invalid, NotFound, TaskforceError
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.core.settings import Settings
from taskforce.federation import candidates, identity, keys, peering, profiles, release, tokens
from taskforce.federation import hits as remote_hits
from taskforce.federation.models import Peer
from taskforce.web.forms import CheckedWebDep, PageForm, attempt
from taskforce.web.session import WebCaller, WebCallerDep, render, safe_next, sent_form

router = APIRouter(prefix="/ui/network", include_in_schema=False)


class PeerForm(PageForm):
    document: str = Field(default="", max_length=8000)
    confirmed: bool = False


class ProfileForm(PageForm):
    """The profile's boxes: a box not ticked is not sent, so nothing ticked means nothing."""

    kinds: list[str] = Field(default_factory=list, max_length=50)
    levels: list[str] = Field(default_factory=list, max_length=10)
    green_plaintext: bool = False
    release_required: bool = False


class KeyHolderForm(PageForm):
    key_holder: bool = False


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
        "receives": {
            p.id: profiles.describe(p, profiles.get_profile(session, p.id)) for p in peers
        },
        "own_epoch": _own_epoch(settings),
        "pinned": {p.id: tokens.pinned_epochs(settings, p.id) for p in peers if p.key_holder},
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


def _own_epoch(settings: Settings) -> str | None:
    """This node's current OPRF epoch, if it is the key holder (None: it is not)."""
    if not settings.federation_key_holder:
        return None
    try:
        return f"epoch {keys.current_epoch(settings)}"
    except TaskforceError:
        return "no key yet (run `taskforce federation key init`)"


def _peer(session: Session, peer_id: uuid.UUID) -> Peer:
    found = session.get(Peer, peer_id)
    if found is None:
        raise NotFound("peer")
    return found


def _peer_page(
    request: Request,
    session: Session,
    settings: Settings,
    peer: Peer,
    *,
    error: Invalid | None = None,
) -> HTMLResponse:
    found = profiles.get_profile(session, peer.id)
    sent = sent_form(request, 422 if error else 200)
    if sent and request.url.path.endswith("/profile"):  # refused: what was ticked stays
        values: dict[str, Any] = {
            "kinds": sent.getlist("kinds"),
            "levels": sent.getlist("levels"),
            "green_plaintext": sent.get("green_plaintext") == "true",
            "release_required": sent.get("release_required") == "true",
        }
    else:
        values = {
            "kinds": list(found.kinds) if found else [],
            "levels": list(found.levels) if found else [],
            "green_plaintext": found.green_plaintext if found else False,
            "release_required": found.release_required if found else True,
        }
    context: dict[str, Any] = {
        "peer": peer,
        "profile": found,
        "values": values,
        "receives": profiles.describe(peer, found),
        "kind_words": profiles.KIND_WORDS,
        "levels": [level.value for level in profiles.LEVELS],
        "agencies": len(peering.peer_agencies(session, peer)),
        "lag": max(peer.feed_head - peer.feed_seq, 0),
        "pdq": candidates.summary(session, peer.id),
        "pinned": tokens.pinned_epochs(settings, peer.id),
        "own_epoch": _own_epoch(settings),
        "key_holder_rule": profiles.KEY_HOLDER_RULE,
        "error": error,
    }
    status = 422 if error else 200
    return render(request, "federation/peer.html", context, status_code=status)


@router.get("/peers/{peer_id}", response_class=HTMLResponse)
def peer_page(
    peer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: WebCallerDep,
) -> HTMLResponse:
    web.caller.require(Permission.MANAGE_PEERS)
    return _peer_page(request, session, settings, _peer(session, peer_id))


@router.post("/peers/{peer_id}/profile", response_class=HTMLResponse)
def save_profile(
    peer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[ProfileForm, Form()],
) -> Response:
    web.caller.require(Permission.MANAGE_PEERS)
    peer = _peer(session, peer_id)
    try:
        attempt(
            session,
            lambda: profiles.set_profile(
                session,
                web.caller,
                peer,
                kinds=form.kinds,
                levels=form.levels,
                green_plaintext=form.green_plaintext,
                release_required=form.release_required,
            ),
        )
    except Conflict as refused:
        return _peer_page(request, session, settings, peer, error=Invalid("peer", refused.message))
    except Invalid as refused:
        return _peer_page(request, session, settings, peer, error=refused)
    return RedirectResponse(f"/ui/network/peers/{peer.id}?saved=1", status_code=303)


@router.post("/peers/{peer_id}/profile/clear")
def clear_profile(peer_id: uuid.UUID, session: SessionDep, web: CheckedWebDep) -> Response:
    web.caller.require(Permission.MANAGE_PEERS)
    peer = _peer(session, peer_id)
    profiles.clear_profile(session, web.caller, peer)
    return RedirectResponse(f"/ui/network/peers/{peer.id}?cleared=1", status_code=303)


@router.post("/peers/{peer_id}/key-holder", response_class=HTMLResponse)
def key_holder(
    peer_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[KeyHolderForm, Form()],
) -> Response:
    web.caller.require(Permission.MANAGE_PEERS)
    peer = _peer(session, peer_id)
    try:
        change = attempt(
            session, lambda: peering.set_key_holder(session, web.caller, peer, form.key_holder)
        )
    except Conflict as refused:
        error = Invalid("key_holder", refused.message)
        return _peer_page(request, session, settings, peer, error=error)
    said = "cleared" if change.profile_cleared else ("set" if peer.key_holder else "unset")
    return RedirectResponse(f"/ui/network/peers/{peer.id}?key_holder={said}", status_code=303)


# --- cross-node hits and release requests (/ui/hits/remote, /ui/releases) ---------------------

hits_router = APIRouter(prefix="/ui", include_in_schema=False)


class ReasonForm(PageForm):
    reason: str = Field(default="", max_length=4000)


class DecisionForm(PageForm):
    reason: str = Field(default="", max_length=4000)
    decision: str = Field(default="", max_length=16)  # approve | refuse


def _hit_page(
    request: Request,
    session: Session,
    web: WebCaller,
    hit_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    reason: str = "",
) -> HTMLResponse:
    hit = remote_hits.get_hit(session, web.caller, hit_id)
    context = {"hit": hit, "error": error, "reason": reason}
    return render(request, "federation/remote_hit.html", context, status_code=422 if error else 200)


@hits_router.get("/hits/remote/{hit_id}", response_class=HTMLResponse)
def remote_hit_page(
    hit_id: uuid.UUID, request: Request, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _hit_page(request, session, web, hit_id)


@hits_router.post("/hits/remote/{hit_id}/acknowledge")
def acknowledge_remote_hit(
    hit_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    next: str = Form(default="", max_length=500),
) -> Response:
    remote_hits.acknowledge(session, web.caller, hit_id)
    return RedirectResponse(safe_next(next) if next else f"/ui/hits/remote/{hit_id}", 303)


@hits_router.post("/hits/remote/{hit_id}/release", response_class=HTMLResponse)
def ask_release(
    hit_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[ReasonForm, Form()],
) -> Response:
    try:
        attempt(
            session,
            lambda: release.request_release(session, web.caller, hit_id, reason=form.reason),
        )
    except Invalid as refused:
        return _hit_page(request, session, web, hit_id, error=refused, reason=form.reason)
    except Conflict as refused:
        error = Invalid("reason", refused.message)
        return _hit_page(request, session, web, hit_id, error=error, reason=form.reason)
    session.commit()
    _wake(request)
    return RedirectResponse(f"/ui/hits/remote/{hit_id}?asked=1#releases", status_code=303)


def _wake(request: Request) -> None:
    """A request or decision waits for delivery: the worker's next round starts now."""
    worker = getattr(request.app.state, "worker", None)
    if worker is not None:
        worker.wake()


@hits_router.get("/releases", response_class=HTMLResponse)
def releases_page(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    requests = release.incoming(session, web.caller)
    return render(request, "federation/releases.html", {"requests": requests})


def _release_page(
    request: Request,
    session: Session,
    web: WebCaller,
    request_id: uuid.UUID,
    *,
    error: Invalid | None = None,
    reason: str = "",
) -> HTMLResponse:
    asked = release.get_incoming(session, web.caller, request_id)
    can_decide = web.caller.role in release.DECIDERS
    context = {"asked": asked, "error": error, "reason": reason, "can_decide": can_decide}
    return render(request, "federation/release.html", context, status_code=422 if error else 200)


@hits_router.get("/releases/{request_id}", response_class=HTMLResponse)
def release_page(
    request_id: uuid.UUID, request: Request, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    return _release_page(request, session, web, request_id)


@hits_router.post("/releases/{request_id}/decision", response_class=HTMLResponse)
def decide_release(
    request_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[DecisionForm, Form()],
) -> Response:
    try:
        if form.decision not in ("approve", "refuse"):
            raise Invalid("decision", "choose Approve or Refuse")
        attempt(
            session,
            lambda: release.decide(
                session,
                web.caller,
                request_id,
                approve=form.decision == "approve",
                reason=form.reason,
            ),
        )
    except Invalid as refused:
        return _release_page(request, session, web, request_id, error=refused, reason=form.reason)
    except Conflict as refused:
        error = Invalid("decision", refused.message)
        return _release_page(request, session, web, request_id, error=error, reason=form.reason)
    session.commit()
    _wake(request)
    return RedirectResponse(f"/ui/releases/{request_id}?decided=1", status_code=303)
