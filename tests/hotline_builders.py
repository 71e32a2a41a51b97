"""Test data for the hotline: hotlines in NL and GB (GB's law wants the police told of notices), the
police of GB and NL from `network`, a network coordinator, hosting networks in documentation
ranges, and a static resolver for fictional hosts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from builders import Network, Person, make_agency, make_person
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyKind, AgencyUpdate
from taskforce.core.caller import Role, system_caller
from taskforce.core.jobs import runner as jobs
from taskforce.core.resolver import ResolveFailed, Resolver, StaticResolver
from taskforce.core.settings import Settings
from taskforce.hosting import networks as hosting_networks
from taskforce.reports import service
from taskforce.reports.models import Report

NETWORKS = """network,provider,asn,country,abuse_email
203.0.113.0/26,Fictional Hosting NL B.V.,64500,NL,abuse@nlhost.example.net
198.51.100.0/26,Fictional Cloud DE GmbH,64501,DE,
203.0.113.64/26,Fictional Hosting GB Ltd,64502,GB,abuse@gbhost.example.net
2001:db8:10::/48,Fictional Hosting NL B.V.,64500,NL,abuse@nlhost.example.net
"""

HOSTS = {
    "files.example.net": ["203.0.113.10"],
    "www.files.example.net": ["203.0.113.11"],
    "cloud.example.org": ["198.51.100.7"],
    "uk.example.com": ["203.0.113.70"],
    "registry.example.com": ["193.0.6.139"],  # RIPE NCC: iptocc says NL
    "v6.example.net": ["2001:db8:10::5"],
    "inside.example.com": ["10.1.2.3"],
}


class FlakyResolver:
    """A resolver whose DNS server is down."""

    name = "flaky DNS"

    def resolve(self, host: str) -> list[str]:
        raise ResolveFailed(host, "SERVFAIL from the test's DNS")


@dataclass
class Hotlines:
    net: Network
    nl_hotline: Person
    gb_hotline: Person
    coordinator: Person
    resolver: StaticResolver


def set_kind(session: Session, code: str, kind: AgencyKind, **more: object) -> None:
    agency_service.update_agency(
        session,
        system_caller(),
        code=code,
        data=AgencyUpdate(kind=kind, **more),
    )


@pytest.fixture
def hotlines(session: Session, network: Network) -> Hotlines:
    nl = make_agency(
        session,
        "NL-HOTLINE",
        country="NL",
        timezone="Europe/Amsterdam",
        contact_phone="+31201234500",
    )
    gb = make_agency(session, "GB-HOTLINE", country="GB", contact_phone="+442079460100")
    coordinator = make_agency(
        session, "INT-COORD", country="FR", timezone="Europe/Paris", contact_phone="+33199001234"
    )
    set_kind(session, nl.code, AgencyKind.HOTLINE)
    set_kind(session, gb.code, AgencyKind.HOTLINE, notice_copy_to_police=True)
    set_kind(session, coordinator.code, AgencyKind.COORDINATOR)
    report = hosting_networks.import_networks(
        session, system_caller(), NETWORKS.splitlines(keepends=True), source="test"
    )
    assert not report.bad_lines, report.bad_lines
    return Hotlines(
        net=network,
        nl_hotline=make_person(session, nl, role=Role.ANALYST),
        gb_hotline=make_person(session, gb, role=Role.ANALYST),
        coordinator=make_person(session, coordinator, role=Role.ANALYST),
        resolver=StaticResolver(HOSTS),
    )


def form_token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def send(client: TestClient, kind: str, **fields: str) -> None:
    """A report through the public form, as the public sends it."""
    page = client.get(f"/report/en?kind={kind}")
    data = {"form_token": form_token(page.text), "kind": kind, "lang": "en", **fields}
    response = client.post("/report", data=data)
    assert response.status_code == 200, response.text


RouteAll = Callable[..., int]


@pytest.fixture
def route_all(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, hotlines: Hotlines
) -> RouteAll:
    """Run the worker's routing task until nothing is due (as the worker would)."""

    def run(resolver: Resolver | None = None, **kw: Any) -> int:
        session.flush()
        total = 0
        while True:
            job = service.routing_job(settings, resolver or hotlines.resolver)
            done = jobs.run(session_factory, job, limit=20, **kw).claimed
            total += done
            if not done:
                return total

    return run


def only(session: Session) -> Report:
    reports = session.query(Report).all()
    assert len(reports) == 1
    return reports[0]
