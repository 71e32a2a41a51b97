"""A fictional follow-the-sun rota for the rota tests (and any test that needs desks on duty).

December, no daylight saving anywhere involved: London is UTC, Amsterdam UTC+1, New York
UTC-5. The three desks cover the day between them, back to back:

    GB-NCA  06:00-14:00 London      = 06:00-14:00 UTC   en          preservation, subscriber_data
    NL-NP   15:00-23:00 Amsterdam   = 14:00-22:00 UTC   nl, en      preservation
    US-HSI  17:00-01:00 New York    = 22:00-06:00 UTC   en, es      emergency_disclosure

so "Any desk on duty" always holds, and "preservation" has a gap every night 22:00-06:00 UTC.
INT-WATCH (Paris) is the network coordinator; its network admin runs the rota. Desks do not
observe public holidays unless a test asks (Christmas falls within 30 days of `NOW`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from builders import Person, make_person
from sqlalchemy.orm import Session
from watch_builders import make_coordinator, make_desk

from taskforce.agencies.models import Agency
from taskforce.core.caller import Role
from taskforce.rota import directory, schedule
from taskforce.rota.schemas import DeskRead, DeskSet, Power, RuleCreate

NOW = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)  # a Monday


@dataclass
class RotaNet:
    gb: Person  # GB-NCA investigator (KEEP_WATCH)
    nl: Person  # NL-NP investigator
    us: Person  # US-HSI agency admin
    gb_analyst: Person  # GB-NCA analyst: no KEEP_WATCH
    coord: Person  # INT-WATCH network admin: MANAGE_ROTA
    coordinator: Agency
    desks: dict[str, DeskRead]


def make_rota_desks(session: Session, *, coordinator: bool = True) -> RotaNet:
    """The agencies, their people and their desks, no rules yet."""
    gb = make_desk(session, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    nl = make_desk(
        session, "NL-NP", country="NL", timezone="Europe/Amsterdam", phone="+31201234567"
    )
    us = make_desk(
        session, "US-HSI", country="US", timezone="America/New_York", phone="+12025550123"
    )
    hub = (
        make_coordinator(session)
        if coordinator
        else make_desk(
            session, "INT-DESK", country="CH", timezone="Europe/Zurich", phone="+41445550000"
        )
    )
    coord = make_person(session, hub, role=Role.NETWORK_ADMIN, email="coordinator@example.com")
    desks = {
        "GB-NCA": DeskSet(
            languages=["en"],
            powers=[Power.PRESERVATION, Power.SUBSCRIBER_DATA],
            observes_holidays=False,
        ),
        "NL-NP": DeskSet(
            languages=["nl", "en"], powers=[Power.PRESERVATION], observes_holidays=False
        ),
        "US-HSI": DeskSet(
            languages=["en", "es"], powers=[Power.EMERGENCY_DISCLOSURE], observes_holidays=False
        ),
    }
    made = {
        code: directory.set_desk(session, coord.caller, code, data, now=NOW)
        for code, data in desks.items()
    }
    return RotaNet(
        gb=make_person(session, gb),
        nl=make_person(session, nl),
        us=make_person(session, us, role=Role.AGENCY_ADMIN),
        gb_analyst=make_person(session, gb, role=Role.ANALYST),
        coord=coord,
        coordinator=hub,
        desks=made,
    )


EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]


def make_rota(session: Session, *, coordinator: bool = True) -> RotaNet:
    """The desks and their follow-the-sun rules (see the module's docstring)."""
    net = make_rota_desks(session, coordinator=coordinator)
    for desk, start, end in (
        ("GB-NCA", "06:00", "14:00"),
        ("NL-NP", "15:00", "23:00"),
        ("US-HSI", "17:00", "01:00"),
    ):
        schedule.add_rule(
            session,
            net.coord.caller,
            RuleCreate(desk=desk, weekdays=EVERY_DAY, start=start, end=end),
            now=NOW,
        )
    return net
