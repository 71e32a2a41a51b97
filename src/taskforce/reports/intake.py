"""What guards the public report form, which has no login and no cookie: a signed form token
(CSRF protection without a cookie), throttles keyed by a keyed hash of the address, receipt
codes (only their SHA-256 kept), and the facts of a reported URL (host, registrable domain).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from publicsuffixlist import PublicSuffixList
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from taskforce.blocklist import normalise
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.reports.models import (
    ReportThrottle,
)
from taskforce.reports.schemas import (
    ReportInvalid,
)

WINDOW = timedelta(minutes=10)
REPORTS_PER_ADDRESS = 5  # per WINDOW
RECEIPT_TRIES_PER_ADDRESS = 10  # wrong codes per WINDOW, against guessing
ADDITIONS_PER_RECEIPT_HOUR = 5
FORM_TOKEN_AGE = 4 * 3600  # seconds a form may stay open

# No 0/O, 1/I/L: read aloud or copied by hand without mistakes. 31^16 ≈ 7e23 codes.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# --- form token: CSRF protection without a cookie ---------------------------------------------


def _sign(settings: Settings, text: str) -> str:
    return hmac.new(settings.secret_key.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def form_token(settings: Settings, now: float | None = None) -> str:
    """A signed, time-limited token for the hidden field: a page of this site must have been
    fetched (by anyone) within the last hours for a post to count."""
    issued = str(int(now if now is not None else time.time()))
    return f"{issued}.{_sign(settings, 'report-form:' + issued)}"


def check_form_token(settings: Settings, token: str, now: float | None = None) -> None:
    issued, _, signature = (token or "").partition(".")
    current = now if now is not None else time.time()
    valid = (
        issued.isdigit()
        and hmac.compare_digest(signature, _sign(settings, "report-form:" + issued))
        and 0 <= current - int(issued) <= FORM_TOKEN_AGE
    )
    if not valid:
        raise ReportInvalid("form", "err_form")


# --- throttle -------------------------------------------------------------------------------


def address_key(settings: Settings, scope: str, address: str | None) -> str:
    """A keyed hash of the sender's address: enough to count, useless without the key."""
    return hmac.new(
        settings.secret_key.encode(),
        f"report-{scope}:{address or 'unknown'}".encode(),
        hashlib.sha256,
    ).hexdigest()


_PURGE_EVERY = 60.0  # seconds between purges of expired throttle rows, per process
_last_purge = 0.0


def purge_throttle(session: Session) -> int:
    """Delete throttle rows older than the window (the worker does it every round too)."""
    result = session.execute(delete(ReportThrottle).where(ReportThrottle.at < utcnow() - WINDOW))
    return int(getattr(result, "rowcount", 0) or 0)


def over_limit(session: Session, key: str, limit: int) -> bool:
    """Whether this sender already used up the window; expired rows are purged at most once a
    minute from the request path (every report paid for a DELETE before)."""
    global _last_purge
    if time.monotonic() - _last_purge > _PURGE_EVERY:
        _last_purge = time.monotonic()
        purge_throttle(session)
    recent = session.scalar(
        select(func.count()).where(
            ReportThrottle.key_hash == key, ReportThrottle.at >= utcnow() - WINDOW
        )
    )
    return (recent or 0) >= limit


# --- receipts -------------------------------------------------------------------------------


def new_receipt_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def receipt_hash(code: str) -> str:
    """Codes are compared without case, spaces or dashes, as people type them back."""
    canonical = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- URL facts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UrlFacts:
    url_hash: str  # sha256 of the block list's key: the same page however it was written
    host: str  # without port, as resolved for routing
    domain: str | None  # registrable domain (public suffix list), None for an IP literal


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # ICANN and private suffixes: user.blogspot.com is its own domain


def url_facts(url: str) -> UrlFacts | None:
    """What duplicates and routing need of a reported URL; None when it cannot be read."""
    try:
        parts = normalise.split(url if "://" in url else f"http://{url}")
    except Invalid:
        return None
    key = f"{parts.host}{parts.path}?{parts.query}" if parts.query else parts.host + parts.path
    host = parts.host
    if host.startswith("["):
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    try:
        ipaddress.ip_address(host)
        domain = None
    except ValueError:
        domain = _suffixes().privatesuffix(host) or host
    return UrlFacts(hashlib.sha256(key.encode()).hexdigest(), host, domain)
