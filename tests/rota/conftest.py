"""Fixtures of the rota tests (data from `rota_builders`)."""

from __future__ import annotations

import pytest
from rota_builders import RotaNet, make_rota
from sqlalchemy.orm import Session


@pytest.fixture
def net(session: Session) -> RotaNet:
    return make_rota(session)
