"""The demo's mail sink: the outbox delivers to a local SMTP server (aiosmtpd, a free loopback
port) and the demo's mailbox page shows what arrived, to admins and the coordinator only, and
only where `taskforce demo` set a mail folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from builders import Network, web_login
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce import demo_mail
from taskforce.app import create_app
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.web.mailbox import read_folder


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[demo_mail.MailSink]:
    running = demo_mail.MailSink(tmp_path / "mail").start()
    yield running
    running.stop()


@pytest.fixture
def demo_app(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    sink: demo_mail.MailSink,
) -> FastAPI:
    app = create_app(sink.settings(settings), engine)
    app.state.sessionmaker = session_factory
    return app


def test_the_outbox_delivers_to_the_sink_and_the_admin_reads_it(
    session: Session,
    settings: Settings,
    sink: demo_mail.MailSink,
    demo_app: FastAPI,
    network: Network,
) -> None:
    assert sink.port > 0
    outbox.enqueue_email(
        session,
        recipient="desk@police.example.org",
        subject="[taskforce] New hit on GB-0001 (demo)",
        body="A fictional hit: open it in taskforce.",
    )
    report = outbox.drain(session, sink.settings(settings))
    assert (report.sent, report.failed) == (1, 0)  # delivered, not failing for want of a server
    assert demo_mail.mail_count(sink.folder) == 1
    with TestClient(demo_app) as client:
        web_login(client, session, network.gb_admin)
        page = client.get("/ui/demo/mail")
        assert page.status_code == 200
        assert "[taskforce] New hit on GB-0001 (demo)" in page.text
        assert "desk@police.example.org" in page.text
        assert "A fictional hit: open it in taskforce." in page.text
        assert 'href="/ui/demo/mail"' in client.get("/ui/").text  # linked for admins


def test_the_demo_history_is_filed_as_it_arrived(
    session: Session, settings: Settings, sink: demo_mail.MailSink
) -> None:
    sent_at = datetime(2026, 10, 20, 9, 30, tzinfo=UTC)
    outbox.enqueue_email(
        session, recipient="desk@police.example.org", subject="Weeks ago", body="(fictional)"
    )
    message = session.scalars(select(OutboxMessage)).one()
    message.sent_at = sent_at  # as the demo records its back-dated history
    session.flush()

    assert demo_mail.file_history(session, sink.settings(settings)) == 1
    [mail] = read_folder(sink.folder)
    assert (mail.subject, mail.received_at) == ("Weeks ago", sent_at)


def test_only_admins_and_the_coordinator_read_the_mailbox(
    session: Session, demo_app: FastAPI, network: Network
) -> None:
    with TestClient(demo_app) as client:
        web_login(client, session, network.gb)  # an investigator
        assert client.get("/ui/demo/mail").status_code == 404
        assert 'href="/ui/demo/mail"' not in client.get("/ui/").text


def test_outside_the_demo_there_is_no_mailbox(
    session: Session, client: TestClient, network: Network
) -> None:
    web_login(client, session, network.gb_admin)
    assert client.get("/ui/demo/mail").status_code == 404
