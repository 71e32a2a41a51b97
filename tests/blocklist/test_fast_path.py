"""The checker's fast paths against the full parser, on random URLs in odd spellings.

`Checker.is_blocked` answers most URLs without `normalise.split`; these properties hold it to
the parser's answer: the same key (`key_of` = `block_key`) and the same entry (exact key first,
then the host's prefix entries from the shortest), for URLs built from pieces that each touch
a normalisation rule (case, ports, user info, trailing dots, escapes, dot segments, slashes,
queries, fragments, IDN, IP literals). Where the parser refuses a URL the checker may raise
the same error or, on a host no entry names, answer "not blocked" (see checker.py).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from taskforce.blocklist.checker import Checker, Match, key_of
from taskforce.blocklist.normalise import block_key, prefix_key
from taskforce.core.errors import Invalid

HOSTS = [
    "example.com",
    "example.com",
    "example.com",
    "Example.COM",
    "example.com.",
    "www.example.com",
    "a-b.example.org",
    "x_y.example.net",
    "203.0.113.7",
    "[2001:db8::1]",
    "[2001:DB8::1]",
    "bücher.example",
    "xn--bcher-kva.example",
    "unlisted.example",
    "UNLISTED.example",
    "-bad.example",
    "a..b.example",
    "ex%41mple.com",
    "exa mple.com",
]
# the fast paths' spellings (lower-case http(s), no user, port or fragment, plain segments) are
# listed several times so that most URLs reach them and only some pieces are odd
SCHEMES = ["http://"] * 4 + ["https://"] * 4 + ["HTTP://", "HttpS://", "", "//", "ftp://"]
USERS = [""] * 8 + ["user@", "u:p@"]
PORTS = [""] * 10 + [":80", ":443", ":8080", ":0443", ":x", ":"]
PLAIN = ["a", "b", "B", "gallery", "x.jpg", "a.b", "~", "@", ":", "!$&'()*+,;="]
SEGMENTS = PLAIN * 3 + [
    "",
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "%41",
    "%7e",
    "%7E",
    "~",
    "ä",
    "%zz",
    "%",
    "%2f",
    "%2F",
    ".well-known",
    "...",
    '"',
    "<x>",
    "a%20b",
    "\\",
    "#",
    "a b",
]
QUERIES = ["", "", "?", "?q=1", "?id=7", "?a=/b", "?x=%7e", "?/?", "?a=1&b=2", "??", "?a/", "?%zz"]
FRAGMENTS = [""] * 8 + ["#", "#top", "#a/../b"]

Pieces = tuple[str, str, str, str, "list[str] | None", bool, str, str]
pieces = st.tuples(
    st.sampled_from(SCHEMES),
    st.sampled_from(USERS),
    st.sampled_from(HOSTS),
    st.sampled_from(PORTS),
    st.none() | st.lists(st.sampled_from(SEGMENTS), max_size=5),
    st.booleans(),
    st.sampled_from(QUERIES),
    st.sampled_from(FRAGMENTS),
)


def join(p: Pieces) -> str:
    scheme, user, host, port, segments, slash, query, fragment = p
    path = "" if segments is None else "/" + "/".join(segments) + ("/" if slash else "")
    return f"{scheme}{user}{host}{port}{path}{query}{fragment}"


# URLs already in the fast paths' normal form, so that the respellings below start from them
clean_pieces = st.tuples(
    st.sampled_from(["http://", "https://"]),
    st.just(""),
    st.sampled_from(["example.com", "a-b.example.org", "x_y.example.net", "[2001:db8::1]"]),
    st.sampled_from(["", ":8080"]),
    st.lists(st.sampled_from(PLAIN), min_size=1, max_size=4),
    st.just(False),
    st.sampled_from(["", "?q=1", "?a=/b", "?a=1&b=2"]),
    st.just(""),
)
any_pieces = st.one_of(clean_pieces, pieces)
urls = pieces.map(join)


def _key(url: str, prefix: bool) -> str | None:
    try:
        return prefix_key(url) if prefix else block_key(url)
    except Invalid:
        return None


def reference(entries: list[Match], url: str) -> Match | None:
    """The obvious reading: the parser's key, its exact entry, else its shortest prefix entry."""
    key = block_key(url)
    exact = {e.key: e for e in entries if e.match == "exact"}
    prefixes = {e.key: e for e in entries if e.match == "prefix"}
    if key in exact:
        return exact[key]
    host, _, rest = key.partition("/")
    segments = rest.split("?", 1)[0].split("/")
    for i in range(len(segments) + 1):
        candidate = f"{host}/{'/'.join(segments[:i])}"
        if candidate in prefixes:
            return prefixes[candidate]
    return None


def check_agrees(entries: list[Match], url: str) -> None:
    checker = Checker(entries)
    try:
        expected = reference(entries, url)
    except Invalid:
        try:
            found = checker.is_blocked(url)
        except Invalid:
            return
        host = key_of_host(url)
        assert found is None, (url, found)  # lenient only towards "not blocked"
        assert host is None or not any(e.key.startswith(host + "/") for e in entries), url
        return
    assert checker.is_blocked(url) == expected, url


def key_of_host(url: str) -> str | None:
    for scheme in ("http://", "https://"):
        if url.startswith(scheme):
            return url[len(scheme) :].split("/", 1)[0]
    return None


@settings(max_examples=1000, deadline=None)
@given(urls)
@example("http://example.com/a/?q=1")
@example("http://example.com/?q=1")
@example("http://example.com:80/a")
@example("https://example.com:80/a")
def test_key_of_agrees_with_the_parser(url: str) -> None:
    try:
        expected = block_key(url)
    except Invalid:
        return  # the fast path may give a key here; no listed entry can equal it
    assert key_of(url) == expected


def _escape_first_letter(segments: list[str]) -> list[str]:
    for i, segment in enumerate(segments):
        for j, char in enumerate(segment):
            if char.isascii() and char.isalpha():
                escaped = f"%{ord(char):02x}" if j % 2 else f"%{ord(char):02X}"
                return [*segments[:i], segment[:j] + escaped + segment[j + 1 :], *segments[i + 1 :]]
    return segments


OTHER_SCHEME = {"http://": "https://", "https://": "HTTP://"}
# another spelling of the same address, one rule at a time (the parser gives them one key)
RESPELL = {
    "scheme": lambda p: (OTHER_SCHEME.get(p[0], "http://"), *p[1:]),
    "user": lambda p: (p[0], "someone:pw@", *p[2:]),
    "host case": lambda p: (p[0], p[1], p[2].upper(), *p[3:]),
    "trailing dot": lambda p: (p[0], p[1], p[2] + ".", *p[3:]),
    "default port": lambda p: (*p[:3], ":443" if p[0].lower() == "https://" else ":80", *p[4:]),
    "slash": lambda p: (*p[:5], not p[5], *p[6:]),
    "fragment": lambda p: (*p[:7], "#frag"),
    "empty query": lambda p: (*p[:6], p[6] or "?", p[7]),
    "escape": lambda p: (*p[:4], _escape_first_letter(list(p[4] or [])), *p[5:]),
    "dot segment": lambda p: (*p[:4], [".", *(p[4] or [])], *p[5:]),
    "dot-dot segment": lambda p: (*p[:4], ["x", "..", *(p[4] or [])], *p[5:]),
    "deeper": lambda p: (*p[:4], [*(p[4] or []), "more", "x.jpg"], *p[5:]),
}


def _entries(listed: list[tuple[Pieces, bool]]) -> list[Match]:
    entries: dict[tuple[str, str], Match] = {}
    for i, (raw, prefix) in enumerate(listed):
        key = _key(join(raw), prefix)
        if key is not None:
            match = "prefix" if prefix else "exact"
            entries[key, match] = Match(key, match, str(i))
    return list(entries.values())


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(pieces, st.booleans()), min_size=1, max_size=6), urls)
def test_checker_agrees_with_the_parser_on_random_urls(
    listed: list[tuple[Pieces, bool]], url: str
) -> None:
    check_agrees(_entries(listed), url)


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(st.tuples(any_pieces, st.booleans()), min_size=1, max_size=4),
    st.data(),
    st.lists(st.sampled_from(sorted(RESPELL)), min_size=1, max_size=3),
)
def test_checker_agrees_with_the_parser_on_listed_urls_spelt_otherwise(
    listed: list[tuple[Pieces, bool]], data: st.DataObject, changes: list[str]
) -> None:
    base = data.draw(st.sampled_from(listed))[0]
    for change in changes:
        base = RESPELL[change](base)
    check_agrees(_entries(listed), join(base))


@given(urls, st.sampled_from(["http://", "https://"]))
@settings(max_examples=500, deadline=None)
def test_a_listed_key_is_its_own_key(url: str, scheme: str) -> None:
    """Why an exact hit on the raw URL needs no parsing: a key normalises to itself, except
    when its port is the other scheme's default (https://h:80 → key h:80/, but http://h:80
    is h/), which the checker keeps out of its raw lookups."""
    key = _key(url, False)
    if key is None:
        return
    host = key.split("/", 1)[0]
    if host.endswith((":80", ":443")):
        return
    assert block_key(scheme + key) == key


@pytest.mark.parametrize(
    ("listed", "url", "expected"),
    [
        (Match("example.com/a?q=1", "exact", "A"), "http://example.com/a/?q=1", True),
        (Match("example.com/a", "exact", "A"), "http://example.com/a/", True),
        (Match("example.com/", "exact", "A"), "http://example.com/?", True),
        (Match("example.org/g", "prefix", "B"), "http://example.org/g/?x=1", True),
        (Match("example.org/g", "prefix", "B"), "http://example.org/g/./../h", False),
        (Match("example.org/g", "prefix", "B"), "http://example.org/h/../g/x", True),
        (Match("example.org/g", "prefix", "B"), "http://example.org/%67/x", True),
        (Match("example.org/g/h", "prefix", "B"), "http://example.org/g//h/x", False),
        (Match("example.com:80/b", "exact", "A"), "https://example.com:80/b", True),
        (Match("example.com:80/b", "exact", "A"), "http://example.com:80/b", False),
        (Match("example.com:443/", "prefix", "A"), "http://example.com:443/b", True),
        (Match("example.com:443/", "prefix", "A"), "https://example.com:443/b", False),
        (Match("example.com:8080/b", "exact", "A"), "https://example.com:8080/b", True),
        (Match("[2001:db8::1]/b", "exact", "A"), "http://[2001:DB8::1]/b", True),
        (Match("203.0.113.7/", "prefix", "A"), "http://203.0.113.7/b", True),
        (Match("x_y.example.net/", "prefix", "A"), "http://x_y.example.net/b?c", True),
    ],
)
def test_spellings_that_once_fooled_the_fast_path(listed: Match, url: str, expected: bool) -> None:
    checker = Checker([listed])
    assert (checker.is_blocked(url) == listed) is expected
    assert reference([listed], url) == (listed if expected else None)
