"""The demo's mailbox: the e-mails the outbox delivered to the demo's local mail sink
(`taskforce.demo_mail`), newest first, for admins and the network coordinator. Only where
`settings.demo_mail_dir` is set (`taskforce demo`); everywhere else the page is 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from taskforce.core.caller import Caller, Role
from taskforce.core.errors import NotFound
from taskforce.core.http import SessionDep
from taskforce.core.proposals import service as proposals
from taskforce.web.session import WebCallerDep, render

router = APIRouter(prefix="/ui/demo", include_in_schema=False)
SHOWN = 200  # the newest messages; the demo sends a few dozen


@dataclass(frozen=True)
class Mail:
    received_at: datetime
    sender: str
    to: str
    subject: str
    body: str


def read_folder(folder: Path, limit: int = SHOWN) -> list[Mail]:
    """The sink's messages, newest first (their file names start with the arrival time)."""
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.eml"), reverse=True)[:limit]
    return [_read(path) for path in files]


def _read(path: Path) -> Mail:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    part = message.get_body(preferencelist=("plain",))
    body = part.get_content() if part is not None else ""
    try:
        at = datetime.strptime(path.name.split("-", 1)[0], "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    except ValueError:
        at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return Mail(
        received_at=at,
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        body=str(body),
    )


def may_read(session: SessionDep, caller: Caller) -> bool:
    """Admins and the network coordinator's people: who would be told of delivery trouble."""
    return caller.role in (Role.AGENCY_ADMIN, Role.NETWORK_ADMIN) or proposals.is_steward(
        session, caller
    )


@router.get("/mail", response_class=HTMLResponse)
def mailbox(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    folder: Path | None = request.app.state.settings.demo_mail_dir
    if folder is None or not may_read(session, web.caller):
        raise NotFound("page")
    return render(request, "demo_mail.html", {"mails": read_folder(folder), "shown": SHOWN})
