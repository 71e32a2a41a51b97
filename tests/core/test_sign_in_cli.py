"""The operator's side of sign-ins: `taskforce serve` says what plain http means for the
session cookies and leaves forwarded addresses to the app (trusted proxies only), and
`taskforce user locks` / `unlock` show and lift sign-in limits, audited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.audit.models import AuditEntry
from taskforce.core.auth.models import LoginAttempt
from taskforce.core.db import utcnow


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("TASKFORCE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TASKFORCE_ALLOW_INSECURE_DEFAULTS", "1")
    for name in ("TASKFORCE_DATABASE_URL", "TASKFORCE_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    return runner


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """uvicorn.run's arguments instead of a server."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app_, **kw: calls.append({"app": app_, **kw}))
    return calls


def test_serve_on_plain_http_says_cookies_are_secure_and_trusts_no_peer_itself(
    run: CliRunner, served: list[dict[str, Any]]
) -> None:
    r = run.invoke(app, ["serve"])
    assert r.exit_code == 0, r.output
    assert "plain http" in r.output
    assert "Session cookies are Secure" in r.output
    assert "HTTPS reverse proxy" in r.output
    assert "127.0.0.1, ::1" in r.output
    (call,) = served
    assert call["proxy_headers"] is False  # uvicorn would trust 127.0.0.1 on its own
    assert call["app"].state.settings.secure_cookies is True


@pytest.mark.usefixtures("served")
def test_serve_warns_when_secure_cookies_are_off(
    run: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKFORCE_SECURE_COOKIES", "false")
    r = run.invoke(app, ["serve"])
    assert r.exit_code == 0, r.output
    assert "warning: TASKFORCE_SECURE_COOKIES is off" in r.output


def test_locks_are_listed_and_lifted_at_the_console(run: CliRunner, tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'taskforce.db'}")
    with Session(engine) as session:
        session.add_all(
            LoginAttempt(email="inv@example.org", ip="198.51.100.66", succeeded=False, at=utcnow())
            for _ in range(5)
        )
        session.commit()
    shown = run.invoke(app, ["user", "locks"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.split()[:6] == [
        "pair",
        "inv@example.org",
        "198.51.100.66",
        "5",
        "failures",
        "lifts",
    ]

    refused = run.invoke(app, ["user", "unlock"])
    assert refused.exit_code == 2
    assert "name an account, an address, or both" in refused.output
    lifted = run.invoke(app, ["user", "unlock", "INV@example.org", "--address", "198.51.100.66"])
    assert lifted.exit_code == 0
    assert "lifted: 5 failed sign-ins forgotten" in lifted.output
    assert "no sign-in limit is in force" in run.invoke(app, ["user", "locks"]).output
    with Session(engine) as session:
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)).all()
    assert actions.count("auth.unlock") == 1
    assert actions.count("auth.locks.list") == 2
    engine.dispose()
