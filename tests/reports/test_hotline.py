"""The hotline queue: only users who may handle reports see it; reads and assessments audited."""

from __future__ import annotations

import re
import uuid

from builders import Network, csrf_field, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.reports.models import Report, ReportAssessment


def _report(client: TestClient, kind: str, **fields: str) -> None:
    page = client.get(f"/report/en?kind={kind}")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    data = {"form_token": token.group(1), "kind": kind, "lang": "en", **fields}
    assert client.post("/report", data=data).status_code == 200


def test_queue_lists_urgent_first_and_assessments_are_audited(
    client: TestClient, session: Session, network: Network
) -> None:
    public = TestClient(client.app)
    _report(public, "url", url="https://example.com/first", description="<b>bold</b>")
    _report(public, "danger", what="a child is in danger <script>x</script>", country="US")
    net = network

    web_login(client, session, net.gb_reader)
    assert client.get("/ui/hotline").status_code == 403
    client.cookies.clear()

    web_login(client, session, net.gb_analyst)
    queue = client.get("/ui/hotline")
    assert queue.status_code == 200 and ">Hotline</a>" in queue.text
    links = re.findall(r'href="/ui/hotline/([0-9a-f-]{36})"', queue.text)
    reports = {r.id: r for r in session.scalars(select(Report))}
    assert len(links) == 2 and reports[uuid.UUID(links[0])].kind == "danger"
    detail = client.get(f"/ui/hotline/{links[1]}")
    assert "&lt;b&gt;bold&lt;/b&gt;" in detail.text and "<b>bold</b>" not in detail.text
    danger = client.get(f"/ui/hotline/{links[0]}")
    assert "<script>x</script>" not in danger.text and "emergency 911" in danger.text

    token = csrf_field(detail.text)
    missing = client.post(
        f"/ui/hotline/{links[1]}/assess",
        data={"csrf_token": token, "assessment": "illegal_material"},
    )
    assert missing.status_code == 422 and "Category" in missing.text
    done = client.post(
        f"/ui/hotline/{links[1]}/assess",
        data={"csrf_token": token, "assessment": "illegal_material", "category": "baseline"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = session.scalars(select(ReportAssessment)).one()
    assert row.assessment == "illegal_material" and row.category == "baseline"
    actions = set(session.scalars(select(AuditEntry.action)))
    assert {"report.queue.read", "report.read", "report.assess"} <= actions
    after = client.get("/ui/hotline")
    assert links[1] not in after.text and links[0] in after.text
