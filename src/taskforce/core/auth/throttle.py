"""Sign-in throttling that slows password guessing without letting a guesser lock people out.

Threats, and what answers each:

- **Guessing one account from one place.** Each (account, address) pair has
  `login_max_failures` failed tries (since its last success) within `login_window_minutes`;
  then that pair pauses until the oldest of those failures leaves the window. A refused try
  is not a failure and checks no password, so hammering a paused pair neither extends the
  pause nor learns anything.
- **Guessing one account from many places** (a botnet). Past `login_account_max_failures`
  failures on the account within the window, the account accepts passwords only from
  addresses it has signed in from within `login_known_address_days`. Its owner, at their usual
  office, proxy or NAT, is not affected: the guesser cannot lock them out from elsewhere,
  however long they keep guessing.
- **Spraying many accounts from one place.** Past `login_address_max_failures` failures from
  one address within the window, that address may sign in only to accounts that have signed
  in from it before. The ceiling is high because police sit behind shared proxies and NAT.

The only lock a guesser can impose is on the pair they guess from: someone behind the same
address as their target (an insider behind the same NAT). An admin sees every lock and can
lift it (`taskforce user unlock`, the Sign-in locks page), audited.

Nothing is remembered per request but the `login_attempt` rows; each check is one indexed
query, so the rules hold across worker processes and restarts. The address is the one
`client_ip` reports: forwarded headers count only from `trusted_proxies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Select, delete, func, select
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth.models import LoginAttempt, User
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, NotFound, RateLimited
from taskforce.core.settings import Settings


class SignInPaused(RateLimited):
    """A sign-in refused by the throttle, with the moment it lifts (for `Retry-After`)."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


@dataclass(frozen=True)
class Lock:
    """A limit in force: on a pair, an account (unknown addresses) or an address."""

    kind: str  # "pair", "account" or "address"
    email: str | None
    ip: str | None
    failures: int
    until: datetime


def _hhmm(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _failures(*conditions: ColumnElement[bool]) -> Select[Any]:
    return select(LoginAttempt.at).where(~LoginAttempt.succeeded, *conditions)


def _lifts_at(
    session: Session, stmt: Select[Any], limit: int, since: datetime, window: timedelta
) -> datetime | None:
    """When a sliding-window limit in force lifts, or None if it is not in force: the
    `limit`-th newest failure in the window leaving it brings the count under the limit."""
    nth: datetime | None = session.scalar(
        stmt.where(LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    return nth + window if nth is not None else None


def _address_is(ip: str | None) -> ColumnElement[bool]:
    return LoginAttempt.ip == ip if ip else LoginAttempt.ip.is_(None)


def _last_success(session: Session, email: str, ip: str | None, since: datetime) -> datetime | None:
    return session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.succeeded,
            LoginAttempt.email == email,
            _address_is(ip),
            LoginAttempt.at >= since,
        )
    )


def check(
    session: Session, settings: Settings, *, email: str, ip: str | None, now: datetime
) -> None:
    """Raise `SignInPaused` if a limit refuses this (account, address) now, saying which."""
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    known_since = now - timedelta(days=settings.login_known_address_days)
    last_ok = _last_success(session, email, ip, known_since)

    pair_since = max(since, last_ok) if last_ok else since
    same_ip = _address_is(ip)
    until = _lifts_at(
        session,
        _failures(LoginAttempt.email == email, same_ip),
        settings.login_max_failures,
        pair_since,
        window,
    )
    if until is not None:
        raise SignInPaused(
            f"too many failed sign-ins to this account from your address: it is paused here "
            f"until {_hhmm(until)} (other addresses are not affected; an admin can lift it)",
            until,
        )
    if last_ok is not None:
        return  # a known address: only its own pair's limit applies
    until = _lifts_at(
        session,
        _failures(LoginAttempt.email == email),
        settings.login_account_max_failures,
        since,
        window,
    )
    if until is not None:
        raise SignInPaused(
            f"this account has had too many failed sign-ins: until {_hhmm(until)} it accepts "
            "them only from addresses it has signed in from before (ask your agency admin to "
            "lift the limit)",
            until,
        )
    if ip:
        until = _lifts_at(
            session,
            _failures(LoginAttempt.ip == ip),
            settings.login_address_max_failures,
            since,
            window,
        )
        if until is not None:
            raise SignInPaused(
                f"too many failed sign-ins from your address: until {_hhmm(until)} it may sign "
                "in only to accounts that have signed in from it before (an admin can lift it)",
                until,
            )


# --- what admins see and lift ---------------------------------------------------------------


def _agency_emails(session: Session, caller: Caller) -> set[str] | None:
    """The accounts whose locks the caller may see: None for every one (network admin)."""
    caller.require(Permission.MANAGE_USERS)
    if caller.role == Role.NETWORK_ADMIN:
        return None
    return set(session.scalars(select(User.email).where(User.agency_id == caller.agency_id)))


def locks(
    session: Session, caller: Caller, settings: Settings, *, now: datetime | None = None
) -> list[Lock]:
    """The limits in force now. An agency admin sees those on their agency's accounts; the
    network admin every one, addresses and unknown e-mails included. Audited."""
    now = now or utcnow()
    mine = _agency_emails(session, caller)
    since = now - timedelta(minutes=settings.login_window_minutes)
    window = timedelta(minutes=settings.login_window_minutes)
    recent = (~LoginAttempt.succeeded, LoginAttempt.at > since)
    found: list[Lock] = []

    pairs = session.execute(
        select(LoginAttempt.email, LoginAttempt.ip, func.count())
        .where(*recent)
        .group_by(LoginAttempt.email, LoginAttempt.ip)
        .having(func.count() >= settings.login_max_failures)
    ).all()
    for email, ip, count in pairs:
        if mine is not None and email not in mine:
            continue
        try:
            check(session, _pair_only(settings), email=email, ip=ip, now=now)
        except SignInPaused as paused:
            found.append(Lock("pair", email, ip, count, paused.until))

    accounts = session.execute(
        select(LoginAttempt.email, func.count())
        .where(*recent)
        .group_by(LoginAttempt.email)
        .having(func.count() >= settings.login_account_max_failures)
    ).all()
    for email, count in accounts:
        if mine is not None and email not in mine:
            continue
        until = _lifts_at(
            session,
            _failures(LoginAttempt.email == email),
            settings.login_account_max_failures,
            since,
            window,
        )
        if until is not None:
            found.append(Lock("account", email, None, count, until))

    if mine is None:
        addresses = session.execute(
            select(LoginAttempt.ip, func.count())
            .where(*recent, LoginAttempt.ip.is_not(None))
            .group_by(LoginAttempt.ip)
            .having(func.count() >= settings.login_address_max_failures)
        ).all()
        for ip, count in addresses:
            until = _lifts_at(
                session,
                _failures(LoginAttempt.ip == ip),
                settings.login_address_max_failures,
                since,
                window,
            )
            if until is not None:
                found.append(Lock("address", None, ip, count, until))

    audit.record(
        session,
        caller,
        action="auth.locks.list",
        operation=Operation.CONSULTATION,
        detail={"locks": len(found)},
    )
    return sorted(found, key=lambda lock: (lock.until, lock.kind), reverse=True)


def _pair_only(settings: Settings) -> Settings:
    """The settings with the account and address ceilings out of reach (to test a pair)."""
    huge = 1 << 30
    return settings.model_copy(
        update={"login_account_max_failures": huge, "login_address_max_failures": huge}
    )


def lift(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    email: str | None = None,
    ip: str | None = None,
    now: datetime | None = None,
) -> int:
    """Lift the locks on an account (every address), an address (every account; network
    admin only) or one pair, by forgetting the failures that count towards them. The audit
    log keeps each failed attempt; the lifting is audited with who, what and how many."""
    now = now or utcnow()
    email = email.strip().lower() if email else None
    ip = ip.strip() if ip else None
    if not email and not ip:
        raise Invalid("email", "name an account, an address, or both")
    mine = _agency_emails(session, caller)
    if mine is not None:
        if email is None:
            raise Invalid("address", "only the network admin lifts a lock on a whole address")
        if email not in mine:
            raise NotFound("account")
    since = now - timedelta(minutes=settings.login_window_minutes)
    conditions = [~LoginAttempt.succeeded, LoginAttempt.at >= since]
    if email:
        conditions.append(LoginAttempt.email == email)
    if ip:
        conditions.append(LoginAttempt.ip == ip)
    result = cast(CursorResult[Any], session.execute(delete(LoginAttempt).where(*conditions)))
    forgotten = result.rowcount or 0
    user = session.scalar(select(User).where(User.email == email)) if email else None
    audit.record(
        session,
        caller,
        action="auth.unlock",
        operation=Operation.ALTERATION,
        subject_type="user" if user else None,
        subject_id=user.id if user else None,
        subject_agency_id=user.agency_id if user else None,
        detail={"email": email, "ip": ip, "failures_forgotten": forgotten},
    )
    session.flush()
    return forgotten
