"""The background worker: one round routes, escalates, delivers and re-checks; the in-process
worker of the embedded default does it on its own while the hub serves."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from builders import make_agency
from conftest import migrated_engine
from fastapi.testclient import TestClient
from hotline_builders import HOSTS, form_token
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce import worker
from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyKind, AgencyUpdate
from taskforce.app import create_app
from taskforce.core.caller import system_caller
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.outbox import service as outbox_service
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.resolver import StaticResolver
from taskforce.core.settings import Settings
from taskforce.reports.models import Report
from taskforce.takedown.fetch import CheckResult
from taskforce.watch.models import UrgentLead


class NeverChecked:
    def check(self, _url: str) -> CheckResult:
        raise AssertionError("no notice is due in this test")


def _members(session: Session) -> None:
    make_agency(
        session,
        "NL-HOTLINE",
        country="NL",
        timezone="Europe/Amsterdam",
        contact_phone="+31201234500",
    )
    agency_service.update_agency(
        session, system_caller(), code="NL-HOTLINE", data=AgencyUpdate(kind=AgencyKind.HOTLINE)
    )
    make_agency(session, "NL-NP")


def test_one_round_runs_every_task_and_a_failing_task_does_not_stop_the_others(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _members(session)
    page = client.get("/report/en?kind=url")
    client.post(
        "/report",
        data={
            "form_token": form_token(page.text),
            "kind": "url",
            "lang": "en",
            "url": "https://files.example.net/a",
            "country": "NL",
        },
    )
    tools = worker.Tools(resolver=StaticResolver(HOSTS), checker=NeverChecked())

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(outbox_service, "delivery_job", broken)
    done = worker.run_round(session_factory, settings, tools)
    assert done.pop("audit entries sealed") > 0  # the round's own entries included
    assert done == {
        "report arrivals audited": 1,
        "reports routed": 1,
        "urgent leads escalated": 0,
        "handovers escalated": 0,
        "handover reminders sent": 0,
        "preservations reminded or expired": 0,
        "reachability drills": 0,
        "rota gaps told": 0,
        "release requests delivered": 0,
        "messages delivered": 0,
        "URLs re-checked": 0,
        "site recrawls queued": 0,
        "site crawl steps": 0,
        "federation published": 0,
        "peers synced": 0,
        "PDQ candidates confirmed": 0,
        "housekeeping": 0,
    }
    report = session.scalars(select(Report)).one()
    session.refresh(report)
    # 203.0.113.10 has no registry country and there is no network table here: the report
    # goes to the reporter's country, to its hotline
    hotline = agency_service.get_by_code(session, "NL-HOTLINE")
    assert report.receiving_agency_id == hotline.id
    assert report.route_due_at is None


def test_the_in_process_worker_routes_and_opens_leads_while_the_hub_serves(
    tmp_path: Path,
) -> None:
    """The embedded default: no separate process, a report is routed seconds after it came."""
    with migrated_engine("sqlite", tmp_path) as engine:
        base: Settings = engine.info_settings  # type: ignore[attr-defined]
        hosts = tmp_path / "hosts"
        hosts.write_text("203.0.113.10 files.example.net\n")
        settings = base.model_copy(
            update={
                "worker": "in-process",
                "worker_interval_seconds": 0.2,
                "resolver_hosts_file": hosts,
            }
        )
        factory = make_sessionmaker(engine)
        with unit_of_work(factory) as session:
            _members(session)
        app = create_app(settings, engine)
        with TestClient(app) as client:
            assert app.state.worker is not None
            page = client.get("/report/en?kind=url")
            sent = client.post(
                "/report",
                data={
                    "form_token": form_token(page.text),
                    "kind": "url",
                    "lang": "en",
                    "url": "https://files.example.net/x",
                    "country": "NL",
                },
            )
            assert sent.status_code == 200
            deadline = time.monotonic() + 20
            routed = None
            while time.monotonic() < deadline:
                with factory() as session:
                    routed = session.scalars(select(Report)).one()
                    if routed.route_due_at is None:
                        break
                time.sleep(0.1)
            assert routed is not None
            assert routed.route_due_at is None
            assert routed.receiving_agency_id is not None
        assert app.state.worker is not None
        assert app.state.worker.rounds >= 1


def test_an_urgent_report_whose_follow_up_failed_still_gets_its_lead(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from taskforce.reports import service as reports_service

    _members(session)

    def fails(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("after_report broke")

    monkeypatch.setattr(reports_service, "after_report", fails)
    page = client.get("/report/en?kind=danger")
    sent = client.post(
        "/report",
        data={
            "form_token": form_token(page.text),
            "kind": "danger",
            "lang": "en",
            "what": "a child is hurt",
            "country": "NL",
        },
    )
    assert sent.status_code == 200  # the reporter is told it arrived: it is stored
    assert session.scalars(select(UrgentLead)).all() == []
    monkeypatch.undo()
    tools = worker.Tools(resolver=StaticResolver(HOSTS), checker=NeverChecked())
    worker.run_round(session_factory, settings, tools)
    lead = session.scalars(select(UrgentLead)).one()
    assert lead.ack_due_at is not None
    mails = session.scalars(select(OutboxMessage.recipient)).all()
    assert "desk@nl-np.example.com" in mails


def test_worker_once_from_the_command_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from taskforce.cli import app

    result = CliRunner().invoke(
        app,
        ["worker", "--once"],
        env={"TASKFORCE_DATA_DIR": str(tmp_path), "COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "idle" in result.output
