"""Template fingerprints: a brand that renames itself keeps its print; other shop software
does not share it."""

from __future__ import annotations

from selectolax.lexbor import LexborHTMLParser

from taskforce import demo_shops
from taskforce.commerce.extract import extract_page
from taskforce.commerce.template import class_shapes, fingerprint


def test_one_template_twenty_brands_one_fingerprint() -> None:
    prints = set()
    for seed in range(20):
        brand = demo_shops.brand(seed, template=0)
        html = demo_shops.shop_page(brand, seed=seed, products=3 + seed % 7)
        prints.add(fingerprint(LexborHTMLParser(html)))
    assert len(prints) == 1


def test_five_templates_five_fingerprints() -> None:
    prints = {
        fingerprint(LexborHTMLParser(demo_shops.shop_page(demo_shops.brand(1, template=t))))
        for t in range(5)
    }
    assert len(prints) == 5


def test_extraction_carries_the_same_fingerprint() -> None:
    html = demo_shops.shop_page(demo_shops.brand(4, template=2), seed=4)
    assert extract_page(html, url="https://x.example/").template == fingerprint(
        LexborHTMLParser(html)
    )


def test_text_and_attributes_do_not_count_tags_and_classes_do() -> None:
    def fp(html: str) -> str:
        return fingerprint(LexborHTMLParser(html))

    base = fp("<div class='card'><p>Amber Club</p><a href='/a'>x</a></div>")
    assert fp("<div class='card'><p>Onyx Loft, 30 days</p><a href='/b' id=q>y</a></div>") == base
    assert fp("<div class='card'><p>x</p><script>var a=1</script><a>y</a></div>") == base
    assert fp("<div class='tile'><p>x</p><a>y</a></div>") != base
    assert fp("<section class='card'><p>x</p><a>y</a></section>") != base


def test_class_shapes_normalise_generated_parts() -> None:
    assert class_shapes(["css-1x9f2k top", "top css-77aa01", "card-37 card", "c412 box"]) == [
        "css-*.top",
        "css-*.top",
        "card.card-*",
        "*.box",
    ]
    assert class_shapes([]) == []


def test_hostile_trees() -> None:
    deep = "<div>" * 5_000 + "x"
    assert len(fingerprint(LexborHTMLParser(deep))) == 64
    assert len(fingerprint(LexborHTMLParser(""))) == 64


def test_demo_network_two_groups_five_brands() -> None:
    groups = demo_shops.network()
    assert [len(g.brands) for g in groups] == [3, 2]
    prints: dict[str, set[str]] = {}
    for group in groups:
        for brand in group.brands:
            pages = demo_shops.site_pages(brand, seed=len(brand.name))
            assert set(pages) == {"/", "/join", "/faq"}
            extraction = extract_page(pages["/join"], url=f"https://{brand.host}/join")
            assert extraction.template is not None
            prints.setdefault(group.name, set()).add(extraction.template)
            for page in ("/", "/faq"):
                kinds = {f.kind for f in extract_page(pages[page], url="https://x.example").found}
                assert "template" not in kinds  # no payment markers there
    # brands of one group share their shop software; the two groups' differ
    assert [len(p) for p in prints.values()] == [1, 1]
    assert len(set.union(*prints.values())) == 2
