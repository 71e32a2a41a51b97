"""`taskforce commerce ...` on a fresh SQLite data folder: a demo shop served on 127.0.0.1
(its `.example` name mapped there by a hosts file, the loopback allowed to the crawler by the
test's settings only), opened from a case, crawled in-process, its group computed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_hub import add_agency, fresh_hub
from commerce.sites import SiteServer, html, serving
from typer.testing import CliRunner, Result

from taskforce import demo_shops
from taskforce.cli import app


@pytest.fixture
def shops() -> Iterator[SiteServer]:
    with serving() as server:
        yield server


def _case(runner: CliRunner) -> str:
    recorded = runner.invoke(  # a preservation request opens a RED case of the agency
        app,
        [
            "preservation", "record", "--agency", "GB-NCA", "--provider", "Fictional Mail Ltd",
            "-i", "email:desk.owner@example.org", "--legal-basis", "art29_preservation",
        ],
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.output
    return recorded.output.split("on case ")[1].split()[0]


def test_open_crawl_graph_and_watchlist(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shops: SiteServer
) -> None:
    [group, _other] = demo_shops.network()
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"127.0.0.1 {b.host}\n" for b in group.brands))
    monkeypatch.setenv("TASKFORCE_RESOLVER_HOSTS_FILE", str(hosts))
    monkeypatch.setenv("TASKFORCE_COMMERCE_CRAWL_ALLOW_NETWORKS", '["127.0.0.1/32"]')
    for brand in group.brands[:2]:
        for path, page in demo_shops.site_pages(brand).items():
            shops.routes[f"{brand.host}{path}"] = html(page)
    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(runner, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    reference = _case(runner)
    ids = []
    for brand in group.brands[:2]:
        added = runner.invoke(
            app,
            [
                "commerce", "site", "add", shops.url(brand.host), "--agency", "GB-NCA",
                "--case", reference, "--depth", "1", "--pages", "5",
                "--pathway", f"{shops.url(brand.host, '/faq')},https://search.example/",
            ],
        )  # fmt: skip
        assert added.exit_code == 0, added.output
        ids.append(added.stdout.split()[1])
    again = runner.invoke(
        app, ["commerce", "site", "add", shops.url(group.brands[0].host), "--agency", "GB-NCA",
              "--case", reference],
    )  # fmt: skip
    assert again.exit_code == 1
    assert "already open" in again.stderr
    crawled = runner.invoke(app, ["commerce", "crawl", ids[0], "--agency", "GB-NCA"])
    assert crawled.exit_code == 0, crawled.output
    assert f"{group.brands[0].host}: pages 3/5 (done)" in crawled.stderr
    summary = crawled.stdout.strip().splitlines()[-1]
    assert "crawl done" in summary
    assert "3 pages fetched, 0 refused, 0 failed" in summary
    assert "indicators" in summary
    assert summary.endswith("wallets rejected (bad checksum)")  # the counts said once
    by_host = runner.invoke(app, ["commerce", "crawl", group.brands[1].host, "--agency", "GB-NCA"])
    assert by_host.exit_code == 0, by_host.output
    first = group.brands[0].host

    def site(*args: str) -> Result:
        return runner.invoke(app, ["commerce", "site", *args, first, "--agency", "GB-NCA"])

    scheduled = site("recrawl", "--days", "7")
    assert scheduled.exit_code == 0, scheduled.output
    assert f"{first}: recrawled every 7 days, next crawl 20" in scheduled.stdout
    assert site("recrawl").exit_code == 2
    assert "give --days N or --off" in site("recrawl").stderr
    assert site("recrawl", "--days", "0").exit_code == 2
    assert site("pause").stdout.strip() == f"{first}: recrawled every 7 days, paused"
    again_paused = site("pause")
    assert again_paused.exit_code == 2
    assert "paused already" in again_paused.stderr
    assert "next crawl 20" in site("resume").stdout
    assert site("recrawl", "--off").stdout.strip() == f"{first}: not recrawled"
    recrawled = runner.invoke(app, ["commerce", "crawl", ids[0], "--agency", "GB-NCA"])
    assert recrawled.exit_code == 0, recrawled.output
    history = site("history").stdout.splitlines()
    assert history[0].endswith(" UTC  manual crawl done: 3 pages fetched, 11 indicators sighted")
    assert history[1] == "  no change since the crawl before"
    assert history[3] == "  the first crawl: nothing to compare it with"
    listed = runner.invoke(app, ["commerce", "site", "list", "--agency", "GB-NCA"])
    assert "done 3 pages" in listed.stdout
    assert "no recrawl" in listed.stdout
    graph = runner.invoke(app, ["commerce", "graph", "--agency", "GB-NCA"])
    assert graph.exit_code == 0, graph.output
    [brand_line, said] = graph.stdout.strip().splitlines()
    assert brand_line.startswith("brand ")
    assert " 2 sites " in brand_line
    assert said.startswith("2 sites, 16 indicators, 1 link: 0 distribution groups, 1 brand (")
    empty = runner.invoke(app, ["commerce", "watchlist", "--format", "csv"])
    assert empty.exit_code == 0
    assert empty.stdout.startswith("chain,address,agency,listed_at,reason")
    as_text = runner.invoke(app, ["commerce", "watchlist"])
    assert as_text.stdout == ""
    assert "the watch list is empty" in as_text.stderr


def test_a_crawl_that_fetches_nothing_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = fresh_hub(tmp_path, monkeypatch)
    add_agency(runner, "GB-NCA", country="GB", timezone="Europe/London", phone="+442079460001")
    reference = _case(runner)
    # an internal address: the crawler refuses it (the test's settings allow nothing)
    added = runner.invoke(
        app,
        ["commerce", "site", "add", "http://10.0.0.7/", "--agency", "GB-NCA", "--case", reference],
    )
    assert added.exit_code == 0, added.output
    crawled = runner.invoke(app, ["commerce", "crawl", "10.0.0.7", "--agency", "GB-NCA"])
    assert crawled.exit_code == 1, crawled.output
    assert "0 pages fetched, 1 refused" in crawled.stdout
    assert "no page was fetched" in crawled.stderr
    bad = runner.invoke(
        app, ["commerce", "site", "add", "ftp://x.example/", "--agency", "GB-NCA", "--case",
              reference],
    )  # fmt: skip
    assert bad.exit_code == 2
    assert "error: url: scheme must be http or https" in bad.stderr
    unknown = runner.invoke(app, ["commerce", "crawl", "nowhere.example", "--agency", "GB-NCA"])
    assert unknown.exit_code != 0
    assert "site not found" in unknown.stderr
