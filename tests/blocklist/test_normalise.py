"""Each normalisation rule, IDN and percent-encoding, and hostile input."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskforce.blocklist.normalise import (
    _fix_escapes,
    _host,
    _remove_dot_segments,
    block_key,
    normalise,
    prefix_key,
)
from taskforce.core.errors import Invalid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # 1 whitespace around is stripped
        ("  http://example.com/a  ", "http://example.com/a"),
        # 2 scheme: lower-cased; none means http
        ("HTTPS://example.com/a", "https://example.com/a"),
        ("example.com/a", "http://example.com/a"),
        ("//example.com/a", "http://example.com/a"),
        # 3 user info dropped
        ("http://user:secret@example.com/a", "http://example.com/a"),
        # 4 host: lower case, trailing dot, IDN to punycode, www. kept
        ("http://WWW.Example.COM/A", "http://www.example.com/A"),
        ("http://example.com./a", "http://example.com/a"),
        ("http://bücher.example/a", "http://xn--bcher-kva.example/a"),
        ("http://BÜCHER.example/a", "http://xn--bcher-kva.example/a"),
        ("http://xn--bcher-kva.example/a", "http://xn--bcher-kva.example/a"),
        ("http://203.0.113.7/a", "http://203.0.113.7/a"),
        ("http://[2001:DB8::1]:8080/a", "http://[2001:db8::1]:8080/a"),
        # 5 default ports dropped, others kept
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("http://example.com:0080/a", "http://example.com/a"),
        ("example.com:8080", "http://example.com:8080/"),
        # 6 percent-encoding
        ("http://example.com/%7Euser/%61", "http://example.com/~user/a"),
        ("http://example.com/a%2fb%3f", "http://example.com/a%2Fb%3F"),
        ("http://example.com/100%", "http://example.com/100%25"),
        ("http://example.com/%zz", "http://example.com/%25zz"),
        ("http://example.com/ä", "http://example.com/%C3%A4"),
        ("http://example.com/%c3%a4", "http://example.com/%C3%A4"),
        ('http://example.com/"<x>', "http://example.com/%22%3Cx%3E"),
        ("http://example.com/a?q=%7e%2f", "http://example.com/a?q=~%2F"),
        # 7 dot segments, also when escaped; double slashes kept
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/../../a", "http://example.com/a"),
        ("http://example.com/%2E%2E/a", "http://example.com/a"),
        ("http://example.com/a//b", "http://example.com/a//b"),
        # 8 empty path is /, trailing slash dropped elsewhere
        ("http://example.com", "http://example.com/"),
        ("http://example.com/a/", "http://example.com/a"),
        ("http://example.com/a/.", "http://example.com/a"),
        # 9 fragment dropped
        ("http://example.com/a#top", "http://example.com/a"),
        # 10 query kept in order, empty query dropped
        ("http://example.com/a?b=2&a=1", "http://example.com/a?b=2&a=1"),
        ("http://example.com/a?", "http://example.com/a"),
    ],
)
def test_rules(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_block_key_leaves_out_the_scheme() -> None:
    assert block_key("https://Example.com/a?x=1") == "example.com/a?x=1"
    assert block_key("http://example.com/a?x=1") == block_key("https://example.com:443/a?x=1")


def test_prefix_key_has_no_query() -> None:
    assert prefix_key("http://example.org/gallery/") == "example.org/gallery"
    with pytest.raises(Invalid):
        prefix_key("http://example.org/gallery?x=1")


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("", "is required"),
        ("ftp://example.com/a", "the scheme must be http or https"),
        ("javascript:alert(1)", "the scheme must be http or https"),
        ("http://exa mple.com/", "must not contain spaces or control characters"),
        ("http://example.com/a\nb", "must not contain spaces or control characters"),
        ("http://example.com:99999/", "the port must be a number from 1 to 65535"),
        ("http://example.com:x/", "the port must be a number from 1 to 65535"),
        ("http:///a", "must name a host"),
        ("http://<script>.example/", "must have a valid host name"),
        ("http://ex%41mple.com/", "the host must not be percent-encoded"),
        ("http://a..b.example/", "must have a valid host name"),
        ("http://[2001:db8::1/", "an IPv6 host must be closed with ']'"),
        ("http://example.com\\a", "must not use '\\' as a path separator"),
        ("http://" + "a" * 5000 + ".example/", "at most 4,096 characters"),
        ("http://xn--zz-\u200d.example/", "must have a valid internationalised host name"),
    ],
)
def test_invalid_names_field_and_rule(raw: str, rule: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalise(raw)
    assert caught.value.field == "url"
    assert rule in caught.value.rule


def test_script_in_path_is_escaped_not_refused() -> None:
    key = block_key("http://example.com/<script>alert('x')</script>")
    assert "<" not in key
    assert ">" not in key
    assert key == "example.com/%3Cscript%3Ealert('x')%3C/script%3E"


# the parser's shortcuts (rule 6 one "%" at a time, rule 7 skipped without "/.", all labels in
# one expression) against the plain readings they replaced
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ALLOWED = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/?")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def _escapes_byte_by_byte(text: str) -> str:
    data, out, i = text.encode("utf-8"), [], 0
    while i < len(data):
        byte = data[i]
        if byte == 0x25 and i + 2 < len(data) and data[i + 1] in _HEX and data[i + 2] in _HEX:
            value = int(data[i + 1 : i + 3], 16)
            out.append(chr(value) if value in _UNRESERVED else f"%{value:02X}")
            i += 3
            continue
        out.append("%25" if byte == 0x25 else chr(byte) if byte in _ALLOWED else f"%{byte:02X}")
        i += 1
    return "".join(out)


def _dot_segments_always(path: str) -> str:
    segments, kept = path.split("/")[1:], list[str]()
    for i, segment in enumerate(segments):
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if i == len(segments) - 1:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


_PIECES = [
    "a",
    "Z",
    "0",
    "/",
    ".",
    "..",
    "%",
    "%2",
    "%2e",
    "%2E",
    "%41",
    "%7e",
    "%7E",
    "%zz",
    "%%",
    "%25",
    "%2f",
    "%c3%a4",
    "ä",
    "~",
    "?",
    " ",
    '"',
    "<",
    "!$&'()*+,;=:@",
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_escape_and_dot_shortcuts_give_the_plain_reading(text: str) -> None:
    assert _fix_escapes(text) == _escapes_byte_by_byte(text)
    path = "/" + _fix_escapes(text)
    assert _remove_dot_segments(path) == _dot_segments_always(path)


_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ab-_.0", max_size=4) | st.just("a" * 63) | st.just("b" * 64),
        min_size=1,
        max_size=5,
    ).map(".".join)
)
def test_host_names_are_checked_label_by_label(host: str) -> None:
    name = host.removesuffix(".")  # rule 4: a trailing dot is dropped
    if not name:
        return
    if all(_LABEL.match(label) for label in name.split(".")) and len(name) <= 253:
        assert _host(host, "http") == name
    else:
        with pytest.raises(Invalid, match="valid host name"):
            _host(host, "http")
