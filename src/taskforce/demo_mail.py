"""The demo's mail sink: a local SMTP server (aiosmtpd) on a free loopback port that keeps every
message the outbox sends as a file, so the demo's e-mails (hit notifications, takedown notices,
urgent-lead alerts) are delivered, not left failing for want of a server, and can be read on
the demo's mailbox page (`web/mailbox.py`, /ui/demo/mail). `taskforce demo` starts it and
points the demo's SMTP settings at it; nothing leaves the machine.
"""

from __future__ import annotations

import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings

HOST = "127.0.0.1"


def free_port(host: str = HOST) -> int:
    """A port nobody listens on now (the sink binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _keep(folder: Path, content: bytes, at: datetime) -> None:
    """One message as one `.eml` file, named by its arrival (the mailbox page sorts by it)."""
    path = folder / f"{at.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(content)


class _Keep:
    """aiosmtpd's handler: each message as it arrived, one `.eml` file, named by arrival."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content
        _keep(self.folder, content, datetime.now(UTC))
        return "250 Message accepted for delivery"


@dataclass
class MailSink:
    """Started with `start()`, stopped with `stop()`; `settings()` points a hub at it."""

    folder: Path
    host: str = HOST
    port: int = 0
    _controller: Any = field(default=None, repr=False)  # aiosmtpd's Controller

    def start(self) -> MailSink:
        """Listen, with an empty folder: a new demo starts with an empty mailbox."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.eml"):
            old.unlink()
        self.port = self.port or free_port(self.host)
        # imported here: aiosmtpd is the demo's (extra "demo", in "dev"), not the hub's
        from aiosmtpd.controller import Controller

        self._controller = Controller(_Keep(self.folder), hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self, settings: Settings) -> Settings:
        """The same settings with the outbox sending here, in plain SMTP on loopback, and the
        demo's mailbox page reading this folder."""
        return settings.model_copy(
            update={
                "smtp_host": self.host,
                "smtp_port": self.port,
                "smtp_security": "none",
                "smtp_username": None,
                "smtp_password": None,
                "demo_mail_dir": self.folder,
            }
        )


def file_history(session: Session, settings: Settings) -> int:
    """The e-mails of the demo's back-dated history, which the build records as delivered
    weeks ago (no server ran then), filed in the mailbox as they arrived: at their `sent_at`,
    composed as the outbox composes them. Returns how many."""
    folder = settings.demo_mail_dir
    if folder is None:
        return 0
    sent = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == "email", OutboxMessage.sent_at.is_not(None))
        .order_by(OutboxMessage.sent_at)
    )
    filed = 0
    for m in sent:
        assert m.sent_at is not None
        item = outbox.Outgoing(m.id, m.channel, m.recipient, m.subject, m.body, m.reply_to)
        email = outbox.compose_email(settings, item)
        email["Date"] = format_datetime(m.sent_at)
        _keep(folder, bytes(email), m.sent_at)
        filed += 1
    return filed


def deliver(factory: sessionmaker[Session], settings: Settings, *, rounds: int = 20) -> int:
    """What the worker does every few seconds, once now: the outbox's due messages sent (to
    the sink), each outcome recorded. Returns how many were delivered."""
    delivered = 0
    for _ in range(rounds):
        run = jobs.run(factory, outbox.delivery_job(settings), limit=200)
        delivered += run.done
        if not run.claimed:
            break
    return delivered


def mail_count(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.eml"))
