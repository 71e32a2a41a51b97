"""The GREEN wallet watch list: an agency lists a wallet it found behind a commercial site (or
typed from elsewhere) with its reason, and every member agency receives the list, each entry
shown with the listing agency's code, so an exchange desk or a police unit anywhere can watch
for it. GREEN by construction: nothing but the chain, the address, the reason and who listed it
is on an entry, never the site or the case.

A removal keeps the row (`removed_at`, the reason): a member's tool that polls
`changes_since` learns that a wallet left the list as surely as that it joined it.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import wallets
from taskforce.commerce.kinds import Chain, IndicatorKind
from taskforce.commerce.models import CommerceIndicator, WalletWatch
from taskforce.commerce.service import own_indicator, own_row
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Conflict, Invalid

MAX_REASON = 500
CSV_COLUMNS = ("chain", "address", "agency", "listed_at", "reason")


@dataclass(frozen=True)
class WatchChange:
    """One wallet joining or leaving the list, for a member's tool that polls."""

    change: str  # listed | removed
    at: datetime
    chain: str
    address: str
    agency: str  # the listing agency's code
    reason: str  # why it was listed, or why removed


def _reason(raw: str, field: str = "reason") -> str:
    reason = " ".join(raw.split())
    if not reason:
        raise Invalid(field, "say why")
    if len(reason) > MAX_REASON:
        raise Invalid(field, f"at most {MAX_REASON} characters")
    return reason


def typed_wallet(text: str) -> tuple[Chain, str]:
    """An address as the hub's one wallet rule (`cases.wallets`) checks and normalises it."""
    try:
        found = wallets.validate(text.strip())
    except wallets.WalletError as error:
        raise Invalid("address", str(error)) from None
    return found.chain, found.address


def _own_wallet_indicator(
    session: Session, caller: Caller, indicator_id: uuid.UUID
) -> CommerceIndicator:
    indicator = own_indicator(session, caller, indicator_id)
    if indicator.kind != IndicatorKind.WALLET:
        raise Invalid("indicator", "only a wallet goes on the watch list")
    return indicator


def add(
    session: Session,
    caller: Caller,
    *,
    indicator_id: uuid.UUID | None = None,
    address: str | None = None,
    reason: str,
    now: datetime | None = None,
) -> WalletWatch:
    """List a wallet (one of the agency's wallet indicators, or a typed address) with its
    reason; a wallet the agency lists already is that entry, unchanged."""
    caller.require(Permission.INVESTIGATE_SITES)
    if caller.agency_id is None:
        raise Invalid("agency", "only a member agency's staff list wallets")
    if (indicator_id is None) == (address is None or not address.strip()):
        raise Invalid("address", "give one wallet: an indicator of your sites or an address")
    now = now or utcnow()
    reason = _reason(reason)
    if indicator_id is not None:
        indicator = _own_wallet_indicator(session, caller, indicator_id)
        chain, value = typed_wallet(indicator.value)
    else:
        assert address is not None
        chain, value = typed_wallet(address)
    existing = session.scalar(
        select(WalletWatch).where(
            sharing.owned_by(WalletWatch.owner_agency_id, caller),
            WalletWatch.address == value,
            WalletWatch.removed_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    watch = WalletWatch(
        owner_agency_id=caller.agency_id,
        chain=chain.value,
        address=value,
        indicator_id=indicator_id,
        reason=reason,
        listed_at=now,
        listed_by_user_id=caller.user_id,
    )
    session.add(watch)
    session.flush()
    audit.record(
        session,
        caller,
        action="commerce.watchlist.add",
        operation=Operation.COLLECTION,
        subject_type="wallet_watch",
        subject_id=watch.id,
        subject_agency_id=caller.agency_id,
        detail={"chain": watch.chain, "address": watch.address},
    )
    return watch


def remove(
    session: Session,
    caller: Caller,
    watch_id: uuid.UUID,
    *,
    reason: str,
    now: datetime | None = None,
) -> WalletWatch:
    """Take a wallet the agency listed off the list; the row stays, with when and why."""
    watch = own_row(
        session,
        caller,
        WalletWatch,
        watch_id,
        action="commerce.watchlist.remove",
        subject_type="wallet_watch",
        missing="watch list entry",
    )
    if watch.removed_at is not None:
        raise Conflict(f"the wallet left the list on {watch.removed_at:%Y-%m-%d}")
    watch.removed_at = now or utcnow()
    watch.removed_reason = _reason(reason)
    audit.record(
        session,
        caller,
        action="commerce.watchlist.remove",
        operation=Operation.ALTERATION,
        subject_type="wallet_watch",
        subject_id=watch.id,
        subject_agency_id=caller.agency_id,
        justification=watch.removed_reason,
        detail={"chain": watch.chain, "address": watch.address},
    )
    return watch


def current(session: Session, caller: Caller) -> list[WalletWatch]:
    """Every wallet on the list now, newest first: GREEN, every member with READ receives it."""
    caller.require(Permission.READ)
    rows = list(
        session.scalars(
            select(WalletWatch)
            .where(WalletWatch.removed_at.is_(None))
            .order_by(WalletWatch.listed_at.desc(), WalletWatch.id)
        )
    )
    audit.record(
        session,
        caller,
        action="commerce.watchlist.read",
        operation=Operation.CONSULTATION,
        detail={"shown": len(rows)},
    )
    return rows


def agency_codes(session: Session, watches: list[WalletWatch]) -> dict[uuid.UUID, str]:
    """The listing agencies' codes, by agency id: how an entry is shown."""
    listing = {agency for agency in (w.owner_agency_id for w in watches) if agency}
    agencies = agency_service.agencies_by_id(session, listing)
    return {agency_id: agency.code for agency_id, agency in agencies.items()}


def listed_by(watch: WalletWatch, codes: dict[uuid.UUID, str]) -> str:
    """Who listed an entry: an agency of this hub by its code, a peer node's by its label."""
    agency = watch.owner_agency_id
    return watch.listed_by_label if agency is None else codes.get(agency, "")


def _cell(text: str) -> str:
    """A cell a spreadsheet would read as a formula is kept as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(session: Session, caller: Caller) -> str:
    """The list now as CSV (chain, address, agency, listed_at, reason)."""
    rows = current(session, caller)
    codes = agency_codes(session, rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for watch in rows:
        writer.writerow(
            (
                watch.chain,
                watch.address,
                listed_by(watch, codes),
                watch.listed_at.isoformat(),
                _cell(watch.reason),
            )
        )
    return buffer.getvalue()


def changes_since(session: Session, caller: Caller, since: datetime) -> list[WatchChange]:
    """Wallets listed or removed after `since`, oldest first, so a member's tool can poll."""
    caller.require(Permission.READ)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    rows = list(
        session.scalars(
            select(WalletWatch).where(
                or_(WalletWatch.listed_at > since, WalletWatch.removed_at > since)
            )
        )
    )
    codes = agency_codes(session, rows)
    changes: list[WatchChange] = []
    for watch in rows:
        code = listed_by(watch, codes)
        if watch.listed_at > since:
            changes.append(
                WatchChange(
                    "listed", watch.listed_at, watch.chain, watch.address, code, watch.reason
                )
            )
        if watch.removed_at is not None and watch.removed_at > since:
            changes.append(
                WatchChange(
                    "removed",
                    watch.removed_at,
                    watch.chain,
                    watch.address,
                    code,
                    watch.removed_reason,
                )
            )
    changes.sort(key=lambda c: (c.at, c.change != "listed", c.address))
    audit.record(
        session,
        caller,
        action="commerce.watchlist.changes",
        operation=Operation.CONSULTATION,
        detail={"since": since.isoformat(), "shown": len(changes)},
    )
    return changes
