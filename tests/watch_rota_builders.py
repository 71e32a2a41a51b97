"""24/7 desks for the watch's rota tests: a `DutyDesk` row for an agency of `watch_builders`'
fictional network, written directly (the rota's own service is tested in tests/rota/)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.rota.models import DutyDesk


def duty_desk(
    session: Session,
    code: str,
    *,
    time_zone: str | None = None,
    languages: Iterable[str] = ("en",),
    powers: Iterable[str] = ("preservation",),
    active: bool = True,
) -> DutyDesk:
    agency = agency_service.get_by_code(session, code)
    desk = DutyDesk(
        agency_id=agency.id,
        time_zone=time_zone or agency.timezone,
        subdivision=None,
        languages=list(languages),
        powers=list(powers),
        reliable_hours=[],
        observes_holidays=False,
        is_active=active,
    )
    session.add(desk)
    session.flush()
    return desk
