"""Indicators become selectors of the site's case: the analyst picks indicators found on a site
of the agency and they are added to the case the site was opened for (the hotline's case when
it came from a confirmed report) through the cases domain's one path
(`cases.additions.add_computed_selectors`): normalised, deconflicted, hits made and the
agencies concerned notified. So a police case of another agency that holds the same wallet or
merchant account learns of it, and the hotline learns whom to call.

Only what is an identifier somewhere else becomes a selector: wallets, merchant accounts,
e-mail addresses, messenger handles (a username on its platform), addresses and the site's own
URL and domain. Processors, analytics ids, affiliate parameters and template prints name
infrastructure that many unrelated sites share or that no case records: they are skipped, each
with its reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from taskforce.cases import additions
from taskforce.cases.deconfliction import NewSelector
from taskforce.cases.models import Case
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.commerce.kinds import IndicatorKind
from taskforce.commerce.models import CommerceIndicator, CommerceSighting, CommerceSite
from taskforce.commerce.service import own_site, refuse_indicator
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings

MAX_INDICATORS = 500  # chosen on one page; a site's whole harvest goes in a few goes

# What each kind of indicator is as a selector; the kinds left out are `NOT_SELECTORS`.
SELECTOR_OF: dict[IndicatorKind, SelectorKind] = {
    IndicatorKind.WALLET: SelectorKind.CRYPTO_WALLET,
    IndicatorKind.MERCHANT: SelectorKind.PAYMENT_ACCOUNT,
    IndicatorKind.EMAIL: SelectorKind.EMAIL,
    IndicatorKind.MESSENGER: SelectorKind.USERNAME,
    IndicatorKind.IP: SelectorKind.IP,
}

NOT_SELECTORS: dict[IndicatorKind, str] = {
    IndicatorKind.PROCESSOR: "payment processors are not selectors (they serve many sites)",
    IndicatorKind.ANALYTICS: "analytics ids are not selectors",
    IndicatorKind.AFFILIATE: "affiliate parameters are not selectors",
    IndicatorKind.TEMPLATE: "template prints are not selectors",
}


@dataclass(frozen=True)
class Skipped:
    """An indicator chosen but not added, and why."""

    kind: str
    value: str
    reason: str


@dataclass
class CaseworkSummary:
    """What putting the indicators on the case did."""

    case_id: uuid.UUID
    case_reference: str
    added: int = 0
    already_there: int = 0
    hits: int = 0
    skipped: list[Skipped] = field(default_factory=list)


def selector_for(indicator: CommerceIndicator) -> tuple[SelectorKind, str, str | None] | str:
    """The selector an indicator is (kind, raw value, platform), or why it is none."""
    kind = IndicatorKind(indicator.kind)
    if kind in NOT_SELECTORS:
        return NOT_SELECTORS[kind]
    selector_kind = SELECTOR_OF[kind]
    if kind is IndicatorKind.MERCHANT:
        return selector_kind, f"merchant:{indicator.value}", None
    if kind is IndicatorKind.MESSENGER:
        if not indicator.detail:
            return "a messenger handle without its platform is not a selector"
        return selector_kind, indicator.value, indicator.detail
    return selector_kind, indicator.value, None


def _chosen(
    session: Session, caller: Caller, site: CommerceSite, indicator_ids: list[uuid.UUID]
) -> list[CommerceIndicator]:
    """The chosen indicators, each one of the agency's and seen on this site; any other id is
    answered as missing (audited), so another agency's indicator reveals nothing."""
    wanted = list(dict.fromkeys(indicator_ids))
    if not wanted:
        raise Invalid("indicators", "choose at least one indicator")
    if len(wanted) > MAX_INDICATORS:
        raise Invalid("indicators", f"at most {MAX_INDICATORS} at a time")
    seen_here = exists().where(
        CommerceSighting.indicator_id == CommerceIndicator.id,
        CommerceSighting.site_id == site.id,
    )
    found = {
        i.id: i
        for i in session.scalars(
            select(CommerceIndicator).where(
                CommerceIndicator.id.in_(wanted),
                sharing.owned_by(CommerceIndicator.owner_agency_id, caller),
                seen_here,
            )
        )
    }
    for indicator_id in wanted:
        if indicator_id not in found:
            refuse_indicator(session, caller, indicator_id)
    return [found[i] for i in wanted]


def to_case(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    site_id: uuid.UUID,
    indicator_ids: list[uuid.UUID],
    include_site: bool = False,
    now: datetime | None = None,
) -> CaseworkSummary:
    """Add the chosen indicators of a site (and, with `include_site`, the site's URL and
    domain) to the site's case as selectors, deconflicted at once. Refused, naming the reason,
    when nothing chosen can be a selector."""
    caller.require(Permission.ADD_SELECTOR)
    site = own_site(session, caller, site_id)
    if site.case_id is None:
        raise Invalid("site", "has no case to put selectors on")
    now = now or utcnow()
    indicators = _chosen(session, caller, site, indicator_ids) if indicator_ids else []
    if not indicators and not include_site:
        raise Invalid("indicators", "choose at least one indicator")
    note = f"commercial site {site.label or site.host}"
    wanted: list[NewSelector] = []
    skipped: list[Skipped] = []
    candidates: list[tuple[str, str, tuple[SelectorKind, str, str | None] | str, datetime]] = [
        (i.kind, i.value, selector_for(i), i.last_seen_at) for i in indicators
    ]
    if include_site:
        seen = site.last_crawled_at or now
        candidates.append(("url", site.url, (SelectorKind.URL, site.url, None), seen))
        domain = site.registrable_domain
        candidates.append(("domain", domain, (SelectorKind.DOMAIN, domain, None), seen))
    for kind, value, target, seen_at in candidates:
        if isinstance(target, str):
            skipped.append(Skipped(kind, value, target))
            continue
        selector_kind, raw, platform = target
        try:
            selector = normalise(
                selector_kind, raw, platform=platform, default_region=caller.country
            )
        except Invalid as exc:
            skipped.append(Skipped(kind, value, f"not a valid {selector_kind.value}: {exc.rule}"))
            continue
        wanted.append(NewSelector(selector, raw=raw, observed_at=seen_at, note=note))
    if not wanted:
        raise Invalid("indicators", "; ".join(dict.fromkeys(s.reason for s in skipped)))
    report = additions.add_computed_selectors(
        session, caller, settings, case_id=site.case_id, selectors=wanted
    )
    case_reference = _case_reference(session, site.case_id)
    summary = CaseworkSummary(
        case_id=site.case_id,
        case_reference=case_reference,
        added=report.accepted,
        already_there=report.duplicates,
        hits=report.hits,
        skipped=skipped,
    )
    audit.record(
        session,
        caller,
        action="commerce.to_case",
        operation=Operation.COLLECTION,
        subject_type="commerce_site",
        subject_id=site.id,
        subject_agency_id=caller.agency_id,
        detail={
            "case": case_reference,
            "chosen": len(indicators),
            "site_selectors": include_site,
            "added": summary.added,
            "already_there": summary.already_there,
            "skipped": len(skipped),
            "hits": summary.hits,
        },
    )
    return summary


def _case_reference(session: Session, case_id: uuid.UUID) -> str:
    reference = session.scalar(select(Case.reference).where(Case.id == case_id))
    return reference or ""
