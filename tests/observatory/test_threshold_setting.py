"""The `observatory_threshold` setting is the threshold every interface publishes with: a
network that suppresses below 50 must not publish a month suppressed below 10."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from builders import token_for, web_login
from fastapi.testclient import TestClient
from observatory_builders import hub_coordinator
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.app import create_app
from taskforce.core.settings import Settings
from taskforce.observatory.models import Snapshot


@pytest.fixture
def strict(
    settings: Settings, engine: Engine, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    application = create_app(settings.model_copy(update={"observatory_threshold": 50}), engine)
    application.state.sessionmaker = session_factory
    with TestClient(application, base_url="http://testserver") as client:
        yield client


def test_the_page_publishes_with_the_setting(strict: TestClient, session: Session) -> None:
    coordinator = hub_coordinator(session)
    csrf = web_login(strict, session, coordinator)
    r = strict.post(
        "/ui/observatory/publish",
        data={"csrf_token": csrf, "period": "2020-01"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    session.expire_all()
    assert session.scalar(select(Snapshot.threshold)) == 50


def test_the_api_uses_the_setting(strict: TestClient, session: Session, settings: Settings) -> None:
    coordinator = hub_coordinator(session)
    headers = token_for(session, settings, coordinator)
    live = strict.get("/api/v1/observatory/live?period=2020-01", headers=headers)
    assert live.json()["threshold"] == 50
    r = strict.post("/api/v1/observatory/snapshots", json={"period": "2020-01"}, headers=headers)
    assert r.status_code == 201
    assert r.json()["threshold"] == 50
    assert r.json()["figures"]["threshold"] == 50
