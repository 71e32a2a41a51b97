"""The demo's 24/7 watch: a follow-the-sun rota over the member countries, with one visible gap,
and the desks' preservation requests (one confirmed, one close to expiry), and the handover of
the last shift that ended, acknowledged by the desk that took over.

Built through the services like the rest of the demo, relative to `now`, so the timeline of
the next 14 days always shows the rota and its gap:

- Asia-Pacific: PH-PNP (Manila) and AU-AFP (Sydney) from 08:00 to 20:00 on their own clocks;
- Europe: a weekly rotation of GB-NCA, NL-NP and DE-BKA, 08:00 to 20:00 Berlin time;
- the Americas: BR-PF (São Paulo) every day, US-HSI on weekdays and CA-RCMP at weekends, 08:00
  to 20:00 on their own clocks.

Every hour is covered by at least two desks; emergency disclosure (Art. 9 of the Second
Protocol) only by the desks that declare it. AU-AFP's operations centre moves on the day after
tomorrow, 02:00 to 06:00 UTC: nobody able to ask a provider for emergency disclosure is on duty
then — the red band the coordinator sees (and was told of in the inbox). One override shows a
swap in the Europe rotation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.core.caller import Caller, Role
from taskforce.core.settings import Settings
from taskforce.preservation import recording as preservation_recording
from taskforce.preservation import service as preservation_service
from taskforce.preservation.schemas import Confirm, IdentifierIn, LegalBasis, PreservationCreate
from taskforce.rota import directory as rota_desks
from taskforce.rota import schedule as rota_schedule
from taskforce.rota import service as rota_service
from taskforce.rota.models import DutyDesk
from taskforce.rota.schemas import (
    DeskSet,
    OverrideCreate,
    Power,
    RequirementCreate,
    RotationCreate,
    RotationKind,
    RuleCreate,
    UnavailabilityCreate,
)
from taskforce.watch import handovers as watch_handovers
from taskforce.watch.schemas import HandoverWrite

EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]
ALL_POWERS: list[Power] = list(Power)
NO_EMERGENCY: list[Power] = [p for p in Power if p is not Power.EMERGENCY_DISCLOSURE]

# agency code: languages, powers
DESKS: dict[str, tuple[list[str], list[Power]]] = {
    "GB-NCA": (["en"], ALL_POWERS),
    "NL-NP": (["nl", "en", "de"], ALL_POWERS),
    "DE-BKA": (["de", "en"], ALL_POWERS),
    "US-HSI": (["en", "es"], ALL_POWERS),
    "CA-RCMP": (["en", "fr"], ALL_POWERS),
    "AU-AFP": (["en"], ALL_POWERS),
    "BR-PF": (["pt", "es", "en"], NO_EMERGENCY),
    "PH-PNP": (["en", "tl"], NO_EMERGENCY),
}
EUROPE = "Europe day desk"
EUROPE_START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # a Monday, 08:00 in Berlin


@dataclass
class WatchSummary:
    desks: int = 0
    gaps: int = 0
    preservations: int = 0
    handover: str | None = None  # "from → to"


def rota(session: Session, admin: Caller, now: datetime) -> WatchSummary:
    """Desks, rules, a rotation, an override, and the unavailability that opens the gap."""
    for code, (languages, powers) in DESKS.items():
        rota_desks.set_desk(
            session,
            admin,
            code,
            DeskSet(
                languages=languages,
                powers=powers,
                reliable_hours=[{"weekdays": EVERY_DAY, "start": "08:00", "end": "20:00"}],
                observes_holidays=False,
            ),
            now=now,
        )
    rota_service.add_requirement(
        session,
        admin,
        RequirementCreate(name="Emergency disclosure", power=Power.EMERGENCY_DISCLOSURE),
        now=now,
    )
    rota_service.add_requirement(
        session,
        admin,
        RequirementCreate(name="Preservation in English", power=Power.PRESERVATION, language="en"),
        now=now,
    )
    rota_schedule.add_rotation(
        session,
        admin,
        RotationCreate(
            name=EUROPE,
            description="The European desks take the day watch a week each",
            kind=RotationKind.WEEKLY,
            time_zone="Europe/Berlin",
            starts_at=EUROPE_START,
            members=["GB-NCA", "NL-NP", "DE-BKA"],
        ),
        now=now,
    )
    day = ("08:00", "20:00")
    rules: list[RuleCreate] = [
        RuleCreate(desk="PH-PNP", weekdays=EVERY_DAY, start=day[0], end=day[1]),
        RuleCreate(desk="AU-AFP", weekdays=EVERY_DAY, start=day[0], end=day[1]),
        RuleCreate(rotation=EUROPE, weekdays=EVERY_DAY, start=day[0], end=day[1]),
        RuleCreate(desk="BR-PF", weekdays=EVERY_DAY, start=day[0], end=day[1]),
        RuleCreate(desk="US-HSI", weekdays=[0, 1, 2, 3, 4], start=day[0], end=day[1]),
        RuleCreate(desk="CA-RCMP", weekdays=[5, 6], start=day[0], end=day[1]),
    ]
    for rule in rules:
        rota_schedule.add_rule(session, admin, rule, now=now)

    # a swap: tomorrow, whoever has the Europe rotation hands the day to the next member
    tomorrow_noon = (now + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    europe = list(rota_service.on_duty(session, admin, at=tomorrow_noon))
    members = ["GB-NCA", "NL-NP", "DE-BKA"]
    holder = next((d.agency for d in europe if d.agency in members), None)
    if holder is not None:
        stand_in = members[(members.index(holder) + 1) % len(members)]
        rota_schedule.add_override(
            session,
            admin,
            OverrideCreate(
                starts_at=tomorrow_noon.replace(hour=6),
                ends_at=tomorrow_noon.replace(hour=20),
                add=stand_in,
                remove=holder,
                reason=f"{holder} in court all day; {stand_in} swaps with them",
            ),
            now=now,
        )

    moving = (now + timedelta(days=2)).replace(hour=2, minute=0, second=0, microsecond=0)
    au = next(d for d in rota_desks.list_desks(session, admin) if d.agency == "AU-AFP")
    rota_desks.add_unavailability(
        session,
        admin,
        au.id,
        UnavailabilityCreate(
            starts_at=moving,
            ends_at=moving + timedelta(hours=4),
            reason="operations centre moves to the new building",
        ),
        now=now,
    )
    gaps = rota_service.gaps(session, admin, days=14, now=now)
    return WatchSummary(desks=len(DESKS), gaps=len(gaps))


def preservations(
    session: Session, settings: Settings, callers: dict[tuple[str, str], Caller], now: datetime
) -> int:
    """NL-NP's request, confirmed three weeks into its 90 days; GB-NCA's, five days from
    expiry and not yet followed by a formal request (its reminder is due)."""
    requests = [
        (
            "NL-NP",
            PreservationCreate(
                provider="Example Social Network (fictional)",
                provider_country="US",
                identifiers=[
                    IdentifierIn(type="email", value="tiger.lily.demo@example.com"),
                    IdentifierIn(type="username", value="lily_demo_77", platform="photoshare"),
                ],
                legal_basis=LegalBasis.ART29_PRESERVATION.value,
                sent_at=now - timedelta(days=20),
                notes="Account named in an urgent lead; MLA request in preparation.",
            ),
            "ESN-LE-2026-00418",
        ),
        (
            "GB-NCA",
            PreservationCreate(
                provider="Example Cloud Storage (fictional)",
                provider_country="IE",
                identifiers=[IdentifierIn(type="email", value="storage.owner.demo@example.net")],
                legal_basis=LegalBasis.ART29_PRESERVATION.value,
                sent_at=now - timedelta(days=85),
            ),
            "ECS-2026-7731",
        ),
    ]
    for code, data, reference in requests:
        caller = callers[(code, Role.INVESTIGATOR.value)]
        request = preservation_recording.record(session, caller, settings, data, now=data.sent_at)
        preservation_service.confirm(
            session,
            caller,
            request.id,
            Confirm(provider_reference=reference),
            now=(data.sent_at or now) + timedelta(days=1),
        )
    return len(requests)


def handover(
    session: Session,
    settings: Settings,
    callers: dict[tuple[str, str], Caller],
    admin: Caller,
    now: datetime,
) -> str | None:
    """The last shift that ended over an hour ago was handed over half an hour before its end,
    and the incoming desk acknowledged it twelve minutes after: "from → to", or None."""
    ended = [
        s
        for s in rota_service.shifts(session, admin, start=now - timedelta(hours=36), end=now)
        if s.ends_at < now - timedelta(hours=1)
    ]
    for shift in sorted(ended, key=lambda s: s.ends_at, reverse=True):
        outgoing = callers.get((shift.agency, Role.INVESTIGATOR.value))
        if outgoing is None:
            continue
        written = watch_handovers.write(
            session,
            settings,
            outgoing,
            HandoverWrite(
                notes="Quiet night. The provider confirmed the preservation by phone; the "
                "written confirmation is expected in the morning."
            ),
            now=shift.ends_at - timedelta(minutes=30),
        )
        desk = session.get(DutyDesk, written.to_desk_id)
        agency = session.get(Agency, desk.agency_id) if desk is not None else None
        if agency is None:
            continue
        incoming = callers[(agency.code, Role.INVESTIGATOR.value)]
        watch_handovers.acknowledge(
            session, incoming, written.id, now=shift.ends_at + timedelta(minutes=12)
        )
        return f"{shift.agency} → {incoming.agency_code}"
    return None
