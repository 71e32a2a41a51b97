"""The analysts' block-list page: the list and its counts, search and paging, adding (with the
normaliser's errors shown at the field), removing, and 403 for callers who may not manage it."""

from __future__ import annotations

import re
import uuid

from builders import Network, web_login
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from watch_builders import make_report

from taskforce.blocklist import service
from taskforce.blocklist.models import BlocklistEntry
from taskforce.blocklist.schemas import EntryCreate
from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Caller


def _add(session: Session, caller: Caller, url: str, **fields: str) -> BlocklistEntry:
    return service.add_entry(session, caller, EntryCreate.model_validate({"url": url, **fields}))


def _row(html: str, key: str) -> str:
    """The table row that shows `key`."""
    match = re.search(rf"<tr[^>]*>(?:(?!</tr>).)*<code>{re.escape(key)}</code>.*?</tr>", html, re.S)
    assert match, f"no row for {key}"
    return match.group(0)


def _list_reads(session: Session) -> list[dict[str, object]]:
    session.expire_all()
    return [
        e.detail
        for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "blocklist.list").order_by(AuditEntry.seq)
        )
    ]


def test_page_lists_entries_counts_and_sources(
    client: TestClient, session: Session, network: Network
) -> None:
    analyst = network.gb_analyst.caller
    report_id = uuid.uuid4()
    from_report = _add(
        session,
        analyst,
        "https://bad.example.net/a/1.jpg",
        category="baseline",
        reason="confirmed by GB-NCA from a public report",
        source=f"report:{report_id}",
    )
    by_hand = _add(session, analyst, "http://example.org/gallery/", match="prefix")
    gone = _add(session, analyst, "http://gone.example.com/x.jpg")
    service.remove_entry(session, analyst, gone.id, reason="content gone")
    version = service.current_version(session)
    web_login(client, session, network.gb_analyst)
    page = client.get("/ui/blocklist")
    assert page.status_code == 200, page.text
    assert '<a href="/ui/blocklist" class="active">Block list</a>' in page.text
    assert re.search(r'<a href="/ui/hotline" class="active">Hotline</a>', page.text)
    stats = {
        label.split(" ")[0]: number
        for number, label in re.findall(
            r'<div class="stat-n">([\d,]+)</div><div class="stat-l">([^<]+)', page.text
        )
    }
    assert stats == {"current": str(version), "active": "2", "removed": "1"}
    row = _row(page.text, "bad.example.net/a/1.jpg")
    short = report_id.hex[:8].upper()
    assert f"report {short}" in row
    assert "/ui/hotline/" not in row  # a report the analyst may not open is named, not linked
    assert "baseline" in row
    assert "GB-NCA" in row
    assert f"v{from_report.added_version}" in row
    assert "confirmed by GB-NCA from a public report" in row
    assert "/remove" in row
    assert 'value="content gone"' in row
    prefix_row = _row(page.text, "example.org/gallery")
    assert ">prefix</span>" in prefix_row
    assert '<td><span class="muted">—</span></td>' in prefix_row
    assert f"v{by_hand.added_version}" in prefix_row
    assert "gone.example.com" not in page.text  # removed: not in the active view
    # keys and metadata only: no picture, no link to a listed address
    assert "<img" not in page.text
    assert 'href="http://bad' not in page.text
    assert 'href="https://bad' not in page.text
    assert _list_reads(session)[-1] == {"state": "active", "query": "", "shown": 2, "total": 2}


def test_source_links_only_to_reports_the_viewer_may_open(
    client: TestClient, session: Session, network: Network
) -> None:
    """The reports service's rule decides (`reports.service.may_see`): GB-NCA's analyst opens
    the report routed to GB-NCA, not the one NL-NP holds, and so is linked to the first only."""
    ours, theirs = make_report(session, kind="url"), make_report(session, kind="url")
    ours.receiving_agency_id = network.gb.caller.agency_id
    theirs.receiving_agency_id = network.nl.caller.agency_id
    for report, url in ((ours, "https://ours.example.net/1"), (theirs, "https://nl.example.net/2")):
        _add(session, network.nl.caller, url, source=f"report:{report.id}")
    web_login(client, session, network.gb_analyst)
    page = client.get("/ui/blocklist").text
    assert f'href="/ui/hotline/{ours.id}"' in _row(page, "ours.example.net/1")
    row = _row(page, "nl.example.net/2")
    assert f"report {theirs.id.hex[:8].upper()}" in row
    assert "/ui/hotline/" not in row
    assert client.get(f"/ui/hotline/{theirs.id}").status_code == 404  # what the link would open
    assert client.get(f"/ui/hotline/{ours.id}").status_code == 200


def test_search_and_paging(client: TestClient, session: Session, network: Network) -> None:
    analyst = network.gb_analyst.caller
    for i in range(52):
        _add(session, analyst, f"http://site{i:02d}.example.net/p/{i}.jpg")
    _add(session, analyst, "http://Other.Example.com/Gallery/A.jpg?id=7")
    web_login(client, session, network.gb)
    first = client.get("/ui/blocklist")
    assert "1–50 of 53" in first.text
    assert 'href="/ui/blocklist?page=2"' in first.text
    assert "other.example.com/Gallery/A.jpg?id=7" in first.text  # latest change first
    second = client.get("/ui/blocklist?page=2")
    assert "51–53 of 53" in second.text
    assert "site00.example.net" in second.text
    assert "← Previous" in second.text
    assert "Next →" not in second.text

    part = client.get("/ui/blocklist", params={"q": "site1"})
    assert "1–10 of 10" in part.text
    assert "site19.example.net" in part.text
    assert "site20" not in part.text
    case = client.get("/ui/blocklist", params={"q": "GALLERY/a.JPG"})  # case-insensitive
    assert "other.example.com/Gallery/A.jpg?id=7" in case.text
    assert "1–1 of 1" in case.text
    pasted = client.get(
        "/ui/blocklist", params={"q": "HTTPS://other.example.com:443/Gallery/./A.jpg?id=7#top"}
    )  # a URL as reported finds its normalised key
    assert "other.example.com/Gallery/A.jpg?id=7" in pasted.text
    assert "1–1 of 1" in pasted.text
    idn = _add(session, analyst, "https://Münich-pics.example/Album/1.JPG")
    assert idn.key == "xn--mnich-pics-9db.example/Album/1.JPG"
    by_name = client.get("/ui/blocklist", params={"q": "münich-pics.example/Album"})
    assert "<code>xn--mnich-pics-9db.example/Album/1.JPG</code>" in by_name.text
    part_label = client.get("/ui/blocklist", params={"q": "münich"})
    assert "No active entry matches" in part_label.text
    assert "punycode" in part_label.text
    wild = client.get("/ui/blocklist", params={"q": "site_0%"})  # LIKE characters are literal
    assert "No active entry matches" in wild.text
    none = client.get("/ui/blocklist", params={"q": "nowhere.example"})
    assert none.status_code == 200
    assert "No active entry matches “nowhere.example”" in none.text
    paged = client.get("/ui/blocklist", params={"q": "example", "page": 2})
    assert 'href="/ui/blocklist?q=example"' in paged.text  # back to page 1, search kept
    reads = _list_reads(session)
    assert {"state": "active", "query": "site1", "shown": 10, "total": 10} in reads


def test_add_normalises_and_shows_the_entry(
    client: TestClient, session: Session, network: Network
) -> None:
    token = web_login(client, session, network.gb_analyst)
    before = service.current_version(session)
    added = client.post(
        "/ui/blocklist",
        data={
            "csrf_token": token,
            "url": "HTTPS://Bad.Example.NET:443/a/./b%7e.jpg#frag",
            "match": "exact",
            "category": "national-a",
            "reason": "seen on a forum",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    entry = session.scalars(select(BlocklistEntry).where(BlocklistEntry.key.like("bad.%"))).one()
    assert entry.key == "bad.example.net/a/b~.jpg"
    assert entry.added_version == before + 1
    assert added.headers["location"] == f"/ui/blocklist?added={entry.id}#top"
    shown = client.get(added.headers["location"])
    assert shown.status_code == 200
    assert (
        f'Added <code class="wrap-any">bad.example.net/a/b~.jpg</code> (exact) at version '
        f"{before + 1}." in shown.text
    )
    row = _row(shown.text, "bad.example.net/a/b~.jpg")
    assert "national-a" in row
    assert "seen on a forum" in row
    assert "GB-NCA" in row
    assert "row-mine" in row  # the new entry stands out
    prefix = client.post(
        "/ui/blocklist",
        data={"csrf_token": token, "url": "example.org/Gallery/", "match": "prefix"},
    )
    assert prefix.status_code == 200
    assert "<code>example.org/Gallery</code>" in prefix.text
    session.expire_all()
    assert [
        a
        for (a,) in session.execute(
            select(AuditEntry.action).where(AuditEntry.action == "blocklist.add")
        )
    ] == ["blocklist.add", "blocklist.add"]
    forged = client.post("/ui/blocklist", data={"csrf_token": "forged", "url": "example.com/f"})
    assert forged.status_code == 403
    assert service.current_version(session) == before + 2


def test_malformed_url_shows_the_rule_at_the_field(
    client: TestClient, session: Session, network: Network
) -> None:
    token = web_login(client, session, network.gb_analyst)
    before = service.current_version(session)
    cases = [
        ("http://bad example.com/x", "exact", "Must not contain spaces or control characters"),
        ("ftp://example.com/x", "exact", "The scheme must be http or https"),
        ("http://exa_mple..com/", "exact", "Must have a valid host name"),
        ("http://example.com/a?b=1", "prefix", "A prefix entry must not have a query"),
        ("", "exact", "Is required"),
    ]
    for url, match, rule in cases:
        r = client.post(
            "/ui/blocklist",
            data={"csrf_token": token, "url": url, "match": match, "reason": "kept"},
        )
        assert r.status_code == 422, (url, r.status_code, r.text[:300])
        error = re.search(r'<p class="field-error" id="err-url" role="alert">([^<]*)</p>', r.text)
        assert error, (url, r.text[:300])
        assert error.group(1).startswith(rule), (url, error.group(1))
        field = re.search(r'<input type="text" name="url"[^>]*>', r.text)
        assert field
        assert 'aria-invalid="true"' in field.group(0)
        assert 'value="kept"' in r.text  # the form keeps what was sent
        if match == "prefix":
            assert re.search(r'value="prefix" checked', r.text)
    bad_match = client.post(
        "/ui/blocklist", data={"csrf_token": token, "url": "example.com/x", "match": "fuzzy"}
    )
    assert bad_match.status_code == 422
    assert 'id="err-match"' in bad_match.text
    long_category = client.post(
        "/ui/blocklist", data={"csrf_token": token, "url": "example.com/x", "category": "c" * 41}
    )
    assert long_category.status_code == 422
    assert 'id="err-category"' in long_category.text
    assert service.current_version(session) == before


def test_duplicate_says_it_is_listed(
    client: TestClient, session: Session, network: Network
) -> None:
    _add(session, network.gb.caller, "http://example.com/a.jpg")
    token = web_login(client, session, network.gb_analyst)
    again = client.post(
        "/ui/blocklist", data={"csrf_token": token, "url": "HTTPS://EXAMPLE.com/a.jpg"}
    )
    assert again.status_code == 422
    assert "example.com/a.jpg is already listed (exact)." in again.text
    assert 'href="/ui/blocklist?q=HTTPS%3A%2F%2FEXAMPLE.com%2Fa.jpg&amp;state=all">Show it' in (
        again.text
    )
    shown = client.get("/ui/blocklist", params={"q": "HTTPS://EXAMPLE.com/a.jpg", "state": "all"})
    assert "1–1 of 1" in shown.text
    # the same key as a prefix is a different entry
    prefix = client.post(
        "/ui/blocklist",
        data={"csrf_token": token, "url": "example.com/a.jpg", "match": "prefix"},
        follow_redirects=False,
    )
    assert prefix.status_code == 303


def test_remove_moves_the_entry_to_removed(
    client: TestClient, session: Session, network: Network
) -> None:
    entry = _add(session, network.gb.caller, "http://gone.example.com/x.jpg")
    kept = _add(session, network.gb.caller, "http://still.example.com/y.jpg")
    token = web_login(client, session, network.gb_analyst)
    page = client.get("/ui/blocklist")
    action = f"/ui/blocklist/{entry.id}/remove"
    assert f'action="{action}"' in page.text
    blank = client.post(action, data={"csrf_token": token, "reason": "  "})
    assert blank.status_code == 422
    assert "Reason: say why the entry comes off the list" in blank.text
    forged = client.post(action, data={"csrf_token": "forged", "reason": "content gone"})
    assert forged.status_code == 403
    removed = client.post(
        action,
        data={
            "csrf_token": token,
            "reason": "content gone (checked 2026-11-30)",
            "q": "example.com",
            "state": "active",
        },
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert removed.headers["location"] == f"/ui/blocklist?q=example.com&removed={entry.id}"
    shown = client.get(removed.headers["location"])
    session.refresh(entry)
    assert entry.removed_version is not None
    assert (
        f'Removed <code class="wrap-any">gone.example.com/x.jpg</code> at version '
        f"{entry.removed_version}." in shown.text
    )
    assert "<code>gone.example.com/x.jpg</code>" not in shown.text  # not in the active table
    assert "<code>still.example.com/y.jpg</code>" in shown.text
    gone = client.get("/ui/blocklist?state=removed")
    row = _row(gone.text, "gone.example.com/x.jpg")
    assert f"v{entry.removed_version}" in row
    assert "content gone (checked 2026-11-30)" in row
    assert "/remove" not in row
    assert "still.example.com" not in gone.text
    every = client.get("/ui/blocklist?state=all")
    assert "row-muted" in _row(every.text, "gone.example.com/x.jpg")
    assert "/remove" in _row(every.text, "still.example.com/y.jpg")
    twice = client.post(action, data={"csrf_token": token, "reason": "again"})
    assert twice.status_code == 422
    assert "The entry was already removed" in twice.text
    unknown = client.post(
        f"/ui/blocklist/{uuid.uuid4()}/remove", data={"csrf_token": token, "reason": "x"}
    )
    assert unknown.status_code == 404
    assert kept.removed_version is None


def test_callers_without_the_permission_are_refused(
    client: TestClient, session: Session, network: Network
) -> None:
    entry = _add(session, network.gb.caller, "http://hidden.example.com/z.jpg")
    token = web_login(client, session, network.gb_reader)
    before = service.current_version(session)
    assert "/ui/blocklist" not in client.get("/ui/").text  # no link in the navigation
    for r in (
        client.get("/ui/blocklist"),
        client.get("/ui/blocklist?state=all&q=hidden"),
        client.post("/ui/blocklist", data={"csrf_token": token, "url": "example.com/r"}),
        client.post(
            f"/ui/blocklist/{entry.id}/remove", data={"csrf_token": token, "reason": "probing"}
        ),
    ):
        assert r.status_code == 403, (r.request.url, r.status_code)
        assert "Not allowed" in r.text
        assert "hidden.example.com" not in r.text
    assert service.current_version(session) == before
    assert _list_reads(session) == []


def test_navigation_shows_the_tab_to_managers(
    client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb_analyst)
    hosting = client.get("/ui/hosting")
    assert '<a href="/ui/blocklist" class="">Block list</a>' in hosting.text
