"""The demo scenario: built through the services, fictional throughout, every kind of hit."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import phonenumbers
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session
from stdnum import imei as stdnum_imei
from typer.testing import CliRunner

from taskforce import demo_features, demo_hotline, migrate
from taskforce.agencies.models import Agency
from taskforce.app import create_app
from taskforce.cases import hits as case_hits
from taskforce.cases.models import Case, Hit, Selector
from taskforce.cases.schemas import HitRead
from taskforce.cases.selectors import SelectorKind
from taskforce.chats.models import ChatAttachment, ChatConversation
from taskforce.commerce.models import CommerceCrawl, CommerceSite
from taskforce.core.audit import verify as audit
from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import User
from taskforce.core.caller import Caller, Role
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work, utcnow
from taskforce.core.inbox.models import InboxNotice
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.demo import DEMO_PASSWORD, DemoSummary, build_scenario
from taskforce.demo_scenario import luhn_check_digit
from taskforce.interop.models import InteropExport
from taskforce.notices.models import ClueNotice, PublicTip
from taskforce.observatory import service as observatory_service
from taskforce.preservation.models import PreservationRequest
from taskforce.reports.models import HotlineCase, Report
from taskforce.rota import service as rota_service
from taskforce.series.models import SeriesProposal
from taskforce.takedown.models import TakedownNotice
from taskforce.triage.models import TriageRun
from taskforce.watch.models import Handover, UrgentLead

EXAMPLE_DOMAINS = ("example.com", "example.net", "example.org", "example")  # RFC 2606
V4_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")
)
V6_RANGE = ipaddress.ip_network("2001:db8::/32")
NOISE_IP = "8.8.8.8"
FICTION_PHONE_PREFIXES = ("+442079460", "+6125550", "+3319900", "+493023125")


@dataclass
class Built:
    settings: Settings
    engine: Engine
    summary: DemoSummary
    escalated: int


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    tmp_path = tmp_path_factory.mktemp("demo")
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'demo.db'}",
        allow_insecure_defaults=True,
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        summary = build_scenario(session, settings=settings)
    # the lead nobody acknowledged escalates once the build is committed, as in `taskforce demo`
    escalated = demo_hotline.finish(make_sessionmaker(engine), settings)
    yield Built(settings, engine, summary, escalated)
    engine.dispose()


@pytest.fixture
def session(built: Built) -> Iterator[Session]:
    with unit_of_work(make_sessionmaker(built.engine)) as session:
        yield session


def _is_example_domain(host: str) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in EXAMPLE_DOMAINS)


def _investigators(session: Session) -> list[Caller]:
    users = session.scalars(select(User).where(User.role == Role.INVESTIGATOR.value)).all()
    return [auth_service.caller_for(session, u, channel="cli") for u in users]


def _all_hit_views(session: Session) -> list[tuple[Caller, HitRead]]:
    return [
        (caller, view)
        for caller in _investigators(session)
        for view in case_hits.list_hits(session, caller)
    ]


def test_agencies_span_countries_and_time_zones(session: Session) -> None:
    agencies = session.scalars(select(Agency)).all()
    police = [a for a in agencies if a.kind == "law_enforcement"]
    assert len(police) >= 7
    assert len({a.country for a in police}) == len(police)
    assert len({a.timezone for a in police}) == len(police)
    assert [a.code for a in agencies if a.kind == "coordinator"] == ["INT-HUB"]
    hotlines = [a for a in agencies if a.kind == "hotline"]
    assert len(hotlines) == 3
    assert any(a.notice_copy_to_police for a in hotlines)
    for agency in agencies:
        assert agency.name.endswith("(fictional)")
        assert _is_example_domain(agency.contact_email.split("@")[1])
        assert phonenumbers.is_valid_number(phonenumbers.parse(agency.contact_phone))


def test_summary_counts_match_the_database(built: Built, session: Session) -> None:
    summary = built.summary
    cases = session.scalars(select(Case)).all()
    assert summary.cases == len(cases) >= 42
    assert summary.agencies == len(session.scalars(select(Agency)).all())
    assert summary.hits == len(session.scalars(select(Hit)).all()) > 0
    assert sum(summary.hits_by_disclosure.values()) == summary.hits
    assert all(summary.hits_by_disclosure[k] > 0 for k in ("full", "mixed", "blind"))
    assert {c.sharing for c in cases} == {SharingLevel.RED, SharingLevel.AMBER, SharingLevel.GREEN}
    assert any(c.status == "closed" for c in cases)
    assert summary.acknowledged_hits > 0
    assert {login.password for login in summary.logins} == {DEMO_PASSWORD}
    roles = {login.role for login in summary.logins}
    assert roles == {r.value for r in Role} - {Role.PROVIDER.value}  # providers: token only
    assert session.scalar(select(User.id).where(User.role == Role.PROVIDER.value))


def test_the_hotline_has_six_weeks_of_reports_notices_and_leads(
    built: Built, session: Session
) -> None:
    reports = session.scalars(select(Report)).all()
    assert built.summary.hotline is not None
    assert built.summary.observatory is not None  # last month's archive, for the observatory
    assert len(reports) == built.summary.hotline.reports + built.summary.observatory.reports
    assert all(r.receiving_agency_id is not None for r in reports)  # every report routed
    assert {r.status for r in reports} >= {"new", "assessed", "duplicate"}
    assert max(r.created_at for r in reports) - min(r.created_at for r in reports) > timedelta(
        days=35
    )
    notices = session.scalars(select(TakedownNotice)).all()
    removed = [n for n in notices if n.status == "removed"]
    assert len(removed) >= 20
    assert any(n.status == "open" for n in notices)
    assert all(n.removed_at is not None and n.removed_at > n.created_at for n in removed)
    assert len({n.hosting_country for n in removed}) >= 4
    assert any(n.recipient is None for n in notices) or any(
        n.escalated_at is not None for n in notices
    )
    leads = {lead.report_id: lead for lead in session.scalars(select(UrgentLead))}
    assert len(leads) == 3
    assert sum(lead.acknowledged_at is not None for lead in leads.values()) == 1
    assert built.escalated == 1
    assert sum(lead.escalated_at is not None for lead in leads.values()) == 1
    reports_by_id = {r.id: r for r in reports}
    for report_id, lead in leads.items():  # a lead waits as long as its report
        assert lead.received_at == reports_by_id[report_id].created_at
    for url in (n.url for n in notices):
        assert _is_example_domain(urlsplit(url).hostname or "")


def test_every_selector_kind_is_present_and_hits(built: Built, session: Session) -> None:
    kinds = set(session.scalars(select(Selector.kind)).all())
    assert kinds == {k.value for k in SelectorKind}
    assert set(built.summary.hits_by_type) == {k.value for k in SelectorKind}


def test_full_and_blind_hits_and_blind_hits_reveal_nothing(session: Session) -> None:
    views = _all_hit_views(session)
    disclosures = {view.other.disclosure for _, view in views}
    assert disclosures == {"full", "blind"}
    red_blind = 0
    for caller, view in views:
        hit = session.get(Hit, view.id)
        assert hit is not None
        other_case_id = hit.b_case_id if view.case_id == hit.a_case_id else hit.a_case_id
        other = session.get(Case, other_case_id)
        assert other is not None
        if view.other.disclosure == "blind":
            assert view.other.reference is None
            assert view.other.title is None
            assert view.other.case_id is None
            assert view.other.agency is None
            assert view.other.contact.phone  # whom to call is always given
        if other.sharing == SharingLevel.RED and other.owner_agency_id != caller.agency_id:
            assert view.other.disclosure == "blind"
            assert view.other.reference is None
            assert view.other.title is None
            red_blind += 1
    assert red_blind > 0


def test_special_overlaps(session: Session) -> None:
    hits = session.scalars(select(Hit)).all()
    # A PDQ near match (not identical) made a hit.
    assert any(h.kind == "pdq" and 0 < h.distance <= 31 for h in hits)
    # Two cases of one agency.
    assert any(h.a_agency_id == h.b_agency_id for h in hits)
    # 8.8.8.8 is held by several cases but is noise and makes no hit.
    noise = session.scalars(select(Selector).where(Selector.value == NOISE_IP)).all()
    assert len(noise) >= 2
    assert all(s.noise_reason for s in noise)
    noise_ids = {s.id for s in noise}
    assert not any({h.a_selector_id, h.b_selector_id} & noise_ids for h in hits)
    # The same IP months apart makes no hit; one seen within the window does.
    hit_selector_ids = {h.a_selector_id for h in hits} | {h.b_selector_id for h in hits}
    apart = session.scalars(select(Selector).where(Selector.value == "203.0.113.45")).all()
    assert len(apart) == 2
    assert not {s.id for s in apart} & hit_selector_ids
    near = session.scalars(select(Selector).where(Selector.value == "198.51.100.23")).all()
    assert len(near) == 2
    assert {s.id for s in near} <= hit_selector_ids


def test_every_identifier_is_fictional(session: Session) -> None:
    for user in session.scalars(select(User)):
        assert _is_example_domain(user.email.split("@")[1]), user.email
    for selector in session.scalars(select(Selector)):
        value = selector.value
        if selector.kind == SelectorKind.EMAIL:
            assert _is_example_domain(value.rsplit("@", 1)[1]), value
        elif selector.kind == SelectorKind.DOMAIN:
            assert _is_example_domain(value), value
        elif selector.kind == SelectorKind.URL:
            assert _is_example_domain(urlsplit(value).hostname or ""), value
        elif selector.kind == SelectorKind.IP:
            address = ipaddress.ip_address(value)
            if address.version == 4:
                assert value == NOISE_IP or any(address in r for r in V4_RANGES), value
            else:
                assert address in V6_RANGE, value
        elif selector.kind == SelectorKind.PHONE:
            # Drama / fiction ranges: GB 020 7946 0xxx, NANP 555-01xx, AU 02 5550, FR 01 99 00,
            # DE 030 23125.
            if value.startswith("+1"):
                assert value[5:10] == "55501", value
            else:
                assert value.startswith(FICTION_PHONE_PREFIXES), value
        elif selector.kind == SelectorKind.PAYMENT_ACCOUNT:
            assert value in {
                "card:4111111111111111",
                "iban:DE89370400440532013000",
            } or value.startswith("merchant:DEMO-"), value
        elif selector.kind == SelectorKind.IMEI:
            assert stdnum_imei.is_valid(value), value
        elif selector.kind == SelectorKind.USERNAME:
            assert selector.platform in {"chatapp", "photoshare", "forumx"}


def test_luhn_check_digit() -> None:
    assert luhn_check_digit("411111111111111") == "1"
    assert luhn_check_digit("49015420323751") == "8"  # IMEI 490154203237518


def test_audit_chain_verifies(session: Session) -> None:
    result = audit.verify(session)
    assert result.ok, result.reason
    assert result.checked > 0


def test_audit_shows_real_people(session: Session) -> None:
    users = {u.id for u in session.scalars(select(User))}
    hotline_cases = set(session.scalars(select(HotlineCase.case_id)))  # opened by the hub itself
    creators = set(
        session.scalars(select(Case.created_by_id).where(Case.id.not_in(hotline_cases))).all()
    )
    adders = set(session.scalars(select(Selector.added_by_id)).all())
    assert creators <= users
    assert None not in creators
    assert adders <= users
    assert None not in adders


def test_build_is_deterministic(tmp_path: Path, built: Built, session: Session) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'again.db'}",
        allow_insecure_defaults=True,
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    with unit_of_work(make_sessionmaker(engine)) as again:
        summary = build_scenario(again, settings=settings)
        titles = sorted(again.scalars(select(Case.title)).all())
    engine.dispose()
    assert summary.hits_by_type == built.summary.hits_by_type
    assert titles == sorted(session.scalars(select(Case.title)).all())


def test_cli_demo_no_serve(tmp_path: Path) -> None:
    from taskforce.cli import app

    result = CliRunner().invoke(
        app,
        ["demo", "--no-serve", "--single-node", "--port", "8123"],
        env={"TASKFORCE_DATA_DIR": str(tmp_path), "COLUMNS": "160"},
    )
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8123/ui/" in result.output
    assert "investigator@nca.example.com" in result.output
    assert DEMO_PASSWORD in result.output
    assert (tmp_path / "demo" / "taskforce.db").exists()
    # e-mails went to the demo's own mail server, not nowhere
    assert "e-mails delivered to the demo's mail server on 127.0.0.1:" in result.output
    # every e-mail the demo's history sent is in the mailbox, not only those sent at the end
    engine = create_engine(f"sqlite:///{tmp_path / 'demo' / 'taskforce.db'}")
    with engine.connect() as db:
        emails = db.scalar(
            select(func.count()).where(
                OutboxMessage.channel == "email", OutboxMessage.sent_at.is_not(None)
            )
        )
    engine.dispose()
    assert emails is not None
    assert emails > 20
    assert len(list((tmp_path / "demo" / "mail").glob("*.eml"))) == emails
    # The one line the demo prints is all the console needs to reach the demo's database.
    line = f"export TASKFORCE_DATA_DIR={tmp_path / 'demo'}"
    assert line in result.output
    listed = CliRunner().invoke(
        app, ["hashset", "list"], env={"TASKFORCE_DATA_DIR": str(tmp_path / "demo")}
    )
    assert listed.exit_code == 0, listed.output
    assert "not initialised" not in listed.output
    assert len(listed.stdout.splitlines()) > 1
    # A second run starts from a fresh database rather than failing on existing data.
    again = CliRunner().invoke(
        app,
        ["demo", "--no-serve", "--single-node"],
        env={"TASKFORCE_DATA_DIR": str(tmp_path), "COLUMNS": "160"},
    )
    assert again.exit_code == 0, again.output


def test_cli_demo_refuses_a_busy_port_before_building(tmp_path: Path) -> None:
    from taskforce.cli import app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            app, ["demo", "--port", str(port)], env={"TASKFORCE_DATA_DIR": str(tmp_path)}
        )
    assert result.exit_code == 1, result.output
    assert f"port {port} is in use" in result.output
    assert not (tmp_path / "demo").exists()  # nothing was built


def test_every_feature_has_data_a_triage_run_candidate_series_and_a_trace_page(
    built: Built, session: Session
) -> None:
    """A visitor of the demo sees each feature working: a triage run recorded on a case, the
    candidate series proposed from it, the clue notice published with a tip from the public."""
    features = built.summary.features
    assert features is not None
    case = session.scalars(select(Case).where(Case.reference == features.case_reference)).one()
    run = session.scalars(select(TriageRun).where(TriageRun.case_id == case.id)).one()
    assert run.status == "finished"
    assert features.triage_files == len(demo_features.SHOTS)
    proposed = session.scalars(select(SeriesProposal).where(SeriesProposal.case_id == case.id))
    groups = sorted(len(p.members) for p in proposed)
    assert groups == [3, 4]  # the two cameras' bursts; the downloads belong to none
    notice = session.scalars(
        select(ClueNotice).where(ClueNotice.public_token == features.public_token)
    ).one()
    tips = session.scalars(select(PublicTip).where(PublicTip.notice_id == notice.id)).all()
    assert [t.seen_where for t in tips] == [demo_features.TIP.seen_where]


def test_the_demos_trace_page_shows_its_object(built: Built) -> None:
    """Outside any open transaction: the page's request takes SQLite's lock of its own."""
    assert built.summary.features is not None
    token = built.summary.features.public_token
    settings = built.settings.model_copy(update={"worker": "external", "audit_seal_seconds": 0})
    with TestClient(create_app(settings, built.engine)) as anonymous:
        page = anonymous.get(f"/trace/{token}")
        assert page.status_code == 200
        assert "A white wall socket" in page.text
        (src,) = re.findall(r'<img[^>]+src="([^"]+)"', page.text)
        assert anonymous.get(src).headers["content-type"].startswith("image/")


def test_the_rota_covers_the_clock_but_for_one_visible_gap(built: Built, session: Session) -> None:
    """Follow the sun over the members' desks; within the timeline's 14 days exactly one gap,
    for emergency disclosure, and the coordinator was told of it."""
    admin = next(
        auth_service.caller_for(session, u, channel="cli")
        for u in session.scalars(select(User).where(User.role == Role.NETWORK_ADMIN.value))
    )
    assert built.summary.watch is not None
    assert built.summary.watch.desks == 8
    found = rota_service.gaps(session, admin, days=14)
    assert [(g.requirement, g.ends_at - g.starts_at) for g in found] == [
        ("Emergency disclosure", timedelta(hours=4))
    ]
    assert rota_service.on_duty(session, admin)  # somebody, whatever the hour
    told = session.scalars(select(InboxNotice).where(InboxNotice.kind == "rota.gap")).all()
    assert told


def test_a_preservation_is_pending_and_one_close_to_expiry(built: Built, session: Session) -> None:
    requests = session.scalars(select(PreservationRequest)).all()
    assert built.summary.watch is not None
    assert built.summary.watch.preservations == len(requests) == 2
    assert {r.status for r in requests} == {"confirmed"}
    soonest = min(r.expires_at for r in requests) - utcnow()
    assert timedelta(days=4) < soonest <= timedelta(days=5)
    assert all(r.case_id is not None for r in requests)


def test_the_last_shift_was_handed_over_and_taken(built: Built, session: Session) -> None:
    assert built.summary.watch is not None
    assert built.summary.watch.handover is not None
    (handover,) = session.scalars(select(Handover)).all()
    assert handover.acknowledged_at is not None
    assert handover.from_desk_id != handover.to_desk_id
    assert handover.pending_preservations or handover.notes


def test_last_month_is_published_with_cells_shown_and_suppressed(
    built: Built, session: Session
) -> None:
    found = built.summary.observatory
    assert found is not None
    snapshot = observatory_service.snapshot(session, found.period)
    assert observatory_service.verify_published(session, found.period).ok
    rows = snapshot.figures.reports_by_country
    shown = [r for r in rows if r.received is not None]
    hidden = [r for r in rows if r.received is None]
    assert len(shown) >= 4
    assert len(hidden) >= 2  # the small ones, and one more so the total does not reveal them
    assert snapshot.figures.reports_received is not None
    assert found.received == snapshot.figures.reports_received  # the figure the demo prints
    assert any(r.median_hours is not None for r in snapshot.figures.removal_by_country)
    assert any(m.value is not None for m in snapshot.figures.children_identified)


def test_a_green_case_is_held_back_and_exports_were_taken(built: Built, session: Session) -> None:
    found = built.summary.interop
    assert found is not None
    assert found.held_back is not None
    case = session.scalars(select(Case).where(Case.reference == found.held_back)).one()
    assert case.sharing == SharingLevel.GREEN
    assert case.not_for_export
    formats = session.scalars(select(InteropExport.format).order_by(InteropExport.format)).all()
    assert formats == ["misp", "stix"]
    assert found.objects > 0


def test_the_shops_were_crawled_into_two_groups_behind_five_brands(
    built: Built, session: Session
) -> None:
    found = built.summary.commerce
    assert found is not None
    assert (found.sites, found.groups, found.brands) == (10, 2, 5)
    assert (found.watched, found.notices) == (2, 1)
    crawls = session.scalars(select(CommerceCrawl)).all()
    assert {c.status for c in crawls} == {"done"}
    assert sum(c.pages_refused + c.pages_failed for c in crawls) == 0
    assert not built.settings.commerce_crawl_allow_networks  # the seed's own fetcher only
    sites = session.scalars(select(CommerceSite)).all()
    assert all(_is_example_domain(s.host) for s in sites)


def test_a_case_has_imported_chats_one_flagged_for_review(built: Built, session: Session) -> None:
    found = built.summary.chats
    assert found is not None
    assert (found.imports, found.conversations, found.flagged) == (3, 4, 1)
    chats = session.scalars(select(ChatConversation)).all()
    assert {c.format for c in chats} == {"whatsapp", "telegram", "csv"}
    flagged = next(c for c in chats if str(c.id) == found.flagged_id)
    assert flagged.format == "whatsapp"
    assert flagged.flagged_seq is not None
    assert flagged.decision == "unreviewed"  # the queue waits for the analyst
    assert session.scalar(select(func.count()).select_from(ChatAttachment)) == 1
