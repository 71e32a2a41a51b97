"""Outbound calls reach nothing internal: agencies' webhooks go through the SSRF-safe client
(`core.outbound`) that the re-checker uses, judged when an agency sets its URL and again at every
delivery.

A trap server listens on 127.0.0.1 and counts connections; every webhook aimed at it in one of
the spellings an attacker uses must leave it untouched. The allow-list setting
(`webhook_allow_networks`) is the positive control: with it, the same trap receives the POST.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from builders import make_person, token_for
from fastapi.testclient import TestClient
from loopback import LoopbackServer
from pydantic import ValidationError
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.agencies.schemas import AgencyCreate, AgencyUpdate
from taskforce.core.caller import Role, system_caller
from taskforce.core.errors import Invalid
from taskforce.core.jobs import runner as jobs
from taskforce.core.outbound import (
    HostGone,
    Outbound,
    Refused,
    configured_url_problem,
    numeric_ipv4,
)
from taskforce.core.outbox import service as outbox
from taskforce.core.outbox.models import OutboxMessage
from taskforce.core.resolver import StaticResolver
from taskforce.core.settings import Settings


class Trap(LoopbackServer):
    """A server on 127.0.0.1 that answers any request with `status` (and `extra_headers`) and
    records every connection and request it gets."""

    def __init__(self, status: int = 204, headers: dict[str, str] | None = None) -> None:
        super().__init__()
        self.status = status
        self.extra_headers = headers or {}
        self.fallback = lambda handler: handler.reply(self.status, self.extra_headers)

    @property
    def requests(self) -> list[tuple[str, str, dict[str, str], bytes]]:
        return [(s.method, s.path, s.headers, s.body) for s in self.seen]


@pytest.fixture
def trap() -> Iterator[Trap]:
    server = Trap()
    yield server
    server.stop()


def hosts_settings(settings: Settings, tmp_path: Path, **update: Any) -> Settings:
    """Settings whose resolver answers from a hosts file: hooks.example.com and localhost are
    127.0.0.1."""
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 hooks.example.com localhost\n", encoding="utf-8")
    return settings.model_copy(update={"resolver_hosts_file": hosts, **update})


def queue(session: Session, url: str) -> OutboxMessage:
    message = outbox.enqueue_webhook(
        session, url=url, event="hit.new", body=json.dumps({"event": "hit.new"})
    )
    session.flush()
    return message


# The same loopback trap, spelled the ways that reached it before (finding 7 of issue 11).
FORMS = [
    "http://127.0.0.1:{port}/hook",
    "http://[::ffff:127.0.0.1]:{port}/hook",
    "http://2130706433:{port}/hook",
    "http://0x7f000001:{port}/hook",
    "http://0x7f.1:{port}/hook",
    "http://0177.0.0.1:{port}/hook",
    "http://127.1:{port}/hook",
    "http://localhost:{port}/hook",
    "http://hooks.example.com:{port}/hook",  # a name that resolves to the loopback address
]


@pytest.mark.parametrize("form", FORMS)
def test_webhooks_to_internal_addresses_never_reach_them(
    session: Session, settings: Settings, tmp_path: Path, trap: Trap, form: str
) -> None:
    message = queue(session, form.format(port=trap.port))
    report = outbox.drain(session, hosts_settings(settings, tmp_path))
    assert trap.connections == 0
    assert trap.requests == []
    assert (report.sent, report.failed, report.left) == (0, 1, 0)
    # failed for good, with the reason: a refused address is not retried every few minutes
    assert message.sent_at is None
    assert message.attempts == outbox.MAX_ATTEMPTS
    assert message.next_attempt_at is None
    assert (message.last_error or "").startswith("refused, not retried: ")
    assert "loopback" in (message.last_error or "") or "0177" in form  # httpx: invalid URL
    assert "hooks.example.com" not in (message.last_error or "")  # shown to other agencies
    assert jobs.claim(session, outbox.delivery_job(settings), limit=10) == []
    assert outbox.count_pending(session) == 0


def test_the_allow_list_lets_a_lab_receiver_be_reached(
    session: Session, settings: Settings, tmp_path: Path, trap: Trap
) -> None:
    """Positive control for the test above: the trap counts what reaches it."""
    message = queue(session, f"http://hooks.example.com:{trap.port}/hook?t=secret")
    lab = hosts_settings(settings, tmp_path, webhook_allow_networks=["127.0.0.1/32"])
    assert outbox.drain(session, lab).sent == 1
    [(method, path, headers, body)] = trap.requests
    assert (method, path) == ("POST", "/hook?t=secret")
    assert headers["Host"] == f"hooks.example.com:{trap.port}"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == outbox.WEBHOOK_USER_AGENT
    assert json.loads(body) == {"event": "hit.new"}
    assert message.sent_at is not None
    assert message.last_error is None


def test_a_redirect_is_not_followed_and_the_message_is_retried(
    session: Session, settings: Settings, tmp_path: Path, trap: Trap
) -> None:
    inner = Trap()
    try:
        trap.status = 307
        trap.extra_headers = {"Location": f"http://127.0.0.1:{inner.port}/admin"}
        message = queue(session, f"http://hooks.example.com:{trap.port}/hook")
        lab = hosts_settings(settings, tmp_path, webhook_allow_networks=["127.0.0.1/32"])
        assert outbox.drain(session, lab).failed == 1
        assert len(trap.requests) == 1
        assert inner.connections == 0
        assert "307 Temporary Redirect" in (message.last_error or "")
        assert "webhooks do not follow redirects" in (message.last_error or "")
        assert message.attempts == 1
        assert message.next_attempt_at is not None
    finally:
        inner.stop()


def test_a_server_error_is_retried_with_backoff(
    session: Session, settings: Settings, tmp_path: Path, trap: Trap
) -> None:
    trap.status = 503
    message = queue(session, f"http://hooks.example.com:{trap.port}/hook")
    lab = hosts_settings(settings, tmp_path, webhook_allow_networks=["127.0.0.1/32"])
    assert outbox.drain(session, lab).failed == 1
    assert message.attempts == 1
    assert message.sent_at is None
    assert "503 Service Unavailable" in (message.last_error or "")
    assert outbox.count_pending(session) == 1


def test_credentials_in_a_webhook_url_are_not_sent(
    session: Session, settings: Settings, tmp_path: Path, trap: Trap
) -> None:
    queue(session, f"http://user:pw@hooks.example.com:{trap.port}/hook")
    lab = hosts_settings(settings, tmp_path, webhook_allow_networks=["127.0.0.1/32"])
    assert outbox.drain(session, lab).sent == 1
    [(_, _, headers, _)] = trap.requests
    assert "Authorization" not in headers


def test_a_name_that_no_longer_resolves_is_retried(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    message = queue(session, "http://gone.example.com/hook")
    assert outbox.drain(session, hosts_settings(settings, tmp_path)).failed == 1
    assert message.attempts == 1
    assert message.last_error == "RuntimeError: the receiver: no such host; asked " + (
        f"static hosts file {tmp_path / 'hosts'}"
    )


# --- the client itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("10.0.0.1.", "10.0.0.1"),
        ("0x", "0.0.0.0"),  # noqa: S104 - judged, never bound
        ("0", "0.0.0.0"),  # noqa: S104
        ("3232235777", "192.168.1.1"),
        ("0xA9.0xFE.0xA9.0xFE", "169.254.169.254"),
    ],
)
def test_numbers_are_addresses_the_way_c_libraries_read_them(host: str, address: str) -> None:
    assert numeric_ipv4(host) == ipaddress.IPv4Address(address)
    if host != "0x":  # WHATWG reads a bare 0x as 0; C libraries differ
        assert socket.inet_aton(host.rstrip(".")) == ipaddress.IPv4Address(address).packed


@pytest.mark.parametrize("host", ["example.com", "1.example.com", "0x7f.example", "a1"])
def test_names_are_not_numbers(host: str) -> None:
    assert numeric_ipv4(host) is None


@pytest.mark.parametrize("host", ["1.2.3.999", "256.1.1.1", "1.2.3.4.5", "09.1.1.1", "1.x.2"])
def test_bad_numbers_are_no_address(host: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(host))):
        numeric_ipv4(host)


def test_a_numeric_host_is_never_given_to_the_resolver(trap: Trap) -> None:
    """A resolver (a hosts file here) could map '2130706433' anywhere; it is the address."""
    resolver = StaticResolver({"2130706433": ["192.0.2.1"]}, name="hosts")
    client = Outbound(resolver)
    loopback = r"127\.0\.0\.1 is a loopback address"
    with pytest.raises(Refused, match=loopback), client.exchange() as exchange:
        exchange.send("GET", httpx.URL(f"http://2130706433:{trap.port}/"), headers={})
    with pytest.raises(HostGone), client.exchange() as exchange:
        exchange.send("GET", httpx.URL("http://nowhere.example.com/"), headers={})
    assert trap.connections == 0


# --- setting a webhook ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped form of 127.0.0.1"),
        ("http://2130706433/hook", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/hook", "127.0.0.1 is a loopback address"),
        ("http://0177.0.0.1/hook", "must be a valid URL"),  # httpx refuses a leading 0
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is link-local"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("http://localhost:8000/hook", "local-only host (localhost)"),
        ("http://api.localhost/hook", "local-only host (api.localhost)"),
        ("http://printer.local/hook", "local-only host (printer.local)"),
        ("http://metadata.google.internal/x", "local-only host (metadata.google.internal)"),
        ("http://intranet/hook", "must name its host in full"),
        ("https://user:pw@hooks.example.com/x", "must not hold a user name or password"),
        ("ftp://hooks.example.com/x", "must be an http(s) URL"),
        ("gopher://127.0.0.1:25/", "must be an http(s) URL"),
        ("http:///hook", "must be an http(s) URL"),
        ("http://1.2.3.4.5/hook", "is not a valid IPv4 address"),
        ("http://hooks.example.com:99999/", "its port 99999 is not a port number"),
    ],
)
def test_an_agency_cannot_set_a_webhook_taskforce_may_not_call(
    session: Session, url: str, rule: str
) -> None:
    agency_service.register_agency(session, system_caller(), agency("GB-NCA"))
    with pytest.raises(Invalid) as refused:
        agency_service.update_agency(
            session, system_caller(), code="GB-NCA", data=AgencyUpdate(webhook_url=url)
        )
    assert refused.value.field == "webhook_url"
    assert rule in refused.value.rule
    with pytest.raises(Invalid) as refused:
        agency_service.register_agency(session, system_caller(), agency("NL-NP", webhook=url))
    assert refused.value.field == "webhook_url"
    assert rule in refused.value.rule


def test_public_and_allowed_webhooks_are_accepted(session: Session) -> None:
    made = agency_service.register_agency(
        session, system_caller(), agency("GB-NCA", webhook=" https://hooks.example.com/t/x1 ")
    )
    assert made.webhook_url == "https://hooks.example.com/t/x1"
    lab = agency_service.update_agency(
        session,
        system_caller(),
        code="GB-NCA",
        data=AgencyUpdate(webhook_url="http://10.0.0.5:8080/hook"),
        webhook_allow_networks=["10.0.0.0/24"],
    )
    assert lab.webhook_url == "http://10.0.0.5:8080/hook"
    cleared = agency_service.update_agency(
        session, system_caller(), code="GB-NCA", data=AgencyUpdate(webhook_url=None)
    )
    assert cleared.webhook_url is None
    assert configured_url_problem("http://203.0.113.5/hook") is not None  # documentation range
    assert configured_url_problem("https://8.8.8.8/hook") is None


def test_the_api_answers_a_refused_webhook_with_the_field_and_rule(
    session: Session, settings: Settings, client: TestClient
) -> None:
    gb = agency_service.register_agency(session, system_caller(), agency("GB-NCA"))
    admin = make_person(session, gb, role=Role.NETWORK_ADMIN)
    headers = token_for(session, settings, admin)
    r = client.patch(
        "/api/v1/agencies/GB-NCA", json={"webhook_url": "http://2130706433/x"}, headers=headers
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "webhook_url"
    assert "127.0.0.1 is a loopback address" in body["rule"]


def agency(code: str, webhook: str | None = None) -> AgencyCreate:
    country = {"GB-NCA": "GB", "NL-NP": "NL"}[code]
    return AgencyCreate(
        code=code,
        name=f"{code} (fictional)",
        country=country,
        timezone="Europe/London" if country == "GB" else "Europe/Amsterdam",
        contact_desk="desk",
        contact_phone="+442079460001" if country == "GB" else "+31201234567",
        contact_email=f"desk@{code.lower()}.example.com",
        webhook_url=webhook,
    )


def _one_setting(field: str, value: object) -> dict[str, Any]:
    return {field: value}


@pytest.mark.parametrize("field", ["webhook_allow_networks", "recheck_allow_networks"])
def test_a_bad_allow_list_stops_start_up_naming_the_setting(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        Settings(**_one_setting(field, ["10.0.0.0/33"]))
