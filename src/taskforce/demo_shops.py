"""Synthetic, benign shop pages for tests, the benchmark and the demo.

Everything here is generated from a seed: brand names from two word lists, hosts under
`.example`, wallets built from random keys with valid checksums (never anyone's real wallet),
fictional processors (`ExamplePay`, `DemoBill`) from the lexicon, and wording a reader would
find in any membership shop ("Premium membership — 30 days — 0.002 BTC"). A few wallet-shaped
strings with broken checksums are printed as well, so extraction has something to refuse.

`network()` describes the demo's network: two distribution groups behind five brands. Brands of
one group share the billing (wallet, merchant account), the analytics id and the shop template;
each brand has its own name, host, Telegram handle and e-mail.
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import base58
import bech32m

from taskforce.cases import wallets

ADJECTIVES = (
    "Amber", "Bright", "Cobalt", "Delta", "Ember", "Fable", "Granite", "Harbor", "Indigo",
    "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Onyx", "Pioneer", "Quartz", "Raven",
)  # fmt: skip
NOUNS = (
    "Club", "Pass", "Vault", "Lounge", "Circle", "Hub", "Access", "Corner", "Gallery", "Point",
    "Deck", "Studio", "Market", "Square", "Garden", "Harbour", "Loft", "Works",
)  # fmt: skip
PLANS = (("Basic", 7), ("Premium", 30), ("Annual", 365), ("Trial", 2), ("Gold", 90))


@dataclass(frozen=True)
class Brand:
    """One shop front: what its pages show."""

    name: str
    host: str
    group: str  # the distribution group behind it
    template: int  # 0-4: which shop template renders it
    wallets: tuple[tuple[str, str], ...]  # (chain, address), valid checksums
    processor: str  # a fictional processor from the lexicon
    checkout_host: str
    merchant_id: str
    descriptor: str
    analytics: str  # a GA4 measurement id
    affiliate: tuple[str, str]  # (parameter, value)
    telegram: str
    email: str


@dataclass(frozen=True)
class Group:
    """A distribution group: the shared billing and software behind several brands."""

    name: str
    brands: tuple[Brand, ...] = field(default=())


def random_wallet(rng: random.Random, chain: str) -> str:
    """An address on `chain` from random keys or hashes, with a valid checksum."""
    match chain:
        case "btc":
            return str(bech32m.encode("bc", 0, rng.randbytes(20)))
        case "btc-taproot":
            return str(bech32m.encode("bc", 1, rng.randbytes(32)))
        case "btc-legacy":
            return str(base58.b58encode_check(b"\x00" + rng.randbytes(20)).decode())
        case "ltc":
            return str(base58.b58encode_check(b"\x30" + rng.randbytes(20)).decode())
        case "doge":
            return str(base58.b58encode_check(b"\x1e" + rng.randbytes(20)).decode())
        case "eth":
            return "0x" + wallets.eip55(rng.randbytes(20).hex())
        case "xmr":
            return wallets.monero_address(18, rng.randbytes(64))
    raise ValueError(f"unknown chain {chain}")


def bad_wallets(rng: random.Random) -> list[str]:
    """Wallet-shaped strings whose checksums fail: one per kind of address."""
    broken = []
    for chain in ("btc-legacy", "btc", "ltc", "doge", "xmr"):
        address = random_wallet(rng, chain)
        at = len(address) // 2
        swap = "3" if address[at] != "3" else "4"
        broken.append(address[:at] + swap + address[at + 1 :])
    eth = random_wallet(rng, "eth")
    broken.append("0x" + eth[2:].swapcase() if eth[2:].swapcase() != eth[2:] else eth)
    return [b for b in broken if wallets.check(b) is None]


def _name(rng: random.Random) -> str:
    return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"


def network(seed: int = 18) -> list[Group]:
    """Two distribution groups behind five brands (three and two)."""
    rng = random.Random(seed)  # noqa: S311 - fictional demo data, not security
    groups = []
    for index, (size, processor, checkout) in enumerate(
        ((3, "ExamplePay", "pay.example"), (2, "DemoBill", "billing.test"))
    ):
        shared_wallet = random_wallet(rng, "btc" if index == 0 else "xmr")
        merchant = f"{'EXP' if index == 0 else 'DMB'}-{rng.randrange(10_000, 99_999)}"
        analytics = "G-" + "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(10)
        )
        brands = []
        used: set[str] = set()
        for _ in range(size):
            name = _name(rng)
            while name in used:
                name = _name(rng)
            used.add(name)
            slug = name.lower().replace(" ", "-")
            own = random_wallet(rng, rng.choice(("eth", "ltc", "doge", "btc-taproot")))
            brands.append(
                Brand(
                    name=name,
                    host=f"{slug}.example",
                    group=f"group-{index + 1}",
                    template=index,
                    wallets=((_chain(shared_wallet), shared_wallet), (_chain(own), own)),
                    processor=processor,
                    checkout_host=checkout,
                    merchant_id=merchant,
                    descriptor=f"{merchant[:3]}*{name.split()[0].upper()} SERVICES",
                    analytics=analytics,
                    affiliate=("aff", f"{rng.randrange(1000, 9999)}"),
                    telegram=slug.replace("-", "_") + "_support",
                    email=f"help@{slug}.example",
                )
            )
        groups.append(Group(f"group-{index + 1}", tuple(brands)))
    return groups


def _chain(address: str) -> str:
    wallet = wallets.check(address)
    assert wallet is not None, address
    return str(wallet.chain)


def brand(seed: int, template: int = 0) -> Brand:
    """A single random brand on `template` (tests render many of one template)."""
    rng = random.Random(seed)  # noqa: S311 - fictional demo data, not security
    name = _name(rng)
    slug = name.lower().replace(" ", "-")
    address = random_wallet(rng, "btc")
    return Brand(
        name=name,
        host=f"{slug}.example",
        group="solo",
        template=template,
        wallets=(("btc", address), ("eth", random_wallet(rng, "eth"))),
        processor="ExamplePay",
        checkout_host="pay.example",
        merchant_id=f"EXP-{rng.randrange(10_000, 99_999)}",
        descriptor=f"EXP*{name.split()[0].upper()}",
        analytics="G-" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(10)),
        affiliate=("ref", str(rng.randrange(100, 999))),
        telegram=slug.replace("-", "_"),
        email=f"info@{slug}.example",
    )


# --- rendering ------------------------------------------------------------------------------

# Per template: (wrapper element, product card element, class name scheme). The schemes mimic
# real shop software: generated CSS-in-JS names, BEM, numbered utility classes.
_TEMPLATES: tuple[tuple[str, str, Callable[[random.Random, str], str]], ...] = (
    ("div", "article", lambda r, base: f"css-{r.randbytes(3).hex()} {base}"),
    ("main", "li", lambda r, base: f"shop__{base} shop__{base}--{r.randrange(1, 99)}"),
    ("section", "div", lambda r, base: f"c{r.randrange(100, 999)} {base}-box"),
    ("div", "section", lambda _r, base: f"{base}"),
    ("ol", "li", lambda r, _base: f"x{r.randbytes(2).hex()}"),
)


def shop_page(
    shop: Brand, *, seed: int = 0, products: int = 6, pad_to: int = 0, bad: bool = True
) -> str:
    """The shop's join page: plans, the payment box (wallets, processor checkout, descriptor),
    analytics, an affiliate link, Telegram and e-mail contacts; padded with more plans until it
    is at least `pad_to` bytes."""
    rng = random.Random(seed)  # noqa: S311 - fictional demo data, not security
    wrapper, card, cls = _TEMPLATES[shop.template % len(_TEMPLATES)]
    e = html.escape
    title = f"{shop.name} — members"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{e(title)}</title>",
        f"<script async src='https://www.googletagmanager.com/gtag/js?id={shop.analytics}'>"
        "</script>",
        f"<script>window.dataLayer=window.dataLayer||[];gtag('config', '{shop.analytics}');"
        "</script></head><body>",
        f"<header class='{cls(rng, 'top')}'><h1>{e(shop.name)}</h1><nav>",
        "<a href='/'>Home</a> <a href='/join'>Join</a> <a href='/faq'>Questions</a> ",
        f"<a href='https://partner.example/in?{shop.affiliate[0]}={shop.affiliate[1]}'>"
        "Partners</a></nav></header>",
        f"<{wrapper} class='{cls(rng, 'plans')}'>",
    ]
    body_cards = []
    count = 0
    size = sum(len(p) for p in parts)
    while count < products or size < pad_to:
        plan, days = PLANS[count % len(PLANS)]
        price = f"{rng.uniform(0.0005, 0.01):.4f}"
        text = f"{plan} membership — {days} days — {price} BTC"
        item = (
            f"<{card} class='{cls(rng, 'plan')}'><h3>{e(plan)}</h3><p>{e(text)}</p>"
            f"<p class='{cls(rng, 'note')}'>Access to the members area, renewed by hand, "
            f"no automatic charges. Order {rng.randrange(10_000, 99_999)}.</p>"
            f"<a class='{cls(rng, 'buy')}' href='/join?plan={plan.lower()}'>Choose</a></{card}>"
        )
        body_cards.append(item)
        size += len(item)
        count += 1
    parts.extend(body_cards)
    parts.append(f"</{wrapper}><div class='{cls(rng, 'pay')}'><h2>How to pay</h2><ul>")
    for chain, address in shop.wallets:
        parts.append(
            f"<li>{chain.upper()}: <code>{address}</code> "
            f"<input readonly class='{cls(rng, 'copy')}' value='{address}'></li>"
        )
    parts.append(
        f"</ul><form method='post' action='https://{shop.checkout_host}/checkout'>"
        f"<input type='hidden' name='merchant_id' value='{shop.merchant_id}'>"
        f"<button>Pay by card with {e(shop.processor)}</button></form>"
        f"<p>Card payments are processed by {e(shop.processor)}. Charges will appear on your "
        f"statement as {e(shop.descriptor)}.</p>"
        f"<a href='https://{shop.checkout_host}/pay?merchant_id={shop.merchant_id}&amp;"
        f"{shop.affiliate[0]}={shop.affiliate[1]}'>Pay online</a></div>"
    )
    if bad:
        parts.append("<div><h4>Old addresses, no longer used</h4><p>")
        parts.append(" ".join(bad_wallets(rng)))
        parts.append("</p></div>")
    parts.append(
        f"<footer><p>Questions? Telegram: @{shop.telegram} or "
        f"<a href='https://t.me/{shop.telegram}'>our channel</a>, e-mail "
        f"<a href='mailto:{shop.email}'>{shop.email}</a></p></footer></body></html>"
    )
    return "".join(parts)


def landing_page(shop: Brand, *, seed: int = 0) -> str:
    """The shop's front page: its name, a welcome, links to the join and questions pages."""
    rng = random.Random(seed)  # noqa: S311 - fictional demo data, not security
    wrapper, _, cls = _TEMPLATES[shop.template % len(_TEMPLATES)]
    e = html.escape
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{e(shop.name)}</title></head>"
        f"<body><header class='{cls(rng, 'top')}'><h1>{e(shop.name)}</h1><nav>"
        "<a href='/'>Home</a> <a href='/join'>Join</a> <a href='/faq'>Questions</a></nav>"
        f"</header><{wrapper} class='{cls(rng, 'intro')}'><p>Welcome to {e(shop.name)}: a "
        "members' area with new material every week.</p><p><a href='/join'>See the plans</a>"
        f"</p></{wrapper}></body></html>"
    )


def faq_page(shop: Brand) -> str:
    """A plain questions page: the contacts again, no payment markers."""
    e = html.escape
    return (
        f"<!doctype html><html><head><title>{e(shop.name)} — questions</title></head><body>"
        "<h1>Questions</h1><p>How long does access last? As long as the plan you chose.</p>"
        f"<p>Support on Telegram: @{shop.telegram}, or write to {shop.email}.</p>"
        "<p><a href='/'>Back</a></p></body></html>"
    )


def gateway_page(target: str) -> str:
    """A gateway page of the kind disguised sites sit behind: one link onwards."""
    link = html.escape(target, quote=True)
    return (
        "<!doctype html><html><head><title>Gallery</title></head><body><h1>Photo gallery</h1>"
        f"<p>Landscapes and city views.</p><p><a href='{link}'>Continue</a></p></body></html>"
    )


def site_pages(shop: Brand, *, seed: int = 0) -> dict[str, str]:
    """Every page of the shop's site by path: `/`, `/join` (the payment page), `/faq`."""
    return {
        "/": landing_page(shop, seed=seed),
        "/join": shop_page(shop, seed=seed),
        "/faq": faq_page(shop),
    }


def benchmark_pages(count: int, *, size: int = 100 * 1024, seed: int = 18) -> list[str]:
    """`count` distinct pages of about `size` bytes from the demo network's brands."""
    shops = [b for g in network(seed) for b in g.brands]
    return [shop_page(shops[i % len(shops)], seed=seed + i, pad_to=size) for i in range(count)]
