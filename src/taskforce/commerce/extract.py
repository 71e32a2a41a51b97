"""What one page says about the money and the infrastructure behind it.

`extract_page` parses the page once (selectolax/lexbor) and reads from that parse the title,
the links to follow, the template fingerprint, the visible text, inline scripts and attribute
values (hrefs carry affiliate parameters and processor checkout URLs; `value=` and `data-`
attributes carry wallets to copy). The lexicon's patterns then run over that text, each at most
once per page and only when a cheap substring test says the page can hold a match.

Every indicator is kept once per page, at the first offset where its text appears in the HTML,
with a snippet (at most 200 characters, no markup) of what surrounds it. Wallets are kept only
when their checksum holds (`cases.wallets`); wallet-shaped strings that fail are counted in
`rejected_wallets`. E-mail addresses go through the case selectors' own e-mail rule.

Pure: no I/O, no clock. Hostile input (malformed HTML, huge attributes, a megabyte of one
letter) costs linear time: the patterns have bounded repetitions, and candidates are cut from
maximal runs rather than searched with backtracking.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from selectolax.lexbor import LexborHTMLParser

from taskforce.cases import contacts, selectors, wallets
from taskforce.commerce import lexicon, template
from taskforce.commerce.kinds import Extraction, Found, IndicatorKind
from taskforce.core.errors import Invalid

SNIPPET = 200
_WS = re.compile(r"\s+")
_LINK_ATTRS = {"a": "href", "area": "href", "frame": "src", "iframe": "src"}
_URL_ATTRS = frozenset({"href", "src", "action", "formaction", "data-href", "data-url"})
_SKIP_ATTRS = frozenset({"class", "style", "id", "type", "width", "height", "lang", "dir"})
_REFRESH = re.compile(r"url\s{0,3}=\s{0,3}['\"]?([^'\"\s]{1,2048})", re.IGNORECASE)
_CARD_FIELD = re.compile(r"cc-number|card.?number|cardnumber|\bcvv|\bcvc", re.IGNORECASE)
_NESTING_LIMIT = 8_000  # unclosed tags (estimated by counting `<` and `</`)
_NESTING_TAGS = re.compile(
    r"</?(?!(?:a|area|frame|iframe|meta|title|input|form)\b)[A-Za-z][^<>]{0,2000}>"
)
# Invisible characters a page can put inside an address or a handle so that it reads whole but
# matches nothing (zero-width space, joiners, word joiner, BOM, soft hyphen): dropped.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_MIN_ATTR = 6  # shorter attribute values hold no indicator
_MAX_CANDIDATES = 5_000  # per kind: a page with more is hostile, the rest is not read


@dataclass
class _Corpus:
    """The page's readable strings joined into one: visible text first, then inline scripts,
    then attribute values; `starts` and `labels` say which piece an offset falls in."""

    text: str = ""
    lower: str = ""
    starts: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # "" (visible text), "script", "a href"
    visible_end: int = 0

    def label_at(self, pos: int) -> tuple[str, int, int]:
        i = bisect_right(self.starts, pos) - 1
        end = self.starts[i + 1] - 1 if i + 1 < len(self.starts) else len(self.text)
        return self.labels[i], self.starts[i], end


@dataclass
class _Page:
    html: str
    corpus: _Corpus
    found: dict[tuple[IndicatorKind, str], Found] = field(default_factory=dict)
    rejected_wallets: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    html_lower: str | None = None
    _offsets: dict[str, int] = field(default_factory=dict)

    def add(self, kind: IndicatorKind, value: str, detail: str, raw: str, pos: int) -> None:
        """Keep (kind, value) once, at its first offset in the HTML; `raw` is the text as the
        page has it, `pos` its offset in the corpus (for the snippet)."""
        if not value:
            return
        key = (kind, value)
        offset = self._offsets.get(raw)
        if offset is None:
            offset = self._offsets[raw] = self._offset(raw, value)
        known = self.found.get(key)
        if known is None or offset < known.offset:
            detail = known.detail if known is not None else detail
            self.found[key] = Found(kind, value, detail, offset, self._snip(pos))

    def _offset(self, raw: str, value: str) -> int:
        for needle in (raw, value):
            at = self.html.find(needle) if needle else -1
            if at >= 0:
                return at
        if self.html_lower is None:
            self.html_lower = self.html.lower()
        at = self.html_lower.find(raw.lower()) if len(self.html_lower) == len(self.html) else -1
        return max(at, 0)  # spelt with character references: the page has no literal offset

    def _snip(self, pos: int) -> str:
        label, start, end = self.corpus.label_at(pos)
        text = self.corpus.text
        if label:  # an attribute value or a script: say where, then the value around it
            window = text[max(start, pos - 60) : min(end, pos + 120)]
            return _clip(f"{label}: {_WS.sub(' ', window).strip()}")
        window = text[max(0, pos - 60) : min(self.corpus.visible_end, pos + 140)]
        return _clip(_WS.sub(" ", window).strip())


def _clip(text: str) -> str:
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def extract_page(html: str, *, url: str) -> Extraction:
    """The indicators, links, title and template fingerprint of one decoded HTML page."""
    rejected: dict[str, int] = {}
    tree = LexborHTMLParser(_flatten_if_deep(html, rejected))
    title_node = tree.css_first("title")
    title = _WS.sub(" ", title_node.text()).strip()[:500] if title_node is not None else ""
    links: list[str] = []
    shape: list[tuple[str, str]] = []
    attrs: dict[str, str] = {}  # value -> label ("a href"), each distinct value once
    urls: dict[str, str] = {}  # the same, for link-like attributes
    hidden: list[tuple[str, str]] = []  # (name, value) of form fields
    scripts: list[str] = []
    payment_form = False
    root = tree.root
    for node in root.traverse() if root is not None else ():
        tag = node.tag or ""
        if tag in template.SKIPPED:
            if tag == "script":
                scripts.append(node.text())
            continue
        attributes = node.attributes
        if len(shape) < template.MAX_ELEMENTS:
            shape.append((tag, attributes.get("class") or ""))
        if not attributes:
            continue
        link_attr = _LINK_ATTRS.get(tag)
        if link_attr and attributes.get(link_attr):
            links.append(attributes[link_attr] or "")
        elif tag == "meta" and (attributes.get("http-equiv") or "").lower() == "refresh":
            refresh = _REFRESH.search(attributes.get("content") or "")
            if refresh:
                links.append(refresh.group(1))
        for name, value in attributes.items():
            if not value or len(value) < _MIN_ATTR or name in _SKIP_ATTRS or value in attrs:
                continue
            label = f"{tag} {name}"
            attrs[value] = label
            if name in _URL_ATTRS or name == "action":
                urls[value] = label
        if tag == "input":
            name = (attributes.get("name") or "").lower()
            if name and attributes.get("value"):
                hidden.append((name, attributes.get("value") or ""))
            if _CARD_FIELD.search(f"{name} {attributes.get('autocomplete') or ''}"):
                payment_form = True
    fingerprint = template.fingerprint_of(shape)
    tree.strip_tags(["script", "style", "noscript", "template"])
    body = tree.body
    visible = body.text(separator="\n") if body is not None else ""
    page = _Page(html, _corpus(title, visible, scripts, attrs), rejected=rejected)
    urls = {value: label for value, label in urls.items() if "//" in value or "?" in value}
    _tokens(page)
    processors = _processors(page, urls)
    _merchants(page, urls, hidden, processors)
    _affiliates(page, urls, url)
    _rules(page, lexicon.ANALYTICS)
    _matomo(page)
    _rules(page, contacts.MESSENGERS)
    _emails(page)
    kinds = {kind for kind, _ in page.found}
    if payment_form or kinds & {IndicatorKind.WALLET, IndicatorKind.PROCESSOR,
                                IndicatorKind.MERCHANT}:  # fmt: skip
        page.found[(IndicatorKind.TEMPLATE, fingerprint)] = Found(
            IndicatorKind.TEMPLATE, fingerprint, "dom", 0, _clip(title)
        )
    found = tuple(sorted(page.found.values(), key=lambda f: (f.offset, f.kind, f.value)))
    return Extraction(
        found=found,
        links=tuple(links),
        title=title,
        template=fingerprint,
        rejected_wallets=page.rejected_wallets,
        rejected=page.rejected,
    )


def _flatten_if_deep(html: str, rejected: dict[str, int]) -> str:
    """The HTML to parse. The parser spends time proportional to the nesting depth on each
    block start tag, so a page of 50,000 unclosed `<div>`s costs seconds; a page with more
    unclosed tags than any real template keeps only its flat elements (links, forms, inputs,
    meta, title) and the rest of its text, and is counted as `deep_nesting`."""
    unclosed = html.count("<") - 2 * html.count("</") - html.count("<!")
    if unclosed <= _NESTING_LIMIT:
        return html
    rejected["deep_nesting"] = 1
    return _NESTING_TAGS.sub(" ", html)


def _corpus(title: str, visible: str, scripts: list[str], attrs: dict[str, str]) -> _Corpus:
    pieces = [(f"\n{title}\n{visible}", ""), *((s, "script") for s in scripts if s.strip())]
    pieces.extend(attrs.items())
    corpus = _Corpus()
    chunks = []
    at = 0
    for raw, label in pieces:
        text = raw if raw.isascii() else _INVISIBLE.sub("", raw)
        corpus.starts.append(at)
        corpus.labels.append(label)
        chunks.append(text)
        at += len(text) + 2
    corpus.text = "\n\n".join(chunks)
    corpus.visible_end = len(chunks[0])
    lower = corpus.text.lower()
    if len(lower) != len(corpus.text):  # a few characters lower-case to two; keep offsets
        lower = "".join(c.lower()[:1] for c in corpus.text)
    corpus.lower = lower
    return corpus


def _left_ok(text: str, start: int, also: str = "_") -> bool:
    """Whether a match starts a word: the character before is no letter or digit (nor one of
    `also`)."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] in also)


def _tokens(page: _Page) -> None:
    """Wallets (checksums checked, failures counted) and Session/Tox ids: whole tokens."""
    text = page.corpus.text
    seen: set[str] = set()
    for count, match in enumerate(contacts.TOKEN.finditer(text)):
        if count >= _MAX_CANDIDATES:
            page.rejected["too_many_candidates"] = page.rejected.get("too_many_candidates", 0) + 1
            break
        raw = match.group(1)
        if raw in seen:
            continue
        seen.add(raw)
        start = match.start(1)
        if contacts.SESSION_ID.fullmatch(raw):
            page.add(IndicatorKind.MESSENGER, raw.lower(), "session", raw, start)
        elif contacts.TOX_ID.fullmatch(raw):
            page.add(IndicatorKind.MESSENGER, raw.upper(), "tox", raw, start)
        elif wallets.looks_like_wallet(raw):
            wallet = wallets.check(raw)
            if wallet is None:
                page.rejected_wallets += 1
            else:
                page.add(IndicatorKind.WALLET, wallet.address, str(wallet.chain), raw, start)


def _processors(page: _Page, urls: dict[str, str]) -> dict[str, str]:
    """Providers named on the page (by term) or linked (by host); -> {name: kind}."""
    kinds = {entry.name: entry.kind for entry in lexicon.processors()}
    names = lexicon.term_index()
    low = page.corpus.lower
    named: dict[str, str] = {}
    for count, match in enumerate(lexicon.terms_regex().finditer(low)):
        if count >= _MAX_CANDIDATES:
            break
        start = match.start(1)
        term = _WS.sub(" ", match.group(1))
        name = names.get(term)
        if name:
            named[name] = kinds[name]
            page.add(
                IndicatorKind.PROCESSOR,
                name,
                kinds[name],
                page.corpus.text[start : match.end()],
                start,
            )
    for value in urls:
        host = _host(value) if "//" in value else ""
        name = lexicon.processor_of_host(host) if host else None
        if name:
            named[name] = kinds[name]
            page.add(IndicatorKind.PROCESSOR, name, kinds[name], host, _pos(page, value))
    return named


def _merchants(
    page: _Page, urls: dict[str, str], hidden: list[tuple[str, str]], named: dict[str, str]
) -> None:
    low = page.corpus.lower
    for rule in lexicon.DESCRIPTORS:
        for hint in rule.hints:
            at = low.find(hint)
            while at >= 0:
                match = rule.regex.search(low, at, min(len(low), at + 160))
                if match and match.start() == at:
                    start, end = match.span(1)
                    raw = page.corpus.text[start:end]
                    value = _descriptor(raw)
                    page.add(IndicatorKind.MERCHANT, value, "descriptor", raw, start)
                at = low.find(hint, at + 1)
    processor_form = False
    for value, label in urls.items():
        host = _host(value) if "//" in value else ""
        processor = lexicon.processor_of_host(host) if host else None
        if processor and label == "form action":
            processor_form = True
        if not lexicon.MERCHANT_HINT.search(value):
            continue
        for name, param in _query(value):
            if name in lexicon.MERCHANT_PARAMS or (
                processor and name in lexicon.PROCESSOR_HOST_PARAMS
            ):
                page.add(
                    IndicatorKind.MERCHANT,
                    _merchant_id(param),
                    processor or "account",
                    param,
                    _pos(page, value),
                )
    for name, value in hidden:
        if name in lexicon.MERCHANT_PARAMS or (
            processor_form and name in lexicon.PROCESSOR_HOST_PARAMS
        ):
            detail = next(iter(named), "account") if len(named) == 1 else "account"
            page.add(IndicatorKind.MERCHANT, _merchant_id(value), detail, value, _pos(page, value))


def _descriptor(raw: str) -> str:
    """A descriptor as printed, cut at the end of its sentence, upper-cased, single spaces."""
    cut = re.split(r"\.\s|\s{2,}|\s\.", raw, maxsplit=1)[0]
    return _WS.sub(" ", cut).strip(" .").upper()


def _merchant_id(value: str) -> str:
    return _WS.sub(" ", value).strip()[:100].upper()


def _affiliates(page: _Page, urls: dict[str, str], url: str) -> None:
    own = _host(url)
    for value in urls:
        if not lexicon.AFFILIATE_HINT.search(value):
            continue
        host = _host(value) or own
        for name, param in _query(value):
            if name not in lexicon.AFFILIATE_PARAMS or not param.strip():
                continue
            if name.startswith("utm_") and (host == own or param.lower() in lexicon.GENERIC_UTM):
                continue
            page.add(
                IndicatorKind.AFFILIATE,
                f"{name}={param.strip()[:100]}",
                host,
                f"{name}={param}",
                _pos(page, value),
            )


def _rules(page: _Page, rules: tuple[contacts.Rule, ...]) -> None:
    corpus = page.corpus
    for rule in rules:
        if not any(h in corpus.lower for h in rule.hints):
            continue
        kind = IndicatorKind(rule.kind)  # lower-case rules run on lower-cased text
        text = corpus.lower if rule.lower else corpus.text
        for count, match in enumerate(rule.regex.finditer(text)):
            if count >= _MAX_CANDIDATES:
                break
            if not _left_ok(text, match.start()):
                continue
            group = next((g for g in match.groups() if g), "")
            raw = corpus.text[match.start() : match.end()]
            page.add(kind, rule.prefix + group, rule.detail, raw, match.start())


def _matomo(page: _Page) -> None:
    text = page.corpus.text
    if "setSiteId" not in text:
        return
    site = lexicon.MATOMO_SITE.search(text)
    tracker = lexicon.MATOMO_TRACKER.search(text)
    if site and tracker:
        value = f"matomo:{tracker.group(1).lower()}/{site.group(1)}"
        page.add(IndicatorKind.ANALYTICS, value, "matomo", site.group(0), site.start())


def _emails(page: _Page) -> None:
    text = page.corpus.text
    at = text.find("@")
    count = 0
    seen: set[str] = set()
    while at >= 0 and count < _MAX_CANDIDATES:
        count += 1
        match = contacts.EMAIL_AROUND.search(text, max(0, at - 64), at + 320)
        while match and match.end() <= at:
            match = contacts.EMAIL_AROUND.search(text, match.end(), at + 320)
        if match and match.start() < at and _left_ok(text, match.start(), "_.%+-"):
            raw = match.group().rstrip(".-")
            if raw not in seen and not raw.lower().endswith(contacts.NOT_EMAIL_SUFFIXES):
                seen.add(raw)
                _email(page, raw, match.start())
        at = text.find("@", at + 1)


def _email(page: _Page, raw: str, pos: int) -> None:
    """Kept only if the case selectors' e-mail rule accepts it (one rule for the hub)."""
    try:
        value = selectors.normalise(selectors.SelectorKind.EMAIL, raw).value
    except Invalid:
        page.rejected["email"] = page.rejected.get("email", 0) + 1
    else:
        page.add(IndicatorKind.EMAIL, value, "", raw, pos)


def _host(value: str) -> str:
    try:
        return (urlsplit(value.strip()).hostname or "").lower()
    except ValueError:
        return ""


def _query(value: str) -> list[tuple[str, str]]:
    if "?" not in value:
        return []
    try:
        query = urlsplit(value.strip()).query
    except ValueError:
        return []
    return [(name.lower(), param) for name, param in parse_qsl(query[:4096])[:64]]


def _pos(page: _Page, value: str) -> int:
    """Where an attribute value sits in the corpus (for its snippet)."""
    at = page.corpus.text.find(value, page.corpus.visible_end)
    return at if at >= 0 else 0
