"""A notice's life: sent, re-checked, re-sent, escalated, followed when the content moves, and
closed when it is gone — with time to removal by country and provider."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from builders import Network, make_agency, make_person
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyKind, AgencyUpdate
from taskforce.blocklist import service as blocklist_service
from taskforce.blocklist.models import BlocklistEntry
from taskforce.blocklist.schemas import EntryCreate
from taskforce.core.caller import Role, system_caller
from taskforce.core.db import utcnow
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.resolver import StaticResolver
from taskforce.core.settings import Settings
from taskforce.hosting import addresses as hosting_addresses
from taskforce.hosting import networks as hosting_networks
from taskforce.reports.models import Report
from taskforce.takedown import rechecks, removal, service
from taskforce.takedown.fetch import CheckResult, Hop, Outcome, UrlChecker
from taskforce.takedown.models import TakedownCheck, TakedownEvent, TakedownNotice

NETWORKS = """network,provider,asn,country,abuse_email
203.0.113.0/26,Fictional Hosting NL B.V.,64500,NL,abuse@nlhost.example.net
203.0.113.64/26,Fictional Hosting GB Ltd,64502,GB,abuse@gbhost.example.net
198.51.100.0/26,Fictional Cloud DE GmbH,64501,DE,
"""


def result(
    outcome: Outcome, *, status: int | None = 200, ip: str | None = "203.0.113.10", detail: str = ""
) -> CheckResult:
    return CheckResult(
        outcome=outcome,
        status_code=status,
        final_url="https://files.example.net/a",
        content_type="text/html",
        hops=(Hop("https://files.example.net/a", ip, status),),
        detail=detail or f"HTTP {status}",
        elapsed_ms=12,
        ip=ip,
    )


class Desk:
    def __init__(self, session: Session, network: Network) -> None:
        self.nl = make_agency(
            session,
            "NL-HOTLINE",
            country="NL",
            timezone="Europe/Amsterdam",
            contact_phone="+31201234500",
        )
        coordinator = make_agency(
            session,
            "INT-COORD",
            country="FR",
            timezone="Europe/Paris",
            contact_phone="+33199001234",
        )
        for code, kind in (
            ("NL-HOTLINE", AgencyKind.HOTLINE),
            ("INT-COORD", AgencyKind.COORDINATOR),
        ):
            agency_service.update_agency(
                session, system_caller(), code=code, data=AgencyUpdate(kind=kind)
            )
        self.coordinator = coordinator
        self.analyst = make_person(session, self.nl, role=Role.ANALYST)
        self.network = network
        report = hosting_networks.import_networks(
            session, system_caller(), NETWORKS.splitlines(keepends=True), source="test"
        )
        assert not report.bad_lines
        self.provider = hosting_addresses.locate(session, "203.0.113.10").provider_id


@pytest.fixture
def desk(session: Session, network: Network) -> Desk:
    return Desk(session, network)


def issue(
    session: Session,
    settings: Settings,
    desk: Desk,
    *,
    url: str = "https://files.example.net/a",
    ip: str | None = "203.0.113.10",
    provider: uuid.UUID | str | None = "nl",
    listed: bool = False,
) -> TakedownNotice:
    report_id = None
    if listed:
        report = Report(
            kind="url",
            details={"url": url},
            country=None,
            language="en",
            status="assessed",
            urgent=False,
            receipt_hash=uuid.uuid4().hex * 2,
        )
        session.add(report)
        session.flush()
        report_id = report.id
        blocklist_service.add_entry(
            session,
            desk.analyst.caller,
            EntryCreate(url=url, source=f"report:{report_id}", category="baseline"),
        )
    return service.issue(
        session,
        desk.analyst.caller,
        settings,
        agency=desk.nl,
        url=url,
        url_hash=uuid.uuid4().hex,
        host="files.example.net",
        category="baseline",
        report_id=report_id,
        hosting_ip=ip,
        hosting_country="NL" if ip else None,
        provider_id=desk.provider if provider == "nl" else provider,  # type: ignore[arg-type]
    )


def events(session: Session, notice: TakedownNotice) -> list[str]:
    return list(
        session.scalars(
            select(TakedownEvent.kind)
            .where(TakedownEvent.notice_id == notice.id)
            .order_by(TakedownEvent.at, TakedownEvent.id)
        )
    )


def mails(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)))


def test_a_notice_goes_to_the_abuse_contact_with_the_agencys_desk_to_reply_to(
    session: Session, settings: Settings, desk: Desk
) -> None:
    notice = issue(session, settings, desk)
    assert notice.recipient == "abuse@nlhost.example.net"
    assert notice.sends == 1
    assert notice.deadline_at - notice.created_at == timedelta(hours=72)
    (mail,) = mails(session)
    assert mail.reply_to == "desk@nl-hotline.example.com"
    assert service.reference(notice.id) in mail.subject
    assert "https://files.example.net/a" in mail.body
    assert "Europe/Amsterdam" in mail.body
    assert events(session, notice) == ["issued", "sent"]
    again = issue(session, settings, desk)  # the same URL hash is a new URL here: new notice
    assert again.id != notice.id


def test_the_same_url_confirmed_twice_joins_the_open_notice(
    session: Session, settings: Settings, desk: Desk
) -> None:
    first = service.issue(
        session,
        desk.analyst.caller,
        settings,
        agency=desk.nl,
        url="https://x.example.net/a",
        url_hash="h" * 64,
        host="x.example.net",
        category=None,
        report_id=None,
        hosting_ip=None,
        hosting_country=None,
        provider_id=None,
    )
    second = service.issue(
        session,
        desk.analyst.caller,
        settings,
        agency=desk.nl,
        url="https://x.example.net/a",
        url_hash="h" * 64,
        host="x.example.net",
        category=None,
        report_id=None,
        hosting_ip=None,
        hosting_country=None,
        provider_id=None,
    )
    assert first.id == second.id
    assert "confirmed" in events(session, first)
    assert "no_contact" in events(session, first)
    assert first.sends == 0


def test_gone_closes_the_notice_records_removal_time_and_unlists_the_url(
    session: Session, settings: Settings, desk: Desk
) -> None:
    notice = issue(session, settings, desk, listed=True)
    t0 = notice.created_at
    rechecks.record_check(
        session, settings, notice.id, result(Outcome.PRESENT), now=t0 + timedelta(hours=1)
    )
    assert notice.status == "open"
    assert notice.checks == 1
    assert notice.next_check_at == t0 + timedelta(hours=1, minutes=settings.takedown_check_minutes)
    gone_at = t0 + timedelta(hours=5)
    rechecks.record_check(
        session,
        settings,
        notice.id,
        result(Outcome.GONE, status=404, detail="HTTP 404"),
        now=gone_at,
    )
    notice = session.get_one(TakedownNotice, notice.id)  # what the check left, not narrowed above
    assert notice.status == "removed"
    assert notice.removed_at == gone_at
    assert notice.next_check_at is None
    assert "HTTP 404" in notice.closed_reason
    entry = session.scalars(select(BlocklistEntry)).one()
    assert entry.removed_version is not None
    assert service.reference(notice.id) in entry.removed_reason
    assert events(session, notice)[-2:] == ["removed", "unlisted"]
    assert len(session.scalars(select(TakedownCheck)).all()) == 2
    # a closed notice ignores late results
    rechecks.record_check(session, settings, notice.id, result(Outcome.PRESENT), now=gone_at)
    assert notice.status == "removed"
    assert notice.checks == 2


def test_still_online_is_resent_daily_and_escalated_once_past_the_deadline(
    session: Session, settings: Settings, desk: Desk
) -> None:
    notice = issue(session, settings, desk)
    t0 = notice.created_at
    for hours in (1, 23, 25, 49, 73, 80):
        rechecks.record_check(
            session, settings, notice.id, result(Outcome.PRESENT), now=t0 + timedelta(hours=hours)
        )
    kinds = events(session, notice)
    assert kinds.count("resent") == 3  # at 25, 49 and 73 hours
    assert kinds.count("escalated") == 1
    assert notice.escalated_at == t0 + timedelta(hours=73)
    escalations = [m for m in mails(session) if m.subject.startswith("Escalation")]
    assert sorted(m.recipient for m in escalations) == [
        "desk@int-coord.example.com",
        "desk@nl-hotline.example.com",
    ]
    reminders = [m for m in mails(session) if m.subject.startswith("Reminder")]
    assert len(reminders) == 3
    assert "Reminder 3:" in reminders[-1].subject


def test_unreachable_for_long_enough_counts_as_removed_from_the_first_failure(
    session: Session, settings: Settings, desk: Desk
) -> None:
    few = settings.model_copy(update={"takedown_unreachable_checks": 3})
    notice = issue(session, few, desk)
    t0 = notice.created_at
    rechecks.record_check(
        session,
        few,
        notice.id,
        result(Outcome.UNREACHABLE, status=None, detail="connection refused"),
        now=t0 + timedelta(hours=1),
    )
    rechecks.record_check(
        session, few, notice.id, result(Outcome.PRESENT), now=t0 + timedelta(hours=2)
    )
    assert notice.unreachable_streak == 0
    for hours in (3, 4, 5):
        rechecks.record_check(
            session,
            few,
            notice.id,
            result(Outcome.UNREACHABLE, status=None, detail="timed out"),
            now=t0 + timedelta(hours=hours),
        )
    assert notice.status == "removed"
    assert notice.removed_at == t0 + timedelta(hours=3)
    assert "unreachable for 3 checks in a row" in notice.closed_reason


def test_content_that_moves_to_another_network_is_followed(
    session: Session, settings: Settings, desk: Desk
) -> None:
    gb = make_agency(session, "GB-HOTLINE", country="GB", contact_phone="+442079460100")
    agency_service.update_agency(
        session, system_caller(), code=gb.code, data=AgencyUpdate(kind=AgencyKind.HOTLINE)
    )
    notice = issue(session, settings, desk)
    t0 = notice.created_at
    rechecks.record_check(
        session,
        settings,
        notice.id,
        result(Outcome.PRESENT, ip="203.0.113.70"),
        now=t0 + timedelta(hours=1),
    )
    assert notice.hosting_ip == "203.0.113.70"
    assert notice.hosting_country == "GB"
    assert notice.recipient == "abuse@gbhost.example.net"
    assert "moved" in events(session, notice)
    assert "told" in events(session, notice)
    to = [m.recipient for m in mails(session)]
    assert to.count("abuse@gbhost.example.net") == 1  # the new host is sent the notice
    assert "desk@gb-hotline.example.com" in to  # the new country's hotline is told
    rechecks.record_check(
        session,
        settings,
        notice.id,
        result(Outcome.PRESENT, ip="203.0.113.71"),
        now=t0 + timedelta(hours=2),
    )
    assert events(session, notice)[-1] == "address"  # same network: noted, nobody re-told


def test_a_notice_waiting_for_a_contact_goes_out_when_an_analyst_sets_one(
    session: Session, settings: Settings, desk: Desk
) -> None:
    notice = issue(
        session,
        settings,
        desk,
        ip="198.51.100.7",
        provider=hosting_addresses.locate(session, "198.51.100.7").provider_id,
    )
    assert notice.recipient is None
    assert mails(session) == []
    with pytest.raises(Exception, match="recipient"):
        service.set_recipient(session, desk.analyst.caller, settings, notice.id, "not an address")
    service.set_recipient(
        session, desk.analyst.caller, settings, notice.id, "Abuse@Cloud.example.org"
    )
    notice = session.get_one(TakedownNotice, notice.id)
    assert notice.recipient == "abuse@cloud.example.org"
    assert notice.sends == 1
    assert [m.recipient for m in mails(session)] == ["abuse@cloud.example.org"]


def test_other_agencies_cannot_see_or_touch_a_notice(
    session: Session, settings: Settings, desk: Desk
) -> None:
    notice = issue(session, settings, desk)
    from taskforce.core.errors import NotFound

    for action in (
        lambda: service.get_notice(session, desk.network.gb_analyst.caller, notice.id),
        lambda: service.withdraw(session, desk.network.gb_analyst.caller, notice.id, reason="x"),
    ):
        with pytest.raises(NotFound):
            action()
    rows, total = service.list_notices(session, desk.network.gb_analyst.caller)
    assert rows == []
    assert total == 0
    withdrawn = service.withdraw(session, desk.analyst.caller, notice.id, reason="police operation")
    assert withdrawn.status == "withdrawn"
    assert withdrawn.next_check_at is None


def test_time_to_removal_by_country_and_provider(
    session: Session, settings: Settings, desk: Desk
) -> None:
    durations = [2, 4, 6, 8, 10, 12, 14, 16, 18, 100]  # hours
    for hours in durations:
        notice = issue(session, settings, desk)
        rechecks.record_check(
            session,
            settings,
            notice.id,
            result(Outcome.GONE, status=410),
            now=notice.created_at + timedelta(hours=hours),
        )
    issue(session, settings, desk)  # one still online
    rows, total = removal.removal_statistics(session, desk.analyst.caller, by="country")
    (nl,) = rows
    assert (nl.key, nl.label, nl.notices, nl.removed, nl.still_online) == (
        "NL",
        "Netherlands",
        11,
        10,
        1,
    )
    assert nl.median_hours == pytest.approx(11)
    assert nl.p90_hours == pytest.approx(18)  # nine in ten within 18 h
    assert nl.within_24h == pytest.approx(0.9)
    assert nl.within_72h == pytest.approx(0.9)
    by_provider, _ = removal.removal_statistics(session, desk.analyst.caller, by="provider")
    assert [r.label for r in by_provider] == ["Fictional Hosting NL B.V."]
    assert total.notices == 11


# --- the worker's task against a real server --------------------------------------------------


class _Site(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[tuple[type[_Site], int]]:
    handler = type("Site", (_Site,), {"status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_worker_rechecks_due_notices_until_the_page_is_gone(
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    desk: Desk,
    site: tuple[type[_Site], int],
) -> None:
    handler, port = site
    url = f"http://files.example.net:{port}/a"
    notice = issue(session, settings, desk, url=url)
    session.flush()
    checker = UrlChecker(
        StaticResolver({"files.example.net": ["127.0.0.1"]}), allow_networks=["127.0.0.1/32"]
    )
    later = utcnow() + timedelta(hours=2)
    job = rechecks.recheck_job(settings, checker)
    assert jobs.run(session_factory, job, limit=20, now=utcnow()).claimed == 0  # not due
    assert jobs.run(session_factory, job, limit=20, now=later).claimed == 1
    session.expire_all()
    fresh = session.get(TakedownNotice, notice.id)
    assert fresh is not None
    assert fresh.last_outcome == "present"
    assert fresh.status == "open"
    handler.status = 404
    assert jobs.run(session_factory, job, limit=20, now=later + timedelta(hours=2)).claimed == 1
    session.expire_all()
    fresh = session.get(TakedownNotice, notice.id)
    assert fresh is not None
    assert fresh.status == "removed"
    checks = session.scalars(select(TakedownCheck).order_by(TakedownCheck.at)).all()
    assert [c.status_code for c in checks] == [200, 404]
    assert checks[0].ip == "127.0.0.1"


def test_a_claimed_notice_is_not_claimed_again_until_its_lease_ends(
    session: Session, settings: Settings, desk: Desk
) -> None:
    notice = issue(session, settings, desk)
    due = notice.created_at + timedelta(hours=2)
    job = rechecks.recheck_job(settings, UrlChecker(StaticResolver({})))
    claims = jobs.claim(session, job, limit=10, now=due)
    assert [c.item.notice_id for c in claims] == [notice.id]
    assert jobs.claim(session, job, limit=10, now=due + timedelta(minutes=1)) == []
    assert len(jobs.claim(session, job, limit=10, now=due + service.LEASE)) == 1
