"""Signing in over HTTP as users behind shared addresses do: a guesser elsewhere cannot lock
the owner out, a refused try is not a failure and says until when, forwarded addresses count
only from trusted proxies, session cookies are Secure by default, and admins lift locks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest
from builders import PASSWORD, Network, csrf_field, web_login
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.app import create_app
from taskforce.core.auth.models import LoginAttempt
from taskforce.core.settings import Settings

GUESSER = "198.51.100.66"
OFFICE = "203.0.113.10"


@contextmanager
def browser_at(
    app: object, address: str, base_url: str = "http://testserver"
) -> Iterator[TestClient]:
    with TestClient(app, base_url=base_url, client=(address, 40000)) as client:  # type: ignore[arg-type]
        yield client


def sign_in(client: TestClient, email: str, password: str, **headers: str) -> httpx2.Response:
    page = client.get("/ui/login")
    return client.post(
        "/ui/login",
        data={"email": email, "password": password, "csrf_token": csrf_field(page.text)},
        headers=headers,
        follow_redirects=False,
    )


def failures(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(LoginAttempt).where(~LoginAttempt.succeeded)
        )
        or 0
    )


def test_a_guesser_elsewhere_cannot_lock_the_owner_out(
    app: object, session: Session, settings: Settings, network: Network
) -> None:
    session.commit()
    email = network.gb.user.email
    with browser_at(app, GUESSER) as guesser:
        for n in range(settings.login_max_failures):
            assert sign_in(guesser, email, f"wrong-password-{n}").status_code == 401
        refused = sign_in(guesser, email, PASSWORD)
        assert refused.status_code == 429
        assert "paused here until" in refused.text
        assert "UTC" in refused.text
        wait = int(refused.headers["retry-after"])
        assert 0 < wait <= settings.login_window_minutes * 60
    assert failures(session) == settings.login_max_failures  # the refused right password: not one
    with browser_at(app, OFFICE) as owner:
        assert sign_in(owner, email, PASSWORD).status_code == 303


@pytest.mark.usefixtures("settings")
def test_forwarded_addresses_count_only_from_a_trusted_proxy(
    app: object, session: Session, network: Network
) -> None:
    session.commit()
    email = network.gb.user.email
    forwarded = {"x-forwarded-for": "192.0.2.1, 203.0.113.77"}  # the first is the client's claim
    with browser_at(app, "127.0.0.1") as proxy:
        sign_in(proxy, email, "wrong-password-1", **forwarded)
    with browser_at(app, "198.51.100.9") as stranger:
        sign_in(stranger, email, "wrong-password-2", **forwarded)
    ips = session.scalars(select(LoginAttempt.ip).order_by(LoginAttempt.at)).all()
    assert ips == ["203.0.113.77", "198.51.100.9"]


def test_trusted_proxies_must_be_addresses() -> None:
    with pytest.raises(ValueError, match=r"trusted_proxies: 'proxy\.example\.org' is not an IP"):
        Settings(trusted_proxies=["10.0.0.0/8", "proxy.example.org"])


def test_session_cookie_is_secure_httponly_and_lax_by_default(
    engine: object, settings: Settings, session: Session, session_factory: object, network: Network
) -> None:
    assert Settings(allow_insecure_defaults=True).secure_cookies is True
    secure = settings.model_copy(update={"secure_cookies": True})
    app = create_app(secure, engine)  # type: ignore[arg-type]
    app.state.sessionmaker = session_factory
    session.commit()
    with browser_at(app, OFFICE, base_url="https://testserver") as client:
        r = sign_in(client, network.gb.user.email, PASSWORD)
        assert r.status_code == 303
        cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("tf_session="))
        attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite"} <= attributes
        assert "samesite=lax" in cookie.lower()
        login_cookie = client.cookies.jar
        assert all(c.secure for c in login_cookie)


def test_admin_sees_and_lifts_a_lock_on_the_page(
    app: FastAPI, client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    session.commit()
    email = network.gb.user.email
    with browser_at(app, GUESSER) as guesser:
        for n in range(settings.login_max_failures):
            sign_in(guesser, email, f"wrong-password-{n}")
    web_login(client, session, network.gb)
    assert client.get("/ui/sign-in-locks").status_code == 403  # an investigator may not

    with browser_at(app, OFFICE) as admin:
        token = web_login(admin, session, network.gb_admin)
        page = admin.get("/ui/sign-in-locks")
        assert page.status_code == 200
        assert email in page.text
        assert GUESSER in page.text
        assert 'href="/ui/sign-in-locks"' in page.text  # in the admin's menu
        lifted = admin.post(
            "/ui/sign-in-locks/lift", data={"email": email, "ip": GUESSER, "csrf_token": token}
        )
        assert lifted.status_code == 200
        assert lifted.history[0].status_code == 303  # post/redirect/get
        assert "Lifted: 5 failed sign-ins forgotten" in lifted.text
        assert "No sign-in limit is in force" in lifted.text
        forged = admin.post("/ui/sign-in-locks/lift", data={"email": email, "csrf_token": "x"})
        assert forged.status_code == 403
    with browser_at(app, GUESSER) as owner_again:
        assert sign_in(owner_again, email, PASSWORD).status_code == 303
