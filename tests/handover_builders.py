"""A fictional follow-the-sun day for the handover tests, on the network of `watch_builders`.

On 3 December 2026 (UTC) an operation's temporary schedule gives the network duty to NL-NP
06:00-14:00, GB-NCA 14:00-22:00 and US-HSI 22:00-06:00 the next morning, then NL-NP again on
the 4th (06:00-14:00). INT-WATCH, the coordinator, has a desk but no shift. GB-NCA has one
preservation request pending at a provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from builders import Person, make_person
from sqlalchemy.orm import Session
from watch_builders import Watch, make_watch

from taskforce.agencies import service as agency_service
from taskforce.core.caller import Role
from taskforce.preservation.models import PreservationRequest
from taskforce.rota.models import DutyDesk, TemporarySchedule, TemporaryShift

DAY = datetime(2026, 12, 3, tzinfo=UTC)
GB_ENDS = DAY + timedelta(hours=22)  # GB-NCA's shift ends, US-HSI's begins
US_ENDS = DAY + timedelta(days=1, hours=6)


@dataclass
class Network:
    watch: Watch
    desks: dict[str, DutyDesk]  # by agency code
    admin: Person  # the coordinator's network admin (MANAGE_ROTA)


def make_desk_row(session: Session, code: str, languages: list[str]) -> DutyDesk:
    agency = agency_service.get_by_code(session, code)
    desk = DutyDesk(
        agency_id=agency.id,
        time_zone=agency.timezone,
        languages=languages,
        powers=["preservation"],
        reliable_hours=[],
        observes_holidays=False,
        is_active=True,
    )
    session.add(desk)
    session.flush()
    return desk


def on_rota(
    session: Session,
    languages: dict[str, list[str]],
    shifts: list[tuple[str, int, int]],
    *,
    day: datetime = DAY,
) -> dict[str, DutyDesk]:
    """A desk for each agency code, and a temporary schedule over two days from `day` giving
    them the shifts (code, first hour, hours)."""
    desks = {code: make_desk_row(session, code, langs) for code, langs in languages.items()}
    schedule = TemporarySchedule(
        name="Operation Lantern (fictional)",
        starts_at=day,
        ends_at=day + timedelta(days=2),
        created_by="test",
    )
    session.add(schedule)
    session.flush()
    for code, start, hours in shifts:
        session.add(
            TemporaryShift(
                schedule_id=schedule.id,
                desk_id=desks[code].id,
                starts_at=day + timedelta(hours=start),
                ends_at=day + timedelta(hours=start + hours),
            )
        )
    session.flush()
    return desks


def make_network(session: Session) -> Network:
    watch = make_watch(session)
    desks = on_rota(
        session,
        {
            "NL-NP": ["nl", "en"],
            "GB-NCA": ["en"],
            "US-HSI": ["en", "es"],
            "INT-WATCH": ["en", "fr"],
        },
        [("NL-NP", 6, 8), ("GB-NCA", 14, 8), ("US-HSI", 22, 8), ("NL-NP", 30, 8)],
    )
    gb = agency_service.get_by_code(session, "GB-NCA")
    session.add(
        PreservationRequest(
            reference="PR-GB-2026-0007",
            agency_id=gb.id,
            requesting_country="GB",
            provider="Mailbox Example Ltd",
            provider_country="IE",
            identifiers=[{"type": "email", "value": "wren@example.com"}],
            legal_basis="budapest_art29",
            status="sent",
            sent_at=DAY - timedelta(days=10),
            expires_at=DAY + timedelta(days=80),
        )
    )
    hub = agency_service.get_by_code(session, "INT-WATCH")
    admin = make_person(session, hub, role=Role.NETWORK_ADMIN)
    session.flush()
    return Network(watch=watch, desks=desks, admin=admin)
