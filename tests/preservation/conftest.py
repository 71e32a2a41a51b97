"""Fixtures of the preservation tests (data from `preservation_builders`)."""

from __future__ import annotations

import pytest
from builders import Network
from preservation_builders import Desks, make_desks
from sqlalchemy.orm import Session


@pytest.fixture
def desks(session: Session, network: Network) -> Desks:
    return make_desks(session, network)
