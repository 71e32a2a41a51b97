"""Authentication: passwords (argon2), API tokens (shown once, stored as SHA-256), web sessions
and login rate limiting; and turning credentials into a `Caller`.

API tokens are 256-bit random secrets, so a fast hash is enough to store them safely (there is
nothing to brute-force); passwords are low-entropy and get argon2. Failed logins are counted per
(account, address), per account and per address (`throttle`, which says why a guesser cannot
lock a user out); past a limit no password is checked, so a guesser learns nothing.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.auth import throttle
from taskforce.core.auth.models import ApiToken, LoginAttempt, User, WebSession
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.db import Base, keep_on_rollback, utcnow
from taskforce.core.errors import AuthFailed, Conflict, Invalid, NotFound
from taskforce.core.settings import Settings


def production_hasher() -> PasswordHasher:
    """argon2id at argon2-cffi's default cost (RFC 9106's second recommendation: 64 MiB,
    three passes, four lanes); the test suite swaps in a cheap one."""
    return PasswordHasher()


_hasher = production_hasher()
TOKEN_PREFIX = "tf_"  # noqa: S105 - a marker, not a secret
MIN_PASSWORD_LENGTH = 12


def _agency_table() -> Table:
    # Read by table name: core must not import the agencies domain (import rules).
    return Base.metadata.tables["agency"]


def agency_row(
    session: Session, *, code: str | None = None, agency_id: uuid.UUID | None = None
) -> Any:
    table = _agency_table()
    stmt = select(table.c.id, table.c.code, table.c.country)
    if code is not None:
        stmt = stmt.where(table.c.code == code.strip().upper())
    else:
        stmt = stmt.where(table.c.id == agency_id)
    return session.execute(stmt).first()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("password", f"at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _normalise_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@") or " " in email:
        raise Invalid("email", "must be an e-mail address like name@example.com")
    return email


def create_user(
    session: Session,
    caller: Caller,
    *,
    email: str,
    agency_code: str,
    role: Role,
    password: str | None = None,
    display_name: str | None = None,
) -> User:
    caller.require(Permission.MANAGE_USERS)
    email = _normalise_email(email)
    agency = agency_row(session, code=agency_code)
    if agency is None:
        raise Invalid("agency", f"no member agency with code {agency_code.strip().upper()}")
    if caller.role != Role.NETWORK_ADMIN:
        if agency.id != caller.agency_id:
            raise Invalid("agency", "agency admins add users to their own agency only")
        if role == Role.NETWORK_ADMIN:
            raise Invalid("role", "only a network admin can make a network admin")
        if role == Role.PROVIDER:
            raise Invalid("role", "only a network admin can add an internet provider")
    if role == Role.PROVIDER and password:
        raise Invalid("password", "internet providers sign in with API tokens only")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with e-mail {email} already exists")
    user = User(
        email=email,
        display_name=(display_name or email.split("@")[0]).strip()[:200],
        agency_id=agency.id,
        role=role.value,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        caller,
        action="user.create",
        operation=Operation.COLLECTION,
        subject_type="user",
        subject_id=user.id,
        subject_agency_id=agency.id,
        detail={"email": email, "role": role.value},
    )
    return user


def set_password(session: Session, caller: Caller, *, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    session.flush()
    audit.record(
        session,
        caller,
        action="user.password",
        operation=Operation.ALTERATION,
        subject_type="user",
        subject_id=user.id,
        subject_agency_id=user.agency_id,
    )


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def caller_for(session: Session, user: User, *, channel: str, **extra: Any) -> Caller:
    agency = agency_row(session, agency_id=user.agency_id)
    return Caller(
        role=Role(user.role),
        channel=channel,
        user_id=user.id,
        agency_id=user.agency_id,
        agency_code=agency.code if agency else None,
        country=agency.country if agency else None,
        email=user.email,
        **extra,
    )


# --- passwords and rate limiting ----------------------------------------------------------


def login_with_password(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    ip: str | None,
    now: datetime | None = None,
) -> User:
    """Check a password login. Every attempt is audited; failures are recorded too, and kept
    when the unit of work rolls back, so the limits cannot be dodged. A try the throttle
    refuses checks no password and is not counted as a failure (`throttle`)."""
    email = email.strip().lower()[:320]
    now = now or utcnow()
    anonymous = Caller(role=Role.READ_ONLY, channel="web", email=email, ip=ip)
    try:
        throttle.check(session, settings, email=email, ip=ip, now=now)
    except throttle.SignInPaused:
        audit.record(
            session,
            anonymous,
            action="auth.login",
            operation=Operation.AUTHENTICATION,
            outcome="rate_limited",
        )
        raise
    user = find_user(session, email)
    ok = False
    if user is not None and user.is_active and user.password_hash:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        # Spend the same time as a real check so timing does not reveal which e-mails exist.
        with contextlib.suppress(VerificationError, InvalidHashError):
            _hasher.verify(_dummy_hash(), password)
    if not ok or user is None:
        _keep_failed_attempt(session, email=email, ip=ip, at=now)
        audit.record(
            session,
            anonymous,
            action="auth.login",
            operation=Operation.AUTHENTICATION,
            outcome="denied",
        )
        raise AuthFailed("wrong e-mail or password")
    session.add(LoginAttempt(email=email, ip=ip, succeeded=True, at=now))
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash or ""):
        user.password_hash = _hasher.hash(password)
    audit.record(
        session,
        caller_for(session, user, channel="web", ip=ip),
        action="auth.login",
        operation=Operation.AUTHENTICATION,
        subject_type="user",
        subject_id=user.id,
        subject_agency_id=user.agency_id,
    )
    session.flush()
    return user


def _keep_failed_attempt(session: Session, *, email: str, ip: str | None, at: datetime) -> None:
    def write(s: Session) -> None:
        s.add(LoginAttempt(email=email, ip=ip, succeeded=False, at=at))
        s.flush()

    write(session)
    keep_on_rollback(session, write)


@functools.cache
def _dummy_hash() -> str:
    """Made at the first failed login, not at import: every `taskforce` command paid for it."""
    return _hasher.hash("not-a-real-password-but-same-cost")


# --- API tokens -----------------------------------------------------------------------------


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    record: ApiToken
    secret: str


def create_token(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    user: User,
    name: str = "api",
    days: int | None = None,
) -> IssuedToken:
    if caller.user_id != user.id:
        caller.require(Permission.MANAGE_USERS)
        if caller.role != Role.NETWORK_ADMIN and caller.agency_id != user.agency_id:
            raise NotFound("user")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "api",
        prefix=secret[:10],
        token_hash=_token_digest(secret),
        expires_at=utcnow() + timedelta(days=days or settings.token_days),
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        caller,
        action="token.create",
        operation=Operation.COLLECTION,
        subject_type="api_token",
        subject_id=record.id,
        subject_agency_id=user.agency_id,
        detail={"user": user.email, "name": record.name},
    )
    return IssuedToken(record=record, secret=secret)


def revoke_token(session: Session, caller: Caller, *, token_id: uuid.UUID) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("token")
    owner = session.get(User, token.user_id)
    assert owner is not None
    may_manage = caller.can(Permission.MANAGE_USERS) and (
        caller.role == Role.NETWORK_ADMIN or caller.agency_id == owner.agency_id
    )
    if caller.user_id != owner.id and not may_manage:
        raise NotFound("token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            caller,
            action="token.revoke",
            operation=Operation.ALTERATION,
            subject_type="api_token",
            subject_id=token.id,
            subject_agency_id=owner.agency_id,
        )
    session.flush()
    return token


def list_tokens(session: Session, caller: Caller) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == caller.user_id).order_by(ApiToken.created_at)
        )
    )


def caller_from_token(session: Session, token: str, *, ip: str | None) -> Caller:
    """Resolve a bearer token; unknown, expired, revoked or inactive all answer 401 alike.

    One query for the token, its user and the user's agency (every API request pays it, twice
    a round trip less than reading them one by one); nothing is cached, so a revoked token or
    a disabled user stops working at once in every server process."""
    agency = _agency_table()
    row = session.execute(
        select(
            ApiToken.id.label("token_id"),
            ApiToken.revoked_at,
            ApiToken.expires_at,
            ApiToken.last_used_at,
            User.id.label("user_id"),
            User.role,
            User.agency_id,
            User.email,
            User.is_active,
            agency.c.code,
            agency.c.country,
        )
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(agency, agency.c.id == User.agency_id)
        .where(ApiToken.token_hash == _token_digest(token))
    ).first()
    now = utcnow()
    if row is None:
        raise AuthFailed("invalid, expired or revoked token")
    if row.revoked_at is not None or row.expires_at <= now or not row.is_active:
        raise AuthFailed("invalid, expired or revoked token")
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        session.execute(
            update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_at=now)
        )
    return Caller(
        role=Role(row.role),
        channel="api",
        user_id=row.user_id,
        agency_id=row.agency_id,
        agency_code=row.code,
        country=row.country,
        email=row.email,
        token_id=row.token_id,
        ip=ip,
    )


# --- web sessions ---------------------------------------------------------------------------


def open_web_session(session: Session, settings: Settings, *, user: User) -> WebSession:
    web_session = WebSession(
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=settings.session_hours),
    )
    session.add(web_session)
    session.flush()
    return web_session


def resolve_web_session(
    session: Session, session_id: uuid.UUID, *, ip: str | None
) -> tuple[WebSession, Caller] | None:
    web_session = session.get(WebSession, session_id)
    if web_session is None or web_session.revoked_at is not None:
        return None
    if web_session.expires_at <= utcnow():
        return None
    user = session.get(User, web_session.user_id)
    if user is None or not user.is_active or user.role == Role.PROVIDER:
        return None
    return web_session, caller_for(session, user, channel="web", ip=ip)


def close_web_session(session: Session, session_id: uuid.UUID) -> None:
    web_session = session.get(WebSession, session_id)
    if web_session is not None and web_session.revoked_at is None:
        web_session.revoked_at = utcnow()
        session.flush()


def list_users(
    session: Session, caller: Caller, *, agency_id: uuid.UUID | None = None
) -> list[User]:
    caller.require(Permission.MANAGE_USERS)
    stmt = select(User).order_by(User.email)
    if caller.role != Role.NETWORK_ADMIN:
        stmt = stmt.where(User.agency_id == caller.agency_id)
    elif agency_id is not None:
        stmt = stmt.where(User.agency_id == agency_id)
    return list(session.scalars(stmt))


def user_by_id(session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def expiry(days: int) -> datetime:
    return utcnow() + timedelta(days=days)


# --- managing people (the admins' pages) -----------------------------------------------------


def agency_choices(session: Session, caller: Caller) -> list[tuple[str, str]]:
    """(code, name) of the agencies the caller adds people to: every one for the network
    admin, its own for an agency admin."""
    caller.require(Permission.MANAGE_USERS)
    table = _agency_table()
    query = select(table.c.code, table.c.name).order_by(table.c.code)
    if caller.role != Role.NETWORK_ADMIN:
        query = query.where(table.c.id == caller.agency_id)
    return [(row.code, row.name) for row in session.execute(query)]


def agency_codes(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The codes of these agencies, by id (for lists of people)."""
    if not ids:
        return {}
    table = _agency_table()
    rows = session.execute(select(table.c.id, table.c.code).where(table.c.id.in_(ids)))
    return {row.id: row.code for row in rows}


def managed_user(session: Session, caller: Caller, user_id: uuid.UUID) -> User:
    """A user the caller manages: any for the network admin, its own agency's for an agency
    admin; anyone else is NotFound, as for an unknown id."""
    caller.require(Permission.MANAGE_USERS)
    user = session.get(User, user_id)
    if user is None or (caller.role != Role.NETWORK_ADMIN and user.agency_id != caller.agency_id):
        raise NotFound("user")
    return user


def update_user(
    session: Session,
    caller: Caller,
    *,
    user_id: uuid.UUID,
    display_name: str,
    role: Role,
    is_active: bool,
) -> User:
    """Rename, change the role of, disable or enable a user; audited with what changed. A
    disabled user's sessions and tokens stop working at once (both check `is_active`)."""
    user = managed_user(session, caller, user_id)
    if caller.role != Role.NETWORK_ADMIN and role in (Role.NETWORK_ADMIN, Role.PROVIDER):
        raise Invalid("role", f"only a network admin can make a {role.value.replace('_', ' ')}")
    if caller.role != Role.NETWORK_ADMIN and user.role == Role.NETWORK_ADMIN.value:
        raise Invalid("role", "only a network admin changes a network admin")
    if user.id == caller.user_id and (not is_active or role.value != user.role):
        raise Invalid("is_active", "you cannot disable yourself or change your own role")
    if role == Role.PROVIDER and user.password_hash:
        raise Invalid("role", "internet providers sign in with API tokens only")
    name = display_name.strip()
    if not name:
        raise Invalid("display_name", "at least 1 character")
    wanted = {"display_name": name[:200], "role": role.value, "is_active": is_active}
    changes = sorted(k for k, v in wanted.items() if getattr(user, k) != v)
    for key in changes:
        setattr(user, key, wanted[key])
    session.flush()
    if changes:
        audit.record(
            session,
            caller,
            action="user.update",
            operation=Operation.ALTERATION,
            subject_type="user",
            subject_id=user.id,
            subject_agency_id=user.agency_id,
            detail={"email": user.email, "changes": changes, "role": user.role},
        )
    return user


def tokens_of(session: Session, caller: Caller, user: User) -> list[ApiToken]:
    """A managed user's tokens, newest first (prefixes only: the secret is never kept)."""
    managed_user(session, caller, user.id)
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
        )
    )
