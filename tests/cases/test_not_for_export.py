"""A case's owner marks a GREEN case "not for export" (it stays visible to every member but
never leaves the hub) and can lift the mark; the case's history records both. Nobody else may:
another agency gets the cases domain's refusal (403), and so does a role that cannot edit
cases. The case page says where the case's rows may go."""

from __future__ import annotations

from builders import Network, csrf_field, make_case, token_for, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import service
from taskforce.cases.models import Case
from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel


def _flag(session: Session, case: Case) -> bool:
    session.expire_all()
    found = session.get(Case, case.id)
    assert found is not None
    return found.not_for_export


def test_the_owner_marks_and_unmarks_over_the_api_and_the_history_keeps_it(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Lark", sharing=SharingLevel.GREEN)
    gb = token_for(session, settings, network.gb)
    assert client.get(f"/api/v1/cases/{case.id}", headers=gb).json()["not_for_export"] is False

    r = client.patch(f"/api/v1/cases/{case.id}", json={"not_for_export": True}, headers=gb)
    assert r.status_code == 200, r.text
    assert r.json()["not_for_export"] is True
    assert _flag(session, case) is True
    # a PATCH that leaves the mark out leaves it as it is
    r = client.patch(f"/api/v1/cases/{case.id}", json={"title": "Operation Lark II"}, headers=gb)
    assert r.json()["not_for_export"] is True

    r = client.patch(f"/api/v1/cases/{case.id}", json={"not_for_export": False}, headers=gb)
    assert r.json()["not_for_export"] is False
    history = client.get(f"/api/v1/cases/{case.id}/history", headers=gb).json()
    marks = [e["changes"]["not_for_export"] for e in history if "not_for_export" in e["changes"]]
    assert marks == [[False, True], [True, False]]
    audited = session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.action == "case.update", AuditEntry.subject_id == case.id
        )
    ).all()
    assert {"fields": ["not_for_export"]} in audited


def test_only_the_owner_marks_a_case(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Finch", sharing=SharingLevel.GREEN)
    # NL sees the GREEN case but may not change it; GB's read-only account edits no case
    for person in (network.nl, network.gb_reader):
        headers = token_for(session, settings, person)
        assert client.get(f"/api/v1/cases/{case.id}", headers=headers).status_code == 200
        r = client.patch(f"/api/v1/cases/{case.id}", json={"not_for_export": True}, headers=headers)
        assert r.status_code == 403, r.text
    # a RED case of GB's is no one else's business: 404, as for any read
    red = make_case(session, network.gb, title="Operation Wren")
    nl = token_for(session, settings, network.nl)
    r = client.patch(f"/api/v1/cases/{red.id}", json={"not_for_export": True}, headers=nl)
    assert r.status_code == 404
    assert _flag(session, case) is False
    assert _flag(session, red) is False
    assert service.case_history(session, network.gb.caller, case.id)[-1].action == "opened"


def test_the_case_page_says_where_the_case_may_go_and_the_owner_flips_it(
    client: TestClient, session: Session, network: Network
) -> None:
    green = make_case(session, network.gb, title="Operation Heron", sharing=SharingLevel.GREEN)
    amber = make_case(
        session, network.gb, title="Operation Crane", sharing=SharingLevel.AMBER, partners=["NL-NP"]
    )
    web_login(client, session, network.gb)
    page = client.get(f"/ui/cases/{amber.id}")
    assert "never exported (AMBER)" in page.text
    page = client.get(f"/ui/cases/{green.id}")
    assert "may leave the hub as" in page.text
    assert "Mark not for export</button>" in page.text
    token = csrf_field(page.text)

    r = client.post(
        f"/ui/cases/{green.id}/not-for-export",
        data={"csrf_token": token, "not_for_export": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/ui/cases/{green.id}#exports"
    assert _flag(session, green) is True
    page = client.get(f"/ui/cases/{green.id}")
    assert "<strong>not for export</strong>" in page.text
    assert "Allow export</button>" in page.text
    assert "Not for export:</span> no → yes" in page.text  # the history, in words

    r = client.post(
        f"/ui/cases/{green.id}/not-for-export",
        data={"csrf_token": token, "not_for_export": "no"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _flag(session, green) is False


def test_another_agency_sees_the_mark_but_no_button_and_is_refused(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Swift", sharing=SharingLevel.GREEN)
    web_login(client, session, network.nl)
    page = client.get(f"/ui/cases/{case.id}")
    assert "may leave the hub as" in page.text
    assert "not-for-export" not in page.text
    r = client.post(
        f"/ui/cases/{case.id}/not-for-export",
        data={"csrf_token": csrf_field(page.text), "not_for_export": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert _flag(session, case) is False
