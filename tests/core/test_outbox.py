"""The outbox drains through a real SMTP server; failed deliveries are kept and retried."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from builders import Network, add_selector, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel


class Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def test_hit_notifications_are_mailed_and_marked_sent(
    session: Session, settings: Settings, network: Network, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    a = make_case(session, network.gb, sharing=SharingLevel.RED, title="Nightjar")
    b = make_case(session, network.us, sharing=SharingLevel.GREEN)
    add_selector(session, settings, network.gb, a, "email", "mail@example.com")
    add_selector(session, settings, network.us, b, "email", "mail@example.com")
    mail_settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    report = outbox.drain(session, mail_settings)
    assert (report.sent, report.failed, report.left) == (2, 0, 0)
    assert sorted(m["To"] for m in sink.messages) == sorted(
        [network.gb.user.email, network.us.user.email]
    )
    to_us = next(m for m in sink.messages if m["To"] == network.us.user.email)
    assert "Nightjar" not in to_us.get_payload() and a.reference not in to_us.get_payload()
    assert "http://hub.example.org/ui/hits/" in to_us.get_payload()


def test_failed_delivery_is_kept_for_retry(
    session: Session, settings: Settings, network: Network
) -> None:
    session.add(OutboxMessage(channel="email", recipient="x@example.com", subject="s", body="b"))
    session.flush()
    report = outbox.drain(session, settings.model_copy(update={"smtp_host": None}))
    assert (report.sent, report.failed, report.left) == (0, 1, 1)
    message = session.scalars(select(OutboxMessage)).one()
    assert message.attempts == 1 and message.sent_at is None
    assert "no SMTP server configured" in (message.last_error or "")
