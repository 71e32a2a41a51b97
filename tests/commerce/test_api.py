"""The commerce API: sites opened and crawled, a site with its indicators and sightings, a
crawl, a page as evidence (its HTML as text), indicators; 404 for another agency's ids."""

from __future__ import annotations

from datetime import timedelta

from builders import Network, make_case, token_for, web_login
from commerce_builders import WALLET, crawled_site
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.commerce import payments
from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings


def test_open_crawl_and_read_a_site(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb, title="Operation Heron")
    headers = token_for(session, settings, network.gb)
    opened = client.post(
        "/api/v1/commerce/sites",
        headers=headers,
        json={
            "url": "https://heron-shop.example/",
            "case_id": str(case.id),
            "depth": 1,
            "page_limit": 5,
            "pathway": [{"url": "https://gate.example/", "referrer": "https://search.example/"}],
        },
    )
    assert opened.status_code == 201, opened.text
    site = opened.json()
    assert site["host"] == "heron-shop.example"
    assert site["case_reference"] == case.reference
    assert site["last_crawl"]["status"] == "queued"
    assert site["pathway"][0]["referrer"] == "https://search.example/"
    again = client.post(f"/api/v1/commerce/sites/{site['id']}/crawls", headers=headers)
    assert again.status_code == 201
    assert again.json()["id"] == site["last_crawl"]["id"]  # the one already queued
    listed = client.get("/api/v1/commerce/sites", headers=headers).json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == site["id"]
    refused = client.post(
        "/api/v1/commerce/sites",
        headers=headers,
        json={"url": "https://heron-shop.example/", "case_id": str(case.id), "depth": 9},
    )
    assert refused.status_code == 422
    assert "depth" in refused.text


def test_evidence_over_the_api(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    headers = token_for(session, settings, network.gb)
    site = client.get(f"/api/v1/commerce/sites/{done.site.id}", headers=headers).json()
    wallet = next(i for i in site["site_indicators"] if i["kind"] == "wallet")
    assert wallet["value"] == WALLET
    assert wallet["sightings"][0]["page_id"] == str(done.page.id)
    assert WALLET in wallet["sightings"][0]["snippet"]
    crawl = client.get(f"/api/v1/commerce/crawls/{done.crawl.id}", headers=headers).json()
    assert [p["outcome"] for p in crawl["pages"]] == ["fetched", "refused"]
    page = client.get(f"/api/v1/commerce/pages/{done.page.id}", headers=headers).json()
    assert page["body_sha256"] == done.page.body_sha256
    assert page["html"].startswith("<html>")
    assert {i["value"] for i in page["sightings"]} == {WALLET, "LNT-4471"}
    text = client.get(f"/api/v1/commerce/pages/{done.page.id}/html", headers=headers)
    assert text.headers["content-type"].startswith("text/plain")
    listed = client.get("/api/v1/commerce/indicators?kind=wallet", headers=headers).json()
    assert [i["value"] for i in listed["items"]] == [WALLET]
    assert client.get("/api/v1/commerce/indicators?kind=nope", headers=headers).status_code == 422
    one = client.get(f"/api/v1/commerce/indicators/{done.merchant.id}", headers=headers)
    assert one.json()["detail"] == "fictipay"


def test_other_agencies_ids_are_404(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    headers = token_for(session, settings, network.nl)
    for path in (
        f"/api/v1/commerce/sites/{done.site.id}",
        f"/api/v1/commerce/crawls/{done.crawl.id}",
        f"/api/v1/commerce/pages/{done.page.id}",
        f"/api/v1/commerce/pages/{done.page.id}/html",
        f"/api/v1/commerce/indicators/{done.wallet.id}",
    ):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 404, path
        assert WALLET not in answer.text
    crawl = client.post(f"/api/v1/commerce/sites/{done.site.id}/crawls", headers=headers)
    assert crawl.status_code == 404
    assert client.get("/api/v1/commerce/sites", headers=headers).json()["total"] == 0
    assert client.get("/api/v1/commerce/indicators", headers=headers).json()["total"] == 0


def test_acting_over_the_api(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    provider = payments.add_provider(
        session,
        system_caller(),
        payments.ProviderFields(name="FictiPay Ltd", abuse_email="abuse@fictipay.example"),
    )
    headers = token_for(session, settings, network.gb)
    site = f"/api/v1/commerce/sites/{done.site.id}"
    to_case = client.post(
        f"{site}/to-case",
        headers=headers,
        json={"indicator_ids": [str(done.wallet.id)], "include_site": True},
    )
    assert to_case.status_code == 200, to_case.text
    assert to_case.json()["added"] == 3  # the wallet, the URL, the domain
    assert to_case.json()["case_reference"] == done.case.reference
    assert client.get(f"{site}/changes", headers=headers).json() is None  # one crawl only
    providers = client.get("/api/v1/commerce/providers", headers=headers).json()
    assert [p["name"] for p in providers] == ["FictiPay Ltd"]
    sent = client.post(
        "/api/v1/commerce/notices",
        headers=headers,
        json={
            "site_id": str(done.site.id),
            "indicator_id": str(done.merchant.id),
            "provider_id": str(provider.id),
        },
    )
    assert sent.status_code == 201, sent.text
    notice = sent.json()
    assert notice["subject"] == "LNT-4471"
    assert notice["status"] == "open"
    assert done.page.body_sha256 in notice["evidence"]
    listed = client.get("/api/v1/commerce/notices?state=open", headers=headers).json()
    assert [n["id"] for n in listed["items"]] == [notice["id"]]
    answered = client.post(
        f"/api/v1/commerce/notices/{notice['id']}/answer",
        headers=headers,
        json={"outcome": "funds_frozen", "text": "frozen"},
    )
    assert answered.json()["status"] == "answered"
    bad = client.post(
        f"/api/v1/commerce/notices/{notice['id']}/answer",
        headers=headers,
        json={"outcome": "funds_frozen"},
    )
    assert bad.status_code == 409
    again = client.post(  # once answered, a new notice may go: then closed unanswered
        "/api/v1/commerce/notices",
        headers=headers,
        json={
            "site_id": str(done.site.id),
            "indicator_id": str(done.merchant.id),
            "provider_id": str(provider.id),
        },
    ).json()
    close = f"/api/v1/commerce/notices/{again['id']}/close"
    unexplained = client.post(close, headers=headers, json={"reason": " "})
    assert unexplained.status_code == 422
    assert "reason" in unexplained.text
    closed = client.post(close, headers=headers, json={"reason": "no answer after 30 days"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert client.post(close, headers=headers, json={"reason": "again"}).status_code == 409
    watch = client.post(
        "/api/v1/commerce/watchlist",
        headers=headers,
        json={"indicator_id": str(done.wallet.id), "reason": "paid for access"},
    )
    assert watch.status_code == 201, watch.text
    assert watch.json()["address"] == WALLET
    us = token_for(session, settings, network.us)
    seen = client.get("/api/v1/commerce/watchlist", headers=us).json()
    assert [(w["address"], w["agency"], w["mine"]) for w in seen] == [(WALLET, "GB-NCA", False)]
    assert WALLET in client.get("/api/v1/commerce/watchlist.csv", headers=us).text
    refused = client.post(
        f"/api/v1/commerce/watchlist/{watch.json()['id']}/remove",
        headers=us,
        json={"reason": "not mine"},
    )
    assert refused.status_code == 404
    for path in (f"{site}/changes", f"/api/v1/commerce/notices/{notice['id']}"):
        assert client.get(path, headers=us).status_code == 404
    removed = client.post(
        f"/api/v1/commerce/watchlist/{watch.json()['id']}/remove",
        headers=headers,
        json={"reason": "the exchange closed it"},
    )
    assert removed.json()["removed_at"] is not None
    assert client.get("/api/v1/commerce/watchlist", headers=us).json() == []


def test_groups_over_the_api(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    first = crawled_site(session, settings, network.gb)
    second = crawled_site(
        session,
        settings,
        network.gb,
        url="https://lamplight-store.example/",
        case=first.case,
        like=first,
    )
    headers = token_for(session, settings, network.gb)
    assert client.get("/api/v1/commerce/groups", headers=headers).json()["run"] is None
    run = client.post("/api/v1/commerce/groups/compute", headers=headers)
    assert run.status_code == 201, run.text
    assert run.json()["sites"] == 2
    groups = client.get("/api/v1/commerce/groups", headers=headers).json()
    [group] = groups["groups"]
    assert set(group["site_ids"]) == {str(first.site.id), str(second.site.id)}
    view = client.get(f"/api/v1/commerce/groups/{group['id']}", headers=headers).json()
    assert {s["host"] for s in view["sites"]} == {"lantern-shop.example", "lamplight-store.example"}
    assert any(e["value"] == WALLET for link in view["links"] for e in link["evidence"])
    drawing = client.get(f"/api/v1/commerce/groups/{group['id']}/drawing.svg", headers=headers)
    assert drawing.headers["content-type"].startswith("image/svg+xml")
    assert drawing.text.lstrip().startswith("<svg")
    site = client.get(f"/api/v1/commerce/sites/{first.site.id}", headers=headers).json()
    assert [g["id"] for g in site["groups"]] == [group["id"]]
    nl = token_for(session, settings, network.nl)
    assert client.get(f"/api/v1/commerce/groups/{group['id']}", headers=nl).status_code == 404
    assert client.get("/api/v1/commerce/groups", headers=nl).json()["groups"] == []


def test_the_recrawl_schedule_over_the_api(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    done = crawled_site(session, settings, network.gb)
    headers = token_for(session, settings, network.gb)
    where = f"/api/v1/commerce/sites/{done.site.id}/recrawl"
    weekly = client.put(where, headers=headers, json={"days": 7})
    assert weekly.status_code == 200, weekly.text
    assert weekly.json()["recrawl_days"] == 7
    assert weekly.json()["next_crawl_at"] is not None
    paused = client.put(where, headers=headers, json={"days": 7, "paused": True}).json()
    assert paused["status"] == "paused"
    assert paused["next_crawl_at"] is None
    assert client.put(where, headers=headers, json={"days": 7}).json()["status"] == "active"
    assert client.put(where, headers=headers, json={"days": 999}).status_code == 422
    nl = token_for(session, settings, network.nl)
    assert client.put(where, headers=nl, json={"days": 1}).status_code == 404


def test_a_site_s_history_over_the_api_and_its_page(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    first = crawled_site(session, settings, network.gb)
    assert first.crawl.finished_at is not None
    later = first.crawl.finished_at + timedelta(days=7)
    crawled_site(session, settings, network.gb, case=first.case, like=first, now=later)
    headers = token_for(session, settings, network.gb)
    history = client.get(f"/api/v1/commerce/sites/{first.site.id}/history", headers=headers)
    assert history.status_code == 200, history.text
    [newer, older] = history.json()
    assert newer["changes"] == []  # the same wallet and merchant account a week later
    assert older["changes"] is None  # the first crawl: nothing to compare with
    assert older["crawl"]["crawl_id"] == str(first.crawl.id)
    nl = token_for(session, settings, network.nl)
    assert (
        client.get(f"/api/v1/commerce/sites/{first.site.id}/history", headers=nl).status_code == 404
    )
    web_login(client, session, network.gb)
    page = client.get(f"/ui/commerce/sites/{first.site.id}").text
    assert "nothing changed since the crawl before" in page
