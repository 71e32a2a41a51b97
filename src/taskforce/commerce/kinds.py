"""The words the commerce domain's parts share: the kinds of indicator, the chains a wallet
may be on (the hub's one list, `cases.wallets.Chain`), and what extraction hands the crawler and
the recorder (`Found`, `Extraction`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from taskforce.cases.wallets import Chain

__all__ = ["Chain", "Extraction", "Found", "IndicatorKind", "shown"]


class IndicatorKind(StrEnum):
    WALLET = "wallet"  # a cryptocurrency address whose checksum holds; detail: the chain
    PROCESSOR = "processor"  # a payment processor named on the page; value: the provider's name
    MERCHANT = "merchant"  # a merchant descriptor or account id; detail: the processor
    AFFILIATE = "affiliate"  # an affiliate or referral parameter: "param=value"
    ANALYTICS = "analytics"  # analytics, tag-manager and ad ids; detail: ga, ga4, gtm, adsense...
    MESSENGER = "messenger"  # a messenger handle; detail: telegram, session, tox, ...
    EMAIL = "email"
    TEMPLATE = "template"  # the payment page's DOM-shape fingerprint (hex)
    IP = "ip"  # the address a page answered from


SHORT_TEMPLATE = 12  # hex digits of a template fingerprint shown in labels, as for a commit


def shown(kind: str, value: str) -> str:
    """An indicator's value as a label shows it: a template fingerprint by its first hex
    digits (the full value stays in the indicator tables and the evidence), others whole."""
    if kind == IndicatorKind.TEMPLATE and len(value) > SHORT_TEMPLATE + 1:
        return f"{value[:SHORT_TEMPLATE]}…"
    return value


@dataclass(frozen=True)
class Found:
    """One indicator in one page, with its evidence."""

    kind: IndicatorKind
    value: str  # normalised: what the indicator is stored and matched as
    detail: str  # the sub-kind (see IndicatorKind)
    offset: int  # character offset of the first sighting in the page's decoded HTML
    snippet: str  # at most 200 characters of the page's text around it, no markup


@dataclass(frozen=True)
class Extraction:
    """What one page holds: each distinct (kind, value) once, at its first offset; the links
    to follow (raw href values, in document order); and what was counted, not kept."""

    found: tuple[Found, ...]
    links: tuple[str, ...]
    title: str
    template: str | None  # DOM-shape fingerprint of the page (also in `found` on a payment page)
    rejected_wallets: int  # wallet-looking strings whose checksum failed
    rejected: dict[str, int] = field(default_factory=dict)  # other counted rejects, by reason
