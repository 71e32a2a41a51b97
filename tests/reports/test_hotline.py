"""The hotline queue and assessment: duplicates linked and closed, and what a confirmed report
sets going — the block list, a takedown notice to the host, selectors that reach the hub."""

from __future__ import annotations

import re
import uuid

import pytest
from builders import add_selector, csrf_field, make_case, web_login
from fastapi.testclient import TestClient
from hotline_builders import Hotlines, RouteAll, send
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.blocklist.models import BlocklistEntry
from taskforce.cases.models import Case, Hit, Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import NotFound
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.reports import assessment, queue
from taskforce.reports.models import HotlineCase, Report, ReportAssessment
from taskforce.reports.schemas import Assessment, AssessmentCreate
from taskforce.takedown.models import TakedownNotice


def _reports(session: Session) -> dict[str, Report]:
    session.expire_all()
    return {r.details.get("url") or r.kind: r for r in session.scalars(select(Report))}


def test_queue_lists_urgent_first_escapes_everything_and_audits_reads(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    public = TestClient(client.app)
    send(public, "url", url="https://files.example.net/first", description="<b>bold</b>")
    send(
        public,
        "grooming",
        platform="chatapp",
        excerpt="meet me <script>x</script>",
        meeting="on",
        country="NL",
    )
    route_all()
    session.commit()
    web_login(client, session, hotlines.net.gb_reader)
    assert client.get("/ui/hotline").status_code == 403
    client.cookies.clear()

    web_login(client, session, hotlines.nl_hotline)
    queue = client.get("/ui/hotline")
    assert queue.status_code == 200
    assert ">Hotline</a>" in queue.text
    links = list(dict.fromkeys(re.findall(r'href="/ui/hotline/([0-9a-f-]{36})"', queue.text)))
    reports = {r.id: r for r in session.scalars(select(Report))}
    assert len(links) == 2
    assert reports[uuid.UUID(links[0])].kind == "grooming"
    detail = client.get(f"/ui/hotline/{links[1]}")
    assert "&lt;b&gt;bold&lt;/b&gt;" in detail.text
    assert "<b>bold</b>" not in detail.text
    grooming = client.get(f"/ui/hotline/{links[0]}")
    assert "<script>x</script>" not in grooming.text
    assert "&lt;script&gt;" in grooming.text

    token = csrf_field(detail.text)
    missing = client.post(
        f"/ui/hotline/{links[1]}/assess",
        data={"csrf_token": token, "assessment": "illegal_material"},
    )
    assert missing.status_code == 422
    assert "Category" in missing.text
    done = client.post(
        f"/ui/hotline/{links[1]}/assess",
        data={"csrf_token": token, "assessment": "illegal_material", "category": "baseline"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = session.scalars(select(ReportAssessment)).one()
    assert row.assessment == "illegal_material"
    assert row.category == "baseline"
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"report.queue.read", "report.read", "report.assess", "takedown.issue"} <= actions
    after = client.get("/ui/hotline")
    assert links[1] not in after.text
    assert links[0] in after.text
    followed = client.get(f"/ui/hotline/{links[1]}").text
    assert "Block list" in followed
    assert "Takedown notice" in followed


def test_the_same_url_written_two_ways_is_linked_and_closed_once_the_first_is_assessed(
    client: TestClient,
    session: Session,
    settings: Settings,
    hotlines: Hotlines,
    route_all: RouteAll,
) -> None:
    send(client, "url", url="https://files.example.net/album/9")
    send(client, "url", url="HTTPS://Files.Example.NET:443/album/9/")
    route_all()
    first, second = sorted(session.scalars(select(Report)), key=lambda r: r.created_at)
    assert second.duplicate_of_id == first.id
    assert second.status == "new"
    rows = {r.report.id: r for r in queue.queue(session, hotlines.nl_hotline.caller)}
    assert rows[first.id].same_url == 1
    assert rows[second.id].original_id == first.id

    assessment.assess(
        session,
        hotlines.nl_hotline.caller,
        first.id,
        AssessmentCreate(assessment=Assessment.NOT_ILLEGAL),
        settings,
    )
    session.refresh(second)
    assert second.status == "duplicate"
    auto = session.scalars(
        select(ReportAssessment).where(ReportAssessment.report_id == second.id)
    ).one()
    assert auto.assessment == "duplicate"
    assert auto.agency_id is None
    assert "already assessed" in auto.note or "assessed: Not illegal" in auto.note

    send(client, "url", url="https://files.example.net/album/9")  # after the verdict
    third = _reports(session)
    newest = max(third.values(), key=lambda r: r.created_at)
    assert newest.status == "duplicate"
    assert newest.duplicate_of_id == first.id
    assert newest.route_due_at is None  # handled with the original: no second routing


def test_same_domain_reports_are_counted_but_not_closed(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    send(client, "url", url="https://files.example.net/a")
    send(client, "url", url="https://www.files.example.net/b")
    route_all()
    rows = queue.queue(session, hotlines.nl_hotline.caller)
    assert len(rows) == 2
    assert all(r.same_domain == 1 and r.same_url == 0 for r in rows)
    assert {r.report.domain for r in rows} == {"example.net"}
    assert all(r.report.status == "new" for r in rows)


def test_a_confirmed_url_is_listed_noticed_and_feeds_the_hub(
    client: TestClient,
    session: Session,
    settings: Settings,
    hotlines: Hotlines,
    route_all: RouteAll,
) -> None:
    nl_police_case = make_case(session, hotlines.net.nl, sharing=SharingLevel.RED)
    add_selector(session, settings, hotlines.net.nl, nl_police_case, "domain", "example.net")
    send(client, "url", url="https://files.example.net/gallery/7", country="GB")
    route_all()
    report = next(iter(_reports(session).values()))
    assessment.assess(
        session,
        hotlines.nl_hotline.caller,
        report.id,
        AssessmentCreate(assessment=Assessment.ILLEGAL_MATERIAL, category="baseline"),
        settings,
    )

    entry = session.scalars(select(BlocklistEntry)).one()
    assert entry.key == "files.example.net/gallery/7"
    assert entry.source == f"report:{report.id}"
    notice = session.scalars(select(TakedownNotice)).one()
    assert notice.recipient == "abuse@nlhost.example.net"
    assert notice.status == "open"
    assert notice.hosting_country == "NL"
    assert notice.report_id == report.id
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.reference == f"takedown_notice:{notice.id}")
    ).one()
    assert mail.recipient == "abuse@nlhost.example.net"
    assert mail.reply_to == "desk@nl-hotline.example.com"
    assert "https://files.example.net/gallery/7" in mail.body
    assert "TD-" in mail.subject
    assert "child sexual abuse material" in mail.body

    case_id = session.scalar(select(HotlineCase.case_id))
    case = session.get(Case, case_id)
    assert case is not None
    assert case.sharing == SharingLevel.RED
    kinds = sorted(session.scalars(select(Selector.kind).where(Selector.case_id == case_id)))
    assert kinds == ["domain", "ip", "url"]
    hit = session.scalars(select(Hit)).one()  # the domain meets the police case
    assert {hit.a_case_id, hit.b_case_id} == {case_id, nl_police_case.id}


def test_the_police_are_copied_where_the_law_of_the_hotline_wants_it(
    client: TestClient,
    session: Session,
    settings: Settings,
    hotlines: Hotlines,
    route_all: RouteAll,
) -> None:
    send(client, "url", url="http://uk.example.com/p/3")
    route_all()
    report = next(iter(_reports(session).values()))
    assessment.assess(
        session,
        hotlines.gb_hotline.caller,
        report.id,
        AssessmentCreate(assessment=Assessment.ILLEGAL_MATERIAL, category="baseline"),
        settings,
    )
    recipients = set(session.scalars(select(OutboxMessage.recipient)))
    assert {"abuse@gbhost.example.net", "desk@gb-nca.example.com"} <= recipients


def test_a_host_without_abuse_contact_leaves_the_notice_waiting(
    client: TestClient,
    session: Session,
    settings: Settings,
    hotlines: Hotlines,
    route_all: RouteAll,
) -> None:
    send(client, "url", url="http://cloud.example.org/p/1")  # DE: the coordinator takes it
    route_all()
    report = next(iter(_reports(session).values()))
    assessment.assess(
        session,
        hotlines.coordinator.caller,
        report.id,
        AssessmentCreate(assessment=Assessment.ILLEGAL_MATERIAL, category="baseline"),
        settings,
    )
    notice = session.scalars(select(TakedownNotice)).one()
    assert notice.recipient is None
    assert notice.sends == 0
    assert session.scalars(select(OutboxMessage)).all() == []


def test_a_groomers_username_becomes_a_selector_but_never_the_childs(
    client: TestClient, session: Session, settings: Settings, hotlines: Hotlines
) -> None:
    send(
        client,
        "grooming",
        platform="ExampleChat",
        adult_username="fictional_adult_77",
        child_username="fictional_kid_12",
        excerpt="let's meet",
        country="NL",
    )
    report = next(iter(_reports(session).values()))
    assessment.assess(
        session,
        hotlines.nl_hotline.caller,
        report.id,
        AssessmentCreate(assessment=Assessment.ILLEGAL_ELSEWHERE),
        settings,
    )
    selectors = [(s.kind, s.value, s.platform) for s in session.scalars(select(Selector))]
    assert selectors == [("username", "fictional_adult_77", "examplechat")]


def test_assessing_needs_the_receiving_agency(
    client: TestClient,
    session: Session,
    settings: Settings,
    hotlines: Hotlines,
    route_all: RouteAll,
) -> None:
    send(client, "url", url="https://files.example.net/x")
    route_all()
    report = next(iter(_reports(session).values()))
    with pytest.raises(NotFound):  # not its report
        assessment.assess(
            session,
            hotlines.gb_hotline.caller,
            report.id,
            AssessmentCreate(assessment=Assessment.NOT_ILLEGAL),
            settings,
        )
