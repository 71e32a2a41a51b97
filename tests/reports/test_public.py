"""The public report pages as a member of the public uses them: no login, no cookie."""

from __future__ import annotations

import re

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Invalid
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.reports import emergency, intake, service
from taskforce.reports.models import Report, ReportAddition
from taskforce.watch.models import UrgentLead


def _token(page: str) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _send(client: TestClient, kind: str, lang: str = "en", **fields: str) -> httpx2.Response:
    page = client.get(f"/report/{lang}?kind={kind}")
    data = {"form_token": _token(page.text), "kind": kind, "lang": lang, **fields}
    return client.post("/report", data=data)


def _code(page: str) -> str:
    found = re.search(r"<code>([A-Z0-9-]{19})</code>", page)
    assert found is not None
    return found.group(1)


def _public_headers(r: httpx2.Response) -> None:
    headers = r.headers
    assert "set-cookie" not in headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "<script" not in r.text


def test_choose_a_kind_in_english_and_spanish(client: TestClient) -> None:
    r = client.get("/report")
    assert r.status_code == 200
    assert "What do you want to report?" in r.text
    assert "Do not download, copy, screenshot or forward the material" in r.text
    assert "You can report here without giving your name" in r.text
    _public_headers(r)
    es = client.get("/report/es")
    assert "¿Qué quiere denunciar?" in es.text
    assert 'lang="es"' in es.text
    assert "No descargue" in es.text
    assert "Alemania" in es.text
    _public_headers(es)
    assert "¿Qué quiere denunciar?" in client.get("/report?lang=es").text
    browser = client.get("/report", headers={"accept-language": "es-MX,es;q=0.9"})
    assert "¿Qué quiere denunciar?" in browser.text
    assert '<option value="MX" selected>' in browser.text
    assert "911" in browser.text
    assert client.get("/report/xx").status_code == 404


def test_url_report_is_stored_with_a_receipt_whose_hash_only_is_kept(
    client: TestClient, session: Session, session_factory: sessionmaker[Session]
) -> None:
    r = _send(
        client,
        "url",
        url="https://example.com/gallery/42",
        where_found="a forum link",
        country="GB",
    )
    assert r.status_code == 200
    assert "Your report has been received" in r.text
    _public_headers(r)
    code = _code(r.text)
    report = session.scalars(select(Report)).one()
    assert report.kind == "url"
    assert report.status == "new"
    assert not report.urgent
    assert report.details["url"] == "https://example.com/gallery/42"
    assert report.details["url_normalised"] == "https://example.com/gallery/42"
    assert report.country == "GB"
    assert report.language == "en"
    assert report.receipt_hash == intake.receipt_hash(code)
    stored = " ".join(str(v) for v in (report.details, report.receipt_hash, report.id))
    assert code not in stored
    assert code.replace("-", "") not in stored
    assert session.scalars(select(UrgentLead)).all() == []
    arrivals = select(AuditEntry).where(AuditEntry.action == "report.public.create")
    assert session.scalars(arrivals).all() == []  # the worker logs arrivals, in batches
    assert jobs.once(session_factory, service.log_arrivals) == 1
    entry = session.scalars(arrivals).one()
    assert entry.subject_id == report.id
    assert entry.channel == "public"
    assert entry.detail["received_at"] == report.created_at.isoformat(timespec="microseconds")
    assert jobs.once(session_factory, service.log_arrivals) == 0


def test_grooming_report_with_a_meeting_is_urgent(client: TestClient, session: Session) -> None:
    r = _send(
        client,
        "grooming",
        platform="ExampleChat",
        adult_username="fictional_adult_77",
        child_username="fictional_kid_12",
        excerpt="let's meet on saturday, don't tell",
        when="yesterday",
        meeting="on",
        country="FR",
    )
    assert r.status_code == 200
    report = session.scalars(select(Report)).one()
    assert report.urgent
    assert report.details["meeting"] == "yes"
    assert session.scalars(select(UrgentLead)).one().report_id == report.id


def test_child_in_danger_shows_the_country_emergency_number_first(
    client: TestClient, session: Session
) -> None:
    page = client.get("/report/en?kind=danger&country=AU")
    body = page.text
    assert "Call 000 now" in body
    assert body.index("000") < body.index("Before you start") < body.index("What is happening?")
    nz = client.get("/report/es?kind=danger&country=NZ").text
    assert "Llame ya al 111" in nz
    unknown = client.get("/report/en?kind=danger&country=AQ").text
    assert "Call 112 now" in unknown
    assert "call your local emergency number" in unknown
    r = client.post(
        "/report",
        data={
            "form_token": _token(body),
            "kind": "danger",
            "lang": "en",
            "country": "ZA",
            "what": "a child is being hurt on a live stream",
            "where": "ExampleStream",
        },
    )
    assert r.status_code == 200
    assert "Call 10111 now" in r.text
    assert r.text.index("10111") < r.text.index("Your report has been received")
    report = session.scalars(select(Report)).one()
    assert report.urgent
    assert report.kind == "danger"
    assert session.scalars(select(UrgentLead)).one().report_id == report.id
    assert emergency.for_country("US").number == "911"
    assert emergency.for_country("DE").number == "112"


def test_errors_name_the_field_and_script_is_escaped(client: TestClient, session: Session) -> None:
    missing = _send(client, "url", url="")
    assert missing.status_code == 422
    assert "Address (URL) of the page: this is required" in missing.text
    long = _send(client, "grooming", platform="x" * 101, excerpt="hello")
    assert "Platform or app: at most 100 characters" in long.text
    es = _send(client, "grooming", lang="es", platform="ExampleChat", excerpt="")
    assert "Pegue la parte de la conversación que le preocupa: este campo es obligatorio" in (
        es.text
    )
    bad_url = _send(client, "url", url="javascript:alert(1)")
    assert "must be a web address" in bad_url.text
    adult = _send(client, "grooming", platform="ExampleChat", excerpt="hi", adult_country="ZZ")
    assert "Where does the adult seem to be?: choose a country from the list" in adult.text
    country = _send(client, "url", url="https://example.com/a", country="ZZ")
    assert "Your country: choose a country from the list" in country.text
    expired = client.post(
        "/report", data={"form_token": "1.abc", "kind": "url", "url": "https://example.com/"}
    )
    assert expired.status_code == 422
    assert "the form has expired" in expired.text
    assert session.scalars(select(Report)).all() == []

    script = "<script>alert('x')</script>"
    echoed = _send(client, "grooming", platform=script, excerpt="")
    assert script not in echoed.text
    assert "&lt;script&gt;" in echoed.text
    stored = _send(client, "danger", what=script, where=script)
    assert script not in stored.text
    assert session.scalars(select(Report)).one().details["what"] == script


@pytest.mark.usefixtures("settings")
def test_receipt_adds_information_and_is_rate_limited(client: TestClient, session: Session) -> None:
    code = _code(_send(client, "url", url="https://example.com/x").text)
    page = client.get("/report/receipt")
    assert page.status_code == 200
    assert "Add information to a report" in page.text
    _public_headers(page)
    token = _token(page.text)
    typed = code.lower().replace("-", " ")
    ok = client.post(
        "/report/receipt", data={"form_token": token, "receipt": typed, "more": "also example.org"}
    )
    assert ok.status_code == 200
    assert "was added to the report" in ok.text
    report = session.scalars(select(Report)).one()
    added = session.scalars(select(ReportAddition)).one()
    assert added.report_id == report.id
    assert added.text == "also example.org"
    wrong = client.post(
        "/report/receipt", data={"form_token": token, "receipt": "AAAA-AAAA-AAAA-AAAA", "more": "x"}
    )
    assert wrong.status_code == 422
    assert "Receipt code: no report has this receipt code" in wrong.text
    statuses = [
        client.post(
            "/report/receipt", data={"form_token": token, "receipt": code, "more": f"more {i}"}
        ).status_code
        for i in range(5)
    ]
    assert statuses == [200] * 4 + [429]


def test_reports_are_rate_limited_per_address(client: TestClient, session: Session) -> None:
    statuses = [
        _send(client, "url", url=f"https://example.com/{i}").status_code
        for i in range(intake.REPORTS_PER_ADDRESS + 1)
    ]
    assert statuses == [200] * intake.REPORTS_PER_ADDRESS + [429]
    limited = _send(client, "url", url="https://example.com/more")
    assert "too many reports from your connection" in limited.text
    assert len(session.scalars(select(Report)).all()) == intake.REPORTS_PER_ADDRESS


def test_form_token_and_receipt_code_shapes(settings: Settings) -> None:
    token = intake.form_token(settings, now=1000.0)
    intake.check_form_token(settings, token, now=1000.0 + 60)
    for stale in (1000.0 + intake.FORM_TOKEN_AGE + 1, 999.0):
        with pytest.raises(Invalid) as refused:
            intake.check_form_token(settings, token, now=stale)
        assert refused.value.field == "form"
    code = intake.new_receipt_code()
    assert re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", code)
    assert intake.receipt_hash(code) == intake.receipt_hash(code.lower().replace("-", ""))
