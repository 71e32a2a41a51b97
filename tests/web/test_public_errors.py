"""Every public address (/report, /blocked, /trace and anything under them) answers an error
with a page in the visitor's language, never the API's JSON; /api keeps JSON and /ui its own
error page."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from taskforce.reports import web as reports_web
from taskforce.web import catalogue, public_errors

GERMAN = {"Accept-Language": "pt-BR;q=0.9, de-DE;q=0.95, en;q=0.5"}


def _public_page(response: object, status: int, lang: str) -> str:
    """The answer is the public error page of `status`, in `lang`, under the public policy."""
    assert getattr(response, "status_code") == status  # noqa: B009
    headers = getattr(response, "headers")  # noqa: B009
    text: str = getattr(response, "text")  # noqa: B009
    assert headers["content-type"].startswith("text/html"), text[:200]
    assert f'<html lang="{lang}">' in text
    assert headers["content-language"] == lang
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "<script" not in text
    assert headers["referrer-policy"] == "no-referrer"
    return text


@pytest.mark.parametrize(
    "path", ["/report/xx", "/report/es/extra", "/report/receipt/more", "/blocked/x", "/trace"]
)
def test_an_unknown_public_address_is_a_page_in_the_visitors_language(
    client: TestClient, path: str
) -> None:
    r = client.get(path, headers=GERMAN)
    lang = "es" if path.startswith("/report/es") else "de"  # a language in the path wins
    text = _public_page(r, 404, lang)
    assert catalogue.texts("error", lang)["title_404"] in text


def test_lang_in_the_query_wins_over_the_browser(client: TestClient) -> None:
    text = _public_page(client.get("/trace/not-a-token/x?lang=nl", headers=GERMAN), 404, "nl")
    assert "Pagina niet gevonden" in text


def test_a_method_the_page_does_not_take_is_a_405_page(client: TestClient) -> None:
    r = client.post("/blocked", headers={"Accept-Language": "fr"})
    text = _public_page(r, 405, "fr")
    assert "Cette page ne peut pas faire cela" in text
    assert "GET" in r.headers["allow"]


def test_a_body_too_large_is_a_413_page(client: TestClient) -> None:
    r = client.post(
        "/report",
        content=b"a=" + b"x" * 3_000_000,
        headers={**GERMAN, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "Zu viel zum Senden" in _public_page(r, 413, "de")


def test_a_body_that_is_not_a_form_is_a_415_page(client: TestClient) -> None:
    r = client.post(
        "/report", content=b"{}", headers={**GERMAN, "Content-Type": "application/json"}
    )
    assert "Kein Formular dieser Seite" in _public_page(r, 415, "de")


def test_a_field_over_its_limit_is_a_422_page(client: TestClient) -> None:
    r = client.post("/trace/some-token", data={"seen_where": "x" * 3000}, headers=GERMAN)
    assert "Im Formular stimmte etwas nicht" in _public_page(r, 422, "de")


def test_a_bug_is_a_500_page_not_plain_text(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(reports_web, "_page", broken)
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        r = anonymous.get("/report", headers={"Accept-Language": "es-MX"})
        assert "Algo ha fallado por nuestra parte" in _public_page(r, 500, "es")
        assert "a bug" not in r.text
        # elsewhere a bug is still the plain answer
        assert anonymous.get("/api/v1/does-not-exist").status_code == 404


def test_a_busy_database_is_a_503_page_with_retry_after(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: object, **_kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(reports_web, "_page", busy)
    with TestClient(app, raise_server_exceptions=False) as anonymous:
        r = anonymous.get("/report", headers={"Accept-Language": "nl"})
    assert "Probeer het zo opnieuw" in _public_page(r, 503, "nl")
    assert r.headers["retry-after"]


def test_the_api_keeps_json_and_the_signed_in_pages_their_own_page(client: TestClient) -> None:
    api = client.get("/api/v1/nothing-here", headers=GERMAN)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/json")
    ui = client.get("/ui/nothing-here", headers=GERMAN)  # the sign-in page first, or its 404
    assert "Seite nicht gefunden" not in ui.text
    # /reports and /tracer are not public addresses
    assert not public_errors.is_public("/reports")
    assert not public_errors.is_public("/tracer/x")
    assert public_errors.is_public("/trace/x/y")


def test_the_error_page_links_the_report_form_in_the_same_language(client: TestClient) -> None:
    es = client.get("/blocked/nope", headers={"Accept-Language": "es"}).text
    assert 'href="/report/es"' in es
    fr = client.get("/blocked/nope", headers={"Accept-Language": "fr"}).text
    assert 'href="/report"' in fr  # the form has no French yet


def test_a_missing_trace_image_is_the_page_too(client: TestClient) -> None:
    r = client.get("/trace/no-such-token/images/not-an-id", headers=GERMAN)
    assert "Seite nicht gefunden" in _public_page(r, 404, "de")
