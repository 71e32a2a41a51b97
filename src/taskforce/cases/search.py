"""Search: which visible cases hold a value, normalised as on entry; a case the caller may not
see is never named.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import pdq
from taskforce.cases.models import (
    Case,
    PdqBits,
    Selector,
    SelectorValue,
)
from taskforce.cases.schemas import (
    CaseStatus,
    SearchMatch,
    SearchResult,
)
from taskforce.cases.selectors import SelectorKind, normalise, parse_kind
from taskforce.cases.service import MIN_PURPOSE_LENGTH
from taskforce.core import sharing
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Invalid
from taskforce.core.hamming import hamming, hex_to_bytes
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel

# --- search ---------------------------------------------------------------------------------


def search(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    kind: str,
    value: str,
    purpose: str | None,
    platform: str | None = None,
) -> SearchResult:
    """Find a selector across every case the caller may see. A stated purpose is required
    (a case reference or a justification) and recorded in the audit log with the search."""
    caller.require(Permission.SEARCH)
    purpose = (purpose or "").strip()
    if len(purpose) < MIN_PURPOSE_LENGTH:
        raise Invalid(
            "purpose",
            "state the purpose of the search: a case reference or a justification of at least "
            f"{MIN_PURPOSE_LENGTH} characters",
        )
    if len(purpose) > 500:
        raise Invalid("purpose", "at most 500 characters")
    normalised = normalise(
        parse_kind(kind), value, platform=platform, default_region=caller.country
    )
    matches: list[SearchMatch] = []
    base = sharing.visible(
        select(Selector, Case).join(Case, Case.id == Selector.case_id), Case, caller
    )
    rows = session.execute(
        base.join(SelectorValue, SelectorValue.id == Selector.value_id).where(
            SelectorValue.kind == normalised.kind.value, SelectorValue.key == normalised.key
        )
    ).all()
    found = {(s.id): (s, c, 0) for s, c in rows}
    if normalised.kind == SelectorKind.PDQ:
        bits = hex_to_bytes(normalised.value)
        seqs = pdq.index_for(session).candidates(session, bits, settings.pdq_match_threshold)
        if seqs:
            near = session.execute(
                base.add_columns(PdqBits.bits)
                .join(PdqBits, PdqBits.selector_id == Selector.id)
                .where(PdqBits.seq.in_(seqs))
            ).all()
            for s, c, b in near:
                d = hamming(bits, bytes(b))
                if d <= settings.pdq_match_threshold and s.id not in found:
                    found[s.id] = (s, c, d)
    agencies = agency_service.agencies_by_id(
        session, {c.owner_agency_id for _, c, _ in found.values()}
    )
    for s, c, d in sorted(found.values(), key=lambda t: (t[2], t[1].reference)):
        matches.append(
            SearchMatch(
                case_id=c.id,
                reference=c.reference,
                title=c.title,
                agency=agencies[c.owner_agency_id].code,
                sharing=SharingLevel(c.sharing),
                status=CaseStatus(c.status),
                selector_value=s.value,
                distance=d,
                observed_at=s.observed_at,
            )
        )
    audit.record(
        session,
        caller,
        action="search",
        operation=Operation.CONSULTATION,
        justification=purpose,
        detail={"type": normalised.kind.value, "value": normalised.value, "results": len(matches)},
    )
    return SearchResult(
        type=normalised.kind.value, normalized=normalised.value, purpose=purpose, matches=matches
    )
