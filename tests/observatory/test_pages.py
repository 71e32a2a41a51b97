"""The observatory's pages: the public ones show published months only, with no login, no
cookie, no script and the strict policy; every chart has its caveat and its data table; small
counts read "fewer than 10"; the downloads are the published figures (the JSON hashes to the
published SHA-256). The members' page shows live figures; only the coordinator publishes."""

from __future__ import annotations

import hashlib
import re

import pytest
from builders import Network, web_login
from fastapi.testclient import TestClient
from markupsafe import escape
from observatory_builders import hub_coordinator
from observatory_pages import figures, publish
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.observatory import worldmap
from taskforce.observatory.models import Snapshot
from taskforce.observatory.schemas import CAVEAT
from taskforce.web import catalogue


def _public(client: TestClient) -> TestClient:
    """A visitor with no session (the app's TestClient keeps cookies between tests' calls)."""
    return TestClient(client.app)


def _strict(headers: object) -> None:
    policy = headers["content-security-policy"]  # type: ignore[index]
    assert "default-src 'none'" in policy
    assert "style-src 'self'" in policy
    assert "script-src" not in policy  # falls back to default-src 'none'
    assert "unsafe" not in policy
    assert "set-cookie" not in headers  # type: ignore[operator]


def test_no_month_published_yet_is_a_plain_page(client: TestClient) -> None:
    r = _public(client).get("/observatory")
    assert r.status_code == 200
    assert "No figures have been published yet" in r.text
    assert "<script" not in r.text
    _strict(r.headers)


def test_the_latest_published_month_is_the_front_page(client: TestClient, session: Session) -> None:
    publish(session, figures("2026-10"))
    latest = publish(session, figures("2026-11"))
    r = _public(client).get("/observatory")
    assert r.status_code == 200
    _strict(r.headers)
    text = r.text
    assert "<script" not in text
    assert " style=" not in text
    assert "<style" not in text
    assert "November 2026 · as of 2026-12-02" in text
    # every published month listed with its hash, and its downloads
    assert latest.sha256 in text
    assert 'href="/observatory/2026-10?lang=en"' in text
    assert 'href="/observatory/2026-11.csv"' in text
    assert 'href="/observatory/2026-11.json"' in text
    # the caveat, word for word the figures' own, and a short one on every chart
    assert str(escape(CAVEAT)) in text
    sections = re.findall(r'<section class="card obs-section" id="(\w+)"', text)
    assert sections == ["map", "removal", "children", "hits", "months"]
    assert text.count('class="obs-caveat-line"') == 4
    # a real table with a caption beside each chart
    assert text.count("<table") == 5
    assert text.count("<caption") == 5
    # raw counts next to rates, small counts never as a number
    assert "23.4 (21.1–25.8)" in text
    assert '<td class="num">390</td>' in text
    assert "fewer than 10" in text
    assert "Not located" in text
    # the map: accessible, a shape per country, suppressed hatched, a legend
    assert 'role="img" aria-labelledby="obs-map-title obs-map-desc"' in text
    assert text.count('<g id="obs-map-') == len(worldmap.shapes())
    assert '<g id="obs-map-lu" fill="url(#obs-map-hatch)"><title>Luxembourg' in text
    assert 'class="obs-legend"' in text


def test_a_published_month_and_its_downloads(client: TestClient, session: Session) -> None:
    row = publish(session, figures("2026-11"))
    visitor = _public(client)
    page = visitor.get("/observatory/2026-11")
    assert page.status_code == 200
    assert "November 2026" in page.text
    data = visitor.get("/observatory/2026-11.json")
    assert data.status_code == 200
    assert data.headers["content-type"].startswith("application/json")
    assert "attachment" in data.headers["content-disposition"]
    # `sha256sum` of the download checks the published hash
    assert hashlib.sha256(data.content).hexdigest() == row.sha256
    assert data.json()["reports_by_country"][5]["confirmed"] is None
    table = visitor.get("/observatory/2026-11.csv")
    assert table.status_code == 200
    assert table.headers["content-type"].startswith("text/csv")
    assert "Netherlands" in table.text
    for r in (page, data, table):
        _strict(r.headers)


@pytest.mark.parametrize(
    "path",
    [
        "/observatory/2026-09",  # not published
        "/observatory/2026-13",
        "/observatory/latest",
        "/observatory/2026-09.json",
        "/observatory/2026-09.csv",
        "/observatory/2026-11/more",
    ],
)
def test_a_month_not_published_is_the_public_404(
    client: TestClient, session: Session, path: str
) -> None:
    publish(session, figures("2026-11"))
    r = _public(client).get(path, headers={"Accept-Language": "es"})
    assert r.status_code == 404
    assert "<script" not in r.text
    assert "set-cookie" not in r.headers
    assert '<html lang="es">' in r.text  # the public error page, in the visitor's language


def test_a_month_not_published_says_so_and_lists_the_published_ones(
    client: TestClient, session: Session
) -> None:
    """A journalist who types a month gets that month named, and the way to the ones there are."""
    publish(session, figures("2026-11"))
    r = _public(client).get("/observatory/2026-09")
    assert r.status_code == 404
    assert "No figures published for September 2026" in r.text
    assert 'href="/observatory/2026-11?lang=en"' in r.text  # the published months' list
    assert 'href="/observatory?lang=en"' in r.text
    assert 'href="/observatory/2026-09?lang=de"' in r.text  # the languages keep the address
    _strict(r.headers)
    german = _public(client).get("/observatory/2026-09?lang=de")
    assert "Für September 2026 wurden keine Zahlen veröffentlicht" in german.text


def test_the_page_speaks_the_visitors_language(client: TestClient, session: Session) -> None:
    publish(session, figures("2026-11"))
    visitor = _public(client)
    r = visitor.get("/observatory", headers={"Accept-Language": "de-CH,de;q=0.9"})
    assert '<html lang="de">' in r.text
    assert "weniger als 10" in r.text
    assert "November 2026" in r.text
    assert "Niederlande" in r.text
    r = visitor.get("/observatory/2026-11?lang=fr")
    assert '<html lang="fr">' in r.text
    assert "Pays-Bas" in r.text
    assert "1\u202f234" in r.text  # French thousands
    for code, _ in catalogue.languages("observatory"):
        assert f'href="/observatory/2026-11?lang={code}"' in r.text


def test_the_english_caveat_is_the_figures_own() -> None:
    assert catalogue.texts("observatory", "en")["caveat"] == CAVEAT


def test_members_see_live_figures(client: TestClient, session: Session, network: Network) -> None:
    publish(session, figures("2026-11"))
    web_login(client, session, network.gb)
    r = client.get("/ui/observatory?month=2026-11")
    assert r.status_code == 200
    assert "Observatory: November 2026" in r.text
    assert "<table" in r.text
    assert 'role="img"' in r.text
    assert 'href="/observatory/2026-11"' in r.text  # the published months
    assert "Publish" not in r.text.split("Published months")[0].split("</h1>")[1]
    assert 'href="/ui/observatory"' in client.get("/ui/").text  # from the dashboard


def test_only_the_coordinator_publishes(client: TestClient, session: Session) -> None:
    coordinator = hub_coordinator(session)
    csrf = web_login(client, session, coordinator)
    page = client.get("/ui/observatory")
    assert 'href="/ui/observatory" class="active"' in page.text  # the coordinator's menu
    match = re.search(r'name="period" value="(\d{4}-\d{2})"', page.text)
    assert match, "the coordinator is offered last month"
    period = match.group(1)
    r = client.post(
        "/ui/observatory/publish",
        data={"csrf_token": csrf, "period": period},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.scalar(select(Snapshot.period)) == period
    again = client.post("/ui/observatory/publish", data={"csrf_token": csrf, "period": period})
    assert again.status_code == 422
    assert "published" in again.text
    assert _public(client).get(f"/observatory/{period}").status_code == 200


def test_a_member_cannot_publish(client: TestClient, session: Session, network: Network) -> None:
    csrf = web_login(client, session, network.gb)
    r = client.post(
        "/ui/observatory/publish",
        data={"csrf_token": csrf, "period": "2026-10"},
        follow_redirects=False,
    )
    assert r.status_code in (403, 404)
    session.expire_all()
    assert session.scalar(select(Snapshot.period)) is None
