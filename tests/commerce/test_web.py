"""The commercial-sites pages: the sites and the form that opens one, a site with its crawls
and indicators, a crawl's pages, a page as evidence (its HTML only ever as escaped text)."""

from __future__ import annotations

import re

from builders import Network, csrf_field, make_case, web_login
from commerce_builders import SHOP_HTML, WALLET, crawled_site
from fastapi.testclient import TestClient
from hotline_builders import Hotlines, RouteAll, send
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import payments, watchlist
from taskforce.commerce.models import CommerceCrawl, CommerceSite
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.reports.models import HotlineCase, Report


def test_sites_site_crawl_and_evidence_pages(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    web_login(client, session, network.gb)
    sites = client.get("/ui/commerce")
    assert sites.status_code == 200
    assert '<a href="/ui/commerce" class="active">Sites</a>' in sites.text
    assert "lantern-shop.example" in sites.text
    assert done.case.reference in sites.text
    assert "1/50 pages" in sites.text
    site = client.get(f"/ui/commerce/sites/{done.site.id}")
    assert site.status_code == 200
    assert WALLET in site.text
    assert "LNT-4471" in site.text
    assert f'href="/ui/commerce/pages/{done.page.id}"' in site.text
    assert "1 refused" in site.text
    assert "1 wallet rejected (checksum)" in site.text
    crawl = client.get(f"/ui/commerce/crawls/{done.crawl.id}")
    assert "banner.jpg" in crawl.text
    assert "an image URL: never fetched" in crawl.text
    page = client.get(f"/ui/commerce/pages/{done.page.id}")
    assert page.status_code == 200
    assert str(done.page.body_sha256) in page.text
    assert "203.0.113.20" in page.text
    # the kept HTML is shown as escaped source text: no tag of it reaches the browser
    assert "&lt;h1&gt;Lantern Shop&lt;/h1&gt;" in page.text
    assert "<h1>Lantern Shop</h1>" not in page.text
    assert "<iframe" not in page.text
    assert "<img" not in page.text
    assert re.search(r'<pre class="source">', page.text)
    download = client.get(f"/ui/commerce/pages/{done.page.id}/html")
    assert download.headers["content-type"].startswith("text/plain")
    assert "attachment" in download.headers["content-disposition"]
    assert "sandbox" in download.headers["content-security-policy"]
    assert "<h1>Lantern Shop</h1>" in download.text
    assert "<script>" not in download.text
    assert download.text != SHOP_HTML


def test_open_a_site_from_a_case_queues_a_crawl(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Heron")
    web_login(client, session, network.gb)
    page = client.get("/ui/commerce")
    assert case.reference in page.text
    answer = client.post(
        "/ui/commerce/sites",
        data={
            "csrf_token": csrf_field(page.text),
            "url": "https://heron-shop.example/start",
            "label": "Heron",
            "source": f"case:{case.id}",
            "depth": "1",
            "pages": "10",
            "pathway": "https://gate.example/in https://search.example/?q=heron\n",
            "recrawl_days": "7",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    site = session.scalars(select(CommerceSite)).one()
    assert site.case_id == case.id
    assert site.page_limit == 10
    assert site.recrawl_days == 7
    assert site.pathway == [
        {"url": "https://gate.example/in", "referrer": "https://search.example/?q=heron"}
    ]
    crawl = session.scalars(select(CommerceCrawl)).one()
    assert crawl.status == "queued"
    shown = client.get(answer.headers["location"])
    assert "Crawl queued" in shown.text
    assert "https://gate.example/in" in shown.text
    again = client.post(
        f"/ui/commerce/sites/{site.id}/crawl",
        data={"csrf_token": csrf_field(shown.text)},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert len(session.scalars(select(CommerceCrawl)).all()) == 1  # the queued one


def test_open_a_site_refusals_name_the_field(
    client: TestClient, session: Session, network: Network
) -> None:
    case = make_case(session, network.gb)
    web_login(client, session, network.gb)
    token = csrf_field(client.get("/ui/commerce").text)
    base = {"csrf_token": token, "url": "https://x.example/", "source": f"case:{case.id}"}
    for change, field, words in (
        ({"url": "ftp://x.example/"}, "url", "http or https"),
        ({"depth": "9"}, "depth", "must be 0 to 5"),
        ({"pages": "lots"}, "page_limit", "whole number"),
        ({"source": "", "report": "nope"}, "report", "confirmed url report"),
        ({"source": ""}, "report", "start from one confirmed report"),
        ({"pathway": "a b c"}, "pathway", "one hop a line"),
        ({"pathway": "gopher://x"}, "pathway hop 1", "http or https"),
    ):
        answer = client.post("/ui/commerce/sites", data={**base, **change})
        assert answer.status_code == 422, (change, answer.text[:200])
        assert words in answer.text.lower(), (field, change)
        if "url" in change:
            assert 'value="ftp://x.example/"' in answer.text  # what was typed survives
    assert session.scalars(select(CommerceSite)).all() == []


def test_other_agencies_sites_are_not_found(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    nl_analyst = network.nl  # investigator of NL-NP
    web_login(client, session, nl_analyst)
    assert "lantern" not in client.get("/ui/commerce").text
    for path in (
        f"/ui/commerce/sites/{done.site.id}",
        f"/ui/commerce/crawls/{done.crawl.id}",
        f"/ui/commerce/pages/{done.page.id}",
        f"/ui/commerce/pages/{done.page.id}/html",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Lantern" not in answer.text


def test_readers_have_no_sites_page(client: TestClient, session: Session, network: Network) -> None:
    web_login(client, session, network.gb_reader)
    assert 'href="/ui/commerce"' not in client.get("/ui/").text
    assert client.get("/ui/commerce").status_code == 403


def test_act_on_indicators_from_the_site_page(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    provider = payments.add_provider(
        session,
        system_caller(),
        payments.ProviderFields(
            name="FictiPay Ltd", abuse_email="abuse@fictipay.example", terms=["fictipay"]
        ),
    )
    payments.add_provider(session, system_caller(), payments.ProviderFields(name="Silent Pay"))
    web_login(client, session, network.gb)
    page = client.get(f"/ui/commerce/sites/{done.site.id}")
    assert "FictiPay Ltd" in page.text
    assert "Silent Pay" not in page.text  # no abuse contact: cannot be notified
    token = csrf_field(page.text)
    added = client.post(
        f"/ui/commerce/sites/{done.site.id}/to-case",
        data={"csrf_token": token, "indicator": [str(done.wallet.id), str(done.merchant.id)]},
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    shown = client.get(added.headers["location"])
    assert "added to the case" in shown.text
    listed = client.post(
        f"/ui/commerce/sites/{done.site.id}/watch",
        data={"csrf_token": token, "indicator": str(done.wallet.id), "reason": "paid for access"},
        follow_redirects=False,
    )
    assert listed.status_code == 303, listed.text
    notified = client.post(
        f"/ui/commerce/sites/{done.site.id}/notify",
        data={
            "csrf_token": token,
            "indicator": str(done.merchant.id),
            "provider": str(provider.id),
        },
        follow_redirects=False,
    )
    assert notified.status_code == 303, notified.text
    after = client.get(notified.headers["location"])
    assert "1 notice queued" in after.text
    assert "Notices about this site" in after.text
    again = client.post(
        f"/ui/commerce/sites/{done.site.id}/notify",
        data={
            "csrf_token": token,
            "indicator": str(done.merchant.id),
            "provider": str(provider.id),
        },
    )
    assert again.status_code == 422
    assert "still open" in again.text
    nothing = client.post(
        f"/ui/commerce/sites/{done.site.id}/watch", data={"csrf_token": token, "reason": "x"}
    )
    assert nothing.status_code == 422
    assert "choose the wallets" in nothing.text.lower()
    watch = client.get("/ui/commerce/watchlist")
    assert WALLET in watch.text
    assert "paid for access" in watch.text
    assert "GB-NCA" in watch.text
    csv = client.get("/ui/commerce/watchlist.csv")
    assert WALLET in csv.text
    providers = client.get("/ui/commerce/providers")
    assert "LNT-4471" in providers.text
    notice_id = re.search(r"/ui/commerce/notices/([0-9a-f-]{36})/answer", providers.text)
    assert notice_id
    answered = client.post(
        f"/ui/commerce/notices/{notice_id.group(1)}/answer",
        data={"csrf_token": token, "outcome": "account_closed", "text": "closed on 3 March"},
        follow_redirects=False,
    )
    assert answered.status_code == 303
    said = client.get(answered.headers["location"]).text
    assert "Answer recorded on the notice." in said
    assert "closed on 3 March" in said
    assert " with an abuse contact (only those can be sent a notice)" in said
    assert "Close without an answer…" not in said  # answered: nothing left to close
    watch_id = re.search(r"/ui/commerce/watchlist/([0-9a-f-]{36})/remove", watch.text)
    assert watch_id
    removed = client.post(
        f"/ui/commerce/watchlist/{watch_id.group(1)}/remove",
        data={"csrf_token": token, "reason": "the exchange confirmed a mistake"},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert "Wallet removed from the watch list" in client.get(removed.headers["location"]).text
    client.post(  # answered: a new notice may go, then be closed unanswered
        f"/ui/commerce/sites/{done.site.id}/notify",
        data={
            "csrf_token": token,
            "indicator": str(done.merchant.id),
            "provider": str(provider.id),
        },
    )
    waiting = client.get("/ui/commerce/providers").text
    close = re.search(r"/ui/commerce/notices/([0-9a-f-]{36})/close", waiting)
    assert close
    closed = client.post(close.group(0), data={"csrf_token": token, "reason": "no answer"})
    assert "Notice closed: no answer is awaited any more" in closed.text
    assert "Closed" in closed.text
    indicators = client.get("/ui/commerce/indicators?kind=merchant")
    assert "LNT-4471" in indicators.text
    assert f'<code class="wrap-any">{WALLET}</code>' not in indicators.text


def test_every_member_reads_the_watch_list(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    watchlist.add(session, network.gb.caller, indicator_id=done.wallet.id, reason="shop wallet")
    web_login(client, session, network.gb_reader)
    assert 'href="/ui/commerce/watchlist"' in client.get("/ui/").text
    page = client.get("/ui/commerce/watchlist")
    assert page.status_code == 200
    assert WALLET in page.text
    assert "List a wallet" not in page.text
    assert "Remove…" not in page.text


def test_groups_and_a_group_page(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    first = crawled_site(session, settings, network.gb)
    crawled_site(
        session,
        settings,
        network.gb,
        url="https://lamplight-store.example/",
        label="Lamplight",
        case=first.case,
        like=first,
    )
    web_login(client, session, network.gb)
    empty = client.get("/ui/commerce/groups")
    assert "Not computed yet" in empty.text
    computed = client.post(
        "/ui/commerce/groups/compute",
        data={"csrf_token": csrf_field(empty.text)},
        follow_redirects=False,
    )
    assert computed.status_code == 303
    groups = client.get(computed.headers["location"])
    assert "Graph computed" in groups.text
    found = re.findall(r'href="/ui/commerce/groups/([0-9a-f-]{36})"', groups.text)
    assert found
    page = client.get(f"/ui/commerce/groups/{found[0]}")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "lantern-shop.example" in page.text
    assert "lamplight-store.example" in page.text
    assert WALLET in page.text
    assert "Links and their evidence" in page.text
    alone = client.get(f"/ui/commerce/groups/{found[0]}/drawing.svg")
    assert alone.headers["content-type"] == "image/svg+xml"
    assert alone.text.startswith("<svg")
    assert "lamplight-store.example" in alone.text
    sites = client.get("/ui/commerce")
    assert f'href="/ui/commerce/groups/{found[0]}"' in sites.text
    web_login(client, session, network.nl)
    assert client.get(f"/ui/commerce/groups/{found[0]}").status_code == 404
    assert client.get(f"/ui/commerce/groups/{found[0]}/drawing.svg").status_code == 404


def test_a_confirmed_url_report_leads_to_investigating_its_site(
    client: TestClient, session: Session, hotlines: Hotlines, route_all: RouteAll
) -> None:
    send(TestClient(client.app), "url", url="https://files.example.net/shop/join")
    route_all()
    report = session.scalars(select(Report)).one()
    web_login(client, session, hotlines.nl_hotline)
    detail = client.get(f"/ui/hotline/{report.id}")
    assert "Investigate the site" not in detail.text  # not confirmed yet
    done = client.post(
        f"/ui/hotline/{report.id}/assess",
        data={
            "csrf_token": csrf_field(detail.text),
            "assessment": "illegal_material",
            "category": "baseline",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    confirmed = client.get(f"/ui/hotline/{report.id}").text
    link = f'href="/ui/commerce?report={report.id}#open"'
    assert link in confirmed
    form = client.get(f"/ui/commerce?report={report.id}")
    assert f'name="report" value="{report.id}"' in form.text
    assert 'name="url" value="https://files.example.net/shop/join"' in form.text  # not retyped
    opened = client.post(
        "/ui/commerce/sites",
        data={
            "csrf_token": csrf_field(form.text),
            "url": "https://files.example.net/shop/",
            "report": str(report.id),
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303, opened.text
    site = session.scalars(select(CommerceSite)).one()
    assert site.report_id == report.id
    hotline_case = session.scalars(select(HotlineCase.case_id)).first()
    assert site.case_id == hotline_case


def test_the_recrawl_schedule_from_the_site_page(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    web_login(client, session, network.gb)
    page = client.get(f"/ui/commerce/sites/{done.site.id}")
    assert "Not recrawled on a schedule." in page.text
    token = csrf_field(page.text)
    where = f"/ui/commerce/sites/{done.site.id}/recrawl"
    saved = client.post(where, data={"csrf_token": token, "days": "7"}, follow_redirects=False)
    assert saved.status_code == 303
    shown = client.get(saved.headers["location"]).text
    assert "Next crawl" in shown
    assert "Recrawl schedule saved." in shown
    bad = client.post(where, data={"csrf_token": token, "days": "400"})
    assert bad.status_code == 422
    assert "365" in bad.text
    paused = client.post(where, data={"csrf_token": token, "action": "pause"})
    assert "Paused: not recrawled until resumed." in paused.text
    assert "Recrawls paused: the schedule is kept" in paused.text
    client.post(where, data={"csrf_token": token, "action": "resume"})
    session.refresh(done.site)
    assert done.site.status == "active"
    assert done.site.recrawl_days == 7


def test_a_case_page_leads_to_opening_a_site_from_it(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    web_login(client, session, network.gb)
    case_page = client.get(f"/ui/cases/{done.case.id}")
    link = f"/ui/commerce?case={done.case.id}#open"
    assert f'href="{link}"' in case_page.text
    form = client.get(link)
    assert f'<option value="case:{done.case.id}" selected>' in form.text
