"""The pages as an investigator uses them: login, CSRF, forms, hits and what must never show."""

from __future__ import annotations

import pytest
from builders import PASSWORD, Network, csrf_field, make_case, web_login
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.core.auth.models import LoginAttempt
from taskforce.core.sharing import SharingLevel

_csrf = csrf_field
login = web_login


class TestLogin:
    def test_login_success_lands_on_the_dashboard(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        login(client, session, network.gb)
        r = client.get("/ui/")
        assert r.status_code == 200
        assert "Dashboard" in r.text
        assert network.gb.user.email in r.text
        assert r.headers["cache-control"] == "no-store"
        cookie = next(c for c in client.cookies.jar if c.name == "tf_session")
        assert cookie.has_nonstandard_attr("HttpOnly")

    def test_wrong_password_rerenders_the_form_and_keeps_the_attempt(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        session.commit()
        page = client.get("/ui/login")
        r = client.post(
            "/ui/login",
            data={
                "email": network.gb.user.email,
                "password": "wrong-password-123",
                "csrf_token": _csrf(page.text),
            },
        )
        assert r.status_code == 401
        assert "wrong e-mail or password" in r.text.lower()
        assert client.get("/ui/", follow_redirects=False).status_code == 303
        failed = session.scalar(
            select(func.count()).select_from(LoginAttempt).where(~LoginAttempt.succeeded)
        )
        assert failed == 1

    def test_login_without_the_double_submit_token_is_refused(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        session.commit()
        r = client.post(
            "/ui/login",
            data={"email": network.gb.user.email, "password": PASSWORD, "csrf_token": "forged"},
        )
        assert r.status_code == 403

    def test_unauthenticated_page_redirects_to_login_with_next(self, client: TestClient) -> None:
        r = client.get("/ui/cases?scope=visible", follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"].startswith("/ui/login?next=/ui/cases")

    @pytest.mark.usefixtures("network")
    def test_next_never_leaves_the_site(self, client: TestClient, session: Session) -> None:
        session.commit()
        page = client.get("/ui/login?next=//evil.example.com/")
        assert "evil.example.com" not in page.text

    def test_logout_closes_the_session(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        token = login(client, session, network.gb)
        r = client.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/ui/", follow_redirects=False).status_code == 303


class TestCsrf:
    def test_post_without_the_session_token_is_403(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        login(client, session, network.gb)
        r = client.post("/ui/cases/new", data={"title": "Operation Forged", "sharing": "red"})
        assert r.status_code == 403
        assert session.scalar(select(Case).where(Case.title == "Operation Forged")) is None


class TestCaseForms:
    def test_create_case_via_the_form(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        token = login(client, session, network.gb)
        assert "offence_types" in client.get("/ui/cases/new").text
        r = client.post(
            "/ui/cases/new",
            data={
                "csrf_token": token,
                "title": "Operation Lantern",
                "summary": "fictional",
                "offence_types": ["grooming", "sextortion"],
                "sharing": "amber",
                "partners": ["NL-NP"],
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        page = client.get(r.headers["location"])
        assert page.status_code == 200
        assert "Operation Lantern" in page.text
        assert "TLP:AMBER" in page.text
        assert "NL-NP" in page.text

    def test_invalid_form_names_the_field_with_422(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        token = login(client, session, network.gb)
        r = client.post(
            "/ui/cases/new",
            data={"csrf_token": token, "title": "Operation Amber", "sharing": "amber"},
        )
        assert r.status_code == 422
        assert 'id="err-partners"' in r.text
        assert "at least one partner agency" in r.text
        assert 'value="Operation Amber"' in r.text

    def test_add_selector_via_htmx_shows_the_hit(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        make_case(session, network.us, title="Operation Far Away", sharing=SharingLevel.RED)
        us_case = session.scalar(select(Case).where(Case.title == "Operation Far Away"))
        assert us_case is not None
        from taskforce.cases import additions
        from taskforce.cases.schemas import SelectorCreate

        additions.add_selector(
            session,
            network.us.caller,
            client.app.state.settings,  # type: ignore[attr-defined]
            case_id=us_case.id,
            data=SelectorCreate(type="email", value="suspect@example.com"),
        )
        gb_case = make_case(session, network.gb, title="Operation Near")
        token = login(client, session, network.gb)
        r = client.post(
            f"/ui/cases/{gb_case.id}/selectors",
            data={"csrf_token": token, "type": "email", "value": " Suspect@Example.COM "},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200, r.text
        assert 'id="selectors"' in r.text
        assert "<html" not in r.text
        assert "1 new hit" in r.text
        assert "An agency holds a matching" in r.text
        assert "US-HSI 24/7 desk" in r.text
        assert "Operation Far Away" not in r.text
        assert us_case.reference not in r.text

    def test_bad_selector_without_htmx_rerenders_the_case_page(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        case = make_case(session, network.gb)
        token = login(client, session, network.gb)
        r = client.post(
            f"/ui/cases/{case.id}/selectors",
            data={"csrf_token": token, "type": "email", "value": "not an address"},
        )
        assert r.status_code == 422
        assert 'id="err-value"' in r.text

    def test_search_requires_a_purpose(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        token = login(client, session, network.gb)
        r = client.post(
            "/ui/search", data={"csrf_token": token, "type": "email", "value": "a@example.com"}
        )
        assert r.status_code == 422
        assert 'id="err-purpose"' in r.text


class TestWhatMustNotShow:
    def test_red_case_of_another_agency_is_a_404_page(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        secret = make_case(session, network.us, title="Operation Hidden Harbour")
        login(client, session, network.gb)
        r = client.get(f"/ui/cases/{secret.id}")
        assert r.status_code == 404
        assert "Not found" in r.text
        assert "Operation Hidden Harbour" not in r.text
        listing = client.get("/ui/cases?scope=visible")
        assert "Operation Hidden Harbour" not in listing.text

    def test_html_in_a_title_is_escaped(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        case = make_case(session, network.gb, title="<script>alert(1)</script> Op")
        login(client, session, network.gb)
        for url in (f"/ui/cases/{case.id}", "/ui/cases", "/ui/"):
            text = client.get(url).text
            assert "<script>alert(1)</script>" not in text
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text

    def test_unknown_page_is_an_html_404_and_api_stays_json(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        login(client, session, network.gb)
        r = client.get("/ui/no-such-page")
        assert r.status_code == 404
        assert "text/html" in r.headers["content-type"]
        assert client.get("/api/v1/nothing").headers["content-type"].startswith("application/json")


class TestOtherPages:
    def test_hits_agencies_and_audit_pages_render(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        login(client, session, network.gb_admin)
        assert client.get("/ui/hits").status_code == 200
        directory = client.get("/ui/agencies")
        assert directory.status_code == 200
        assert "Netherlands" in directory.text
        assert 'href="tel:+31201234567"' in directory.text
        audit = client.get("/ui/audit?action=auth")
        assert audit.status_code == 200
        assert "Sealed" in audit.text

    def test_audit_page_is_403_for_investigators(
        self, client: TestClient, session: Session, network: Network
    ) -> None:
        login(client, session, network.gb)
        assert client.get("/ui/audit").status_code == 403
