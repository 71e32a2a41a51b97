"""Post/redirect/get everywhere: no page ever answers a successful form with a page of its own,
so reloading never asks "resubmit the form?" and never repeats a change.

The test walks the pages as each kind of member would on the demo's fictional network (the
main menu, then every page one link further), fills every form it finds the way a hurried
user would (defaults kept, each empty box given a plausible value) and sends it. A form may be
refused (4xx, shown again with what was typed) or succeed; when it succeeds the answer must be
a redirect (303), or, for an htmx request, a fragment. A 200 page is a failure."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from taskforce import migrate
from taskforce.app import create_app
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.demo import DEMO_PASSWORD, build_scenario

PEOPLE = (
    "investigator@np.example.net",
    "analyst@nl-hotline.example.org",
    "admin@nca.example.com",
    "admin@hub.example.org",
)
# A read, not a change: its terms (selector values) must stay out of URLs, logs and history.
READS = {"/ui/search"}
# Never sent by the walk: signing out ends the walk's own session.
SKIPPED = {"/ui/logout"}
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Form:
    action: str
    htmx: bool
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: bool = False


class Forms(HTMLParser):
    """The POST forms of a page, each with the values a browser would send as it stands."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._radios: set[str] = set()
        self._select: str | None = None
        self._chosen = False
        self._text: str | None = None
        self._value = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href", "").startswith("/ui/"):
            self.links.append(a["href"].split("#")[0])
        if tag == "form":
            action = a.get("hx-post") or a.get("action", "")
            if a.get("method", "get").lower() == "post" or "hx-post" in a:
                self._form = Form(action=action, htmx="hx-post" in a)
                self._radios = set()
                self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind == "file":
                form.files = True
            elif kind in ("checkbox", "radio"):
                if "checked" in a or (kind == "radio" and name not in self._radios):
                    self._radios.add(name)
                    form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button"):
                form.fields.append((name, a.get("value") or plausible(name, kind)))
        elif tag == "select" and name:
            self._select, self._chosen = name, False
        elif tag == "option" and self._select and not self._chosen:
            value = a.get("value", "")
            if value or "selected" in a:
                form.fields.append((self._select, value))
                self._chosen = True
        elif tag == "textarea" and name:
            self._text, self._value = name, ""

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._text is not None and self._form is not None:
            self._form.fields.append((self._text, self._value or plausible(self._text, "text")))
            self._text = None


def plausible(name: str, kind: str) -> str:
    """What a user might type into an empty box of this name (fictional, benign)."""
    if kind == "email" or "email" in name:
        return "desk@example.com"
    if kind == "date" or name.endswith("_on") or "date" in name:
        return "2026-01-31"
    if kind == "number":
        return "1"
    if name in ("hashes", "md5"):
        return "0123456789abcdef0123456789abcdef"
    if name == "value":
        return "walker@example.com"
    if name in ("url", "address"):
        return "https://walk.example.com/a.jpg"
    return "Checked by the page walk"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder: Path = tmp_path_factory.mktemp("prg")
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'demo.db'}",
        allow_insecure_defaults=True,
        secure_cookies=False,
        worker="external",  # nothing runs beside the walk
        audit_seal_seconds=0,
        report_url_check=False,
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        build_scenario(session, settings=settings)
    with TestClient(create_app(settings, engine), base_url="http://testserver") as client:
        yield client
    engine.dispose()


def sign_in(client: TestClient, email: str) -> str:
    client.cookies.clear()
    login = Forms(client.get("/ui/login").text).forms[0]
    data = dict(login.fields) | {"email": email, "password": DEMO_PASSWORD}
    home = client.post("/ui/login", data=data)
    assert urlsplit(str(home.url)).path == "/ui/", f"{email} could not sign in"
    return home.text


def route_of(path: str) -> str:
    return _ID.sub("{id}", path)


def pages_of(client: TestClient, home: str, depth: int = 2) -> list[str]:
    """The main menu's pages, then every page up to `depth` links from them (one page of each
    route shape: one case stands for all cases)."""
    seen: dict[str, str] = {}
    level = list(dict.fromkeys(Forms(home).links))
    for _ in range(depth + 1):
        fresh = []
        for link in level:
            path = link.split("?")[0]
            if route_of(path) not in seen:
                seen[route_of(path)] = path
                fresh.append(path)
        level = [
            link
            for page in fresh
            if (answer := client.get(page)).status_code == 200
            and answer.headers.get("content-type", "").startswith("text/html")
            for link in Forms(answer.text).links
        ]
    return list(seen.values())


@pytest.mark.parametrize("email", PEOPLE)
def test_every_successful_form_post_redirects(demo: TestClient, email: str) -> None:
    home = sign_in(demo, email)
    sent: set[tuple[str, str]] = set()
    wrong: list[str] = []
    for page in pages_of(demo, home):
        answer = demo.get(page)
        if answer.status_code != 200:
            continue
        for form in Forms(answer.text).forms:
            action = form.action.split("#")[0]
            shape = route_of(action)
            if not action.startswith("/ui/") or shape in SKIPPED or (shape, page) in sent:
                continue
            sent.add((shape, page))
            token = re.search(r'"X-CSRF-Token": "([^"]+)"', answer.text)
            headers = {"X-CSRF-Token": token.group(1)} if token else {}
            if form.htmx:
                headers["HX-Request"] = "true"
            files = {"file": ("walk.txt", b"not a list\n")} if form.files else None
            reply = demo.post(
                action,
                data=dict(form.fields),
                files=files,
                headers=headers,
                follow_redirects=False,
            )
            assert reply.status_code < 500, f"{action}: {reply.status_code}"
            if reply.status_code == 200 and not form.htmx and shape not in READS:
                wrong.append(f"{shape} (from {route_of(page)}) answered 200, not a redirect")
    assert len({shape for shape, _ in sent}) >= 5, sent
    assert not wrong, "\n".join(sorted(set(wrong)))
