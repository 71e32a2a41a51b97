"""Extraction: every indicator family from synthetic pages, evidence (offset, snippet), links,
checksum failures counted not kept, and hostile input in linear time."""

from __future__ import annotations

import random
import time

import base58
import pytest

from taskforce import demo_shops
from taskforce.cases import wallets
from taskforce.commerce.extract import SNIPPET, extract_page
from taskforce.commerce.kinds import Extraction, Found, IndicatorKind
from taskforce.commerce.lexicon import processors
from taskforce.commerce.sanitise import strip_data_uris

K = IndicatorKind
URL = "https://shop.example/join"


def found(extraction: Extraction, kind: IndicatorKind) -> dict[str, Found]:
    return {f.value: f for f in extraction.found if f.kind is kind}


def page(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head><title>T</title>{head}</head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def shop() -> demo_shops.Brand:
    return demo_shops.network()[0].brands[0]


@pytest.fixture(scope="module")
def shop_page(shop: demo_shops.Brand) -> tuple[str, Extraction]:
    html = demo_shops.shop_page(shop, seed=3)
    return html, extract_page(html, url=f"https://{shop.host}/join")


def test_demo_shop_page_yields_every_family(
    shop: demo_shops.Brand, shop_page: tuple[str, Extraction]
) -> None:
    _, extraction = shop_page
    assert set(found(extraction, K.WALLET)) == {
        wallets.validate(address).address for _, address in shop.wallets
    }
    assert found(extraction, K.PROCESSOR)["ExamplePay"].detail == "processor"
    merchants = found(extraction, K.MERCHANT)
    assert merchants[shop.merchant_id].detail == "ExamplePay"
    assert shop.descriptor.upper() in merchants
    assert found(extraction, K.ANALYTICS)[shop.analytics].detail == "ga4"
    affiliate = found(extraction, K.AFFILIATE)[f"{shop.affiliate[0]}={shop.affiliate[1]}"]
    assert affiliate.detail == "partner.example"
    assert found(extraction, K.MESSENGER)[shop.telegram].detail == "telegram"
    assert set(found(extraction, K.EMAIL)) == {shop.email}
    assert extraction.title == f"{shop.name} — members"
    assert extraction.template
    assert found(extraction, K.TEMPLATE).keys() == {extraction.template}
    assert extraction.rejected_wallets == len(demo_shops.bad_wallets(random.Random(0)))


def test_evidence_offsets_and_snippets(shop_page: tuple[str, Extraction]) -> None:
    html, extraction = shop_page
    keys = [(f.kind, f.value) for f in extraction.found]
    assert len(keys) == len(set(keys))
    for item in extraction.found:
        assert len(item.snippet) <= SNIPPET
        assert "<" not in item.snippet
        if item.kind is K.WALLET:
            # the first place the address appears, and the visible text around it
            assert html.index(item.value) == item.offset
            assert item.value in item.snippet


def test_links_in_document_order() -> None:
    html = page(
        "<a href='/one'>1</a><map><area href='/two'></map><iframe src='/three'></iframe>"
        "<frameset><frame src='/four'></frameset><a>no href</a><img src='/pic.png'>",
        head="<meta http-equiv='Refresh' content='0; url=/five'>",
    )
    assert extract_page(html, url=URL).links == ("/five", "/one", "/two", "/three")


def test_bad_checksums_are_counted_not_kept() -> None:
    rng = random.Random(7)
    bad = demo_shops.bad_wallets(rng)
    good = demo_shops.random_wallet(rng, "xmr")
    extraction = extract_page(page(f"<p>{' '.join(bad)} {good}</p>"), url=URL)
    assert set(found(extraction, K.WALLET)) == {good}
    assert extraction.rejected_wallets == len(bad)


def test_wallets_in_attributes_and_every_chain() -> None:
    rng = random.Random(9)
    chains = ("btc", "btc-taproot", "btc-legacy", "ltc", "doge", "eth", "xmr")
    addresses = {chain: demo_shops.random_wallet(rng, chain) for chain in chains}
    body = "".join(
        f"<input readonly value='{a}'><button data-clipboard-text='{a}'>copy</button>"
        for a in addresses.values()
    )
    kept = found(extract_page(page(body), url=URL), K.WALLET)
    assert {w.detail for w in kept.values()} == {"btc", "ltc", "doge", "eth", "xmr"}
    assert addresses["eth"].lower() in kept  # stored lower-case, as case selectors are
    assert kept[addresses["xmr"]].snippet.startswith("input value: ")


def test_ethereum_lower_case_is_kept_mixed_case_must_check() -> None:
    lower = "0x" + "ab" * 20
    good = "0x" + wallets.eip55("cd" * 20)
    bad = "0x" + good[2:].swapcase()
    extraction = extract_page(page(f"<p>{lower} {good} {bad}</p>"), url=URL)
    assert set(found(extraction, K.WALLET)) == {lower, good.lower()}
    assert extraction.rejected_wallets == 1


def test_litecoin_p2sh_three_reads_as_bitcoin() -> None:
    address = base58.b58encode_check(b"\x05" + bytes(20)).decode()
    assert found(extract_page(page(f"<p>{address}</p>"), url=URL), K.WALLET)[address].detail == (
        "btc"
    )


def test_processors_by_term_and_host_word_bounded() -> None:
    html = page(
        "<p>We accept Visa, MasterCard and PayPal.</p><img alt='American Express' src='/a.png'>"
        "<p>Striped shirts; stripe; paypalish; discover our plans.</p>"
        "<a href='https://bill.ccbill.com/jpost/signup.cgi?clientAccnum=951234&clientSubacc=0001'>"
        "Join</a><form action='https://secure.2checkout.com/order'><input type=hidden name=sid "
        "value='1303908'></form>"
    )
    extraction = extract_page(html, url=URL)
    named = found(extraction, K.PROCESSOR)
    assert set(named) == {
        "Visa",
        "Mastercard",
        "PayPal",
        "American Express",
        "CCBill",
        "2Checkout (Verifone)",
    }
    assert named["Visa"].detail == "card_scheme"
    merchants = found(extraction, K.MERCHANT)
    assert merchants["951234"].detail == "CCBill"
    assert "1303908" in merchants  # sid counts because the form posts to a processor
    assert K.TEMPLATE in {f.kind for f in extraction.found}


def test_generic_parameters_need_a_processor_host() -> None:
    extraction = extract_page(
        page("<a href='https://blog.example/post?sid=77&site=4'>x</a>"), url=URL
    )
    assert not found(extraction, K.MERCHANT)


def test_descriptors() -> None:
    html = page(
        "<p>Purchases will show up on your bank statement as: “BLU*LOFT 800-555-0100”.</p>"
        "<p>Billing descriptor: ABCSERV.EXAMPLE</p><p>Your statement will show: KST*CLUB</p>"
    )
    assert set(found(extract_page(html, url=URL), K.MERCHANT)) == {
        "BLU*LOFT 800-555-0100",
        "ABCSERV.EXAMPLE",
        "KST*CLUB",
    }


def test_invisible_characters_inside_an_address_do_not_hide_it() -> None:
    wallet = demo_shops.random_wallet(random.Random(11), "btc")
    hidden = wallet[:10] + "\u200b" + wallet[10:20] + "\u00ad" + wallet[20:]
    extraction = extract_page(page(f"<p>Pay to {hidden} today</p>"), url=URL)
    assert set(found(extraction, K.WALLET)) == {wallet}


def test_affiliates_and_utm() -> None:
    html = page(
        "<a href='https://partner.example/in?AFF_ID=77&amp;x=1'>a</a>"
        "<a href='https://other.example/?utm_source=google&utm_campaign=loftnet-7'>b</a>"
        "<a href='/local?utm_campaign=spring'>c</a><a href='/?ref=%20'>d</a>"
    )
    values = set(found(extract_page(html, url=URL), K.AFFILIATE))
    assert values == {"aff_id=77", "utm_campaign=loftnet-7"}


def test_analytics_ids() -> None:
    script = (
        "<script>gtag('config','UA-1234567-2'); (function(){})('GTM-AB12CD');"
        "ym(98765432, 'init', {}); fbq('init', '123456789012345');"
        "window.hjSettings={hjid:3456789,hjsv:6};"
        "var _paq=[];var u='//stats.shop.example/';_paq.push(['setSiteId', '3']);</script>"
    )
    body = "<ins data-ad-client='ca-pub-1234567890123456'></ins><p>Buy a G-STRING set</p>"
    values = found(extract_page(page(body, head=script), url=URL), K.ANALYTICS)
    assert {v: f.detail for v, f in values.items()} == {
        "UA-1234567-2": "ga",
        "GTM-AB12CD": "gtm",
        "ym:98765432": "metrica",
        "fb:123456789012345": "facebook",
        "hotjar:3456789": "hotjar",
        "matomo:stats.shop.example/3": "matomo",
        "pub-1234567890123456": "adsense",
    }


def test_messengers() -> None:
    session = "05" + "a1" * 32
    tox = "B" * 76
    html = page(
        f"<p>Telegram: @Loft_Help, or t.me/share/url, or "
        f"<a href='https://t.me/+AbCdEfGhIjKl'>group</a>. Session: {session}. Tox {tox}.</p>"
        "<p>Threema: ABCD1234 · <a href='https://signal.me/#eu/loft.01'>Signal</a> · "
        "Wickr: loft_ops</p><p>Mail: ops@telegram-help.example</p>"
    )
    values = found(extract_page(html, url=URL), K.MESSENGER)
    assert {v: f.detail for v, f in values.items()} == {
        "loft_help": "telegram",
        "+AbCdEfGhIjKl": "telegram",
        session: "session",
        tox: "tox",
        "ABCD1234": "threema",
        "loft.01": "signal",
        "loft_ops": "wickr",
    }


def test_emails_checked_by_the_selector_rule() -> None:
    html = page(
        "<p>Write to Sales@Shop.Example or help&#64;shop.example, not logo@2x.png "
        "nor a@b or x@-bad-.example</p>"
    )
    extraction = extract_page(html, url=URL)
    emails = found(extraction, K.EMAIL)
    assert set(emails) == {"sales@shop.example", "help@shop.example"}
    assert all(0 <= f.offset < len(html) for f in emails.values())


def test_plain_page_has_a_template_but_no_template_indicator() -> None:
    extraction = extract_page(page("<p>Hello</p>"), url=URL)
    assert extraction.template
    assert extraction.found == ()


@pytest.mark.parametrize(
    "html",
    [
        "a" * 1_000_000,
        "1" * 1_000_000,
        page("<p>" + "a" * 1_000_000 + "</p>"),
        page("<p title='" + "0x" * 500_000 + "'>x</p>"),
        page("<a href='https://x.example/?" + "ref=1&" * 100_000 + "'>x</a>"),
        "<div>" * 50_000 + "bc1" + "q" * 1_000_000,
        "<<<>>><p <a href=>>'\"</b></table><td>@@@@" * 10_000,
        page("telegram " + "@" * 500_000 + " t.me/" * 50_000),
    ],
)
def test_hostile_input_is_fast(html: str) -> None:
    started = time.perf_counter()
    extraction = extract_page(html, url=URL)
    assert time.perf_counter() - started < 5
    assert isinstance(extraction.rejected_wallets, int)


def test_deep_nesting_is_flattened_and_counted() -> None:
    html = "<div>" * 50_000 + "<a href='/next'>next</a> LU2mdgGRg3PjwvVoYaG2QidcTU6FpeAifV"
    extraction = extract_page(html, url=URL)
    assert extraction.rejected == {"deep_nesting": 1}
    assert extraction.links == ("/next",)
    assert set(found(extraction, K.WALLET)) == {"LU2mdgGRg3PjwvVoYaG2QidcTU6FpeAifV"}


def test_lexicon_entries_say_why() -> None:
    entries = processors()
    assert len({e.name for e in entries}) == len(entries)
    assert all(e.why and e.terms + e.hosts for e in entries)
    assert {"ExamplePay", "DemoBill"} <= {e.name for e in entries}


def test_after_the_crawler_strips_data_uris_none_reaches_extraction() -> None:
    wallet = demo_shops.random_wallet(random.Random(5), "btc")
    raw = page(
        f"<img src='data:image/png;base64,iVBORw0KGgo{'A' * 400}'>"
        f"<a href='data:text/html;base64,PGgxPg=='>x</a><p>{wallet}</p>"
    )
    clean, removed = strip_data_uris(raw)
    assert removed == 2
    extraction = extract_page(clean, url=URL)
    assert not any(link.startswith("data:") for link in extraction.links)
    assert set(found(extraction, K.WALLET)) == {wallet}
    assert extraction.rejected_wallets == 0
