"""Indicators of a site become selectors of its case through the cases domain's one path:
normalised, deconflicted (a police case of another agency holding the same wallet gets a hit),
what is no selector skipped with its reason, another agency's indicator answered as missing."""

from __future__ import annotations

import uuid

import pytest
from acting_builders import make_site, seen, wallet
from builders import Network, add_selector, make_case
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.cases.models import Hit, Selector
from taskforce.commerce import casework
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Invalid, NotFound
from taskforce.core.settings import Settings
from taskforce.reports import assessment


def _selectors(session: Session, case_id: uuid.UUID) -> set[tuple[str, str, str | None]]:
    rows = session.scalars(select(Selector).where(Selector.case_id == case_id))
    return {(s.kind, s.value, s.platform) for s in rows}


def test_a_wallet_on_the_hotline_case_meets_a_police_case_of_another_agency(
    session: Session, settings: Settings, network: Network
) -> None:
    police = make_case(session, network.us, title="Operation Ledger")
    add_selector(session, settings, network.us, police, "crypto_wallet", wallet(1))
    agency = session.get(Agency, network.gb.caller.agency_id)
    assert agency is not None
    hotline = assessment.hotline_case(session, agency)
    site = make_site(session, settings, network.gb_analyst, hotline)
    chosen = [
        seen(session, site, "wallet", wallet(1), "btc"),
        seen(session, site, "merchant", "ACME-4411", "examplepay"),
        seen(session, site, "email", "Billing@Shop.example"),
        seen(session, site, "messenger", "shopdesk", "telegram"),
        seen(session, site, "ip", "203.0.113.7"),
        seen(session, site, "analytics", "UA-1234-1", "ga"),
        seen(session, site, "processor", "ExamplePay"),
    ]

    summary = casework.to_case(
        session,
        network.gb_analyst.caller,
        settings,
        site_id=site.id,
        indicator_ids=[i.id for i in chosen],
        include_site=True,
    )

    assert summary.case_id == hotline.id
    assert (summary.added, summary.already_there, summary.hits) == (7, 0, 1)
    assert {(s.kind, s.reason) for s in summary.skipped} == {
        ("analytics", "analytics ids are not selectors"),
        ("processor", "payment processors are not selectors (they serve many sites)"),
    }
    assert _selectors(session, hotline.id) == {
        ("crypto_wallet", wallet(1), None),
        ("payment_account", "merchant:ACME-4411", None),
        ("email", "billing@shop.example", None),
        ("username", "shopdesk", "telegram"),
        ("ip", "203.0.113.7", None),
        ("url", "https://shop.example/", None),
        ("domain", "shop.example", None),
    }
    [hit] = session.scalars(
        select(Hit).where(or_(Hit.a_case_id == police.id, Hit.b_case_id == police.id))
    ).all()
    assert {hit.a_case_id, hit.b_case_id} == {police.id, hotline.id}
    assert hit.kind == "crypto_wallet"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "commerce.to_case")).one()
    assert entry.subject_id == site.id
    assert entry.detail["hits"] == 1

    again = casework.to_case(
        session, network.gb_analyst.caller, settings, site_id=site.id, indicator_ids=[chosen[0].id]
    )
    assert (again.added, again.already_there, again.hits) == (0, 1, 0)


def test_only_what_is_no_selector_is_refused_by_name(
    session: Session, settings: Settings, network: Network
) -> None:
    site = make_site(session, settings, network.gb, make_case(session, network.gb))
    analytics = seen(session, site, "analytics", "G-ABC123", "ga4")
    template = seen(session, site, "template", "ab" * 16)

    with pytest.raises(Invalid) as refused:
        casework.to_case(
            session,
            network.gb.caller,
            settings,
            site_id=site.id,
            indicator_ids=[analytics.id, template.id],
        )
    assert refused.value.field == "indicators"
    assert "analytics ids are not selectors" in refused.value.rule
    with pytest.raises(Invalid, match="at least one"):
        casework.to_case(session, network.gb.caller, settings, site_id=site.id, indicator_ids=[])


def test_an_indicator_whose_value_the_cases_domain_refuses_is_skipped_with_the_rule(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    site = make_site(session, settings, network.gb, case)
    good = seen(session, site, "email", "desk@shop.example")
    handle = seen(session, site, "messenger", "nobody")  # no platform recorded

    summary = casework.to_case(
        session, network.gb.caller, settings, site_id=site.id, indicator_ids=[good.id, handle.id]
    )
    assert summary.added == 1
    [skipped] = summary.skipped
    assert skipped.reason == "a messenger handle without its platform is not a selector"


def test_another_agency_s_site_or_indicator_is_answered_as_missing(
    session: Session, settings: Settings, network: Network
) -> None:
    gb_site = make_site(session, settings, network.gb, make_case(session, network.gb))
    theirs = seen(session, gb_site, "wallet", wallet(2), "btc")
    nl_site = make_site(session, settings, network.nl, make_case(session, network.nl))
    other = make_site(
        session, settings, network.gb, make_case(session, network.gb), "https://other.example/"
    )

    with pytest.raises(NotFound):
        casework.to_case(
            session, network.nl.caller, settings, site_id=gb_site.id, indicator_ids=[theirs.id]
        )
    with pytest.raises(NotFound):
        casework.to_case(
            session, network.nl.caller, settings, site_id=nl_site.id, indicator_ids=[theirs.id]
        )
    with pytest.raises(NotFound):  # the agency's own indicator, but not seen on this site
        casework.to_case(
            session, network.gb.caller, settings, site_id=other.id, indicator_ids=[theirs.id]
        )
    assert _selectors(session, nl_site.case_id) == set()  # type: ignore[arg-type]
