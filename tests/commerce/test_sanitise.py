"""The kept HTML of a crawled page loads nothing: every media reference is removed, on ordinary
and on hostile pages, and the text and links stay."""

from __future__ import annotations

import pytest
from commerce.sites import assert_loads_nothing
from selectolax.lexbor import LexborHTMLParser

from taskforce.commerce.sanitise import cap, keep, strip_data_uris

SHOP = """<!doctype html><html><head><title>Fake Shop</title>
<link rel=stylesheet href=/s.css><link rel=icon href=/f.ico><link rel=preload href=/p.js>
<style>body{background:url(/bg.png)}</style><script src=/app.js></script>
<script>document.write('<img src=/x.png>')</script>
<meta http-equiv=refresh content="0;url=/next"><base href="http://elsewhere.test/">
</head><body background="/bg.gif" style="background-image:url('/b.png')">
<h1 class=brand>Fake Shop</h1><p>Pay with BTC to the wallet below.</p>
<img src="/p.jpg" srcset="/p2.jpg 2x" alt="photo"><picture><source srcset="/a.webp"></picture>
<video poster="/v.jpg" src="/v.mp4"><track src="/t.vtt"></video><audio src="/a.mp3"></audio>
<object data="/o.swf"></object><embed src="/e.swf">
<svg><image href="/s.png"/><use xlink:href="/sprite.svg#i"/></svg>
<a href="/join?ref=aff42" onclick="steal()">Join</a> <a href="javascript:alert(1)">bad</a>
<a href="data:text/html;base64,PGgxPg==">data</a>
<iframe src="http://gate.test/frame"></iframe>
<div style="color:red">red text</div><table background="/t.png"><td>cell</td></table>
<input type=image src="/btn.png"><form action="/pay"><button formaction="/x">Pay</button></form>
<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk">
</body></html>"""


def test_a_shop_page_keeps_its_text_and_links_and_loads_nothing() -> None:
    kept, removed = keep(SHOP)
    assert_loads_nothing(kept)
    tree = LexborHTMLParser(kept)
    assert "Pay with BTC" in tree.text()
    assert "red text" in tree.text()
    assert "cell" in tree.text()
    hrefs = [a.attributes.get("href") for a in tree.css("a")]
    assert hrefs == ["/join?ref=aff42", None, None]
    assert "[iframe: http://gate.test/frame]" in tree.text()
    assert removed >= 20


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=/a.png>",
    "<p><img\nsrc='/a.png'\n></p>",
    "<div style='background:URL(/x.png)'>t</div>",
    "<div style='behavior:expression(alert(1))'>t</div>",
    "<a href=' JaVaScRiPt:alert(1)'>x</a>",
    "<a href='jav&#x09;ascript:alert(1)'>x</a>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mi xlink:href='/x'>m</mi></math>",
    "<noscript><img src=/pixel.gif></noscript>",
    "<template><img src=/t.png></template>",
    "<object><param name=movie value=/m.swf></object>",
    "<frameset><frame src=/f.html></frameset>",
    "<img src=/unclosed.png",
    "<<img src=/a.png>>",
    "<video><source src=/v.mp4 type=video/mp4></video>",
    "<table><tr><td background=/t.gif>cell</td></tr></table>",
    "<body background=/b.jpg>",
    "<link rel=stylesheet href=/s.css>",
    "<style>@import url(/x.css)</style>",
    "<p style=\"background-image: url('data:image/png;base64,AAAA')\">p</p>",
    "<isindex src=/x.png>",
    "<image src=/x.png>",
    "<input type=image src=/i.png>",
    "<a href='/ok' style='background:url(/x)'>ok</a>",
    "<meta http-equiv='Refresh' content='0; url=http://evil.test/'>",
    "<embed src=/e.swf>",
    "<portal src=/p.html></portal>",
    '<noscript><p title="</noscript><img src=/mxss.png>">x</p></noscript>',
    "<xmp><img src=/raw.png></xmp>",
    "<plaintext><img src=/rest.png>",
    "<noembed><img src=/ne.png></noembed><noframes><img src=/nf.png></noframes>",
    "<template><style>x{background:url(/t.png)}</style></template>",
    "<p>" + "<img src=/deep.png>" * 200 + "</p>",
    "<div>" * 500 + "<img src=/nested.png>" + "</div>" * 500,
]


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_pages_load_nothing(html: str) -> None:
    kept, _ = keep(html)
    assert_loads_nothing(kept)


def test_raw_text_stays_text_for_every_parser() -> None:
    kept, _ = keep('<noscript><p title="</noscript><img src=/m.png>">x</p></noscript><xmp><b>x')
    assert "<img" not in kept
    assert "&lt;b&gt;x" in kept
    assert 'title="&lt;/noscript&gt;&lt;img src=/m.png&gt;"' in kept or "noscript" not in kept


def test_data_uris_are_cut_before_parsing() -> None:
    blob = "data:image/png;base64," + "A" * 100_000
    html = f'<p>metadata: fine</p><img src="{blob}"><div style="background:url({blob})">'
    stripped, count = strip_data_uris(html)
    assert count == 2
    assert "AAAA" not in stripped
    assert "metadata: fine" in stripped


def test_the_kept_html_is_capped_on_a_character_boundary() -> None:
    text, cut = cap("<p>" + "é" * 100 + "</p>", 51)
    assert cut
    assert len(text.encode()) <= 51
    assert cap("<p>short</p>", 100) == ("<p>short</p>", False)


def test_malformed_html_does_not_break_it() -> None:
    for html in ["", "<", "</p></div>", "<a href=>", "\x00<p>x</p>", "<p" * 1000]:
        kept, _ = keep(html)
        assert_loads_nothing(kept)
