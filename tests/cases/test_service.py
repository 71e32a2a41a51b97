"""Deconfliction as investigators rely on it: hits, disclosure by sharing level, noise, caps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import Network, add_selector, make_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.cases import additions, hits, search, service
from taskforce.cases.models import Notification
from taskforce.cases.schemas import Assessment, CaseStatus, CaseUpdate
from taskforce.core.audit import verify as audit
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Forbidden, Invalid, NotFound
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

GREEN, AMBER, RED = SharingLevel.GREEN, SharingLevel.AMBER, SharingLevel.RED


class TestAddSelector:
    def test_normalised_value_is_returned_and_duplicate_is_idempotent(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        first = add_selector(session, settings, network.gb, case, "email", " Foo.Bar@Example.COM ")
        again = add_selector(session, settings, network.gb, case, "email", "foo.bar@example.com")
        assert first.normalized == "foo.bar@example.com"
        assert first.created is True
        assert again.created is False
        assert again.selector.id == first.selector.id
        assert len(additions.list_selectors(session, network.gb.caller, case)) == 1

    def test_phone_is_read_in_the_agency_country(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        added = add_selector(session, settings, network.gb, case, "phone", "020 7946 0958")
        assert added.normalized == "+442079460958"

    def test_invalid_value_names_field_and_rule(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        with pytest.raises(Invalid) as exc:
            add_selector(session, settings, network.gb, case, "imei", "490154203237517")
        assert exc.value.field == "value"
        assert "check digit" in exc.value.rule

    def test_unknown_type_is_refused(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        with pytest.raises(Invalid) as exc:
            add_selector(session, settings, network.gb, case, "shoe_size", "42")
        assert exc.value.field == "type"

    def test_other_agency_cannot_add_to_a_case_it_cannot_see(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        with pytest.raises(NotFound):
            add_selector(session, settings, network.us, case, "email", "x@example.com")

    def test_read_only_user_may_not_add(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        with pytest.raises(Forbidden):
            add_selector(session, settings, network.gb_reader, case, "email", "x@example.com")


class TestDeconfliction:
    def test_green_hit_discloses_the_other_case_to_both_sides(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        gb_case = make_case(session, network.gb, title="Operation Kestrel", sharing=GREEN)
        us_case = make_case(session, network.us, title="Operation Harbor", sharing=GREEN)
        add_selector(
            session, settings, network.gb, gb_case, "username", "@Dark_Fox", platform="ChatApp"
        )
        added = add_selector(
            session, settings, network.us, us_case, "username", "dark_fox", platform="chatapp"
        )
        assert len(added.hits) == 1
        other = added.hits[0].other
        assert other.disclosure == "full"
        assert (other.reference, other.title, other.agency) == (
            gb_case.reference,
            "Operation Kestrel",
            "GB-NCA",
        )
        gb_view = hits.list_hits(session, network.gb.caller)
        assert [h.other.reference for h in gb_view] == [us_case.reference]

    def test_red_hit_tells_only_the_contact_point(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        gb_case = make_case(session, network.gb, title="Secret operation", sharing=RED)
        us_case = make_case(session, network.us, sharing=GREEN)
        add_selector(session, settings, network.gb, gb_case, "email", "suspect@example.com")
        added = add_selector(session, settings, network.us, us_case, "email", "suspect@example.com")
        other = added.hits[0].other
        assert other.disclosure == "blind"
        assert other.reference is None
        assert other.title is None
        assert other.case_id is None
        assert other.selector_type == "email"
        assert other.contact.phone == "+442079460001"
        dumped = added.model_dump_json()
        assert "Secret operation" not in dumped
        assert gb_case.reference not in dumped
        # the RED owner sees the GREEN case in full
        assert hits.list_hits(session, network.gb.caller)[0].other.disclosure == "full"

    def test_amber_discloses_to_named_partner_only(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        gb_case = make_case(
            session, network.gb, title="Amber op", sharing=AMBER, partners=["NL-NP"]
        )
        nl_case = make_case(session, network.nl, sharing=RED)
        us_case = make_case(session, network.us, sharing=RED)
        add_selector(session, settings, network.gb, gb_case, "ip", "203.0.113.7")
        nl_hit = add_selector(session, settings, network.nl, nl_case, "ip", "203.0.113.7").hits[0]
        us_hit = add_selector(session, settings, network.us, us_case, "ip", "203.0.113.7").hits[0]
        assert nl_hit.other.disclosure == "full"
        assert nl_hit.other.title == "Amber op"
        assert us_hit.other.disclosure == "blind"
        assert us_hit.other.title is None

    def test_disclosure_follows_sharing_changes(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        gb_case = make_case(session, network.gb, sharing=RED)
        us_case = make_case(session, network.us, sharing=RED)
        add_selector(session, settings, network.gb, gb_case, "domain", "shop.example.net")
        hit = add_selector(
            session, settings, network.us, us_case, "domain", "SHOP.example.net."
        ).hits[0]
        assert hit.other.disclosure == "blind"
        service.update_case(session, network.gb.caller, gb_case.id, CaseUpdate(sharing=GREEN))
        assert hits.get_hit(session, network.us.caller, hit.id).other.disclosure == "full"

    def test_pdq_near_match_makes_a_hit_with_its_distance(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        base = "f" * 64
        near = "0" * 5 + "f" * 59  # 5 hex digits = 20 bits away
        far = "0" * 8 + "f" * 56  # 32 bits away: above the threshold of 31
        gb_case = make_case(session, network.gb, sharing=GREEN)
        us_case = make_case(session, network.us, sharing=GREEN)
        nl_case = make_case(session, network.nl, sharing=GREEN)
        add_selector(session, settings, network.gb, gb_case, "pdq", base.upper())
        hits = add_selector(session, settings, network.us, us_case, "pdq", near).hits
        assert [(h.other.reference, h.distance) for h in hits] == [(gb_case.reference, 20)]
        # 32 bits from the base (no hit), 12 bits from the near copy (hit)
        far_hits = add_selector(session, settings, network.nl, nl_case, "pdq", far).hits
        assert [(h.other.reference, h.distance) for h in far_hits] == [(us_case.reference, 12)]

    def test_same_agency_cases_also_hit(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        a = make_case(session, network.gb, title="First")
        b = make_case(session, network.gb, title="Second")
        add_selector(session, settings, network.gb, a, "md5", "D41D8CD98F00B204E9800998ECF8427E")
        hit = add_selector(
            session, settings, network.gb, b, "md5", "d41d8cd98f00b204e9800998ecf8427e"
        ).hits[0]
        assert hit.other.disclosure == "full"
        assert hit.other.title == "First"

    def test_noise_values_make_no_hit(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        a = make_case(session, network.gb, sharing=GREEN)
        b = make_case(session, network.us, sharing=GREEN)
        add_selector(session, settings, network.gb, a, "ip", "8.8.8.8")
        added = add_selector(session, settings, network.us, b, "ip", "8.8.8.8")
        assert added.hits == []
        assert added.selector.status == "noise"
        assert added.selector.status_reason

    def test_admin_noise_entry_stops_hits(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        from taskforce.core.caller import system_caller

        service.add_noise(
            session,
            system_caller(),
            kind="email",
            pattern="@support.example.com",
            reason="platform support desk",
        )
        a = make_case(session, network.gb, sharing=GREEN)
        b = make_case(session, network.us, sharing=GREEN)
        add_selector(session, settings, network.gb, a, "email", "help@support.example.com")
        assert (
            add_selector(session, settings, network.us, b, "email", "help@support.example.com").hits
            == []
        )

    def test_common_value_stops_making_hits(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        limited = settings.model_copy(update={"common_value_case_limit": 3})
        cases = [make_case(session, network.gb, title=f"Case {i}") for i in range(4)]
        results = [
            add_selector(session, limited, network.gb, c, "url", "http://example.com/x")
            for c in cases
        ]
        assert [len(r.hits) for r in results] == [0, 1, 2, 0]
        assert results[3].selector.status == "common"

    def test_ip_hits_respect_the_observation_window(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
        a = make_case(session, network.gb, sharing=GREEN)
        b = make_case(session, network.us, sharing=GREEN)
        c = make_case(session, network.nl, sharing=GREEN)
        add_selector(session, settings, network.gb, a, "ip", "2001:DB8::0001", observed_at=t0)
        far = add_selector(
            session,
            settings,
            network.us,
            b,
            "ip",
            "2001:db8::1",
            observed_at=t0 + timedelta(days=30),
        )
        near = add_selector(
            session,
            settings,
            network.nl,
            c,
            "ip",
            "2001:db8::1",
            observed_at=t0 + timedelta(hours=3),
        )
        assert [h.other.reference for h in far.hits] == []
        assert sorted(h.other.reference or "" for h in near.hits) == [a.reference]

    def test_both_owners_are_notified_and_disclosure_is_audited_on_both_sides(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        a = make_case(session, network.gb, sharing=RED)
        b = make_case(session, network.us, sharing=GREEN)
        add_selector(session, settings, network.gb, a, "sha1", "a" * 40)
        hit = add_selector(session, settings, network.us, b, "sha1", "A" * 40).hits[0]
        assert hits.unread_count(session, network.gb.caller) == 1
        assert hits.unread_count(session, network.us.caller) == 1
        mails = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
        assert sorted(m.recipient for m in mails) == sorted(
            [network.gb.user.email, network.us.user.email]
        )
        assert all(
            a.title not in m.body and a.reference not in m.body
            for m in mails
            if m.recipient == network.us.user.email
        )
        disclosures = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "hit.disclose")
        ).all()
        assert sorted(tuple(d.recipients) for d in disclosures) == [("GB-NCA",), ("US-HSI",)]
        assert {d.detail["disclosure"] for d in disclosures if d.recipients == ["US-HSI"]} == {
            "blind"
        }
        hits.get_hit(session, network.us.caller, hit.id)
        assert hits.unread_count(session, network.us.caller) == 0
        assert session.scalar(select(func.count()).select_from(Notification)) == 2

    def test_hit_is_acknowledged_and_assessed_per_side(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        a = make_case(session, network.gb, sharing=GREEN)
        b = make_case(session, network.us, sharing=GREEN)
        add_selector(session, settings, network.gb, a, "email", "x@example.org")
        hit = add_selector(session, settings, network.us, b, "email", "x@example.org").hits[0]
        done = hits.assess_hit(session, network.us.caller, hit.id, Assessment.RELATED)
        assert done.assessment == Assessment.RELATED
        assert done.acknowledged_at is not None
        gb_view = hits.get_hit(session, network.gb.caller, hit.id)
        assert gb_view.acknowledged_at is None
        assert gb_view.assessment is None
        with pytest.raises(NotFound):
            hits.assess_hit(session, network.nl.caller, hit.id, Assessment.COINCIDENTAL)


class TestCases:
    def test_red_case_is_invisible_to_others_and_the_refusal_is_audited(
        self, session: Session, network: Network
    ) -> None:
        case = make_case(session, network.gb, sharing=RED)
        with pytest.raises(NotFound):
            service.get_case(session, network.us.caller, case.id)
        refused = session.scalars(select(AuditEntry).where(AuditEntry.outcome == "not_found")).all()
        assert [(r.action, r.subject_id) for r in refused] == [("case.read", case.id)]
        assert service.list_cases(session, network.us.caller).total == 0

    def test_sharing_levels_decide_who_sees_a_case(
        self, session: Session, network: Network
    ) -> None:
        red = make_case(session, network.gb, sharing=RED)
        amber = make_case(session, network.gb, sharing=AMBER, partners=["NL-NP"])
        green = make_case(session, network.gb, sharing=GREEN)

        def seen(person: object) -> set[str]:
            return {c.reference for c in service.list_cases(session, person.caller).items}  # type: ignore[attr-defined]

        assert seen(network.gb) == {red.reference, amber.reference, green.reference}
        assert seen(network.nl) == {amber.reference, green.reference}
        assert seen(network.us) == {green.reference}

    def test_references_count_up_per_agency(self, session: Session, network: Network) -> None:
        a, b = make_case(session, network.gb), make_case(session, network.gb)
        year = datetime.now(UTC).year
        assert (a.reference, b.reference) == (f"GB-NCA-{year}-0001", f"GB-NCA-{year}-0002")

    def test_amber_needs_a_partner(self, session: Session, network: Network) -> None:
        with pytest.raises(Invalid) as exc:
            make_case(session, network.gb, sharing=AMBER)
        assert exc.value.field == "partners"

    def test_edit_close_reopen_are_kept_in_history(
        self, session: Session, network: Network
    ) -> None:
        case = make_case(session, network.gb, title="Before")
        service.update_case(session, network.gb.caller, case.id, CaseUpdate(title="After"))
        service.set_status(session, network.gb.caller, case.id, CaseStatus.CLOSED)
        service.set_status(session, network.gb.caller, case.id, CaseStatus.OPEN)
        history = service.case_history(session, network.gb.caller, case.id)
        assert [e.action for e in history] == ["opened", "edited", "closed", "reopened"]
        assert history[1].changes == {"title": ["Before", "After"]}

    def test_others_may_not_edit_a_green_case(self, session: Session, network: Network) -> None:
        case = make_case(session, network.gb, sharing=GREEN)
        with pytest.raises(Forbidden):
            service.update_case(session, network.us.caller, case.id, CaseUpdate(title="Hijacked"))


class TestSearch:
    def test_search_requires_a_purpose_and_is_audited_with_it(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb, sharing=GREEN)
        add_selector(session, settings, network.gb, case, "email", "target@example.com")
        with pytest.raises(Invalid) as exc:
            search.search(
                session,
                network.us.caller,
                settings,
                kind="email",
                value="x@example.com",
                purpose="",
            )
        assert exc.value.field == "purpose"
        result = search.search(
            session,
            network.us.caller,
            settings,
            kind="email",
            value="TARGET@example.com",
            purpose="US-HSI-2026-0001 lead check",
        )
        assert [m.reference for m in result.matches] == [case.reference]
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "search")).one()
        assert entry.justification == "US-HSI-2026-0001 lead check"

    def test_search_does_not_reveal_red_cases(
        self, session: Session, settings: Settings, network: Network
    ) -> None:
        case = make_case(session, network.gb, sharing=RED)
        add_selector(session, settings, network.gb, case, "email", "target@example.com")
        result = search.search(
            session,
            network.us.caller,
            settings,
            kind="email",
            value="target@example.com",
            purpose="checking a lead",
        )
        assert result.matches == []


def test_audit_chain_verifies_after_a_day_of_work(
    session: Session, settings: Settings, network: Network
) -> None:
    a = make_case(session, network.gb, sharing=GREEN)
    add_selector(session, settings, network.gb, a, "email", "x@example.com")
    result = audit.verify(session)
    assert result.ok
    assert result.checked >= 5


def test_closed_case_takes_no_new_selectors_but_still_hits(
    session: Session, settings: Settings, network: Network
) -> None:
    from taskforce.core.errors import Conflict

    closed = make_case(session, network.gb, title="Closed op", sharing=GREEN)
    add_selector(session, settings, network.gb, closed, "email", "old@example.com")
    service.set_status(session, network.gb.caller, closed.id, CaseStatus.CLOSED)
    with pytest.raises(Conflict):
        add_selector(session, settings, network.gb, closed, "email", "new@example.com")
    fresh = make_case(session, network.us, sharing=GREEN)
    hit = add_selector(session, settings, network.us, fresh, "email", "old@example.com").hits[0]
    assert hit.other.title == "Closed op"
