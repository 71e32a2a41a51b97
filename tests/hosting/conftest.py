"""Hosting test data: fictional providers on documentation ranges (RFC 5737, RFC 3849), and
a registry that can be told what to answer for addresses it would know nothing of."""

from __future__ import annotations

from collections.abc import Callable

import iptocc
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller, system_caller
from taskforce.hosting import service
from taskforce.hosting.models import HostingProvider
from taskforce.hosting.schemas import ProviderCreate

MakeProvider = Callable[..., HostingProvider]


@pytest.fixture
def make_provider(session: Session) -> MakeProvider:
    """`make_provider(name, asn=, country=, abuse_email=, networks=(cidr, ...))`."""

    def make(
        name: str = "Fictional Hosting B.V.",
        *,
        asn: int | None = 64500,
        country: str | None = "NL",
        abuse_email: str | None = "abuse@hosting.example.net",
        networks: tuple[str, ...] = (),
        caller: Caller | None = None,
    ) -> HostingProvider:
        caller = caller or system_caller()
        provider = service.create_provider(
            session,
            caller,
            ProviderCreate(name=name, asn=asn, country=country, abuse_email=abuse_email),
        )
        for cidr in networks:
            service.add_network(session, caller, provider.id, cidr=cidr)
        return provider

    return make


@pytest.fixture
def fake_registry(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, str]], None]:
    """Make iptocc answer a country for some (documentation) addresses, None for the rest."""

    def install(answers: dict[str, str]) -> None:
        monkeypatch.setattr(iptocc, "country_code", lambda addr: answers.get(addr))

    return install


@pytest.fixture
def audit_actions(session: Session) -> Callable[[], list[str]]:
    """The hosting domain's audit entries so far, oldest first."""

    def actions() -> list[str]:
        session.flush()
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.startswith("hosting."))
                .order_by(AuditEntry.seq)
            )
        )

    return actions
