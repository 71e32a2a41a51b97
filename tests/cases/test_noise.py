"""The noise list: which normalised selectors never create hits, and admin rule parsing."""

from __future__ import annotations

import ipaddress

import pytest

from taskforce.cases.noise import BUILTIN_NOISE, NoiseRule, noise_reason, parse_rule
from taskforce.cases.selectors import SelectorKind, normalise
from taskforce.core.errors import Invalid

K = SelectorKind


def ip_reason(raw: str) -> str | None:
    return noise_reason(normalise(K.IP, raw))


@pytest.mark.parametrize(
    ("raw", "source"),
    [
        ("8.8.8.8", "Google Public DNS"),
        ("8.8.4.4", "Google Public DNS"),
        ("2001:4860:4860::8888", "Google Public DNS"),
        ("2001:4860:4860:0::8844", "Google Public DNS"),
        ("1.1.1.1", "Cloudflare"),
        ("1.0.0.1", "Cloudflare"),
        ("2606:4700:4700::1111", "Cloudflare"),
        ("2606:4700:4700::1001", "Cloudflare"),
        ("9.9.9.9", "Quad9"),
        ("149.112.112.112", "Quad9"),
        ("208.67.222.222", "OpenDNS"),
        ("208.67.220.220", "OpenDNS"),
    ],
)
def test_public_resolvers_are_noise(raw: str, source: str) -> None:
    reason = ip_reason(raw)
    assert reason is not None
    assert source in reason
    assert reason.startswith("public DNS resolver")


@pytest.mark.parametrize(
    ("raw", "rfc"),
    [
        ("100.64.0.1", "RFC 6598"),
        ("100.127.255.254", "RFC 6598"),
        ("10.0.0.1", "RFC 1918"),
        ("10.255.255.255", "RFC 1918"),
        ("172.16.0.1", "RFC 1918"),
        ("172.31.255.255", "RFC 1918"),
        ("192.168.1.1", "RFC 1918"),
        ("127.0.0.1", "RFC 1122"),
        ("127.8.9.10", "RFC 1122"),
        ("::1", "RFC 4291"),
        ("169.254.10.20", "RFC 3927"),
        ("fe80::1", "RFC 4291"),
        ("febf::1", "RFC 4291"),
        ("fd12:3456::1", "RFC 4193"),
        ("fc00::1", "RFC 4193"),
        (str(ipaddress.IPv4Address(0)), "RFC 1122"),
        ("::", "RFC 4291"),
        ("::ffff:192.168.0.1", "RFC 1918"),
    ],
)
def test_special_purpose_ranges_are_noise(raw: str, rfc: str) -> None:
    reason = ip_reason(raw)
    assert reason is not None
    assert rfc in reason


@pytest.mark.parametrize(
    "raw",
    [
        "203.0.113.7",
        "192.0.2.1",
        "198.51.100.23",
        "2001:db8::1",  # documentation nets: demo data
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.169.0.1",
        "8.8.8.9",
        "1.1.1.2",
        "fec0::1",
        "fe00::1",
        "::2",
    ],
)
def test_ordinary_and_documentation_addresses_are_not_noise(raw: str) -> None:
    assert ip_reason(raw) is None


def test_documentation_ranges_are_not_on_the_builtin_list() -> None:
    doc_nets = [
        ipaddress.ip_network(n)
        for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    ]
    for rule in BUILTIN_NOISE:
        if rule.kind is K.IP:
            net = ipaddress.ip_network(rule.pattern)
            assert not any(net.version == d.version and net.overlaps(d) for d in doc_nets), rule


@pytest.mark.parametrize(
    ("raw", "platform"),
    [
        ("noreply@facebookmail.com", "Facebook"),
        ("Security@FacebookMail.com", "Facebook"),
        ("no-reply@accounts.google.com", "Google"),
        ("noreply@discord.com", "Discord"),
        ("no-reply@snapchat.com", "Snapchat"),
        ("verify@x.com", "X/Twitter"),
        ("info@twitter.com", "X/Twitter"),
        ("noreply@tiktok.com", "TikTok"),
        ("no-reply@telegram.org", "Telegram"),
        ("security@mail.instagram.com", "Instagram"),
    ],
)
def test_platform_notification_addresses_are_noise(raw: str, platform: str) -> None:
    reason = noise_reason(normalise(K.EMAIL, raw))
    assert reason == (
        f"platform's own notification/support address ({platform}): appears in every account case"
    )


@pytest.mark.parametrize(
    "raw", ["someone@facebookmail.com", "someone@example.com", "noreply@discord.example"]
)
def test_other_addresses_are_not_noise(raw: str) -> None:
    assert noise_reason(normalise(K.EMAIL, raw)) is None


def test_builtin_rules_are_already_canonical_and_short_enough_to_store() -> None:
    for rule in BUILTIN_NOISE:
        assert parse_rule(rule.kind, rule.pattern, rule.reason) == rule
        assert len(rule.reason) <= 200


def test_noise_only_applies_to_its_own_kind() -> None:
    # MD5 and SHA-256 keys are both hex strings; a rule for one kind must not touch another.
    rule = NoiseRule(K.MD5, "d41d8cd98f00b204e9800998ecf8427e", "hash of the empty file")
    sha = normalise(K.SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert noise_reason(sha, [rule]) is None
    md5 = normalise(K.MD5, "D41D8CD98F00B204E9800998ECF8427E")
    assert noise_reason(md5, [rule]) == "hash of the empty file"


def test_extra_rules_are_tried_after_builtin_ones() -> None:
    extra = [
        NoiseRule(K.IP, "8.8.8.0/24", "admin: Google range"),
        NoiseRule(K.IP, "203.0.113.0/25", "admin: test lab"),
    ]
    assert noise_reason(normalise(K.IP, "8.8.8.8"), extra) is not None
    assert noise_reason(normalise(K.IP, "8.8.8.8"), extra) != "admin: Google range"
    assert noise_reason(normalise(K.IP, "8.8.8.7"), extra) == "admin: Google range"
    assert noise_reason(normalise(K.IP, "203.0.113.7"), extra) == "admin: test lab"
    assert noise_reason(normalise(K.IP, "203.0.113.200"), extra) is None


def test_ip_rules_never_match_across_versions() -> None:
    extra = [NoiseRule(K.IP, "::/96", "IPv4-compatible IPv6")]
    assert noise_reason(normalise(K.IP, "203.0.113.7"), extra) is None


def test_email_domain_rule_matches_exact_domain_only() -> None:
    rule = parse_rule("email", "@Mailer.Example.com", "bulk mailer")
    assert rule.pattern == "@mailer.example.com"
    assert noise_reason(normalise(K.EMAIL, "Bounce@MAILER.example.com"), [rule]) == "bulk mailer"
    assert noise_reason(normalise(K.EMAIL, "x@sub.mailer.example.com"), [rule]) is None
    assert noise_reason(normalise(K.EMAIL, "x@example.com"), [rule]) is None


def test_username_rule_uses_the_platform_key() -> None:
    rule = parse_rule(K.USERNAME, " Instagram:@Instagram ", "the platform's own account")
    assert rule.pattern == "instagram:instagram"
    own = normalise(K.USERNAME, "INSTAGRAM", platform="instagram")
    assert noise_reason(own, [rule]) == "the platform's own account"
    elsewhere = normalise(K.USERNAME, "instagram", platform="tiktok")
    assert noise_reason(elsewhere, [rule]) is None


@pytest.mark.parametrize(
    ("kind", "pattern", "expected"),
    [
        (K.IP, " 203.0.113.77/24 ", "203.0.113.0/24"),
        (K.IP, "203.0.113.7/32", "203.0.113.7"),
        (K.IP, "2001:DB8::0001", "2001:db8::1"),
        (K.IP, "::ffff:203.0.113.7", "203.0.113.7"),
        (K.IP, "2001:DB8:0::/48", "2001:db8::/48"),
        ("email", "NoReply@Example.com", "noreply@example.com"),
        ("email", "@Bücher.example", "@xn--bcher-kva.example"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("url", "HTTP://Example.com:80/a/../b", "http://example.com/b"),
        ("domain", "Example.COM.", "example.com"),
        ("payment_account", "4111 1111 1111 1111", "card:4111111111111111"),
        ("imei", "49-015420-323751-8", "490154203237518"),
    ],
)
def test_parse_rule_canonicalises_patterns(
    kind: SelectorKind | str, pattern: str, expected: str
) -> None:
    rule = parse_rule(kind, pattern, "  reason  with   spaces ")
    assert rule == NoiseRule(SelectorKind(kind), expected, "reason with spaces")


def test_parsed_rule_matches_what_normalise_stores() -> None:
    rule = parse_rule("url", "example.com/a/b", "a shared landing page")
    sel = normalise(K.URL, "HTTP://EXAMPLE.COM:80/a/./b#x")
    assert noise_reason(sel, [rule]) == "a shared landing page"


@pytest.mark.parametrize(
    ("kind", "pattern", "field", "rule"),
    [
        (
            K.IP,
            "203.0.113.0/33",
            "pattern",
            "must be an IP address or a CIDR network like 203.0.113.0/24",
        ),
        (
            K.IP,
            "example.com/8",
            "pattern",
            "must be an IP address or a CIDR network like 203.0.113.0/24",
        ),
        (K.IP, "example.com", "pattern", "must be an IPv4 or IPv6 address like 203.0.113.7"),
        (K.IP, " ", "pattern", "must not be empty"),
        (K.EMAIL, "not-an-address", "pattern", "must be an e-mail address like name@example.com"),
        (K.EMAIL, "@localhost", "pattern", "needs at least two labels, like example.com"),
        (
            K.USERNAME,
            "someone",
            "pattern",
            "must be platform:username, like instagram:example_user",
        ),
        (K.USERNAME, ":someone", "pattern", "a username needs its platform"),
        (
            K.PHONE,
            "020 7946 0958",
            "pattern",
            "needs an international number starting with + (no agency country to read it)",
        ),
        (K.MD5, "abc", "pattern", "must be 32 hexadecimal digits (MD5)"),
        (
            "nonsense",
            "x",
            "type",
            "must be one of: email, phone, username, ip, url, domain, payment_account, "
            "crypto_wallet, md5, sha1, sha256, pdq, imei",
        ),
    ],
)
def test_parse_rule_refuses_bad_patterns(
    kind: SelectorKind | str, pattern: str, field: str, rule: str
) -> None:
    with pytest.raises(Invalid) as caught:
        parse_rule(kind, pattern, "why")
    assert (caught.value.field, caught.value.rule) == (field, rule)


@pytest.mark.parametrize(
    ("reason", "rule"), [("   ", "must not be empty"), ("x" * 201, "at most 200 characters")]
)
def test_parse_rule_needs_a_storable_reason(reason: str, rule: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_rule(K.IP, "203.0.113.0/24", reason)
    assert (caught.value.field, caught.value.rule) == ("reason", rule)
