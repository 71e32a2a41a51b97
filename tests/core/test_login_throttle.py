"""Sign-in throttling: guessing is slowed per (account, address), per account and per address,
but a guesser can never lock a user out from where the user signs in, a refused try checks no
password and extends nothing, and admins see and lift every lock (audited). Clocks are passed
in: nothing here depends on today's date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import PASSWORD, Network
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.auth import service as auth
from taskforce.core.auth import throttle
from taskforce.core.auth.models import LoginAttempt
from taskforce.core.caller import system_caller
from taskforce.core.errors import AuthFailed, Forbidden, Invalid, NotFound
from taskforce.core.settings import Settings

T0 = datetime(2031, 3, 4, 9, 0, tzinfo=UTC)
OFFICE = "203.0.113.10"  # where the owner signs in
GUESSER = "198.51.100.66"


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _try(
    session: Session, settings: Settings, email: str, password: str, ip: str, minutes: float
) -> str:
    """One sign-in: "ok", "denied" (wrong password, counted) or "paused" (refused unchecked)."""
    try:
        auth.login_with_password(
            session, settings, email=email, password=password, ip=ip, now=_at(minutes)
        )
    except throttle.SignInPaused:
        return "paused"
    except AuthFailed:
        return "denied"
    return "ok"


def _failures(session: Session, **where: str) -> int:
    stmt = select(func.count()).select_from(LoginAttempt).where(~LoginAttempt.succeeded)
    for name, value in where.items():
        stmt = stmt.where(getattr(LoginAttempt, name) == value)
    return session.scalar(stmt) or 0


def _seed_failures(session: Session, *, email: str, ip: str, count: int, minutes: float) -> None:
    """Failed attempts written directly (no argon2): for the ceilings' large counts."""
    session.add_all(
        LoginAttempt(email=email, ip=ip, succeeded=False, at=_at(minutes)) for _ in range(count)
    )
    session.flush()


def test_a_pair_pauses_after_its_failures_and_a_refused_try_extends_nothing(
    session: Session, settings: Settings, network: Network
) -> None:
    email = network.gb.user.email
    for minute in range(settings.login_max_failures):
        assert _try(session, settings, email, "wrong-password-1", GUESSER, minute) == "denied"
    # the right password is refused unchecked while paused, and is not counted as a failure
    for minute in (5, 8, 14):
        assert _try(session, settings, email, PASSWORD, GUESSER, minute) == "paused"
    assert _failures(session, email=email) == settings.login_max_failures
    # the pause lifts when the oldest failure leaves the window, refused tries notwithstanding
    lifts = settings.login_window_minutes
    with pytest.raises(throttle.SignInPaused) as paused:
        auth.login_with_password(
            session, settings, email=email, password=PASSWORD, ip=GUESSER, now=_at(lifts - 0.1)
        )
    assert paused.value.until == _at(lifts)
    assert "from your address" in paused.value.message
    assert "09:15 UTC" in paused.value.message
    assert _try(session, settings, email, PASSWORD, GUESSER, lifts) == "ok"


def test_guessing_from_one_address_never_locks_the_owner_out_elsewhere(
    session: Session, settings: Settings, network: Network
) -> None:
    email = network.gb.user.email
    for minute in range(settings.login_max_failures):
        _try(session, settings, email, "wrong-password-1", GUESSER, minute)
    assert _try(session, settings, email, PASSWORD, GUESSER, 6) == "paused"
    assert _try(session, settings, email, PASSWORD, OFFICE, 6) == "ok"


def test_a_success_resets_its_pair(session: Session, settings: Settings, network: Network) -> None:
    email = network.gb.user.email
    for minute in range(settings.login_max_failures - 1):
        _try(session, settings, email, "wrong-password-1", OFFICE, minute)
    assert _try(session, settings, email, PASSWORD, OFFICE, 5) == "ok"
    assert _try(session, settings, email, "typo-password-1", OFFICE, 6) == "denied"
    assert _try(session, settings, email, PASSWORD, OFFICE, 7) == "ok"


def test_a_distributed_guesser_cannot_lock_the_owner_out_however_long_it_guesses(
    session: Session, settings: Settings, network: Network
) -> None:
    """A botnet guesses the account from a new address twice a minute for an hour; the owner
    signs in from the office every ten minutes and always gets in. Other new addresses are
    refused once the account's ceiling is reached, whatever the password."""
    settings = settings.model_copy(update={"login_account_max_failures": 6})  # fewer argon2 runs
    email = network.gb.user.email
    assert _try(session, settings, email, PASSWORD, OFFICE, -60 * 24) == "ok"  # yesterday
    outcomes = []
    for step in range(120):
        bot, minute = f"192.0.2.{step}", step / 2
        outcomes.append(_try(session, settings, email, f"guess-number-{step:04d}", bot, minute))
        if step % 20 == 0:
            assert _try(session, settings, email, PASSWORD, OFFICE, minute + 0.1) == "ok", minute
    assert outcomes.count("paused") > 80  # most guesses never reached a password check
    window = settings.login_window_minutes
    assert outcomes.count("denied") <= settings.login_account_max_failures * (60 // window + 1)
    first_refusal = outcomes.index("paused") / 2
    with pytest.raises(throttle.SignInPaused) as paused:  # the right password, a new address
        auth.login_with_password(
            session,
            settings,
            email=email,
            password=PASSWORD,
            ip="192.0.2.250",
            now=_at(first_refusal),
        )
    assert "addresses it has signed in from before" in paused.value.message


def test_a_sprayer_does_not_lock_out_colleagues_behind_the_same_address(
    session: Session, settings: Settings, network: Network
) -> None:
    shared = "203.0.113.200"  # an agency's NAT
    assert _try(session, settings, network.gb.user.email, PASSWORD, shared, -30) == "ok"
    for n in range(settings.login_address_max_failures):
        _seed_failures(session, email=f"victim{n}@example.org", ip=shared, count=1, minutes=0)
    # an account never used from there is refused from there (its password unchecked) ...
    assert _try(session, settings, network.gb_analyst.user.email, PASSWORD, shared, 1) == "paused"
    # ... from elsewhere it signs in; and the colleague who has signed in from there still can
    assert _try(session, settings, network.gb_analyst.user.email, PASSWORD, OFFICE, 1) == "ok"
    assert _try(session, settings, network.gb.user.email, PASSWORD, shared, 1) == "ok"


def test_admins_see_locks_of_their_own_agency_and_lift_them_audited(
    session: Session, settings: Settings, network: Network
) -> None:
    now = _at(3)
    _seed_failures(session, email=network.gb.user.email, ip=GUESSER, count=5, minutes=0)
    _seed_failures(session, email=network.nl.user.email, ip=GUESSER, count=5, minutes=0)
    _seed_failures(session, email="nobody@example.org", ip="192.0.2.9", count=100, minutes=0)

    admin = network.gb_admin.caller
    seen = throttle.locks(session, admin, settings, now=now)
    assert [(lock.kind, lock.email, lock.ip) for lock in seen] == [
        ("pair", network.gb.user.email, GUESSER)
    ]
    assert seen[0].until == _at(settings.login_window_minutes)
    assert seen[0].failures == 5
    everything = throttle.locks(session, system_caller(), settings, now=now)
    assert {(lock.kind, lock.email or lock.ip) for lock in everything} == {
        ("pair", network.gb.user.email),
        ("pair", network.nl.user.email),
        ("pair", "nobody@example.org"),
        ("account", "nobody@example.org"),
        ("address", "192.0.2.9"),
    }

    with pytest.raises(NotFound):
        throttle.lift(session, admin, settings, email=network.nl.user.email, now=now)
    with pytest.raises(Invalid) as exc:
        throttle.lift(session, admin, settings, ip="192.0.2.9", now=now)
    assert exc.value.field == "address"
    with pytest.raises(Forbidden):
        throttle.locks(session, network.gb.caller, settings, now=now)

    assert throttle.lift(session, admin, settings, email=network.gb.user.email, now=now) == 5
    assert throttle.locks(session, admin, settings, now=now) == []
    assert _try(session, settings, network.gb.user.email, PASSWORD, GUESSER, 3) == "ok"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "auth.unlock").order_by(AuditEntry.seq)
    ).one()
    assert entry.actor_user_id == network.gb_admin.user.id
    assert entry.subject_id == network.gb.user.id
    assert entry.detail == {"email": network.gb.user.email, "ip": None, "failures_forgotten": 5}
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "auth.locks.list")
        )
        == 3
    )

    assert throttle.lift(session, system_caller(), settings, ip="192.0.2.9", now=now) == 100
    assert [lock.kind for lock in throttle.locks(session, system_caller(), settings, now=now)] == [
        "pair"
    ]
