"""Routing public reports by hosting country, with every step recorded; who then sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import web_login
from fastapi.testclient import TestClient
from hotline_builders import Hotlines, RouteAll, only, send
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import utcnow
from taskforce.core.errors import NotFound
from taskforce.reports import queue, routing, service
from taskforce.reports.models import Report, RoutingStep


def _steps(session: Session, report: Report) -> list[str]:
    return [
        s.outcome
        for s in session.scalars(
            select(RoutingStep).where(RoutingStep.report_id == report.id).order_by(RoutingStep.at)
        )
    ]


def _agency_code(session: Session, report: Report) -> str | None:
    session.expire_all()
    fresh = session.get(Report, report.id)
    assert fresh is not None
    if fresh.receiving_agency_id is None:
        return None
    agency = agency_service.get(session, fresh.receiving_agency_id)
    return agency.code if agency else None


@pytest.mark.usefixtures("hotlines")
def test_url_goes_to_the_hotline_of_the_hosting_country_by_the_network_table(
    client: TestClient, session: Session, route_all: RouteAll
) -> None:
    send(client, "url", url="https://FILES.example.net/gallery/7/", country="GB")
    report = only(session)
    assert report.route_due_at is not None
    assert report.receiving_agency_id is None
    assert route_all() == 1
    assert _agency_code(session, report) == "NL-HOTLINE"
    report = session.get_one(Report, report.id)  # refreshed, and not narrowed by the assert above
    assert (report.hosting_ip, report.hosting_country) == ("203.0.113.10", "NL")
    assert report.route_due_at is None
    assert report.routed_at is not None
    steps = _steps(session, report)
    assert steps[0] == "files.example.net resolved to 203.0.113.10 (static host table)"
    assert any("Fictional Hosting NL B.V." in s and "203.0.113.0/26" in s for s in steps)
    assert "routed to NL-HOTLINE, the hotline of NL" in steps[-1]
    assert "hosted in NL by Fictional Hosting NL B.V." in steps[-1]


@pytest.mark.usefixtures("hotlines")
def test_the_registry_country_from_iptocc_routes_an_address_with_no_network_entry(
    client: TestClient, session: Session, route_all: RouteAll
) -> None:
    send(client, "url", url="http://registry.example.com/a")
    route_all()
    report = only(session)
    assert _agency_code(session, report) == "NL-HOTLINE"
    assert any("iptocc" in s and "NL" in s for s in _steps(session, report))


@pytest.mark.usefixtures("hotlines")
def test_ipv6_hosting_is_located_too(
    client: TestClient, session: Session, route_all: RouteAll
) -> None:
    send(client, "url", url="http://v6.example.net/x")
    route_all()
    assert _agency_code(session, only(session)) == "NL-HOTLINE"


@pytest.mark.usefixtures("hotlines")
def test_a_country_without_member_goes_to_the_network_coordinator(
    client: TestClient, session: Session, route_all: RouteAll
) -> None:
    send(client, "url", url="http://cloud.example.org/p/1", country="NL")
    route_all()
    report = only(session)
    assert _agency_code(session, report) == "INT-COORD"
    assert "no member hotline or agency is in DE" in _steps(session, report)[-1]


@pytest.mark.usefixtures("hotlines")
def test_an_unknown_or_unlocatable_host_falls_back_to_the_reporters_country(
    client: TestClient, session: Session, route_all: RouteAll
) -> None:
    send(client, "url", url="http://gone.example.com/x", country="GB")
    send(client, "url", url="http://inside.example.com/x", country="NL")
    route_all()
    by_host = {r.host: r for r in session.scalars(select(Report))}
    gone, inside = by_host["gone.example.com"], by_host["inside.example.com"]
    assert _agency_code(session, gone) == "GB-HOTLINE"
    assert "gone.example.com does not exist" in _steps(session, gone)[0]
    assert _agency_code(session, inside) == "NL-HOTLINE"
    assert "no address of the host has a country" in _steps(session, inside)[-1]


@pytest.mark.usefixtures("hotlines")
def test_a_failing_resolver_is_retried_then_the_report_falls_back(
    client: TestClient, session: Session, route_all: RouteAll
) -> None:
    from hotline_builders import FlakyResolver

    send(client, "url", url="http://files.example.net/x", country="GB")
    assert route_all(FlakyResolver()) == 1
    report = only(session)
    session.refresh(report)
    assert report.route_attempts == 1
    assert report.receiving_agency_id is None
    assert report.route_due_at is not None
    assert report.route_due_at > utcnow()
    assert "attempt 1 of 5" in _steps(session, report)[-1]
    for _ in range(routing.MAX_ATTEMPTS - 1):  # each retry once its wait has passed
        route_all(FlakyResolver(), now=utcnow() + timedelta(days=1))
    assert _agency_code(session, report) == "GB-HOTLINE"
    assert any("failed 5 times" in s for s in _steps(session, report))


@pytest.mark.usefixtures("hotlines")
def test_grooming_and_danger_reports_go_to_the_reporters_country_at_once(
    client: TestClient, session: Session
) -> None:
    send(client, "grooming", platform="chatapp", excerpt="see you soon", country="NL")
    send(client, "danger", what="a child is in danger now", country="NL")
    reports = {r.kind: r for r in session.scalars(select(Report))}
    assert _agency_code(session, reports["grooming"]) == "NL-HOTLINE"
    assert _agency_code(session, reports["danger"]) == "NL-NP"  # a hotline cannot send a patrol
    assert "the reporter is in NL" in _steps(session, reports["danger"])[0]


@pytest.mark.usefixtures("network")
def test_without_any_member_to_take_it_the_report_waits_and_is_not_lost(
    client: TestClient, session: Session
) -> None:
    send(client, "grooming", platform="chatapp", excerpt="hello", country="JP")
    report = only(session)
    session.refresh(report)
    assert report.receiving_agency_id is None
    assert report.route_due_at is not None
    assert "tried again every hour" in _steps(session, report)[-1]


def test_only_the_receiving_agency_sees_a_report_and_refusals_are_audited(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    send(client, "url", url="http://files.example.net/only-nl", country="GB")
    route_all()
    report = only(session)
    view = queue.report_view(session, hotlines.nl_hotline.caller, report.id)
    assert view.receiving_agency is not None
    assert view.receiving_agency.code == "NL-HOTLINE"
    for outsider in (hotlines.gb_hotline, hotlines.net.gb_analyst, hotlines.coordinator):
        try:
            queue.report_view(session, outsider.caller, report.id)
        except NotFound:
            pass
        else:
            raise AssertionError(f"{outsider.caller.agency_code} saw another agency's report")
    refused = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "report.read", AuditEntry.outcome != "ok")
    ).all()
    assert len(refused) == 3
    assert [r.report.id for r in queue.queue(session, hotlines.nl_hotline.caller)] == [report.id]
    assert queue.queue(session, hotlines.gb_hotline.caller) == []

    session.commit()
    web_login(client, session, hotlines.gb_hotline)
    assert client.get(f"/ui/hotline/{report.id}").status_code == 404
    client.cookies.clear()
    web_login(client, session, hotlines.nl_hotline)
    page = client.get(f"/ui/hotline/{report.id}")
    assert page.status_code == 200
    assert "routed to NL-HOTLINE" in page.text
    assert "Fictional Hosting NL B.V." in page.text


def test_the_coordinator_sees_what_nobody_else_could_take(
    client: TestClient, session: Session, hotlines: Hotlines
) -> None:
    send(client, "grooming", platform="chatapp", excerpt="hello")  # no country: coordinator
    report = only(session)
    assert _agency_code(session, report) == "INT-COORD"
    rows = queue.queue(session, hotlines.coordinator.caller)
    assert [r.report.id for r in rows] == [report.id]


def test_rerouting_records_who_and_why_and_moves_the_report(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    send(client, "url", url="http://files.example.net/moved", country="GB")
    route_all()
    report = only(session)
    service.reroute(
        session,
        hotlines.nl_hotline.caller,
        report.id,
        agency_code="gb-hotline",
        reason="the site now answers from a GB host",
    )
    assert _agency_code(session, report) == "GB-HOTLINE"
    assert "re-routed by" in _steps(session, report)[-1]
    assert "the site now answers from a GB host" in _steps(session, report)[-1]
    queue.report_view(session, hotlines.gb_hotline.caller, report.id)
    try:
        service.reroute(
            session, hotlines.nl_hotline.caller, report.id, agency_code="NL-NP", reason="back"
        )
    except NotFound:
        pass
    else:
        raise AssertionError("the former agency re-routed a report it no longer holds")
