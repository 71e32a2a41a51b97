"""The one catalogue of the public pages: every key in every language, and one language rule
that the report form, the warning page and the trace page all follow."""

from __future__ import annotations

import re
import string

import pytest
from builders import Network
from fastapi.testclient import TestClient
from notice_builders import published_notice
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.web import catalogue


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("page", list(catalogue.CATALOGUES))
def test_every_language_has_every_key_and_placeholder(page: catalogue.Page) -> None:
    english = catalogue.CATALOGUES[page][catalogue.ENGLISH]
    for code, words in catalogue.CATALOGUES[page].items():
        assert code in catalogue.LANGUAGE_NAMES, code
        assert words.keys() == english.keys(), (page, code, set(english) ^ set(words))
        for key, text in words.items():
            assert text.strip(), (page, code, key)
            assert _placeholders(text) == _placeholders(english[key]), (page, code, key)


def test_the_trace_page_speaks_every_language_the_others_do() -> None:
    others = set(catalogue.CATALOGUES["report"]) | set(catalogue.CATALOGUES["warning"])
    assert others <= set(catalogue.CATALOGUES["trace"])


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        ("es", "de", "es"),  # asked for explicitly, whatever the browser says
        ("ES", None, "es"),
        ("xx", "nl-BE,nl;q=0.9", "nl"),  # an unknown choice falls through to the browser
        (None, "pt-BR,de;q=0.8,fr;q=0.9", "fr"),  # the browser's order of preference (q)
        (None, "de;q=0,nl", "nl"),  # q=0: not this one
        (None, "pt-BR", "en"),
        (None, None, "en"),
    ],
)
def test_one_language_rule(requested: str | None, accept: str | None, expected: str) -> None:
    assert catalogue.choose("warning", requested, accept) == expected


def _lang(html: str) -> str:
    found = re.search(r'<html lang="([a-z]+)">', html)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("?lang=es", "de", "es"),
        ("", "de;q=0.5,es;q=0.9", "es"),
        ("", "pt-BR", "en"),
    ],
)
def test_each_public_page_follows_the_rule(
    client: TestClient,
    session: Session,
    settings: Settings,
    network: Network,
    query: str,
    accept: str,
    expected: str,
) -> None:
    token = published_notice(session, settings, network).public_token
    headers = {"Accept-Language": accept}
    public = TestClient(client.app)
    for address in ("/report", "/blocked", f"/trace/{token}"):
        r = public.get(address + query, headers=headers)
        assert r.status_code == 200, address
        assert _lang(r.text) == expected, address
    words = catalogue.texts("trace", expected)
    trace = public.get(f"/trace/{token}{query}", headers=headers)
    assert words["title"] in trace.text
    assert trace.headers["content-language"] == expected


def test_a_tip_keeps_the_visitors_language(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    token = published_notice(session, settings, network).public_token
    public = TestClient(client.app)
    sent = public.post(
        f"/trace/{token}",
        data={"seen_where": "a corner shop", "lang": "de"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("&lang=de")
    thanks = public.get(sent.headers["location"])
    assert "Ihr Hinweis wurde an die Ermittler weitergegeben" in thanks.text
    refused = public.post(f"/trace/{token}", data={"seen_where": "x", "lang": "fr"})
    assert refused.status_code == 422
    assert "Où vous l&#39;avez vu" in refused.text
