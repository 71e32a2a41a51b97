"""Each normalisation rule, IDN and percent-encoding, and hostile input."""

from __future__ import annotations

import pytest

from taskforce.blocklist.normalise import block_key, normalise, prefix_key
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
    assert "<" not in key and ">" not in key
    assert key == "example.com/%3Cscript%3Ealert('x')%3C/script%3E"
