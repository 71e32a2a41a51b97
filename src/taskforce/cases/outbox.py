"""Delivering the outbox: e-mail over SMTP and webhooks over HTTP, with retries.

A message is marked sent only after the server accepted it; a failure counts an attempt and
keeps the error, and the message is tried again on the next run (up to 10 attempts).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

import httpx
from sqlalchemy.orm import Session

from taskforce.cases.models import OutboxMessage
from taskforce.cases.service import pending_messages
from taskforce.core.db import utcnow
from taskforce.core.settings import Settings


@dataclass(frozen=True)
class DrainReport:
    sent: int
    failed: int
    left: int


def _send_email(settings: Settings, message: OutboxMessage) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (TASKFORCE_SMTP_HOST)")
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email.set_content(message.body)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        smtp.send_message(email)


def _send_webhook(message: OutboxMessage) -> None:
    response = httpx.post(
        message.recipient,
        content=message.body.encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    response.raise_for_status()


def drain(session: Session, settings: Settings, *, limit: int = 500) -> DrainReport:
    sent = failed = 0
    for message in pending_messages(session, limit=limit):
        try:
            if message.channel == "email":
                _send_email(settings, message)
            else:
                _send_webhook(message)
        except Exception as exc:
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            failed += 1
        else:
            message.attempts += 1
            message.sent_at = utcnow()
            sent += 1
        session.flush()
    left = len(pending_messages(session, limit=10_000))
    return DrainReport(sent=sent, failed=failed, left=left)
