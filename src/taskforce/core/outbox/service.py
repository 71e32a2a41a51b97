"""Queueing and delivering the outbox: e-mail over SMTP and webhooks over HTTP, with retries.

Delivery is a background job of the runner (`core.jobs`): a run claims a batch of due
messages with a lease on `next_attempt_at` (another worker skips them), sends each outside any
transaction and records its outcome in a transaction of its own. A message is marked sent only
after the server accepted it; a failure counts an attempt, keeps the error and waits longer
before the next try (up to `MAX_ATTEMPTS`). A worker that dies between sending and recording
leaves the lease to expire: the message is sent again, so delivery is at least once, never
lost.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import httpx
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from taskforce.core.db import utcnow
from taskforce.core.jobs import runner as jobs
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


def _due(now: datetime) -> list[ColumnElement[bool]]:
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


@dataclass(frozen=True)
class Outgoing:
    """What a delivery needs, copied out of the message when it is claimed."""

    id: uuid.UUID
    channel: str
    recipient: str
    subject: str
    body: str
    reply_to: str | None


@dataclass(frozen=True)
class Delivery:
    """How one try went: accepted, or the error (`refused`: the URL may never be called)."""

    error: str | None = None
    refused: bool = False


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most six hours."""
    return jobs.backoff(attempts)


def compose_email(settings: Settings, message: Outgoing) -> EmailMessage:
    """The e-mail as it goes on the wire (the demo's mailbox files its history the same way)."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject
    domain = settings.mail_from.rsplit("@", 1)[-1]
    email["Message-ID"] = make_msgid(idstring=message.id.hex, domain=domain)
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email.set_content(message.body)
    return email


def _send_email(settings: Settings, message: Outgoing) -> None:
    if not settings.smtp_host:
        raise RuntimeError("no SMTP server configured (TASKFORCE_SMTP_HOST)")
    email = compose_email(settings, message)
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


def _send_webhook(client: Outbound, message: Outgoing) -> None:
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


def _try(settings: Settings, webhooks: Callable[[], Outbound], item: Outgoing) -> Delivery:
    """Send one claimed message, outside any transaction."""
    try:
        if item.channel == "email":
            _send_email(settings, item)
        else:
            _send_webhook(webhooks(), item)
    except WebhookRefused as exc:
        return Delivery(error=str(exc), refused=True)
    except Exception as exc:
        return Delivery(error=f"{type(exc).__name__}: {exc}")
    return Delivery()


def record_delivery(session: Session, item: Outgoing, delivery: Delivery, now: datetime) -> bool:
    """Keep how a try went; True when the server accepted the message."""
    message = session.get(OutboxMessage, item.id)
    if message is None or message.sent_at is not None:
        return False
    if delivery.refused:
        message.attempts = max(message.attempts + 1, MAX_ATTEMPTS)  # given up: see the docstring
        message.last_error = f"refused, not retried: {delivery.error}"[:500]
        message.next_attempt_at = None
    elif delivery.error is not None:
        message.attempts += 1
        message.last_error = delivery.error[:500]
        message.next_attempt_at = now + backoff(message.attempts)
    else:
        message.attempts += 1
        message.sent_at = now
        message.last_error = None
    session.flush()
    return delivery.error is None


def delivery_job(
    settings: Settings, *, webhooks: Outbound | None = None
) -> jobs.Job[OutboxMessage, Outgoing, Delivery]:
    """The outbox as a background job (`core.jobs`): due messages are claimed with a lease,
    sent outside any transaction and their outcome recorded each in its own.

    `webhooks`: the client for webhook calls (default: `webhook_client(settings)`, built when
    the first webhook is sent)."""
    clients: list[Outbound] = [webhooks] if webhooks is not None else []

    def client() -> Outbound:
        if not clients:
            clients.append(webhook_client(settings))
        return clients[0]

    return jobs.Job(
        name="outbox.deliver",
        model=OutboxMessage,
        lease_column=OutboxMessage.next_attempt_at,
        lease=LEASE,
        due=_due,
        order=(OutboxMessage.created_at, OutboxMessage.id),
        take=lambda m: Outgoing(m.id, m.channel, m.recipient, m.subject, m.body, m.reply_to),
        work=lambda item: _try(settings, client, item),
        record=record_delivery,
    )


def count_pending(session: Session) -> int:
    """Messages not yet delivered that will still be tried (now or after their backoff)."""
    query = select(func.count()).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS
    )
    return int(session.scalar(query) or 0)


def drain(
    session: Session, settings: Settings, *, limit: int = 500, webhooks: Outbound | None = None
) -> DrainReport:
    """Deliver due messages inside the caller's transaction (tests, a script); the worker and
    `taskforce outbox drain` run `delivery_job` with a transaction per message."""
    done = jobs.run_here(session, delivery_job(settings, webhooks=webhooks), limit=limit)
    return DrainReport(sent=done.done, failed=done.claimed - done.done, left=count_pending(session))
