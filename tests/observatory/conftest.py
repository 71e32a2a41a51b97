"""Fixtures of the observatory tests (data from `observatory_builders`)."""

from __future__ import annotations

import pytest
from builders import Network
from observatory_builders import Month, build_month
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings


@pytest.fixture
def month(session: Session, settings: Settings, network: Network) -> Month:
    return build_month(session, settings, network)
