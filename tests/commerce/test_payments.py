"""Payment providers and notices: the directory seeded from the lexicon with no invented
contact, managed by MANAGE_HOSTING holders; a notice about a merchant account or wallet of the
caller's site queued through the outbox as plain text with the evidence summary (addresses,
times, SHA-256; never content), tracked open → sent → answered / closed, one open notice per
subject and provider, audited, listed per site and agency with the overdue flag."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from acting_builders import NOW, make_site, seen, wallet
from builders import Network, Person, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import lexicon, payments
from taskforce.commerce.models import (
    CommerceIndicator,
    CommerceSite,
    PaymentNotice,
    PaymentProvider,
)
from taskforce.commerce.payments import ProviderFields
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Conflict, Forbidden, Invalid, NotFound
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings


@dataclass(frozen=True)
class Term:
    """A lexicon entry as `commerce.lexicon.processors()` gives it (fictional names)."""

    name: str
    kind: str
    terms: tuple[str, ...]
    chains: tuple[str, ...] = ()


LEXICON = [
    Term("ExamplePay", "processor", ("examplepay", "example pay")),
    Term("Coinexample", "exchange", ("coinexample",), ("btc", "eth", "nope")),
    Term("Odd One", "a kind nobody knows", ("odd one",)),
]


def _provider(session: Session, network: Network, **fields: object) -> PaymentProvider:
    data = {"name": "ExamplePay", "abuse_email": "Abuse@ExamplePay.example", **fields}
    return payments.add_provider(session, network.gb_admin.caller, ProviderFields(**data))  # type: ignore[arg-type]


def _site_with_merchant(
    session: Session, settings: Settings, network: Network
) -> tuple[CommerceSite, CommerceIndicator]:
    site = make_site(session, settings, network.gb, make_case(session, network.gb))
    merchant = seen(session, site, "merchant", "ACME-4411", "examplepay")
    seen(session, site, "merchant", "ACME-4411", "examplepay", page_url="https://shop.example/pay")
    return site, merchant


def _send(
    session: Session,
    settings: Settings,
    person: Person,
    site: CommerceSite,
    indicator: CommerceIndicator,
    provider: PaymentProvider,
    now: datetime = NOW,
) -> PaymentNotice:
    """A notice from `person` about the indicator seen on the site, to the provider."""
    return payments.send_notice(
        session,
        person.caller,
        settings,
        indicator_id=indicator.id,
        provider_id=provider.id,
        site_id=site.id,
        now=now,
    )


def test_the_directory_is_seeded_from_the_lexicon_without_contacts(
    session: Session, network: Network
) -> None:
    added = payments.seed_from_lexicon(session, network.gb_admin.caller, LEXICON, now=NOW)
    again = payments.seed_from_lexicon(session, network.gb_admin.caller, LEXICON, now=NOW)

    assert (added, again) == (3, 0)
    listed = {p.name: p for p in payments.list_providers(session, network.gb_analyst.caller)}
    assert set(listed) == {"ExamplePay", "Coinexample", "Odd One"}
    assert all(p.abuse_email is None for p in listed.values())
    assert listed["Coinexample"].chains == ["btc", "eth"]
    assert listed["Odd One"].kind == "other"
    assert listed["ExamplePay"].terms == ["examplepay", "example pay"]


def test_the_real_lexicon_seeds_every_provider_with_no_contact(
    session: Session, network: Network
) -> None:
    added = payments.seed_from_lexicon(session, network.gb_admin.caller, now=NOW)

    assert added == len(lexicon.processors()) > 0
    providers = payments.list_providers(session, network.gb.caller)
    assert all(p.abuse_email is None for p in providers)
    assert {p.kind for p in providers} <= set(payments.KINDS)


def test_managing_the_directory_needs_manage_hosting_and_checks_each_field(
    session: Session, network: Network
) -> None:
    provider = _provider(session, network, country="nl", website="https://examplepay.example")
    assert (provider.abuse_email, provider.country) == ("abuse@examplepay.example", "NL")
    with pytest.raises(Forbidden):
        payments.add_provider(session, network.gb_reader.caller, ProviderFields(name="Other"))
    with pytest.raises(Forbidden):
        payments.list_providers(session, network.gb_reader.caller)
    bad: list[tuple[dict[str, object], str]] = [
        ({"name": "examplepay"}, "name"),
        ({"name": "X"}, "name"),
        ({"name": "Other", "kind": "bakery"}, "kind"),
        ({"name": "Other", "country": "XX"}, "country"),
        ({"name": "Other", "abuse_email": "not mail"}, "abuse_email"),
        ({"name": "Other", "website": "ftp://x.example"}, "website"),
        ({"name": "Other", "chains": ["sol"]}, "chains"),
    ]
    for fields, field in bad:
        with pytest.raises(Invalid) as refused:
            payments.add_provider(session, network.gb_admin.caller, ProviderFields(**fields))  # type: ignore[arg-type]
        assert refused.value.field == field
    edited = payments.edit_provider(
        session,
        network.gb_analyst.caller,
        provider.id,
        ProviderFields(name="ExamplePay", abuse_email="desk@examplepay.example", country="NL"),
    )
    assert edited.abuse_email == "desk@examplepay.example"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "commerce.provider.edit")
    ).one()
    assert "abuse_email" in entry.detail["fields"]


def test_a_notice_goes_out_as_plain_text_evidence_and_is_tracked_until_answered(
    session: Session, settings: Settings, network: Network
) -> None:
    provider = _provider(session, network)
    site, merchant = _site_with_merchant(session, settings, network)

    notice = _send(session, settings, network.gb, site, merchant, provider)

    assert (notice.status, notice.subject_kind, notice.subject) == ("open", "merchant", "ACME-4411")
    [mail] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.reference == notice.outbox_reference)
    ).all()
    assert mail.recipient == "abuse@examplepay.example"
    assert mail.reply_to == "desk@gb-nca.example.com"
    assert payments.reference(notice.id) in mail.subject
    for expected in (
        "GB-NCA",
        "ACME-4411",
        "https://shop.example/",
        "https://shop.example/pay",
        hashlib.sha256(b"https://shop.example/pay").hexdigest(),
        "2026-03-02 10:00",
    ):
        assert expected in mail.body
    assert "<" not in mail.body  # no markup
    assert "pay to" not in mail.body  # no page text
    assert notice.evidence == mail.body
    disclosed = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "commerce.payment_notice.send")
    ).one()
    assert disclosed.operation == "disclosure"
    assert disclosed.recipients == ["abuse@examplepay.example"]

    with pytest.raises(Conflict, match=payments.reference(notice.id)):
        _send(session, settings, network.gb, site, merchant, provider)

    mail.sent_at = NOW + timedelta(minutes=1)  # the outbox delivered it
    rows, total = payments.list_notices(
        session, network.gb.caller, site_id=site.id, now=NOW + timedelta(days=3)
    )
    assert total == 1
    assert (rows[0].notice.status, rows[0].provider, rows[0].overdue) == (
        "sent",
        "ExamplePay",
        False,
    )
    late, _ = payments.list_notices(session, network.gb.caller, now=NOW + timedelta(days=15))
    assert late[0].overdue

    answered = payments.record_answer(
        session,
        network.gb.caller,
        notice.id,
        outcome="account_closed",
        text="Merchant terminated.",
        now=NOW + timedelta(days=4),
    )
    assert (answered.status, answered.answer_outcome) == ("answered", "account_closed")
    later, _ = payments.list_notices(session, network.gb.caller, now=NOW + timedelta(days=30))
    assert not later[0].overdue
    with pytest.raises(Conflict):
        payments.close(session, network.gb.caller, notice.id, reason="done")
    again = _send(session, settings, network.gb, site, merchant, provider)
    assert again.id != notice.id


def test_a_notice_the_outbox_gave_up_on_says_why(
    session: Session, settings: Settings, network: Network
) -> None:
    provider = _provider(session, network)
    site, merchant = _site_with_merchant(session, settings, network)
    notice = _send(session, settings, network.gb, site, merchant, provider)
    [mail] = session.scalars(
        select(OutboxMessage).where(OutboxMessage.reference == notice.outbox_reference)
    ).all()
    rows, _ = payments.list_notices(session, network.gb.caller, now=NOW)
    assert rows[0].undelivered is None  # queued, still being tried
    mail.attempts = outbox.MAX_ATTEMPTS
    mail.last_error = "550 no such user"
    rows, _ = payments.list_notices(session, network.gb.caller, now=NOW)
    assert (rows[0].notice.status, rows[0].undelivered) == ("open", "550 no such user")


def test_a_wallet_notice_to_an_exchange_and_closing_one(
    session: Session, settings: Settings, network: Network
) -> None:
    exchange = _provider(
        session, network, name="Coinexample", kind="exchange", abuse_email="aml@coin.example"
    )
    site = make_site(session, settings, network.gb, make_case(session, network.gb))
    found = seen(session, site, "wallet", wallet(1), "btc")
    notice = _send(session, settings, network.gb, site, found, exchange)
    assert notice.subject_kind == "wallet"
    assert wallet(1) in notice.evidence
    assert "(BTC)" in notice.evidence
    closed = payments.close(session, network.gb.caller, notice.id, reason="site gone")
    assert closed.status == "closed"
    rows, _ = payments.list_notices(session, network.gb.caller, state="closed", now=NOW)
    assert [r.notice.id for r in rows] == [notice.id]
    with pytest.raises(Conflict, match="closed"):  # a closed notice takes no answer
        payments.record_answer(session, network.gb.caller, notice.id, outcome="declined")
    reopened = _send(session, settings, network.gb, site, found, exchange)
    with pytest.raises(Invalid) as refused:
        payments.record_answer(session, network.gb.caller, reopened.id, outcome="maybe")
    assert refused.value.field == "outcome"


def test_what_cannot_be_notified_is_refused_naming_why(
    session: Session, settings: Settings, network: Network
) -> None:
    payments.seed_from_lexicon(session, network.gb_admin.caller, LEXICON)
    seeded = session.scalars(
        select(PaymentProvider).where(PaymentProvider.name == "ExamplePay")
    ).one()
    site, merchant = _site_with_merchant(session, settings, network)
    analytics = seen(session, site, "analytics", "UA-1-1", "ga")

    with pytest.raises(Invalid, match="no abuse e-mail yet") as refused:
        _send(session, settings, network.gb, site, merchant, seeded)
    assert refused.value.field == "provider"
    seeded.abuse_email = "abuse@examplepay.example"
    with pytest.raises(Invalid, match="merchant account or a wallet"):
        _send(session, settings, network.gb, site, analytics, seeded)
    other = make_site(
        session, settings, network.gb, make_case(session, network.gb), "https://other.example/"
    )
    with pytest.raises(Invalid, match="seen on this site"):
        _send(session, settings, network.gb, other, merchant, seeded)
    with pytest.raises(NotFound):
        _send(session, settings, network.nl, site, merchant, seeded)


def test_another_agency_s_notices_are_missing_and_not_listed(
    session: Session, settings: Settings, network: Network
) -> None:
    provider = _provider(session, network)
    site, merchant = _site_with_merchant(session, settings, network)
    notice = _send(session, settings, network.gb, site, merchant, provider)
    with pytest.raises(NotFound):
        payments.get_notice(session, network.nl.caller, notice.id)
    with pytest.raises(NotFound):
        payments.record_answer(session, network.nl.caller, notice.id, outcome="declined")
    with pytest.raises(NotFound):
        payments.list_notices(session, network.nl.caller, site_id=site.id)
    assert payments.list_notices(session, network.nl.caller) == ([], 0)
    assert payments.get_notice(session, network.gb_analyst.caller, notice.id).id == notice.id
