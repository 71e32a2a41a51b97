"""Routing a public report to the member that must handle it, with every step written down.

The rules, in order (each decision is a `RoutingStep` in plain words, so an analyst can see
why a report went where it went):

1. **A URL** goes to the country where it is hosted. Its host is resolved (the resolver is
   pluggable: system DNS, or a hosts file for labs and the demo); each address, up to four,
   is located (`hosting.service.locate`: the RIR registration country from iptocc wins, else
   the country of the matching block in the hosting-network table, else the provider's). The
   first address with a country decides. A temporary resolution failure is retried
   (`MAX_ATTEMPTS` times, with growing waits) before the report falls back to rule 3.
2. **In the chosen country** the report goes to the first active hotline (by code), else to
   the first law-enforcement agency; a child in immediate danger goes to law enforcement
   first (a hotline cannot send a patrol). A country with no member sends the report to the
   network coordinator.
3. **Fallback:** a URL whose hosting cannot be found (no such host, no country for any
   address, a URL that could not be read) and every grooming or danger report goes to the
   reporter's country by rule 2; a report without the reporter's country goes to the network
   coordinator.
4. **A block said to be a mistake** (a visitor of /blocked) goes to the agency that keeps the
   block list entry blocking the URL; an address no active entry blocks, or whose keeper is
   not an active member, goes to the network coordinator. The visitor is told the same either
   way: the form never says whether an address is on the list.
5. **Nobody to take it** (no member in the country and no coordinator registered): the
   report waits, and routing is tried again every hour, so it is never lost.

Resolution is the only network step and runs outside any transaction (a slow DNS server must
not hold SQLite's write lock); locating and choosing run in the transaction that records them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.models import Agency
from taskforce.agencies.schemas import KIND_LABELS, AgencyKind
from taskforce.blocklist import service as blocklist_service
from taskforce.core.db import insert_new, utcnow
from taskforce.core.resolver import HostNotFound, ResolveFailed, Resolver
from taskforce.hosting import addresses as hosting_addresses
from taskforce.reports.models import Report, RoutingStep

MAX_ATTEMPTS = 5  # temporary resolution failures before the report falls back to rule 3
MAX_ADDRESSES = 4  # addresses of a host that are located
WAIT_FOR_MEMBER = timedelta(hours=1)
LEASE = timedelta(minutes=5)  # a claimed report is left to the worker routing it


def retry_wait(attempts: int) -> timedelta:
    """2, 4, 8, 16 minutes between resolution attempts."""
    return timedelta(minutes=2**attempts)


@dataclass(frozen=True)
class Resolution:
    """What resolving a report's host gave: addresses, no such host, or a temporary failure."""

    host: str
    resolver: str
    addresses: tuple[str, ...] = ()
    not_found: bool = False
    failure: str | None = None


def resolve(resolver: Resolver, host: str) -> Resolution:
    """The network step, run without a transaction."""
    try:
        addresses = resolver.resolve(host)
    except HostNotFound:
        return Resolution(host=host, resolver=resolver.name, not_found=True)
    except ResolveFailed as exc:
        return Resolution(host=host, resolver=resolver.name, failure=exc.reason)
    if not addresses:
        return Resolution(host=host, resolver=resolver.name, not_found=True)
    return Resolution(host=host, resolver=resolver.name, addresses=tuple(addresses))


@dataclass
class _Steps:
    """The steps of one routing attempt, written when the attempt is recorded."""

    items: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def add(self, step: str, outcome: str, **data: Any) -> None:
        self.items.append((step, outcome, data))


def _preference(kind: str) -> tuple[AgencyKind, AgencyKind]:
    if kind == "danger":
        return AgencyKind.LAW_ENFORCEMENT, AgencyKind.HOTLINE
    return AgencyKind.HOTLINE, AgencyKind.LAW_ENFORCEMENT


def _member_in(session: Session, country: str, kind: str, steps: _Steps, why: str) -> Agency | None:
    """Rule 2: the first hotline (or law enforcement) of the country, else the coordinator."""
    for wanted in _preference(kind):
        found = agency_service.of_kind_in(session, wanted, country)
        if found:
            chosen = found[0]
            others = [a.code for a in found[1:]]
            also = f" ({', '.join(others)} also there)" if others else ""
            steps.add(
                "route",
                f"{why}: routed to {chosen.code}, the {KIND_LABELS[chosen.kind]} of "
                f"{country}{also}",
                agency=chosen.code,
                country=country,
            )
            return chosen
    coordinator = agency_service.coordinator(session)
    if coordinator is not None:
        steps.add(
            "route",
            f"{why}, but no member hotline or agency is in {country}: routed to the network "
            f"coordinator {coordinator.code}",
            agency=coordinator.code,
            country=country,
        )
    return coordinator


def _to_coordinator(session: Session, steps: _Steps, why: str) -> Agency | None:
    coordinator = agency_service.coordinator(session)
    if coordinator is not None:
        steps.add(
            "route",
            f"{why}: routed to the network coordinator {coordinator.code}",
            agency=coordinator.code,
        )
    return coordinator


def _reporter_fallback(session: Session, report: Report, steps: _Steps, why: str) -> Agency | None:
    """Rule 3."""
    if report.country:
        return _member_in(
            session,
            report.country,
            report.kind,
            steps,
            f"{why}; the reporter is in {report.country}",
        )
    return _to_coordinator(session, steps, f"{why}, and the reporter gave no country")


def _block_keeper(session: Session, report: Report, steps: _Steps) -> Agency | None:
    """Rule 4: the keeper of the entry that blocks the URL, else the network coordinator."""
    url = (report.details or {}).get("url", "")
    entry = blocklist_service.entry_blocking(session, url)
    if entry is None:
        return _to_coordinator(session, steps, "no active block list entry blocks this address")
    keeper = session.get(Agency, entry.agency_id) if entry.agency_id else None
    if keeper is None or not keeper.is_active:
        return _to_coordinator(
            session, steps, f"the entry {entry.key} ({entry.match}) is the network's own"
        )
    steps.add(
        "route",
        f"the address is blocked by the entry {entry.key} ({entry.match}), kept by "
        f"{keeper.code}: routed to its keeper",
        agency=keeper.code,
        entry=str(entry.id),
    )
    return keeper


_SOURCES = {  # how the hosting country was found (hosting.service.locate's country rule)
    "registry": " (its RIR registration)",
    "network table": " (the network table)",
    "provider": " (where its provider is registered)",
}


def _locate_hosting(
    session: Session, report: Report, resolution: Resolution, steps: _Steps
) -> Agency | None:
    """Rule 1 for a resolved host; falls back to rule 3 when no address has a country."""
    shown = ", ".join(resolution.addresses[:MAX_ADDRESSES])
    more = len(resolution.addresses) - MAX_ADDRESSES
    steps.add(
        "resolve",
        f"{resolution.host} resolved to {shown}{f' and {more} more' if more > 0 else ''} "
        f"({resolution.resolver})",
        addresses=list(resolution.addresses),
        resolver=resolution.resolver,
    )
    for address in resolution.addresses[:MAX_ADDRESSES]:
        location = hosting_addresses.locate(session, address)
        for sentence in location.steps:
            steps.add("locate", sentence, ip=address)
        if location.country:
            report.hosting_ip = address
            report.hosting_country = location.country
            report.hosting_provider_id = location.provider_id
            provider = f" by {location.provider_name}" if location.provider_name else ""
            source = _SOURCES.get(location.country_source or "", "")
            return _member_in(
                session,
                location.country,
                report.kind,
                steps,
                f"{report.host} is hosted in {location.country}{provider}{source}",
            )
        if location.provider_id is not None and report.hosting_provider_id is None:
            report.hosting_ip = address
            report.hosting_provider_id = location.provider_id
    return _reporter_fallback(session, report, steps, "no address of the host has a country")


def apply(
    session: Session, report: Report, resolution: Resolution | None, *, now: datetime | None = None
) -> Agency | None:
    """One routing attempt, recorded; returns the receiving agency when the report is routed.

    `resolution` is None for reports without a URL (grooming, danger) and for URLs whose host
    could not be read."""
    now = now or utcnow()
    steps = _Steps()
    agency: Agency | None
    if report.kind == "block_mistake":
        agency = _block_keeper(session, report, steps)
    elif report.kind != "url":
        why = f"a {report.kind} report goes to the reporter's country"
        agency = _reporter_fallback(session, report, steps, why)
    elif resolution is None:
        agency = _reporter_fallback(session, report, steps, "the URL's host could not be read")
    elif resolution.failure is not None:
        report.route_attempts += 1
        if report.route_attempts < MAX_ATTEMPTS:
            wait = retry_wait(report.route_attempts)
            steps.add(
                "resolve",
                f"resolving {resolution.host} failed ({resolution.failure}); attempt "
                f"{report.route_attempts} of {MAX_ATTEMPTS}, next in {wait.seconds // 60} min",
                resolver=resolution.resolver,
            )
            _write(session, report, steps, now)
            report.route_due_at = now + wait
            return None
        steps.add(
            "resolve",
            f"resolving {resolution.host} failed {MAX_ATTEMPTS} times ({resolution.failure})",
            resolver=resolution.resolver,
        )
        agency = _reporter_fallback(session, report, steps, "the host could not be resolved")
    elif resolution.not_found:
        steps.add(
            "resolve",
            f"{resolution.host} does not exist ({resolution.resolver})",
            resolver=resolution.resolver,
        )
        agency = _reporter_fallback(session, report, steps, "the host name does not exist")
    else:
        agency = _locate_hosting(session, report, resolution, steps)
    if agency is None:
        steps.add(
            "wait",
            "no member can take this report yet (no agency in the country and no network "
            "coordinator registered): routing is tried again every hour",
        )
        report.route_due_at = now + WAIT_FOR_MEMBER
        _write(session, report, steps, now)
        return None
    report.receiving_agency_id = agency.id
    report.routed_at = now
    report.route_due_at = None
    _write(session, report, steps, now)
    return agency


def reroute(session: Session, report: Report, agency: Agency, *, by: str, reason: str) -> None:
    """An analyst sends the report to another member; the step names who and why."""
    steps = _Steps()
    steps.add(
        "manual",
        f"re-routed by {by} to {agency.code} ({KIND_LABELS[agency.kind]}, {agency.country}): "
        f"{reason}",
        agency=agency.code,
    )
    report.receiving_agency_id = agency.id
    report.routed_at = utcnow()
    report.route_due_at = None
    _write(session, report, steps, report.routed_at)


def _write(session: Session, report: Report, steps: _Steps, now: datetime) -> None:
    """The attempt's steps at one instant, kept in order by microseconds (one Core insert)."""
    insert_new(
        session,
        [
            RoutingStep(
                id=uuid.uuid4(),
                report_id=report.id,
                at=now + timedelta(microseconds=offset),
                step=step,
                outcome=outcome[:1000],
                data=data,
            )
            for offset, (step, outcome, data) in enumerate(steps.items)
        ],
    )


def steps_of(session: Session, report_ids: Sequence[uuid.UUID]) -> list[RoutingStep]:
    return list(
        session.scalars(
            select(RoutingStep)
            .where(RoutingStep.report_id.in_(list(report_ids)))
            .order_by(RoutingStep.at, RoutingStep.id)
        )
    )
