"""The coordinator is told of a new gap once, in the change's transaction: an inbox notice and
an e-mail to its 24/7 address; a change that opens no gap tells nobody."""

from __future__ import annotations

from datetime import UTC, datetime

from rota_builders import NOW, RotaNet, make_rota
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.inbox.models import InboxNotice
from taskforce.core.outbox.models import OutboxMessage
from taskforce.rota import directory, schedule, service
from taskforce.rota.models import KnownGap
from taskforce.rota.schemas import (
    DeskSet,
    OverrideCreate,
    Power,
    RequirementCreate,
    UnavailabilityCreate,
)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def notices(session: Session) -> list[InboxNotice]:
    return list(session.scalars(select(InboxNotice).order_by(InboxNotice.created_at)))


def mails(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")))


def off(session: Session, net: RotaNet, code: str, start: datetime, end: datetime) -> None:
    directory.add_unavailability(
        session,
        net.coord.caller,
        net.desks[code].id,
        UnavailabilityCreate(starts_at=start, ends_at=end, reason="storm"),
        now=NOW,
    )


def test_a_change_that_opens_a_gap_tells_the_coordinator_once(
    session: Session, net: RotaNet
) -> None:
    assert notices(session) == []  # the full rota was built without a gap
    assert mails(session) == []

    off(session, net, "US-HSI", at(8, 1), at(8, 3))  # 20:00-22:00 in New York

    [notice] = notices(session)
    assert notice.agency_id == net.coordinator.id
    assert notice.kind == "rota.gap"
    assert notice.link == "/ui/rota/gaps"
    assert notice.read_at is None
    assert notice.title == (
        "New gap in the 24/7 rota: Any desk on duty, from Tue 08 Dec 2026 01:00 UTC"
    )
    assert "to Tue 08 Dec 2026 03:00 UTC" in notice.body
    # the coordinator (Paris) reads its own clock too
    assert "Tue 08 Dec 2026 02:00 CET (Europe/Paris) to Tue 08 Dec 2026 04:00 CET" in (notice.body)
    [mail] = mails(session)
    assert mail.recipient == "desk@int-watch.example.com"
    assert mail.subject == notice.title
    assert mail.body == notice.body
    [known] = session.scalars(select(KnownGap)).all()
    assert (known.starts_at, known.ends_at) == (at(8, 1), at(8, 3))

    # a change that opens no gap (a language added) tells nobody
    directory.set_desk(session, net.gb.caller, "GB-NCA", DeskSet(languages=["en", "fr"]), now=NOW)
    # nor does one inside the known gap
    off(session, net, "US-HSI", at(8, 1, 30), at(8, 2, 30))
    assert len(notices(session)) == 1
    assert len(mails(session)) == 1


def test_a_closed_gap_is_forgotten_and_told_again_when_it_reopens(
    session: Session, net: RotaNet
) -> None:
    off(session, net, "US-HSI", at(8, 1), at(8, 3))
    override = schedule.add_override(
        session,
        net.coord.caller,
        OverrideCreate(starts_at=at(8, 0), ends_at=at(8, 4), add="NL-NP", reason="cover"),
        now=NOW,
    )
    assert session.scalars(select(KnownGap)).all() == []
    assert len(notices(session)) == 1
    schedule.delete_override(session, net.coord.caller, override.id, now=NOW)
    assert len(notices(session)) == 2
    assert len(session.scalars(select(KnownGap)).all()) == 1


def test_a_gap_that_grows_is_told_again(session: Session, net: RotaNet) -> None:
    off(session, net, "US-HSI", at(8, 1), at(8, 3))
    off(session, net, "US-HSI", at(8, 2), at(8, 5))
    assert len(notices(session)) == 2
    assert "from Tue 08 Dec 2026 01:00 UTC to Tue 08 Dec 2026 05:00 UTC" in notices(session)[1].body


def test_a_new_requirement_not_met_is_a_new_gap(session: Session, net: RotaNet) -> None:
    service.add_requirement(
        session,
        net.coord.caller,
        RequirementCreate(name="Preservation", power=Power.PRESERVATION),
        now=NOW,
    )
    [notice] = notices(session)
    assert notice.title.startswith("31 new gaps in the 24/7 rota, the first: Preservation")
    assert "... and 11 more" in notice.body
    assert len(mails(session)) == 1


def test_without_a_coordinator_gaps_are_still_tracked(session: Session) -> None:
    net = make_rota(session, coordinator=False)
    off(session, net, "US-HSI", at(8, 1), at(8, 3))
    assert notices(session) == []
    assert mails(session) == []
    assert len(session.scalars(select(KnownGap)).all()) == 1
