"""Recording and moving preservation requests: the RED case and its selectors, hits with other
agencies, the one extension, bad input refused naming the field, and who may see what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import add_selector, make_case
from preservation_builders import NOW, Desks, record
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case, Hit, Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.preservation import service, statistics
from taskforce.preservation.models import PreservationEvent, PreservationRequest
from taskforce.preservation.schemas import Confirm, Extend, FollowUp, Withdraw


def _events(session: Session, request: PreservationRequest) -> list[str]:
    return list(
        session.scalars(
            select(PreservationEvent.kind)
            .where(PreservationEvent.request_id == request.id)
            .order_by(PreservationEvent.at)
        )
    )


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_recording_opens_a_red_case_holding_the_normalised_identifiers(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(
        session,
        settings,
        desks.gb,
        identifiers=[
            {"type": "email", "value": "Night.Fox@Example.COM"},
            {"type": "username", "value": "Night_Fox", "platform": "Kik Messenger"},
        ],
    )
    assert request.reference == "PR-GB-2026-0001"
    assert request.status == "sent"
    assert request.expires_at == datetime(2026, 5, 30, 14, 30, tzinfo=UTC)  # sent + 90 days
    case = session.get(Case, request.case_id)
    assert case is not None
    assert case.title == "Preservation PR-GB-2026-0001"
    assert case.sharing == SharingLevel.RED
    assert case.owner_agency_id == desks.gb.caller.agency_id
    values = set(
        session.execute(select(Selector.kind, Selector.value).where(Selector.case_id == case.id))
    )
    assert values == {("email", "night.fox@example.com"), ("username", "night_fox")}
    assert [i["normalised"] for i in request.identifiers] == [
        "night.fox@example.com",
        "night_fox",
    ]
    assert _events(session, request) == ["recorded", "case"]
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.subject_id == request.id)
    ).all()
    assert actions == ["preservation.record"]
    assert record(session, settings, desks.gb).reference == "PR-GB-2026-0002"


def test_an_identifier_another_agency_holds_makes_a_hit(
    session: Session, settings: Settings, desks: Desks
) -> None:
    nl_case = make_case(session, desks.nl, title="Operation Heron")
    add_selector(session, settings, desks.nl, nl_case, "email", "night.fox@example.com")
    request = record(session, settings, desks.gb)
    hits = session.scalars(
        select(Hit).where((Hit.a_case_id == nl_case.id) | (Hit.b_case_id == nl_case.id))
    ).all()
    assert len(hits) == 1
    assert {hits[0].a_case_id, hits[0].b_case_id} == {nl_case.id, request.case_id}
    view = service.get(session, desks.gb.caller, request.id)
    assert view.hits == 1
    assert "1 hit with other agencies" in view.events[-1].detail


def test_a_named_case_must_be_an_open_red_case_of_the_agency(
    session: Session, settings: Settings, desks: Desks
) -> None:
    own = make_case(session, desks.gb, title="Operation Wren")
    request = record(session, settings, desks.gb, case_id=own.id)
    assert request.case_id == own.id
    assert session.scalar(select(func.count()).where(Selector.case_id == own.id)) == 1
    amber = make_case(
        session, desks.gb, title="Operation Finch", sharing=SharingLevel.AMBER, partners=["NL-NP"]
    )
    nl_case = make_case(session, desks.nl, title="Operation Heron")
    for case_id, rule in ((amber.id, "must be a RED case"), (nl_case.id, "of your agency")):
        with pytest.raises(Invalid) as refused:
            record(session, settings, desks.gb, case_id=case_id)
        assert refused.value.field == "case_id"
        assert rule in refused.value.rule


@pytest.mark.parametrize(
    ("overrides", "field", "rule"),
    [
        ({"legal_basis": "art99_wishful"}, "legal_basis", "art29_preservation"),
        ({"requesting_country": "XX"}, "requesting_country", "ISO 3166-1 alpha-2"),
        ({"provider_country": "Narnia"}, "provider_country", "ISO 3166-1 alpha-2"),
        (
            {
                "identifiers": [
                    {"type": "email", "value": "fine@example.com"},
                    {"type": "email", "value": "not an address"},
                ]
            },
            "identifiers.1.value",
            "",
        ),
        ({"identifiers": [{"type": "fax", "value": "123"}]}, "identifiers.0.type", "one of"),
        ({"expires_at": datetime(2026, 2, 1, tzinfo=UTC)}, "expires_at", "after sent_at"),
        ({"sent_at": NOW + timedelta(days=1)}, "sent_at", "future"),
        ({"sent_at": datetime(2026, 3, 1, 9, 0)}, "sent_at", "time zone"),  # noqa: DTZ001
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    session: Session,
    settings: Settings,
    desks: Desks,
    overrides: dict[str, object],
    field: str,
    rule: str,
) -> None:
    before = (_count(session, PreservationRequest), _count(session, Case))
    with pytest.raises(Invalid) as refused:
        record(session, settings, desks.gb, **overrides)
    assert refused.value.field == field
    assert rule in refused.value.rule
    assert (_count(session, PreservationRequest), _count(session, Case)) == before


def test_extended_once_only(session: Session, settings: Settings, desks: Desks) -> None:
    request = record(session, settings, desks.gb)
    first_expiry = request.expires_at
    service.extend(session, desks.gb.caller, settings, request.id, Extend(), now=NOW)
    assert request.status == "extended"
    assert request.expires_at == first_expiry + timedelta(days=90)
    with pytest.raises(Invalid) as refused:
        service.extend(
            session, desks.gb.caller, settings, request.id, Extend(), now=NOW + timedelta(days=1)
        )
    assert refused.value.field == "extension"
    assert "once only" in refused.value.rule
    assert "Art. 29(7)" in refused.value.rule
    assert request.expires_at == first_expiry + timedelta(days=90)


def test_the_states_from_sent_to_followed_up(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.gb)
    with pytest.raises(Invalid) as refused:
        service.confirm(session, desks.gb.caller, request.id, Confirm(), now=NOW)
    assert refused.value.field == "provider_reference"
    service.confirm(
        session, desks.gb.caller, request.id, Confirm(provider_reference="FM-4471"), now=NOW
    )
    assert (request.status, request.provider_reference) == ("confirmed", "FM-4471")
    service.follow_up(
        session, desks.gb.caller, request.id, FollowUp(formal_reference="MLA-2026-118"), now=NOW
    )
    assert request.status == "followed_up"
    assert request.check_at is None
    with pytest.raises(Invalid) as refused:
        service.withdraw(session, desks.gb.caller, request.id, Withdraw(reason="not needed"))
    assert refused.value.field == "status"
    assert _events(session, request) == ["recorded", "case", "confirmed", "followed_up"]
    actions = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.subject_id == request.id)
        .order_by(AuditEntry.seq)
    ).all()
    assert actions == [
        "preservation.record",
        "preservation.confirmed",
        "preservation.followed_up",
    ]


def test_another_agency_gets_404_and_the_refusal_is_audited(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.gb)
    for person in (desks.nl, desks.hub):
        with pytest.raises(NotFound):
            service.get(session, person.caller, request.id)
        with pytest.raises(NotFound):
            service.withdraw(session, person.caller, request.id, Withdraw(reason="probing"))
    assert service.list_requests(session, desks.nl.caller, now=NOW) == ([], 0)
    refused = session.scalars(
        select(AuditEntry.outcome).where(
            AuditEntry.subject_id == request.id, AuditEntry.action == "preservation.read"
        )
    ).all()
    assert refused == ["not_found", "not_found"]
    with pytest.raises(Forbidden):
        record(session, settings, desks.gb_analyst)


def test_the_coordinator_records_for_its_own_desk(
    session: Session, settings: Settings, desks: Desks
) -> None:
    request = record(session, settings, desks.hub, requesting_country="FR")
    assert request.reference == "PR-FR-2026-0001"
    case = session.get(Case, request.case_id)
    assert case is not None
    assert case.owner_agency_id == desks.hub.caller.agency_id


def test_pending_for_lists_what_still_holds_data_soonest_first(
    session: Session, settings: Settings, desks: Desks
) -> None:
    late = record(session, settings, desks.gb, provider="Late Host")
    soon = record(
        session, settings, desks.gb, provider="Soon Host", expires_at=NOW + timedelta(days=5)
    )
    gone = record(
        session,
        settings,
        desks.gb,
        expires_at=NOW - timedelta(hours=1),
        sent_at=NOW - timedelta(days=2),
    )
    done = record(session, settings, desks.gb)
    service.withdraw(session, desks.gb.caller, done.id, Withdraw(reason="not needed any more"))
    record(session, settings, desks.nl)
    pending = service.pending_for(session, desks.gb.caller.agency_id, now=NOW)  # type: ignore[arg-type]
    assert [(p.reference, p.provider, p.status) for p in pending] == [
        (soon.reference, "Soon Host", "sent"),
        (late.reference, "Late Host", "sent"),
    ]
    assert pending[0].expires_at == NOW + timedelta(days=5)
    assert gone.reference not in {p.reference for p in pending}


def test_counts_are_the_agencys_own_or_the_networks_for_the_coordinator(
    session: Session, settings: Settings, desks: Desks
) -> None:
    record(session, settings, desks.gb, expires_at=NOW + timedelta(days=3))
    record(session, settings, desks.gb, provider="fictional mail ltd")
    done = record(session, settings, desks.gb, provider="Other Host")
    service.withdraw(session, desks.gb.caller, done.id, Withdraw(reason="not needed any more"))
    record(session, settings, desks.nl, provider="Other Host")
    own = statistics.counts(session, desks.gb.caller, now=NOW)
    assert own.scope == "GB-NCA"
    assert (own.total, own.active, own.expiring_soon) == (3, 2, 1)
    assert own.by_status["sent"] == 2
    assert own.by_status["withdrawn"] == 1
    assert [(r.key, r.total, r.active) for r in own.by_agency] == [("GB-NCA", 3, 2)]
    assert [(r.key, r.total, r.active, r.expiring_soon) for r in own.by_provider] == [
        ("Fictional Mail Ltd", 2, 2, 1),
        ("Other Host", 1, 0, 0),
    ]
    network = statistics.counts(session, desks.hub.caller, now=NOW)
    assert network.scope == "network"
    assert network.total == 4
    assert [(r.key, r.total) for r in network.by_agency] == [("GB-NCA", 3), ("NL-NP", 1)]
    dumped = network.model_dump_json()
    assert "night.fox" not in dumped.lower()
