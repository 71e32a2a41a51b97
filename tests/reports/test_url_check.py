"""The report form tells the reporter, before accepting, when the URL cannot be read (the
re-checker's SSRF-safe request: status and headers only); the reporter may still insist, and
then what they sent is stored as sent. Host names resolve through a hosts file, and the one
server reached is this test's own, on loopback: the test stays offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from hotline_builders import form_token
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.reports import intake
from taskforce.reports.models import Report


class _Site(BaseHTTPRequestHandler):
    """/here answers 200, anything else 404; the body is never what is judged."""

    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requests.append(f"{self.command} {self.path}")
        self.send_response(200 if self.path == "/here" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self) -> None:
        self.do_GET()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Site.requests = []
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The check on; names resolve through a hosts file; loopback (this test's site) allowed."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 site.example.net\n203.0.113.9 private.example.net\n")
    return settings.model_copy(
        update={
            "report_url_check": True,
            "resolver_hosts_file": hosts,
            "recheck_allow_networks": ["127.0.0.1/32"],
        }
    )


def _send(client: TestClient, url: str, lang: str = "en", **more: str) -> str:
    page = client.get(f"/report/{lang}?kind=url")
    data = {"form_token": form_token(page.text), "kind": "url", "lang": lang, "url": url, **more}
    r = client.post("/report", data=data)
    assert r.status_code in (200, 429), r.text
    return r.text


def _stored(session: Session) -> list[Report]:
    session.expire_all()
    return list(session.scalars(select(Report)))


def test_a_readable_address_is_accepted_at_once(
    client: TestClient, session: Session, site: int
) -> None:
    page = _send(client, f"http://site.example.net:{site}/here")
    assert "Your report has been received" in page
    (report,) = _stored(session)
    assert "url_check" not in report.details
    assert _Site.requests == ["GET /here"]  # status and headers of the one address, no more


@pytest.mark.parametrize(
    ("path_or_url", "reason"),
    [
        ("/gone", "the site says the page does not exist"),  # 404
        ("http://nowhere.example.net/a", "the site says the page does not exist"),  # no name
        ("http://private.example.net/a", "it is not an address on the public internet"),
    ],
)
def test_an_unreadable_address_is_shown_back_with_the_reason(
    client: TestClient, session: Session, site: int, path_or_url: str, reason: str
) -> None:
    url = path_or_url if "://" in path_or_url else f"http://site.example.net:{site}{path_or_url}"
    page = _send(client, url, description="a gallery")
    assert "We could not open this address" in page
    assert reason in page
    assert f'value="{url}"' in page  # what they typed is kept
    assert "a gallery" in page
    assert 'name="insist"' in page
    assert _stored(session) == []  # nothing accepted yet


def test_the_reporter_can_insist_and_what_they_sent_is_stored(
    client: TestClient, session: Session, site: int
) -> None:
    url = f"http://site.example.net:{site}/removed-already"
    assert "We could not open this address" in _send(client, url)
    page = _send(client, url, insist="1", description="it was there an hour ago")
    assert "Your report has been received" in page
    (report,) = _stored(session)
    assert report.details["url"] == url
    assert report.details["description"] == "it was there an hour ago"
    assert "sent it anyway" in report.details["url_check"]
    assert _Site.requests == ["GET /removed-already"]  # insisting does not check again


def test_the_warning_speaks_the_reporters_language(client: TestClient, site: int) -> None:
    page = _send(client, f"http://site.example.net:{site}/x", lang="es")
    assert "No pudimos abrir esta dirección" in page
    assert "enviarla igualmente" in page


def test_a_sender_over_the_limit_is_refused_before_any_check(
    client: TestClient, site: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "REPORTS_PER_ADDRESS", 1)
    monkeypatch.setattr("taskforce.reports.service.REPORTS_PER_ADDRESS", 1)
    _send(client, f"http://site.example.net:{site}/here")
    page = _send(client, f"http://site.example.net:{site}/gone")
    assert "too many reports from your connection" in page
    assert _Site.requests == ["GET /here"]  # the second address was never asked for
