"""Queueing and delivering the outbox: e-mail over SMTP and webhooks over HTTP, with retries.

Delivery is claimed before it is tried: a drain takes a batch of due messages, pushes their
`next_attempt_at` forward by a lease and commits, so a second drain (another worker process)
skips them — on PostgreSQL with `FOR UPDATE SKIP LOCKED`, on SQLite because every transaction
is `BEGIN IMMEDIATE`. Then each message is sent and its outcome committed on its own. A
message is marked sent only after the server accepted it; a failure counts an attempt, keeps
the error and waits longer before the next try (up to `MAX_ATTEMPTS`). A worker that dies
between sending and recording leaves the lease to expire: the message is sent again, so
delivery is at least once, never lost.

Webhooks are posted through `core.outbound`, the SSRF-safe client the re-checker uses: the
agency's URL is judged again at every delivery (DNS can change since it was set), every address
of its host must be public (or inside `webhook_allow_networks`), the connection is pinned to
the judged address, redirects are not followed and only the answer's head is read. A URL that
is refused will not become deliverable by waiting, so that message fails at once and for good
(`attempts` is set to `MAX_ATTEMPTS`), with the reason in `last_error`.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.db import is_postgres, utcnow
from taskforce.core.outbound import Outbound, OutboundError, Refused, status_words
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.resolver import make_resolver
from taskforce.core.settings import Settings

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=5)  # how long a claimed message is left to the drain that took it
WEBHOOK_USER_AGENT = "taskforce-webhook/1"


@dataclass(frozen=True)
class DrainReport:
    sent: int
    failed: int
    left: int


def enqueue_email(
    session: Session,
    *,
    recipient: str,
    subject: str,
    body: str,
    reference: str | None = None,
    reply_to: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue one e-mail in the caller's transaction; it goes out once that commits."""
    message = OutboxMessage(
        id=uuid.uuid4(),
        channel="email",
        recipient=recipient,
        subject=subject[:300],
        body=body,
        created_at=now or utcnow(),
        attempts=0,
        reference=reference,
        reply_to=reply_to,
    )
    session.add(message)
    return message


def enqueue_webhook(
    session: Session,
    *,
    url: str,
    event: str,
    body: str,
    reference: str | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Queue one webhook call (a JSON body posted to the agency's URL)."""
    message = OutboxMessage(
        id=uuid.uuid4(),
        channel="webhook",
        recipient=url,
        subject=event[:300],
        body=body,
        created_at=now or utcnow(),
        attempts=0,
        reference=reference,
    )
    session.add(message)
    return message


def _due(now: datetime) -> list[object]:
    return [
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.attempts < MAX_ATTEMPTS,
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    ]


def pending_messages(session: Session, *, limit: int = 100) -> list[OutboxMessage]:
    """Messages not yet delivered that may still be tried, oldest first (due or not)."""
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
    )


def messages_for(session: Session, references: Iterable[str]) -> list[OutboxMessage]:
    """The messages about these records, oldest first: a domain shows what went out and when."""
    refs = list(references)
    if not refs:
        return []
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.reference.in_(refs))
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        )
    )


def claim(session: Session, *, limit: int, now: datetime | None = None) -> list[uuid.UUID]:
    """Take up to `limit` due messages for this drain; the caller commits at once."""
    now = now or utcnow()
    query = (
        select(OutboxMessage)
        .where(*_due(now))  # type: ignore[arg-type]
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    messages = list(session.scalars(query))
    for message in messages:
        message.next_attempt_at = now + LEASE
    session.flush()
    return [m.id for m in messages]


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def _send_email(settings: Settings, message: OutboxMessage) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (TASKFORCE_SMTP_HOST)")
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    domain = settings.mail_from.rsplit("@", 1)[-1]
    email["Message-ID"] = make_msgid(idstring=message.id.hex, domain=domain)
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email.set_content(message.body)
    if settings.smtp_security == "tls":
        context = ssl.create_default_context()
        with smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=15, context=context
        ) as smtp:
            _login_and_send(settings, smtp, email)
        return
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
        if settings.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        _login_and_send(settings, smtp, email)


def _login_and_send(settings: Settings, smtp: smtplib.SMTP, email: EmailMessage) -> None:
    if settings.smtp_username:
        smtp.login(settings.smtp_username, settings.smtp_password or "")
    smtp.send_message(email)


def webhook_client(settings: Settings) -> Outbound:
    """The SSRF-safe client webhooks are posted with (`core.outbound`): at most 5 s to connect,
    10 s to answer, 15 s in all."""
    return Outbound(
        make_resolver(settings),
        connect_timeout=5,
        read_timeout=10,
        total_timeout=15,
        allow_networks=settings.webhook_allow_networks,
    )


class WebhookRefused(Exception):
    """The webhook's URL may not be called (an internal address, a bad URL): not retried."""


def _send_webhook(client: Outbound, message: OutboxMessage) -> None:
    try:
        url = httpx.URL(message.recipient)
    except httpx.InvalidURL as exc:
        raise WebhookRefused(f"not a valid URL ({exc})") from None
    headers = {
        "Content-Type": "application/json",
        "User-Agent": WEBHOOK_USER_AGENT,
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    host = url.raw_host.decode("ascii", "replace")

    def plain(reason: str) -> str:
        # the error is shown to other agencies (watch pages): the receiver's name stays out
        return reason.replace(host, "the receiver") if host else reason

    try:
        with client.exchange() as exchange:
            answer = exchange.send("POST", url, headers=headers, content=message.body.encode())
    except Refused as exc:
        raise WebhookRefused(plain(exc.reason)) from None
    except OutboundError as exc:
        raise RuntimeError(plain(exc.reason)) from None
    if 300 <= answer.status < 400:
        raise RuntimeError(
            f"the receiver answered {status_words(answer.status)}; webhooks do not follow "
            "redirects: set the URL it points to"
        )
    if not 200 <= answer.status < 300:
        raise RuntimeError(f"the receiver answered {status_words(answer.status)}")


def deliver(
    session: Session,
    settings: Settings,
    message_id: uuid.UUID,
    *,
    webhooks: Outbound | None = None,
) -> bool:
    """Send one claimed message and record the outcome; True when the server accepted it.

    `webhooks`: the client for webhook calls (default: `webhook_client(settings)`)."""
    message = session.get(OutboxMessage, message_id)
    if message is None or message.sent_at is not None:
        return False
    try:
        if message.channel == "email":
            _send_email(settings, message)
        else:
            _send_webhook(webhooks or webhook_client(settings), message)
    except WebhookRefused as exc:
        message.attempts = max(message.attempts + 1, MAX_ATTEMPTS)  # given up: see the docstring
        message.last_error = f"refused, not retried: {exc}"[:500]
        message.next_attempt_at = None
        session.flush()
        return False
    except Exception as exc:
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        message.next_attempt_at = utcnow() + backoff(message.attempts)
        session.flush()
        return False
    message.attempts += 1
    message.sent_at = utcnow()
    message.last_error = None
    session.flush()
    return True


def count_pending(session: Session) -> int:
    """Messages not yet delivered that will still be tried (now or after their backoff)."""
    query = select(func.count()).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS
    )
    return int(session.scalar(query) or 0)


def drain(
    session: Session, settings: Settings, *, limit: int = 500, webhooks: Outbound | None = None
) -> DrainReport:
    """Deliver due messages inside one session (the CLI and tests); see `drain_committed`."""
    sent = failed = 0
    ids = claim(session, limit=limit)
    webhooks = webhooks or (webhook_client(settings) if ids else None)
    for message_id in ids:
        if deliver(session, settings, message_id, webhooks=webhooks):
            sent += 1
        else:
            failed += 1
    return DrainReport(sent=sent, failed=failed, left=count_pending(session))


def drain_committed(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    limit: int = 100,
    webhooks: Outbound | None = None,
) -> DrainReport:
    """The worker's drain: claim and commit, then each delivery in its own transaction."""
    with factory.begin() as session:
        ids = claim(session, limit=limit)
    webhooks = webhooks or (webhook_client(settings) if ids else None)
    sent = failed = 0
    for message_id in ids:
        with factory.begin() as session:
            if deliver(session, settings, message_id, webhooks=webhooks):
                sent += 1
            else:
                failed += 1
    with factory() as session:
        left = count_pending(session)
    return DrainReport(sent=sent, failed=failed, left=left)
