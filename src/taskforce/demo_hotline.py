"""The demo's hotline scenario: public reports of six weeks, routed by hosting country, assessed,
noticed, re-checked and removed; and three urgent leads at different stages.

Built through the services like the rest of the demo (`demo.py`), then moved back in time: a
report, its routing steps, assessments, notice, events and messages are shifted together to the
day the report came in, and the re-checks are recorded at their own (past) times, so time to
removal is real arithmetic on plausible dates. Historic messages are marked delivered (the demo
has no mail server: new ones wait in the outbox, `taskforce outbox list`). Hosts are fictional
names answering from documentation address blocks of the fictional
providers in `hosting/demo_networks.csv`, under the reserved top-level domain `.example` (RFC
2606) so that each fictional site is its own registrable domain; the demo's resolver is a hosts
file written beside the database, so reports sent to the demo's public form are routed the same
way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyKind, AgencyUpdate
from taskforce.blocklist.models import BlocklistEntry
from taskforce.cases import additions as case_additions
from taskforce.cases import service as case_service
from taskforce.cases.schemas import CaseCreate, SelectorCreate
from taskforce.core.caller import Caller
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.resolver import StaticResolver
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hosting import networks as hosting_networks
from taskforce.reports import assessment as reports_assessment
from taskforce.reports import routing
from taskforce.reports import service as reports_service
from taskforce.reports.models import Report, ReportAssessment, RoutingStep
from taskforce.reports.schemas import Assessment, AssessmentCreate, Kind, ReportCreate, clean
from taskforce.takedown import rechecks as takedown_rechecks
from taskforce.takedown import service as takedown_service
from taskforce.takedown.fetch import CheckResult, Hop, Outcome
from taskforce.takedown.models import TakedownEvent, TakedownNotice
from taskforce.watch import escalation as watch_escalation
from taskforce.watch import service as watch_service
from taskforce.watch.models import UrgentLead, UrgentLeadStep

# Fictional hosts and the documentation addresses they answer from (demo_networks.csv says whose
# blocks these are). Written as the demo's hosts file.
HOSTS: dict[str, str] = {
    "img.polder-share.example": "203.0.113.10",
    "pics.tulip-gallery.example": "203.0.113.40",
    "cdn.rheinwerk-files.example": "203.0.113.70",
    "files.thames-drop.example": "203.0.113.130",
    "photos.prairie-host.example": "198.51.100.10",
    "galeria.meseta-fotos.example": "198.51.100.140",
    "share.kapuluan-pics.example": "198.51.100.200",
    "anon.quiet-harbour.example": "192.0.2.10",
    "up.fjord-box.example": "203.0.113.200",
}

# Hotlines the demo adds (the hub is the network coordinator): code, name, country, time zone,
# desk, phone, whether the country's law wants the police told of every notice.
HOTLINES = (
    (
        "GB-HOTLINE",
        "Demo UK Internet Hotline (fictional)",
        "GB",
        "Europe/London",
        "Hotline analysts",
        "+442079460555",
        True,
    ),
    (
        "NL-HOTLINE",
        "Demo Dutch Reporting Point (fictional)",
        "NL",
        "Europe/Amsterdam",
        "Meldpunt analisten",
        "+31201234599",
        False,
    ),
    (
        "ES-HOTLINE",
        "Demo Spanish Hotline (fictional)",
        "ES",
        "Europe/Madrid",
        "Línea de denuncia",
        "+34910000123",
        False,
    ),
)

# How fast each fictional provider removes (hours, low–high) and how often it never does.
REMOVAL_HOURS: dict[str, tuple[float, float]] = {
    "img.polder-share.example": (1.5, 20),
    "pics.tulip-gallery.example": (18, 70),
    "cdn.rheinwerk-files.example": (10, 60),
    "files.thames-drop.example": (1, 9),
    "photos.prairie-host.example": (12, 130),
    "galeria.meseta-fotos.example": (20, 95),
    "share.kapuluan-pics.example": (70, 400),
    "up.fjord-box.example": (30, 200),
}
DAYS = 42


@dataclass(frozen=True)
class HotlineSummary:
    reports: int
    notices: int
    removed: int
    leads: int


def write_hosts_file(folder: Path) -> Path:
    path = folder / "demo-hosts"
    lines = ["# the demo's fictional hosts: taskforce resolves names with this file (demo only)"]
    lines += [f"{ip} {host}" for host, ip in HOSTS.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def members(session: Session, admin: Caller, hub_code: str) -> None:
    """The hub becomes the network coordinator; three hotlines join."""
    agency_service.update_agency(
        session, admin, code=hub_code, data=AgencyUpdate(kind=AgencyKind.COORDINATOR)
    )
    for code, name, country, tz, desk, phone, police_copy in HOTLINES:
        agency_service.register_agency(
            session,
            admin,
            AgencyCreate(
                code=code,
                name=name,
                country=country,
                timezone=tz,
                contact_desk=desk,
                contact_phone=phone,
                contact_email=f"desk@{code.lower()}.example.org",
                kind=AgencyKind.HOTLINE,
                notice_copy_to_police=police_copy,
            ),
        )
    hosting_networks.import_networks(
        session,
        admin,
        hosting_networks.DEMO_NETWORKS.read_text().splitlines(keepends=True),
        source="demo",
    )


def _shift(session: Session, report: Report, when: datetime) -> timedelta:
    """Move a report and everything that followed from it to `when` (its arrival)."""
    delta = when - report.created_at
    report.created_at = when
    if report.routed_at is not None:
        report.routed_at += delta
    for step in session.scalars(select(RoutingStep).where(RoutingStep.report_id == report.id)):
        step.at += delta
    for verdict in session.scalars(
        select(ReportAssessment).where(ReportAssessment.report_id == report.id)
    ):
        verdict.created_at += delta
    for notice in session.scalars(
        select(TakedownNotice).where(TakedownNotice.report_id == report.id)
    ):
        _shift_notice(session, notice, delta)
    for entry in session.scalars(
        select(BlocklistEntry).where(BlocklistEntry.source == f"report:{report.id}")
    ):
        entry.added_at += delta
    return delta


def _shift_notice(session: Session, notice: TakedownNotice, delta: timedelta) -> None:
    notice.created_at += delta
    notice.deadline_at += delta
    if notice.last_sent_at is not None:
        notice.last_sent_at += delta
    if notice.next_check_at is not None:
        notice.next_check_at += delta
    for event in session.scalars(select(TakedownEvent).where(TakedownEvent.notice_id == notice.id)):
        event.at += delta
    _shift_messages(session, f"takedown_notice:{notice.id}", delta)


def _shift_messages(session: Session, reference: str, delta: timedelta) -> None:
    for message in session.scalars(
        select(OutboxMessage).where(OutboxMessage.reference == reference)
    ):
        message.created_at += delta


def _deliver_history(session: Session, before: datetime) -> None:
    """Messages from before the demo started count as delivered (see the module docstring)."""
    for message in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.sent_at.is_(None), OutboxMessage.created_at < before
        )
    ):
        message.sent_at = message.created_at + timedelta(seconds=40)
        message.attempts = 1


def _check(
    outcome: Outcome, url: str, ip: str | None, status: int | None, detail: str
) -> CheckResult:
    return CheckResult(
        outcome=outcome,
        status_code=status,
        final_url=url,
        content_type="text/html",
        hops=(Hop(url, ip, status),),
        detail=detail,
        elapsed_ms=180,
        ip=ip,
    )


def _history(
    session: Session,
    settings: Settings,
    notice: TakedownNotice,
    rng: random.Random,
    removal_hours: float | None,
    now: datetime,
) -> None:
    """Re-checks after 1 h, 6 h, then daily until the removal (or today)."""
    ip = notice.hosting_ip
    start = notice.created_at
    end = start + timedelta(hours=removal_hours) if removal_hours is not None else now
    marks = [1.0, 6.0] + [24.0 * d + rng.uniform(-2, 2) for d in range(1, 60)]
    for hours in marks:
        at = start + timedelta(hours=hours)
        if at >= min(end, now):
            break
        present = _check(Outcome.PRESENT, notice.url, ip, 200, "HTTP 200: the page is still served")
        takedown_rechecks.record_check(session, settings, notice.id, present, now=at)
    if removal_hours is not None and end < now:
        status = rng.choice((404, 404, 410))
        gone = _check(Outcome.GONE, notice.url, ip, status, f"HTTP {status}: the page is gone")
        takedown_rechecks.record_check(session, settings, notice.id, gone, now=end)
    elif notice.status == "open":
        notice.next_check_at = now + timedelta(minutes=settings.takedown_check_minutes)


def reports(
    session: Session, settings: Settings, callers: dict[tuple[str, str], Caller], rng: random.Random
) -> HotlineSummary:
    """Six weeks of URL reports and a few grooming reports, assessed by whoever got them."""
    now = utcnow()
    # The Dutch police already investigate the site behind many reports: once the hotline
    # confirms one, deconfliction links its hotline case to this case.
    police = callers[("NL-NP", "investigator")]
    case = case_service.open_case(
        session,
        police,
        CaseCreate(
            title="Operation Polder (fictional)",
            sharing=SharingLevel.RED,
            summary="(fictional) a file-sharing site run from the Netherlands",
            offence_types=["distribution"],
        ),
    )
    case_additions.add_selector(
        session,
        police,
        settings,
        case_id=case.id,
        data=SelectorCreate(
            type="domain", value="polder-share.example", note="(fictional) site operator's domain"
        ),
    )
    resolver = StaticResolver({host: [ip] for host, ip in HOSTS.items()}, name="demo hosts file")
    hosts = list(HOSTS)
    countries = ("GB", "NL", "ES", "DE", "US", "FR", "BR", "PH", None)
    made: list[tuple[Report, datetime]] = []
    waiting = (
        "img.polder-share.example",
        "pics.tulip-gallery.example",
        "files.thames-drop.example",
        "img.polder-share.example",
        "galeria.meseta-fotos.example",
        "photos.prairie-host.example",
    )
    for i in range(64):
        host = rng.choice(hosts) if i < 64 - len(waiting) else waiting[i - 64 + len(waiting)]
        path = rng.choice(("gallery", "album", "view", "g", "set")) + f"/{rng.randint(100, 9999)}"
        if i % 9 == 4 and i < 58:  # the same page reported again, spelt differently
            earlier = rng.choice(made)[0]
            url = earlier.details["url"].replace("https://", "HTTPS://") + "/"
        else:
            url = f"https://{host}/{path}"
        when = now - timedelta(days=DAYS * (1 - i / 64), minutes=rng.randint(0, 600))
        report = _submit(
            session,
            settings,
            Kind.URL,
            {
                "url": url,
                "where_found": rng.choice(
                    (
                        "a link in a forum",
                        "a pop-up on a video site",
                        "a message from a stranger",
                        "a search result",
                    )
                ),
            },
            rng.choice(countries),
            i,
        )
        claim = reports_service.Claim(report.id, report.kind, report.host)
        resolution = routing.resolve(resolver, report.host) if report.host else None
        reports_service.route_claimed(session, settings, claim, resolution)
        made.append((report, when))
    notices = removed = 0
    for index, (report, when) in enumerate(made):
        if report.status == "new" and index < len(made) - 6:  # the newest wait in the queue
            _assess(session, settings, callers, report, rng)
        _shift(session, report, when)
    for report, _when in made:
        for notice in takedown_service.notices_of_report(session, report.id):
            notices += 1
            low, high = REMOVAL_HOURS.get(notice.host, (24, 240))
            hours = None if rng.random() < 0.12 else rng.uniform(low, high)
            _history(session, settings, notice, rng, hours, now)
            removed += notice.status == "removed"
    for j, (platform, adult) in enumerate(
        (("chatapp", "fictional_coach_41"), ("forumx", "fictional_gamer_88"))
    ):
        report = _submit(
            session,
            settings,
            Kind.GROOMING,
            {
                "platform": platform,
                "adult_username": adult,
                "excerpt": "(fictional) asks for photos and says to keep it secret",
                "when": "last week",
            },
            ("GB", "ES")[j],
            100 + j,
        )
        _shift(session, report, now - timedelta(days=3 - j, hours=5))
    _deliver_history(session, now)
    session.flush()
    return HotlineSummary(reports=len(made) + 2, notices=notices, removed=removed, leads=0)


def _submit(
    session: Session,
    settings: Settings,
    kind: Kind,
    fields: dict[str, str],
    country: str | None,
    n: int,
    *,
    meeting: bool = False,
    suspect: str | None = None,
) -> Report:
    data = ReportCreate(
        kind=kind,
        details=clean(kind, fields),
        country=country,
        language="en",
        meeting=meeting,
        suspect_country=suspect,
    )
    report, _code = reports_service.submit_report(session, settings, data, address=f"demo-{n}")
    reports_service.after_report(session, settings, report.id)
    return report


_CATEGORIES = ("baseline", "baseline", "national-a", "national-b")


def _assess(
    session: Session,
    settings: Settings,
    callers: dict[tuple[str, str], Caller],
    report: Report,
    rng: random.Random,
) -> None:
    agency = (
        agency_service.get(session, report.receiving_agency_id)
        if report.receiving_agency_id
        else None
    )
    caller = callers.get((agency.code, "analyst")) if agency else None
    if caller is None:
        return
    roll = rng.random()
    if roll < 0.78:
        data = AssessmentCreate(
            assessment=Assessment.ILLEGAL_MATERIAL, category=rng.choice(_CATEGORIES)
        )
    elif roll < 0.86:
        data = AssessmentCreate(
            assessment=Assessment.ILLEGAL_ELSEWHERE, note="legal adult content? checked: no"
        )
    elif roll < 0.94:
        data = AssessmentCreate(assessment=Assessment.NOT_ILLEGAL, note="adult model, age verified")
    else:
        data = AssessmentCreate(assessment=Assessment.HARMFUL_LEGAL)
    reports_assessment.assess(session, caller, report.id, data, settings)


def leads(session: Session, settings: Settings, callers: dict[tuple[str, str], Caller]) -> int:
    """Three urgent leads: one acknowledged, one left to escalate (see `finish`), one fresh."""
    now = utcnow()
    specs = (
        (
            Kind.DANGER,
            {
                "what": "(fictional) a child says an adult at home is hurting them",
                "where": "ExampleStream, user fictional_kid_9",
            },
            "GB",
            False,
            None,
            25,
        ),
        (
            Kind.GROOMING,
            {
                "platform": "chatapp",
                "adult_username": "fictional_trainer_12",
                "excerpt": "(fictional) let's meet at the station on Saturday",
                "when": "today",
            },
            "NL",
            True,
            "DE",
            55,  # past three deadlines: the desk on duty, the next desk, the coordinator
        ),
        (
            Kind.DANGER,
            {
                "what": "(fictional) a live stream shows a child in distress",
                "where": "photoshare, user fictional_cam_3",
            },
            "AU",
            False,
            None,
            4,
        ),
    )
    for n, (kind, fields, country, meeting, suspect, minutes_ago) in enumerate(specs):
        report = _submit(
            session, settings, kind, fields, country, 200 + n, meeting=meeting, suspect=suspect
        )
        when = now - timedelta(minutes=minutes_ago)
        delta = _shift(session, report, when)
        lead = session.scalar(select(UrgentLead).where(UrgentLead.report_id == report.id))
        assert lead is not None
        lead.created_at += delta
        for name in ("received_at", "ack_due_at", "check_at"):
            value = getattr(lead, name)
            if value is not None:
                setattr(lead, name, value + delta)
        for step in session.scalars(
            select(UrgentLeadStep).where(UrgentLeadStep.lead_id == lead.id)
        ):
            step.at += delta
        _shift_messages(session, f"urgent_lead:{lead.id}", delta)
        if n == 0:
            watch_service.acknowledge(
                session,
                callers[("GB-NCA", "investigator")],
                lead.id,
                note="(fictional) patrol sent to the address the platform gave",
            )
            lead.acknowledged_at = when + timedelta(minutes=6)
            for step in session.scalars(
                select(UrgentLeadStep).where(
                    UrgentLeadStep.lead_id == lead.id, UrgentLeadStep.step == "acknowledged"
                )
            ):
                step.at = lead.acknowledged_at
    _deliver_history(session, now - timedelta(minutes=1))
    session.flush()
    return len(specs)


def finish(factory: sessionmaker[Session], settings: Settings) -> int:
    """After the build is committed, what the worker would have done meanwhile: the reports'
    arrivals go into the audit chain, and the lead nobody acknowledged follows the rota (the
    desk on duty, the next desk) to the coordinator, each step at the deadline the worker met.
    Returns the number of leads escalated to the coordinator."""
    while jobs.once(factory, reports_service.log_arrivals):
        pass
    now = utcnow()
    job = watch_escalation.escalation_job(settings)
    for _ in range(20):  # a handful of deadlines at most; the bound only guards the loop
        with unit_of_work(factory) as session:
            due = session.scalar(
                select(func.min(UrgentLead.check_at)).where(
                    UrgentLead.acknowledged_at.is_(None), UrgentLead.check_at <= now
                )
            )
        if due is None:
            break
        jobs.run(factory, job, limit=50, now=due)
    with unit_of_work(factory) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(UrgentLead)
                .where(UrgentLead.escalated_at.is_not(None))
            )
            or 0
        )
