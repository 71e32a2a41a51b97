"""24/7 desks for the watch's rota tests: a `DutyDesk` row for an agency of `watch_builders`'
fictional network, written directly (the rota's own service is tested in tests/rota/)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.rota.models import DutyDesk, RotaRule


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


def duty_rule(
    session: Session, desk: DutyDesk, start: str, end: str, *, time_zone: str | None = None
) -> RotaRule:
    """Every day from `start` to `end` on the desk's clock (or `time_zone`'s)."""
    rule = RotaRule(
        desk_id=desk.id,
        weekdays=list(range(7)),
        start=start,
        end=end,
        time_zone=time_zone or desk.time_zone,
        label="",
    )
    session.add(rule)
    session.flush()
    return rule
