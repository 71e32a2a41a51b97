"""Fixtures of the clue notice tests (data from `notice_builders`)."""

from __future__ import annotations

import pytest
from builders import Network, jpeg, picture
from notice_builders import Scene, gps_exif, make_scene, write_notice
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.notices.models import ClueNotice


@pytest.fixture
def scene(session: Session, network: Network) -> Scene:
    return make_scene(session, network)


@pytest.fixture
def gps_jpeg() -> bytes:
    return jpeg(picture(11), exif=gps_exif())


@pytest.fixture
def notice(session: Session, settings: Settings, scene: Scene) -> ClueNotice:
    return write_notice(session, settings, scene)
