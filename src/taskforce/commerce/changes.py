"""What changed on a site between two of its finished crawls, in the analyst's words: a new
wallet, a processor no longer named, an analytics id changed, a host moved, the template
changed; pages new and gone, and pages whose answer changed. It is read from the sightings each
crawl recorded (an indicator is on a crawl when one of its pages showed it), so a recrawl that
finds the same shop under a new name says so at once. A site's history is the same, crawl by
crawl. The graph keeps its own history (its runs); this one is per site.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.commerce import service
from taskforce.commerce.kinds import IndicatorKind as K
from taskforce.commerce.models import (
    CommerceCrawl,
    CommerceIndicator,
    CommercePage,
    CommerceSighting,
    CommerceSite,
)
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.errors import Invalid

DESCRIPTOR = "descriptor"  # a merchant indicator that is the statement descriptor, not an id
FINISHED = ("done", "failed")  # a history lists both; changes compare crawls that are done
MAX_HISTORY = 100
# the order changes are listed in: the money first, the infrastructure last
ORDER: tuple[K, ...] = (K.WALLET, K.PROCESSOR, K.MERCHANT, K.ANALYTICS, K.AFFILIATE)
ORDER += (K.MESSENGER, K.EMAIL, K.IP, K.TEMPLATE)


@dataclass(frozen=True)
class Change:
    """One line of what changed. `kind`: an indicator kind, or `page`; `change`: new, gone or
    changed; `before`/`after`: the values (None on the side that has none)."""

    kind: str
    change: str
    text: str
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """What one crawl saw: (kind, value, detail) of every indicator sighted, and each page's
    answer by URL (outcome, status code, reason)."""

    indicators: frozenset[tuple[str, str, str]]
    pages: dict[str, tuple[str, int | None, str]]


@dataclass(frozen=True)
class CrawlSummary:
    crawl_id: uuid.UUID
    reason: str  # manual | scheduled
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    pages: int  # pages fetched
    indicators: int  # distinct indicators sighted
    detail: str


@dataclass(frozen=True)
class Changes:
    site_id: uuid.UUID
    older: CrawlSummary
    newer: CrawlSummary
    indicators: tuple[Change, ...]
    pages: tuple[Change, ...]

    @property
    def changed(self) -> bool:
        return bool(self.indicators or self.pages)


@dataclass(frozen=True)
class HistoryEntry:
    """One finished crawl of a site: what it saw, and what changed since the crawl before it
    that finished (None for the first, and for a failed crawl)."""

    crawl: CrawlSummary
    changes: tuple[Change, ...] | None


# --- the comparison (pure) ------------------------------------------------------------------


def _new(kind: str, value: str, detail: str) -> str:
    match kind:
        case K.WALLET:
            return f"new wallet {detail} {value}"
        case K.PROCESSOR:
            return f"new processor {value}"
        case K.MERCHANT if detail == DESCRIPTOR:
            return f"new merchant descriptor {value}"
        case K.MERCHANT:
            return f"new merchant account {value}" + (f" at {detail}" if detail else "")
        case K.ANALYTICS:
            return f"new analytics id {value}" + (f" ({detail})" if detail else "")
        case K.AFFILIATE:
            return f"new affiliate parameter {value}"
        case K.MESSENGER:
            return f"new {detail or 'messenger'} handle {value}"
        case K.EMAIL:
            return f"new e-mail address {value}"
        case K.IP:
            return f"now also answers from {value}"
        case K.TEMPLATE:
            return f"new page template {value[:12]}"
    return f"new {kind} {value}"


def _gone(kind: str, value: str, detail: str) -> str:
    match kind:
        case K.WALLET:
            return f"wallet {detail} {value} no longer shown"
        case K.PROCESSOR:
            return f"processor {value} no longer named"
        case K.MERCHANT if detail == DESCRIPTOR:
            return f"merchant descriptor {value} no longer shown"
        case K.MERCHANT:
            return f"merchant account {value} no longer named"
        case K.ANALYTICS:
            return f"analytics id {value} no longer used"
        case K.AFFILIATE:
            return f"affiliate parameter {value} no longer used"
        case K.MESSENGER:
            return f"{detail or 'messenger'} handle {value} no longer shown"
        case K.EMAIL:
            return f"e-mail address {value} no longer shown"
        case K.IP:
            return f"no longer answers from {value}"
        case K.TEMPLATE:
            return f"page template {value[:12]} no longer used"
    return f"{kind} {value} gone"


def _replaced(kind: str, before: list[str], after: list[str], detail: str) -> str | None:
    """The one-line wording of a value replaced by another, for the kinds where that is the
    news (a host moved, an analytics id changed, the template changed); None for the others."""
    old, new = ", ".join(before), ", ".join(after)
    if kind == K.IP:
        return f"moved host: {old} → {new}"
    if kind == K.ANALYTICS:
        return f"analytics id changed{f' ({detail})' if detail else ''}: {old} → {new}"
    if kind == K.TEMPLATE:
        short = ", ".join(v[:12] for v in before), ", ".join(v[:12] for v in after)
        return f"template changed: {short[0]} → {short[1]}"
    return None


def _kind_changes(
    kind: str, older: set[tuple[str, str]], newer: set[tuple[str, str]]
) -> list[Change]:
    """Changes of one kind; values replaced within a group (the same analytics system; any IP,
    any template) are said as one change."""

    def by_detail(found: tuple[str, str]) -> tuple[str, str]:
        return found[1], found[0]

    gone, new = sorted(older - newer, key=by_detail), sorted(newer - older, key=by_detail)
    out: list[Change] = []
    groups: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = defaultdict(
        lambda: ([], [])
    )
    for value, detail in gone:
        groups[detail if kind == K.ANALYTICS else ""][0].append((value, detail))
    for value, detail in new:
        groups[detail if kind == K.ANALYTICS else ""][1].append((value, detail))
    for group, (was, now) in sorted(groups.items()):
        said = (
            _replaced(kind, [v for v, _ in was], [v for v, _ in now], group)
            if was and now
            else None
        )
        if said is not None:
            before = ", ".join(v for v, _ in was)
            after = ", ".join(v for v, _ in now)
            out.append(Change(kind, "changed", said, before, after))
            continue
        out += [Change(kind, "new", _new(kind, v, d), None, v) for v, d in now]
        out += [Change(kind, "gone", _gone(kind, v, d), v, None) for v, d in was]
    return out


def _answer(outcome: str, status: int | None, reason: str) -> str:
    if outcome == "fetched":
        return str(status) if status is not None else "fetched"
    return f"{outcome} ({reason})" if reason else outcome


def _page_changes(
    older: dict[str, tuple[str, int | None, str]], newer: dict[str, tuple[str, int | None, str]]
) -> list[Change]:
    out = [
        Change("page", "new", f"new page {url}", None, url) for url in sorted(newer - older.keys())
    ]
    out += [
        Change("page", "gone", f"page {url} no longer reached", url, None)
        for url in sorted(older - newer.keys())
    ]
    for url in sorted(older.keys() & newer.keys()):
        (o_outcome, o_status, o_reason), (n_outcome, n_status, n_reason) = older[url], newer[url]
        if (o_outcome, o_status) != (n_outcome, n_status):
            before, after = (
                _answer(o_outcome, o_status, o_reason),
                _answer(n_outcome, n_status, n_reason),
            )
            out.append(Change("page", "changed", f"{url}: {before} → {after}", before, after))
    return out


def compare(older: Snapshot, newer: Snapshot) -> tuple[list[Change], list[Change]]:
    """(indicator changes, page changes) from one crawl's snapshot to the next's."""
    by_kind: dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]]]] = defaultdict(
        lambda: (set(), set())
    )
    for kind, value, detail in older.indicators:
        by_kind[kind][0].add((value, detail))
    for kind, value, detail in newer.indicators:
        by_kind[kind][1].add((value, detail))
    rank = {k.value: i for i, k in enumerate(ORDER)}
    indicators: list[Change] = []
    for kind in sorted(by_kind, key=lambda k: (rank.get(k, len(rank)), k)):
        indicators += _kind_changes(kind, *by_kind[kind])
    return indicators, _page_changes(older.pages, newer.pages)


# --- reading crawls -------------------------------------------------------------------------


def snapshots(session: Session, crawl_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Snapshot]:
    """Each crawl's snapshot, in two queries whatever the number of crawls."""
    indicators: dict[uuid.UUID, set[tuple[str, str, str]]] = defaultdict(set)
    pages: dict[uuid.UUID, dict[str, tuple[str, int | None, str]]] = defaultdict(dict)
    if crawl_ids:
        for crawl_id, kind, value, detail in session.execute(
            select(
                CommerceSighting.crawl_id,
                CommerceIndicator.kind,
                CommerceIndicator.value,
                CommerceIndicator.detail,
            )
            .join(CommerceIndicator, CommerceIndicator.id == CommerceSighting.indicator_id)
            .where(CommerceSighting.crawl_id.in_(crawl_ids))
            .distinct()
        ):
            indicators[crawl_id].add((kind, value, detail))
        for crawl_id, url, outcome, status, reason in session.execute(
            select(
                CommercePage.crawl_id,
                CommercePage.url,
                CommercePage.outcome,
                CommercePage.status_code,
                CommercePage.reason,
            )
            .where(CommercePage.crawl_id.in_(crawl_ids))
            .order_by(CommercePage.fetched_at, CommercePage.id)
        ):
            pages[crawl_id][url] = (outcome, status, reason)  # a URL asked twice: the last
    return {c: Snapshot(frozenset(indicators[c]), dict(pages[c])) for c in crawl_ids}


def _summary(crawl: CommerceCrawl, snapshot: Snapshot) -> CrawlSummary:
    return CrawlSummary(
        crawl_id=crawl.id,
        reason=crawl.reason,
        status=crawl.status,
        started_at=crawl.started_at,
        finished_at=crawl.finished_at,
        pages=sum(1 for outcome, _, _ in snapshot.pages.values() if outcome == "fetched"),
        indicators=len(snapshot.indicators),
        detail=crawl.detail,
    )


def _changes(
    site: CommerceSite, older: CommerceCrawl, newer: CommerceCrawl, shots: dict[uuid.UUID, Snapshot]
) -> Changes:
    indicators, pages = compare(shots[older.id], shots[newer.id])
    return Changes(
        site_id=site.id,
        older=_summary(older, shots[older.id]),
        newer=_summary(newer, shots[newer.id]),
        indicators=tuple(indicators),
        pages=tuple(pages),
    )


def _audit(
    session: Session, caller: Caller, site: CommerceSite, what: str, crawls: Iterable[uuid.UUID]
) -> None:
    audit.record(
        session,
        caller,
        action=f"commerce.site.{what}",
        operation=Operation.CONSULTATION,
        subject_type="commerce_site",
        subject_id=site.id,
        subject_agency_id=site.owner_agency_id,
        detail={"crawls": [str(c) for c in crawls]},
    )


def _finished(crawl: CommerceCrawl) -> datetime:
    return crawl.finished_at or crawl.requested_at


def _finished_crawl(
    session: Session, caller: Caller, site: CommerceSite, crawl_id: uuid.UUID, field: str
) -> CommerceCrawl:
    crawl = service.own_crawl(session, caller, crawl_id)
    if crawl.site_id != site.id:
        raise Invalid(field, "must be a crawl of this site")
    if crawl.status != "done":
        raise Invalid(field, "must be a crawl that has finished")
    return crawl


def between(
    session: Session,
    caller: Caller,
    site_id: uuid.UUID,
    older_crawl_id: uuid.UUID,
    newer_crawl_id: uuid.UUID,
) -> Changes:
    """What changed from one finished crawl of a site to another (given in either order: the
    one that finished first is the older)."""
    site = service.own_site(session, caller, site_id)
    older = _finished_crawl(session, caller, site, older_crawl_id, "older")
    newer = _finished_crawl(session, caller, site, newer_crawl_id, "newer")
    if older.id == newer.id:
        raise Invalid("newer", "must be another crawl than the older")
    if (_finished(newer), newer.id.hex) < (_finished(older), older.id.hex):
        older, newer = newer, older
    _audit(session, caller, site, "changes", (older.id, newer.id))
    return _changes(site, older, newer, snapshots(session, [older.id, newer.id]))


def latest(session: Session, caller: Caller, site_id: uuid.UUID) -> Changes | None:
    """What the site's last finished crawl found changed since the one before; None until a
    site has two."""
    site = service.own_site(session, caller, site_id)
    last_two = list(
        session.scalars(
            select(CommerceCrawl)
            .where(CommerceCrawl.site_id == site.id, CommerceCrawl.status == "done")
            .order_by(CommerceCrawl.finished_at.desc(), CommerceCrawl.id.desc())
            .limit(2)
        )
    )
    if len(last_two) < 2:
        return None
    newer, older = last_two
    _audit(session, caller, site, "changes", (older.id, newer.id))
    return _changes(site, older, newer, snapshots(session, [older.id, newer.id]))


def history(
    session: Session, caller: Caller, site_id: uuid.UUID, *, limit: int = 20
) -> list[HistoryEntry]:
    """The site's finished crawls, newest first (at most `limit`): when, pages fetched,
    indicators sighted and what changed since the crawl before."""
    if not 1 <= limit <= MAX_HISTORY:
        raise Invalid("limit", f"must be 1 to {MAX_HISTORY}")
    site = service.own_site(session, caller, site_id)
    crawls = list(
        session.scalars(
            select(CommerceCrawl)
            .where(CommerceCrawl.site_id == site.id, CommerceCrawl.status.in_(FINISHED))
            .order_by(CommerceCrawl.finished_at.desc(), CommerceCrawl.id.desc())
            .limit(limit)
        )
    )
    done = [c for c in crawls if c.status == "done"]
    if done:  # the finished crawl before the oldest shown, to say what that one changed
        earlier = session.scalar(
            select(CommerceCrawl)
            .where(
                CommerceCrawl.site_id == site.id,
                CommerceCrawl.status == "done",
                CommerceCrawl.finished_at < _finished(done[-1]),
            )
            .order_by(CommerceCrawl.finished_at.desc(), CommerceCrawl.id.desc())
            .limit(1)
        )
        done += [earlier] if earlier is not None else []
    shots = snapshots(session, list({c.id: None for c in (*crawls, *done)}))
    entries: list[HistoryEntry] = []
    for crawl in crawls:
        changes: tuple[Change, ...] | None = None
        if crawl.status == "done":
            index = done.index(crawl)
            if index + 1 < len(done):
                indicators, pages = compare(shots[done[index + 1].id], shots[crawl.id])
                changes = (*indicators, *pages)
        entries.append(HistoryEntry(_summary(crawl, shots[crawl.id]), changes))
    _audit(session, caller, site, "history", (c.id for c in crawls))
    return entries
