"""Fixtures of the urgent-lead tests (data from `watch_builders`)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from watch_builders import Watch, make_watch


@pytest.fixture
def watch(session: Session) -> Watch:
    return make_watch(session)
