"""The curated lexicon extraction reads pages with: who takes the money, and the identifiers
that tie a page to an account, a tracker or a contact.

Every entry says why it is there. Processor, card-scheme, e-wallet and exchange names live in
`processors.csv` beside this module (name, kind, terms, hosts, chains, why); the patterns are
below. Contact addresses of providers are *not* here: the payment provider directory holds them
(`commerce.payments`, seeded from `processors()`).

Rules of the lexicon:

* Terms match case-insensitively on word boundaries; an everyday word (`stripe`, `square`,
  `discover`, `epoch`) is never a term on its own, only the product name or host.
* Hosts match the host of a link, form or frame and every subdomain of it.
* Every regular expression has bounded repetitions and no nested quantifiers, so a hostile page
  (a megabyte of `a`s) costs linear time.
"""

from __future__ import annotations

import csv
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from taskforce.cases.contacts import Rule

_Trie: TypeAlias = dict[str, "_Trie"]
PROCESSORS_CSV = Path(__file__).with_name("processors.csv")
# card_scheme | processor | exchange | wallet_service | bank | other (as PaymentProvider.kind)
PROVIDER_KINDS = ("card_scheme", "processor", "exchange", "wallet_service", "bank", "other")


@dataclass(frozen=True)
class ProcessorTerm:
    """A payment provider and the words and hosts that name it on a page."""

    name: str
    kind: str
    terms: tuple[str, ...]
    chains: tuple[str, ...]
    hosts: tuple[str, ...] = ()
    why: str = ""


@functools.cache
def _load() -> tuple[ProcessorTerm, ...]:
    with PROCESSORS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def split(value: str) -> tuple[str, ...]:
        return tuple(part.strip() for part in value.split("|") if part.strip())

    entries = tuple(
        ProcessorTerm(
            name=row["name"],
            kind=row["kind"],
            terms=tuple(t.lower() for t in split(row["terms"])),
            chains=split(row["chains"]),
            hosts=tuple(h.lower() for h in split(row["hosts"])),
            why=row["why"],
        )
        for row in rows
    )
    for entry in entries:
        if entry.kind not in PROVIDER_KINDS or not entry.why:
            raise ValueError(f"processors.csv: {entry.name} needs a known kind and a why")
    return entries


def processors() -> list[ProcessorTerm]:
    """Every provider in the lexicon (the directory seeds itself from this)."""
    return list(_load())


@functools.cache
def _host_index() -> dict[str, str]:
    return {host: entry.name for entry in _load() for host in entry.hosts}


def processor_of_host(host: str) -> str | None:
    """The provider whose host (or a subdomain of it) `host` is."""
    index = _host_index()
    labels = host.lower().rstrip(".").split(".")
    for start in range(len(labels) - 1):
        name = index.get(".".join(labels[start:]))
        if name:
            return name
    return None


@functools.cache
def term_index() -> dict[str, str]:
    """Lower-case term (single spaces) -> provider name."""
    return {term: entry.name for entry in _load() for term in entry.terms}


@functools.cache
def terms_regex() -> re.Pattern[str]:
    """One pattern for every term, built as a trie so each position of a page costs one
    character test, not one per term; spaces in a term match any run of whitespace."""
    trie: _Trie = {}
    for term in term_index():
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = {}
    body = _trie_pattern(trie)
    # Run over lower-cased text with a separator in front: the pattern starts at the character
    # before the term (not a letter, digit, `_` or `$`), so the engine skips through words at C
    # speed (an ASCII class: a Unicode `\w` test costs more per character).
    return re.compile(rf"[^a-z0-9$_]((?:{body}))(?![a-z0-9_])")


def _trie_pattern(node: _Trie) -> str:
    ends = "" in node
    branches = [
        (r"\s{1,5}" if char == " " else re.escape(char)) + _trie_pattern(child)
        for char, child in sorted(node.items())
        if char
    ]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{body})?" if ends else body


# --- merchants: descriptors and account ids -------------------------------------------------


# Descriptor rules run only in a window after a hint word (see `DESCRIPTOR_HINTS`).
DESCRIPTOR_HINTS = ("appear", "shown", "show up", "descriptor")
_DESCRIPTOR = r"[\"'“]?([a-z0-9][a-z0-9 .*#&_/-]{2,39}[a-z0-9*])"
DESCRIPTORS = (
    Rule(
        "merchant",
        "descriptor",
        re.compile(
            r"(?:appear|shown|show\s{1,3}up)\s{1,3}(?:on\s{1,3}your\s{1,3}"
            r"(?:card\s{1,3}|bank\s{1,3})?(?:statement|bill)\s{1,3})?as:?\s{1,3}" + _DESCRIPTOR
        ),
        "'charges will appear on your statement as X': the billing descriptor is how the "
        "acquirer names the merchant account on statements; the card schemes find it from it",
        DESCRIPTOR_HINTS,
        lower=True,
    ),
    Rule(
        "merchant",
        "descriptor",
        re.compile(
            r"statement\s{1,3}(?:will\s{1,3})?(?:shows?|reads?|displays?)(?:\s{1,3}as)?:?\s{1,3}"
            + _DESCRIPTOR
        ),
        "'your statement will show: X': the same descriptor, said the other way round",
        ("statement",),
        lower=True,
    ),
    Rule(
        "merchant",
        "descriptor",
        re.compile(r"descriptor:?\s{1,3}(?:is\s{1,3})?" + _DESCRIPTOR),
        "'billing descriptor: X': a page that prints its descriptor names the merchant account",
        ("descriptor",),
        lower=True,
    ),
)

# Query parameters (and hidden form fields) that name a merchant account anywhere.
MERCHANT_PARAMS = {
    "merchant_id": "the merchant account at the processor",
    "merchantid": "the merchant account at the processor",
    "merchant": "CoinPayments and others: the merchant account",
    "merchant_account": "the merchant account at the processor",
    "clientaccnum": "CCBill: the client (merchant) account number",
    "clientsubacc": "CCBill: the sub-account of the client account",
    "seller_id": "the seller account at a reseller-of-record processor",
    "store_id": "BTCPay and shop gateways: the store that receives the payment",
    "storeid": "BTCPay and shop gateways: the store that receives the payment",
}
# Parameters too generic to mean a merchant except on a known processor's host.
PROCESSOR_HOST_PARAMS = {
    "sid": "2Checkout: the seller id",
    "business": "PayPal: the receiving account (an e-mail or merchant id)",
    "site": "billing companies: the merchant's site id",
    "site_id": "billing companies: the merchant's site id",
    "siteid": "billing companies: the merchant's site id",
    "account": "the receiving account",
    "pi_code": "Epoch: the product (and merchant) code",
    "package_id": "Segpay: the merchant's price package",
}

# --- affiliates -------------------------------------------------------------------------------

AFFILIATE_PARAMS = {
    "ref": "referral id: the affiliate paid for the visit",
    "refid": "referral id",
    "ref_id": "referral id",
    "referral": "referral id",
    "aff": "affiliate id",
    "affid": "affiliate id",
    "aff_id": "affiliate id",
    "affiliate": "affiliate id",
    "affiliate_id": "affiliate id",
    "partner": "partner (affiliate) id",
    "partner_id": "partner (affiliate) id",
    "campaign": "affiliate campaign id: traffic sold by one affiliate",
    "tracker": "traffic tracker id of an affiliate network",
    "wm": "webmaster id of affiliate programmes",
    "utm_source": "kept only when site-specific (not google, newsletter, ...)",
    "utm_campaign": "kept only when site-specific",
}
GENERIC_UTM = frozenset(
    [
        "google",
        "bing",
        "facebook",
        "twitter",
        "x",
        "instagram",
        "tiktok",
        "youtube",
        "reddit",
        "email",
        "newsletter",
        "mail",
        "cpc",
        "organic",
        "social",
        "referral",
        "direct",
        "banner",
        "ads",
        "ad",
        "display",
        "push",
        "telegram",
    ]
)


def _param_hint(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    return re.compile(rf"[?&;](?:{alternatives})=", re.IGNORECASE)


# Cheap tests that a URL carries a parameter worth parsing its query for.
MERCHANT_HINT = _param_hint([*MERCHANT_PARAMS, *PROCESSOR_HOST_PARAMS])
AFFILIATE_HINT = _param_hint(AFFILIATE_PARAMS)

# --- analytics, tag managers, advertising -----------------------------------------------------

ANALYTICS = (
    Rule(
        "analytics",
        "ga",
        re.compile(r"(UA-\d{4,10}-\d{1,4})(?!\d)"),
        "Universal Analytics property: one account's sites share the number before the dash",
        ("ua-",),
    ),
    Rule(
        "analytics",
        "ga4",
        re.compile(r"(G-(?=[A-Z]{0,11}\d)[A-Z0-9]{6,12})(?![A-Za-z0-9])"),
        "GA4 measurement id (with a digit, so product codes like G-STRING do not count)",
        ("g-",),
    ),
    Rule(
        "analytics",
        "gtm",
        re.compile(r"(GTM-[A-Z0-9]{4,9})(?![A-Za-z0-9])"),
        "Google Tag Manager container: one operator's sites share it",
        ("gtm-",),
    ),
    Rule(
        "analytics",
        "adsense",
        re.compile(r"(pub-\d{16})(?!\d)"),
        "AdSense publisher id: the account paid for the ads (ca-pub- and pub- are one id)",
        ("pub-",),
    ),
    Rule(
        "analytics",
        "metrica",
        re.compile(r"(?:ym\(\s{0,3}|mc\.yandex\.ru/watch/)(\d{5,12})"),
        "Yandex Metrica counter",
        ("ym(", "mc.yandex.ru/watch/"),
        prefix="ym:",
    ),
    Rule(
        "analytics",
        "facebook",
        re.compile(r"fbq\(\s{0,3}['\"]init['\"]\s{0,3},\s{0,3}['\"](\d{10,20})['\"]"),
        "Meta (Facebook) pixel id",
        ("fbq(",),
        prefix="fb:",
    ),
    Rule(
        "analytics",
        "hotjar",
        re.compile(r"hjid\s{0,3}[:=]\s{0,3}(\d{5,10})(?!\d)"),
        "Hotjar site id",
        ("hjid",),
        prefix="hotjar:",
    ),
)
# Matomo's site id is a small number, only meaningful with its tracker's host.
MATOMO_SITE = re.compile(r"setSiteId['\"]?\s{0,3},\s{0,3}['\"]?(\d{1,6})")
MATOMO_TRACKER = re.compile(
    r"(?:setTrackerUrl['\"]?\s{0,3},\s{0,3}['\"]|var\s{1,3}u\s{0,3}=\s{0,3}['\"])"
    r"(?:https?:)?//([A-Za-z0-9.-]{1,253})"
)

# Messengers, e-mail addresses, wallets and Session/Tox ids: the hub's one finder of contact
# identifiers (`cases.contacts`) holds their patterns, so chats read messages with the rules
# pages are read with (extraction imports them from there).
