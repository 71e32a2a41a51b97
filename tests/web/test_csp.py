"""Every page carries a Content-Security-Policy that refuses inline script, event handlers and
inline styles, and no page needs them: the demo network is crawled as several people (every
link and htmx address followed), and every GET page route of the app must have been seen.

A route added without a way to reach it from a page fails `test_every_page_route_was_seen`:
link it from a page, or give the crawl a start address for it below.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from observatory_pages import figures, publish
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce import migrate
from taskforce.agencies.models import Agency
from taskforce.app import create_app
from taskforce.cases.models import Case, Selector
from taskforce.core.caller import system_caller
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.demo import DEMO_PASSWORD, build_scenario
from taskforce.federation.models import Peer, ReleaseRequest, RemoteHit
from taskforce.notices.models import ClueNotice
from taskforce.observatory.models import Snapshot
from taskforce.rota import directory
from taskforce.rota.models import DutyDesk
from taskforce.rota.schemas import DeskSet
from taskforce.watch import hashing
from taskforce.watch.models import Drill, Handover

# Who the crawl signs in as: between them they reach every page of the hub.
PEOPLE = (
    "investigator@nca.example.com",  # cases, hits, hash sets, series, notices, triage
    "admin@nca.example.com",  # agency admin: audit, block list, hosting
    "analyst@gb-hotline.example.org",  # hotline queue, takedown, leads
    "analyst@hub.example.org",  # the coordinator: escalated leads
    "admin@hub.example.org",  # network admin
)
PER_ROUTE = 3  # addresses crawled per route (ids and query strings differ; the template not)

# Where a page shows that it refuses what it must not run. Directives that do not fall back to
# default-src are listed with None.
FALLBACK = {"script-src": "default-src", "style-src": "default-src", "object-src": "default-src"}
REQUIRED = {
    "script-src": {"'self'", "'none'"},
    "style-src": {"'self'", "'none'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'", "'none'"},
}


def policy(header: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), set(words[1:]))
    return directives


def policy_problems(header: str | None) -> list[str]:
    """What in a page's policy would let inline script, styles, framing or plugins through."""
    if not header:
        return ["no Content-Security-Policy"]
    directives = policy(header)
    problems = []
    for name, allowed in REQUIRED.items():
        value = directives.get(name)
        if value is None and name in FALLBACK:
            value = directives.get(FALLBACK[name])
        if value is None:
            problems.append(f"{name} missing")
        elif not value <= allowed:
            problems.append(f"{name} allows {sorted(value - allowed)}")
    return problems


class PageScan(HTMLParser):
    """Links to follow, and whatever the policy would refuse (so the page would break)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.problems: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
            if name in ("href", "src", "action", "hx-get", "hx-post") and value:
                if value.strip().lower().startswith("javascript:"):
                    self.problems.append(f"<{tag} {name}=javascript:…>")
                if name in ("href", "hx-get") and value.startswith("/"):
                    self.links.append(value)
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            src = values.get("src")
            if not src:
                self._in_script = True
            elif not src.startswith("/static/"):
                self.problems.append(f"script from {src}")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def page_routes(app: FastAPI) -> dict[str, re.Pattern[str]]:
    """Every GET route answering HTML, by its template (walking included routers)."""

    def walk(routes: Sequence[object], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield prefix + route.path, route
            elif (inner := getattr(route, "original_router", None)) is not None:
                included = getattr(route, "include_context", None)
                yield from walk(inner.routes, prefix + getattr(included, "prefix", ""))

    found: dict[str, re.Pattern[str]] = {}
    for path, route in walk(app.routes):
        if "GET" in (route.methods or ()) and route.response_class is HTMLResponse:
            found[path] = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")
    return found


@dataclass
class Crawl:
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    problems: list[str] = field(default_factory=list)
    pages: int = 0


@dataclass
class Demo:
    app: FastAPI
    trace_token: str
    crawl: Crawl


def _published_month(session: Session) -> None:
    """A published observatory month (/observatory/{period}): the demo's, else one here."""
    if session.scalar(select(Snapshot.id)) is None:
        publish(session, figures("2026-11"))


def _public_token(session: object) -> str:
    """The demo has every page's data now (a triage run on a case, candidate series, a
    published clue notice with a tip: demo_features.py); returns the public page's token."""
    assert hasattr(session, "scalar")
    token = session.scalar(
        select(ClueNotice.public_token).where(ClueNotice.public_token.is_not(None))
    )
    assert token, "the demo publishes its clue notice"
    return str(token)


def _cross_node_hit(session: Session) -> None:
    """What a federated node shows beyond the single-node demo: a cross-node hit on one of
    GB-NCA's cases (in its hits inbox) and another node's release request for it (on
    /ui/releases), so the crawl reaches their pages."""
    peer = Peer(
        id=uuid.uuid4(),
        name="Node Bittern",
        country="NL",
        url="https://bittern.example.org",
        public_key="A" * 44,
        fingerprint="BITT ERN0",
    )
    session.add(peer)
    selector = session.scalars(
        select(Selector)
        .join(Case, Case.id == Selector.case_id)
        .join(Agency, Agency.id == Case.owner_agency_id)
        .where(Agency.code == "GB-NCA", Case.status == "open", Selector.kind == "email")
        .limit(1)
    ).one()
    case = session.get(Case, selector.case_id)
    assert case is not None
    session.flush()
    session.add_all(
        [
            RemoteHit(
                peer_id=peer.id,
                ref=str(uuid.uuid4()),
                selector_id=selector.id,
                case_id=case.id,
                agency_id=case.owner_agency_id,
                kind="email",
            ),
            ReleaseRequest(
                direction="incoming",
                peer_id=peer.id,
                ref=str(uuid.uuid4()),
                case_id=case.id,
                requester="Investigator Bittern (NL)",
                reason="We hold the same address in a fictional case.",
            ),
        ]
    )


def _rota_desk(session: Session) -> None:
    """A 24/7 desk, should the demo's rota have none, so the crawl reaches a desk's page."""
    if session.scalar(select(DutyDesk.id).limit(1)) is None:
        directory.set_desk(session, system_caller(), "GB-NCA", DeskSet(languages=["en"]))


DRILL_SECRET = "drill-secret-of-the-crawl-0123456789abcdefghij"


def _sent_drill(session: Session) -> None:
    """A reachability drill sent to GB-NCA's desk, whose link the crawl opens (the demo has no
    drill: its secret is only ever kept hashed)."""
    agency = session.scalars(select(Agency).where(Agency.code == "GB-NCA")).one()
    desk = session.scalars(select(DutyDesk).where(DutyDesk.agency_id == agency.id)).first()
    if desk is None:
        desk = DutyDesk(agency_id=agency.id, time_zone=agency.timezone)
        session.add(desk)
        session.flush()
    sent = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
    session.add(
        Drill(
            desk_id=desk.id,
            window_start=sent,
            window_end=sent + timedelta(hours=1),
            send_at=sent,
            sent_at=sent,
            check_at=None,
            secret_hash=hashlib.sha256(DRILL_SECRET.encode()).hexdigest(),
        )
    )


def _desk(session: Session, code: str) -> DutyDesk:
    agency = session.scalars(select(Agency).where(Agency.code == code)).one()
    desk = session.scalars(select(DutyDesk).where(DutyDesk.agency_id == agency.id)).first()
    if desk is None:
        desk = DutyDesk(agency_id=agency.id, time_zone=agency.timezone)
        session.add(desk)
        session.flush()
    return desk


def _handover(session: Session) -> None:
    """A handover from NL-NP's desk to GB-NCA's, whose page the crawl opens (with its
    acknowledge button: GB-NCA is the incoming desk)."""
    ended = datetime(2026, 12, 3, 22, 0, tzinfo=UTC)
    handover = Handover(
        id=uuid.uuid4(),
        from_desk_id=_desk(session, "NL-NP").id,
        to_desk_id=_desk(session, "GB-NCA").id,
        shift_ends_at=ended,
        written_at=ended - timedelta(minutes=15),
        written_by="crawl@nl-np.example.com (NL-NP)",
        open_leads=[],
        pending_preservations=[],
        notes="Nothing open; the provider calls back at 23:00.",
        previous_digest="",
        ack_due_at=ended + timedelta(minutes=30),
        check_at=None,
        acknowledged_by="",
    )
    handover.digest = hashing.digest_of("", hashing.content(handover))
    session.add(handover)


def _sign_in(client: TestClient, email: str) -> None:
    page = client.get("/ui/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/ui/login",
        data={"email": email, "password": DEMO_PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, (email, r.text[:300])


def _crawl(
    client: TestClient, starts: list[str], routes: dict[str, re.Pattern[str]], crawl: Crawl
) -> None:
    queue = list(starts)
    visited: set[str] = set()
    while queue:
        url = queue.pop(0)
        path = urlsplit(url).path
        template = next((t for t, rx in routes.items() if rx.match(path)), None)
        if url in visited or (template and len(crawl.seen[template]) >= PER_ROUTE):
            continue
        visited.add(url)
        r = client.get(url, follow_redirects=False)
        if not r.headers.get("content-type", "").startswith("text/html"):
            continue
        crawl.pages += 1
        if template and r.status_code == 200:
            crawl.seen[template].add(url)
        problems = policy_problems(r.headers.get("content-security-policy"))
        scan = PageScan()
        scan.feed(r.text)
        problems += scan.problems
        crawl.problems += [f"{url} ({r.status_code}): {p}" for p in problems]
        for link in scan.links:
            link = link.split("#", 1)[0]
            if link and link not in visited and not link.startswith("/static/"):
                queue.append(link)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("csp")
    settings = Settings(
        data_dir=tmp,
        database_url=f"sqlite:///{tmp / 'demo.db'}",
        allow_insecure_defaults=True,
        secure_cookies=False,  # the test client speaks plain http
        worker="external",
        demo_mail_dir=tmp / "mail",  # as `taskforce demo` sets it: the demo's mailbox page
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        build_scenario(session, settings=settings)
        _cross_node_hit(session)
        _rota_desk(session)
        _sent_drill(session)
        _handover(session)
        _published_month(session)
    with unit_of_work(factory) as session:
        token = _public_token(session)
    app = create_app(settings, engine)
    routes = page_routes(app)
    crawl = Crawl()
    public = [
        "/report",
        "/report/es",
        "/report/receipt",
        f"/trace/{token}",
        "/blocked",
        "/observatory",
        f"/drills/{DRILL_SECRET}",
        "/ui/login",
        "/api/docs",
    ]
    with TestClient(app, base_url="http://testserver") as anonymous:
        _crawl(anonymous, public, routes, crawl)
    for email in PEOPLE:
        with TestClient(app, base_url="http://testserver") as client:
            _sign_in(client, email)
            # the address form is a GET form, not a link
            # (the coordinator's rota plan: its tab is on /ui/rota, crawled enough by then)
            starts = [
                "/ui/",
                "/ui/does-not-exist",
                "/ui/hosting/locate?ip=203.0.113.7",
                "/ui/rota/plan",
            ]
            _crawl(client, starts, routes, crawl)
    yield Demo(app, token, crawl)
    engine.dispose()


def test_no_page_carries_inline_script_style_or_a_weak_policy(demo: Demo) -> None:
    assert demo.crawl.pages > 100
    problems = [p for p in demo.crawl.problems if not p.startswith(("/api/docs", "/blocked"))]
    assert problems == []


def test_every_page_route_was_seen(demo: Demo) -> None:
    routes = page_routes(demo.app)
    assert len(routes) > 35
    missing = sorted(set(routes) - set(demo.crawl.seen))
    assert missing == []


def test_the_app_policy_is_the_strict_one(demo: Demo) -> None:
    with TestClient(demo.app, base_url="http://testserver") as client:
        header = client.get("/ui/login").headers["content-security-policy"]
    directives = policy(header)
    assert directives["default-src"] == {"'self'"}
    assert directives["script-src"] == {"'self'"}
    assert directives["style-src"] == {"'self'"}
    for name in ("object-src", "base-uri", "frame-ancestors"):
        assert directives[name] == {"'none'"}, name
    assert directives["form-action"] == {"'self'"}


def test_public_pages_keep_their_stricter_policy(demo: Demo) -> None:
    with TestClient(demo.app, base_url="http://testserver") as client:
        for url in ("/report", f"/trace/{demo.trace_token}"):
            r = client.get(url)
            assert r.status_code == 200
            assert r.headers.get_list("content-security-policy") == [
                r.headers["content-security-policy"]
            ]
            assert policy(r.headers["content-security-policy"])["default-src"] == {"'none'"}


def test_the_block_warning_page_allows_only_its_own_style(demo: Demo) -> None:
    with TestClient(demo.app, base_url="http://testserver") as client:
        r = client.get("/blocked")
    directives = policy(r.headers["content-security-policy"])
    assert directives["default-src"] == {"'none'"}  # no script at all
    (style,) = directives["style-src"]
    assert style.startswith("'sha256-")  # the page's one style element, not 'unsafe-inline'
    assert policy_problems(r.headers["content-security-policy"]) == [f"style-src allows {[style]}"]
    (css,) = re.findall(r"<style>(.*?)</style>", r.text, re.S)
    assert style == f"'sha256-{base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()}'"


def test_api_docs_allow_only_their_starter_script(demo: Demo) -> None:
    with TestClient(demo.app, base_url="http://testserver") as client:
        r = client.get("/api/docs")
    assert r.status_code == 200
    assert "SwaggerUIBundle" in r.text
    directives = policy(r.headers["content-security-policy"])
    assert "'unsafe-inline'" not in directives["script-src"]
    assert "'unsafe-eval'" not in directives["script-src"]
    (starter,) = re.findall(r"<script>(.*?)</script>", r.text, re.S)
    digest = base64.b64encode(hashlib.sha256(starter.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in directives["script-src"]
    for name in ("object-src", "base-uri", "frame-ancestors"):
        assert directives.get(name, directives.get("default-src")) == {"'none'"}, name
