"""Password logins: argon2, and a rate limit that failed attempts cannot dodge by rollback."""

from __future__ import annotations

import pytest
from builders import PASSWORD, Network
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.auth import service as auth
from taskforce.core.auth.models import LoginAttempt
from taskforce.core.db import unit_of_work
from taskforce.core.errors import AuthFailed, Invalid, RateLimited
from taskforce.core.settings import Settings


def test_password_is_stored_with_argon2(network: Network) -> None:
    assert (network.gb.user.password_hash or "").startswith("$argon2id$")


def test_production_hashes_at_argon2_s_recommended_cost() -> None:
    """The suite hashes cheaply (conftest); the server keeps argon2-cffi's RFC 9106 default:
    64 MiB, three passes."""
    assert auth.production_hasher().hash("x").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_short_password_is_refused() -> None:
    with pytest.raises(Invalid) as exc:
        auth.hash_password("short")
    assert exc.value.field == "password"


def test_failed_logins_survive_rollback_and_trigger_the_limit(
    session: Session, session_factory: sessionmaker[Session], settings: Settings, network: Network
) -> None:
    session.commit()
    email = network.gb.user.email
    for _ in range(settings.login_max_failures):
        with pytest.raises(AuthFailed), unit_of_work(session_factory) as s:
            auth.login_with_password(
                s, settings, email=email, password="wrong-password", ip="203.0.113.5"
            )
    failures = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(~LoginAttempt.succeeded)
    )
    assert failures == settings.login_max_failures
    with pytest.raises(RateLimited), unit_of_work(session_factory) as s:
        auth.login_with_password(s, settings, email=email, password=PASSWORD, ip="203.0.113.5")


def test_right_password_logs_in(session: Session, settings: Settings, network: Network) -> None:
    user = auth.login_with_password(
        session, settings, email=network.gb.user.email.upper(), password=PASSWORD, ip=None
    )
    assert user.id == network.gb.user.id
    assert user.last_login_at is not None


def test_agency_admins_manage_their_own_people_only(session: Session, network: Network) -> None:
    from taskforce.core.auth.models import User
    from taskforce.core.caller import Role
    from taskforce.core.errors import NotFound

    admin = network.gb_admin.caller
    assert auth.managed_user(session, admin, network.gb.user.id) is network.gb.user
    with pytest.raises(NotFound):  # another agency's person: as if unknown
        auth.managed_user(session, admin, network.nl.user.id)
    with pytest.raises(NotFound):
        auth.update_user(
            session,
            admin,
            user_id=network.nl.user.id,
            display_name="x",
            role=Role.READ_ONLY,
            is_active=False,
        )
    with pytest.raises(Invalid) as exc:
        auth.update_user(
            session,
            admin,
            user_id=network.gb.user.id,
            display_name="GB investigator",
            role=Role.NETWORK_ADMIN,
            is_active=True,
        )
    assert exc.value.field == "role"
    with pytest.raises(Invalid) as exc:  # no admin locks themselves out
        auth.update_user(
            session,
            admin,
            user_id=network.gb_admin.user.id,
            display_name="me",
            role=Role.AGENCY_ADMIN,
            is_active=False,
        )
    assert exc.value.field == "is_active"
    changed = auth.update_user(
        session,
        admin,
        user_id=network.gb.user.id,
        display_name="GB investigator",
        role=Role.ANALYST,
        is_active=False,
    )
    assert isinstance(changed, User)
    assert (changed.role, changed.is_active) == (Role.ANALYST.value, False)
    issued = auth.create_token(session, admin, Settings(), user=changed)
    with pytest.raises(AuthFailed):  # a disabled user's token stops working at once
        auth.caller_from_token(session, issued.secret, ip=None)
