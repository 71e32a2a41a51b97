"""The outbox drains through a real SMTP server; failed deliveries are kept and retried."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from builders import Network, add_selector, make_case
from conftest import migrated_engine
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.db import make_sessionmaker
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel


class Sink:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
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
    assert "Nightjar" not in to_us.get_payload()
    assert a.reference not in to_us.get_payload()
    assert "http://hub.example.org/ui/hits/" in to_us.get_payload()


@pytest.mark.usefixtures("network")
def test_failed_delivery_is_kept_for_retry(session: Session, settings: Settings) -> None:
    session.add(OutboxMessage(channel="email", recipient="x@example.com", subject="s", body="b"))
    session.flush()
    report = outbox.drain(session, settings.model_copy(update={"smtp_host": None}))
    assert (report.sent, report.failed, report.left) == (0, 1, 1)
    message = session.scalars(select(OutboxMessage)).one()
    assert message.attempts == 1
    assert message.sent_at is None
    assert "no SMTP server configured" in (message.last_error or "")


@pytest.mark.usefixtures("network")
def test_a_failure_waits_longer_before_each_retry(session: Session, settings: Settings) -> None:
    message = outbox.enqueue_email(session, recipient="x@example.com", subject="s", body="b")
    session.flush()
    no_smtp = settings.model_copy(update={"smtp_host": None})
    outbox.drain(session, no_smtp)
    assert jobs.claim(session, outbox.delivery_job(no_smtp), limit=10) == []  # backing off
    assert message.next_attempt_at is not None
    waits = [outbox.backoff(n) for n in (1, 2, 3, 10, 20)]
    assert [w.total_seconds() // 60 for w in waits] == [1, 2, 4, 360, 360]


@pytest.mark.usefixtures("network")
def test_reply_to_and_message_id_reach_the_server(
    session: Session, settings: Settings, smtp: tuple[Sink, int]
) -> None:
    sink, port = smtp
    outbox.enqueue_email(
        session,
        recipient="abuse@host.example.net",
        subject="Notice",
        body="Please remove.",
        reference="takedown_notice:1",
        reply_to="desk@hotline.example.org",
    )
    session.flush()
    mail_settings = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    assert outbox.drain(session, mail_settings).sent == 1
    (mail,) = sink.messages
    assert mail["Reply-To"] == "desk@hotline.example.org"
    assert mail["Message-ID"]
    assert [m.subject for m in outbox.messages_for(session, ["takedown_notice:1"])] == ["Notice"]


@pytest.mark.parametrize("backend_name", ["sqlite", "postgresql"])
def test_two_drains_at_once_send_each_message_exactly_once(
    backend_name: str, tmp_path: Path, smtp: tuple[Sink, int]
) -> None:
    """Two workers on a committed database (PostgreSQL: SKIP LOCKED) never send twice."""
    sink, port = smtp
    with migrated_engine(backend_name, tmp_path) as engine:
        base: Settings = engine.info_settings  # type: ignore[attr-defined]
        settings = base.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        factory = make_sessionmaker(engine)
        with factory.begin() as session:
            for i in range(60):
                outbox.enqueue_email(
                    session, recipient=f"desk{i}@example.com", subject=f"m{i}", body="b"
                )
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def drain() -> None:
            try:
                barrier.wait(timeout=10)
                while jobs.run(factory, outbox.delivery_job(settings), limit=7).done:
                    pass
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=drain) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        subjects = sorted(m["Subject"] for m in sink.messages)
        assert subjects == sorted(f"m{i}" for i in range(60))
        with factory() as session:
            assert outbox.count_pending(session) == 0
