"""Selector normalisation: canonical forms, match keys and the rules that refuse bad input."""

from __future__ import annotations

import ipaddress

import base58
import bech32
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls
from stdnum import iban as stdnum_iban

from taskforce.cases.selectors import (
    MAX_VALUE_LENGTH,
    NormalisedSelector,
    SelectorKind,
    describe_rules,
    normalise,
    parse_kind,
)
from taskforce.cases.wallets import monero_address
from taskforce.core.errors import Invalid

K = SelectorKind


def value(kind: SelectorKind | str, raw: str, **kw: str | None) -> str:
    return normalise(kind, raw, **kw).value


def refused(kind: SelectorKind | str, raw: str, **kw: str | None) -> Invalid:
    with pytest.raises(Invalid) as caught:
        normalise(kind, raw, **kw)
    return caught.value


def segwit(version: int, program: bytes) -> str:
    """A bc1 address built here, so the tests do not depend on anyone's real wallet."""
    data = [version, *(bech32.convertbits(program, 8, 5) or [])]
    constant = 1 if version == 0 else 0x2BC830A3
    polymod = bech32.bech32_polymod([*bech32.bech32_hrp_expand("bc"), *data, 0, 0, 0, 0, 0, 0])
    checksum = [((polymod ^ constant) >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(bech32.CHARSET[d] for d in data + checksum)


# --- kinds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("email", K.EMAIL),
        (" IMEI ", K.IMEI),
        ("Crypto Wallet", K.CRYPTO_WALLET),
        ("payment-account", K.PAYMENT_ACCOUNT),
        ("sha256", K.SHA256),
    ],
)
def test_parse_kind_reads_forms_and_csv_spellings(raw: str, kind: SelectorKind) -> None:
    assert parse_kind(raw) is kind


def test_parse_kind_refuses_unknown_type_listing_the_valid_ones() -> None:
    with pytest.raises(Invalid) as caught:
        parse_kind("twitter")
    assert caught.value.field == "type"
    assert caught.value.rule == (
        "must be one of: email, phone, username, ip, url, domain, payment_account, "
        "crypto_wallet, md5, sha1, sha256, pdq, imei"
    )


def test_normalise_accepts_kind_as_string_and_refuses_unknown_kind() -> None:
    assert normalise("md5", "D41D8CD98F00B204E9800998ECF8427E").kind is K.MD5
    assert refused("selector", "x").field == "type"


def test_every_kind_is_described() -> None:
    rules = describe_rules()
    assert set(rules) == set(SelectorKind)
    assert all(text.endswith(".") and len(text) > 30 for text in rules.values())


# --- rules shared by every kind ---------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in SelectorKind if k is not K.USERNAME])
@pytest.mark.parametrize("raw", ["", "   ", "\t\n"])
def test_empty_value_is_refused(kind: SelectorKind, raw: str) -> None:
    exc = refused(kind, raw)
    assert (exc.field, exc.rule) == ("value", "must not be empty")


def test_empty_username_is_refused() -> None:
    exc = refused(K.USERNAME, " ", platform="instagram")
    assert (exc.field, exc.rule) == ("value", "must not be empty")


@pytest.mark.parametrize("kind", list(SelectorKind))
def test_oversized_value_is_refused_before_anything_else(kind: SelectorKind) -> None:
    exc = refused(kind, "a" * (MAX_VALUE_LENGTH + 1), platform="instagram")
    assert (exc.field, exc.rule) == ("value", "at most 2048 characters")


def test_value_of_exactly_the_limit_is_read() -> None:
    url = "http://example.com/" + "a" * (MAX_VALUE_LENGTH - len("http://example.com/"))
    assert value(K.URL, url) == url


def test_url_that_grows_past_the_limit_when_normalised_is_refused() -> None:
    exc = refused(K.URL, "http://example.com/" + " " * 1000 + "x")
    assert (exc.field, exc.rule) == ("value", "at most 2048 characters once normalised")


@pytest.mark.parametrize(
    "raw", ["foo\u200b@example.com", "foo@example.com\x00", "\ufefffoo@example.com"]
)
def test_invisible_characters_are_refused(raw: str) -> None:
    exc = refused(K.EMAIL, raw)
    assert (exc.field, exc.rule) == ("value", "must not contain control or invisible characters")


def test_key_equals_value_outside_usernames() -> None:
    sel = normalise(K.EMAIL, "A@Example.com")
    assert sel == NormalisedSelector(K.EMAIL, "a@example.com", None, "a@example.com")


# --- email ----------------------------------------------------------------------------------


def test_email_required_example() -> None:
    assert value(K.EMAIL, " Foo.Bar@Example.COM ") == "foo.bar@example.com"


@pytest.mark.parametrize(
    "raw", ["foo.bar@example.com", "FOO.BAR@EXAMPLE.COM", "\tFoo.Bar@example.Com\n"]
)
def test_email_spellings_share_one_key(raw: str) -> None:
    assert normalise(K.EMAIL, raw).key == "foo.bar@example.com"


def test_email_international_domain_is_stored_in_ascii() -> None:
    assert value(K.EMAIL, "Info@Bücher.example") == "info@xn--bcher-kva.example"
    assert value(K.EMAIL, "info@xn--bcher-kva.example") == "info@xn--bcher-kva.example"


def test_email_plus_tags_and_dots_are_kept() -> None:
    assert value(K.EMAIL, "Foo.Bar+Tag@example.com") == "foo.bar+tag@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "foo",
        "foo@",
        "@example.com",
        "foo@@example.com",
        "foo bar@example.com",
        "foo@localhost",
        "Foo <foo@example.com>",
        "foo@example..com",
    ],
)
def test_email_invalid(raw: str) -> None:
    exc = refused(K.EMAIL, raw)
    assert (exc.field, exc.rule) == ("value", "must be an e-mail address like name@example.com")


# --- phone ----------------------------------------------------------------------------------


def test_phone_required_example() -> None:
    assert value(K.PHONE, "020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("020 7946 0958", "GB"),
        ("020 7946 0958", "gb"),
        ("+44 20 7946 0958", None),
        ("0044 20 7946 0958", None),
        ("0044 20 7946 0958", "GB"),
        ("0044 20 7946 0958", "US"),
        ("+44 (0)20 7946 0958", "FR"),
        ("(020) 7946-0958", "GB"),
        ("+442079460958", "DE"),
    ],
)
def test_phone_spellings_share_one_key(raw: str, region: str | None) -> None:
    assert normalise(K.PHONE, raw, default_region=region).key == "+442079460958"


def test_phone_national_number_needs_agency_country() -> None:
    for region in (None, "", "ZZ"):
        exc = refused(K.PHONE, "020 7946 0958", default_region=region)
        assert exc.field == "value"
        assert (
            exc.rule
            == "needs an international number starting with + (no agency country to read it)"
        )


def test_phone_number_not_in_numbering_plan_is_refused() -> None:
    exc = refused(K.PHONE, "+44 20 7946", default_region="GB")
    assert (exc.field, exc.rule) == (
        "value",
        "is not a valid number in its country's numbering plan",
    )


def test_phone_that_is_not_a_number_is_refused() -> None:
    exc = refused(K.PHONE, "call me", default_region="GB")
    assert (exc.field, exc.rule) == ("value", "must be a phone number like +44 20 7946 0958")


# --- username -------------------------------------------------------------------------------


def test_username_key_carries_platform() -> None:
    sel = normalise(K.USERNAME, " @Example_User ", platform=" Instagram ")
    assert sel == NormalisedSelector(
        K.USERNAME, "example_user", "instagram", "instagram:example_user"
    )


@pytest.mark.parametrize(
    ("raw", "platform"),
    [("example_user", "instagram"), ("@EXAMPLE_USER", "INSTAGRAM"), ("Example_User", " instagram")],
)
def test_username_spellings_share_one_key(raw: str, platform: str) -> None:
    assert normalise(K.USERNAME, raw, platform=platform).key == "instagram:example_user"


def test_same_handle_on_two_platforms_is_two_selectors() -> None:
    a = normalise(K.USERNAME, "example_user", platform="instagram")
    b = normalise(K.USERNAME, "example_user", platform="tiktok")
    assert a.key != b.key


def test_platform_whitespace_becomes_a_hyphen() -> None:
    sel = normalise(K.USERNAME, "someone", platform="  Kik   Messenger ")
    assert (sel.platform, sel.key) == ("kik-messenger", "kik-messenger:someone")


def test_mastodon_handle_keeps_its_instance() -> None:
    sel = normalise(K.USERNAME, "@Someone@Mastodon.example", platform="mastodon")
    assert sel.value == "someone@mastodon.example"


@pytest.mark.parametrize("platform", [None, "", "   "])
def test_username_needs_platform(platform: str | None) -> None:
    exc = refused(K.USERNAME, "someone", platform=platform)
    assert (exc.field, exc.rule) == ("platform", "a username needs its platform")


@pytest.mark.parametrize(
    ("raw", "platform", "field", "rule"),
    [
        ("some one", "x", "value", "must not contain spaces"),
        ("@@someone", "x", "value", "may start with at most one @"),
        ("@", "x", "value", "must not be empty"),
        ("someone", "a:b", "platform", "must not contain ':'"),
        ("someone", "p" * 101, "platform", "at most 100 characters"),
        ("someone", "x\u200b", "platform", "must not contain control or invisible characters"),
    ],
)
def test_username_invalid(raw: str, platform: str, field: str, rule: str) -> None:
    exc = refused(K.USERNAME, raw, platform=platform)
    assert (exc.field, exc.rule) == (field, rule)


def test_platform_is_ignored_for_other_kinds() -> None:
    assert normalise(K.EMAIL, "a@example.com", platform="instagram").platform is None


# --- ip -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2001:DB8::0001", "2001:db8::1"),
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("::FFFF:CB00:7107", "203.0.113.7"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ],
)
def test_ip_canonical_form(raw: str, expected: str) -> None:
    assert value(K.IP, raw) == expected


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("203.0.113.0/24", "must be a single address, not a range (no /prefix)"),
        ("2001:db8::/32", "must be a single address, not a range (no /prefix)"),
        ("fe80::1%eth0", "must not carry an IPv6 zone id (%...)"),
        ("203.0.113.256", "must be an IPv4 or IPv6 address like 203.0.113.7"),
        ("203.0.113", "must be an IPv4 or IPv6 address like 203.0.113.7"),
        ("203.0.113.007", "must be an IPv4 or IPv6 address like 203.0.113.7"),
        ("203.0.113.7:443", "must be an IPv4 or IPv6 address like 203.0.113.7"),
        ("example.com", "must be an IPv4 or IPv6 address like 203.0.113.7"),
    ],
)
def test_ip_invalid(raw: str, rule: str) -> None:
    exc = refused(K.IP, raw)
    assert (exc.field, exc.rule) == ("value", rule)


# --- url ------------------------------------------------------------------------------------


def test_url_required_example() -> None:
    assert value(K.URL, "HTTP://Example.com:80/a/../b") == "http://example.com/b"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("example.com/a", "http://example.com/a"),
        ("example.com", "http://example.com/"),
        ("//example.com/a", "http://example.com/a"),
        ("example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:80/", "https://example.com:80/"),
        ("http://example.com:0080/", "http://example.com/"),
        ("http://user:secret@example.com/a", "http://example.com/a"),
        ("http://example.com/a#section", "http://example.com/a"),
        ("http://example.com./a", "http://example.com/a"),
        ("http://example.com/%7euser/%41%2f%3a", "http://example.com/~user/A%2F%3A"),
        ("http://example.com/a%2db", "http://example.com/a-b"),
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("http://example.com/%", "http://example.com/%25"),
        ("http://example.com/ä", "http://example.com/%C3%A4"),
        ("http://example.com/a/./b/../../c/./d.html", "http://example.com/c/d.html"),
        ("http://example.com/../../a", "http://example.com/a"),
        ("http://example.com/a/b/..", "http://example.com/a/"),
        ("http://example.com/a/%2E%2E/b", "http://example.com/b"),
        ("http://example.com/a/..b", "http://example.com/a/..b"),
        ("http://example.com/?b=2&a=1", "http://example.com/?b=2&a=1"),
        ("http://example.com/p?q=%7e%3d+x y&z", "http://example.com/p?q=~%3D+x%20y&z"),
        ("http://example.com?q=1", "http://example.com/?q=1"),
        ("http://example.com/?", "http://example.com/"),
        ("https://Bücher.Example/Straße", "https://xn--bcher-kva.example/Stra%C3%9Fe"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("http://203.0.113.7:80", "http://203.0.113.7/"),
        ("HTTPS://EXAMPLE.COM/CaseSensitive", "https://example.com/CaseSensitive"),
    ],
)
def test_url_canonical_form(raw: str, expected: str) -> None:
    assert value(K.URL, raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "example.com/a/b",
        "http://example.com/a/b",
        "HTTP://EXAMPLE.COM:80/a/b#top",
        "http://example.com/a/./c/../b",
        "http://user@example.com/%61/b",
        "http://example.com./a/b",
    ],
)
def test_url_spellings_share_one_key(raw: str) -> None:
    assert normalise(K.URL, raw).key == "http://example.com/a/b"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("ftp://example.com/file", "scheme must be http or https"),
        ("mailto:someone@example.com", "scheme must be http or https"),
        ("javascript:alert(1)", "scheme must be http or https"),
        ("http:example.com", "must have a host, like http://example.com/"),
        ("http:///a", "must have a host, like http://example.com/"),
        ("http://user@/a", "must have a host, like http://example.com/"),
        ("http://example.com:99999/", "port must be a number from 1 to 65535"),
        ("http://example.com:http/", "port must be a number from 1 to 65535"),
        ("http://localhost/", "host needs at least two labels, like example.com"),
        (
            "http://exa_mple.com/",
            "host labels must be 1 to 63 letters, digits or hyphens, "
            "not starting or ending with a hyphen",
        ),
        ("http://[2001:db8::1/", "host must be a domain name or IP address"),
        ("http://[fe80::1%25eth0]/", "host must be a domain name or IP address"),
        ("http://ex%61mple.com/", "host must not be percent-encoded"),
    ],
)
def test_url_invalid(raw: str, rule: str) -> None:
    exc = refused(K.URL, raw)
    assert (exc.field, exc.rule) == ("value", rule)


# --- domain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" WWW.Example.COM. ", "www.example.com"),
        ("example.com", "example.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.example.co.uk", "a-b.example.co.uk"),
        ("3com.example", "3com.example"),
    ],
)
def test_domain_canonical_form(raw: str, expected: str) -> None:
    assert value(K.DOMAIN, raw) == expected


_LABEL_RULE = (
    "labels must be 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen"
)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("*.example.com", "must not be a wildcard; give the domain itself"),
        ("https://example.com", "must be a domain name like example.com, not a URL"),
        ("example.com/path", "must be a domain name like example.com, not a URL"),
        ("someone@example.com", "must be a domain name like example.com, not an e-mail address"),
        ("203.0.113.7", "must be a domain name like example.com, not an IP address"),
        ("2001:db8::1", "must be a domain name like example.com, not an IP address"),
        ("example", "needs at least two labels, like example.com"),
        ("-example.com", _LABEL_RULE),
        ("example-.com", _LABEL_RULE),
        ("exa_mple.com", _LABEL_RULE),
        ("example..com", _LABEL_RULE),
        ("a" * 64 + ".com", _LABEL_RULE),
        ("example.com:8080", _LABEL_RULE),
        (".".join(["a" * 60] * 5), "must be at most 253 characters"),
        ("xn--zz.example", "has an invalid xn-- label"),
        ("example.123", "must not end in an all-digit label"),
    ],
)
def test_domain_invalid(raw: str, rule: str) -> None:
    exc = refused(K.DOMAIN, raw)
    assert (exc.field, exc.rule) == ("value", rule)


# --- payment account ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4111 1111 1111 1111", "card:4111111111111111"),
        ("4111-1111-1111-1111", "card:4111111111111111"),
        ("card: 4111 1111 1111 1111", "card:4111111111111111"),
        ("CARD:4111111111111111", "card:4111111111111111"),
        ("GB82 WEST 1234 5698 7654 32", "iban:GB82WEST12345698765432"),
        ("gb82west12345698765432", "iban:GB82WEST12345698765432"),
        ("iban:GB82 WEST 1234 5698 7654 32", "iban:GB82WEST12345698765432"),
        ("merchant: shop 4711 ab", "merchant:SHOP4711AB"),
        ("Merchant:SHOP4711AB", "merchant:SHOP4711AB"),
    ],
)
def test_payment_account_canonical_form(raw: str, expected: str) -> None:
    assert value(K.PAYMENT_ACCOUNT, raw) == expected


_PAYMENT_RULE = (
    "must be a card number (12 to 19 digits), an IBAN like GB82 WEST 1234 5698 7654 32, "
    "or merchant:<id>"
)


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("4111 1111 1111 1112", "card number fails the Luhn check"),
        ("card:4111111111111112", "card number fails the Luhn check"),
        ("card:4111", "card number must be 12 to 19 digits"),
        ("card:4111-abcd-1111-1111", "card number must be 12 to 19 digits"),
        ("GB83 WEST 1234 5698 7654 32", "IBAN check digits are wrong"),
        ("iban:GB82 WEST 1234", "IBAN check digits are wrong"),
        # Check digits right, but too short for a British IBAN:
        (
            f"iban:GB{stdnum_iban.calc_check_digits('GB00WEST1234')}WEST1234",
            "is not a valid IBAN (wrong length or format for its country)",
        ),
        ("merchant:  ", "merchant id must not be empty"),
        ("12345", _PAYMENT_RULE),
        ("paypal someone", _PAYMENT_RULE),
    ],
)
def test_payment_account_invalid(raw: str, rule: str) -> None:
    exc = refused(K.PAYMENT_ACCOUNT, raw)
    assert (exc.field, exc.rule) == ("value", rule)


# --- crypto wallet --------------------------------------------------------------------------

_WALLET_RULE = (
    "must be a Bitcoin (1..., 3..., bc1...), Litecoin (L..., M..., ltc1...), Dogecoin (D..., "
    "A..., 9...), Ethereum (0x...) or Monero (4..., 8...) address"
)
_MONERO = monero_address(18, bytes(range(64)))  # built here, with its Keccak checksum


def test_bitcoin_legacy_address_is_kept_as_typed() -> None:
    assert value(K.CRYPTO_WALLET, " 1BoatSLRHtKNngkdXEeobR76b53LETtpyT ") == (
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"
    )


def test_bitcoin_p2sh_address() -> None:
    # BIP 13 example P2SH address.
    assert value(K.CRYPTO_WALLET, "3EktnHQD7RiAE6uzMj2ZifT9YgRrkSgzQX").startswith("3Ekt")


def test_bitcoin_segwit_v0_and_taproot_are_lower_cased() -> None:
    v0 = segwit(0, bytes(range(20)))
    v1 = segwit(1, bytes(range(32)))
    assert value(K.CRYPTO_WALLET, v0.upper()) == v0
    assert value(K.CRYPTO_WALLET, v1) == v1
    bip350 = "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0"
    assert value(K.CRYPTO_WALLET, bip350.upper()) == bip350


def test_ethereum_address_is_lower_cased() -> None:
    assert value(K.CRYPTO_WALLET, "0x52908400098527886E0F7030069857D2E4169EE7") == (
        "0x52908400098527886e0f7030069857d2e4169ee7"
    )
    assert value(K.CRYPTO_WALLET, "0X" + "AB" * 20) == "0x" + "ab" * 20


def test_monero_address_checksum() -> None:
    assert value(K.CRYPTO_WALLET, _MONERO) == _MONERO
    broken = _MONERO[:-1] + ("B" if _MONERO[-1] != "B" else "C")
    assert refused(K.CRYPTO_WALLET, broken).rule == "Monero address checksum is wrong"


def test_ethereum_mixed_case_must_match_eip55() -> None:
    # EIP-55's own example, then the same address with one letter's case flipped.
    assert value(K.CRYPTO_WALLET, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed") == (
        "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    )
    exc = refused(K.CRYPTO_WALLET, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")
    assert exc.rule == "Ethereum address checksum (EIP-55 mixed case) is wrong"


def test_litecoin_and_dogecoin_addresses() -> None:
    ltc = base58.b58encode_check(bytes([0x30]) + bytes(range(20))).decode()
    doge = base58.b58encode_check(bytes([0x1E]) + bytes(range(20))).decode()
    assert value(K.CRYPTO_WALLET, ltc) == ltc
    assert value(K.CRYPTO_WALLET, doge) == doge


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyU", "Bitcoin address checksum is wrong"),
        ("1BoatSLRHtKNngkdXEeobR76b53LETtpyt", "Bitcoin address checksum is wrong"),
        ("3BoatSLRHtKNngkdXEeobR76b53LETtpyT", "Bitcoin address checksum is wrong"),
        (segwit(0, bytes(range(20)))[:-1] + "q", "bc1 address checksum is wrong"),
        (
            "bc1" + segwit(0, bytes(range(20)))[3:].upper(),
            "bc1 address must not mix upper and lower case",
        ),
        (segwit(0, bytes(range(25))), "is not a valid bc1 address"),
        ("bc1qb", "is not a valid bc1 address"),
        ("0x" + "ab" * 19, _WALLET_RULE),
        ("4" + "A" * 93, _WALLET_RULE),
        ("hello", _WALLET_RULE),
    ],
)
def test_crypto_wallet_invalid(raw: str, rule: str) -> None:
    exc = refused(K.CRYPTO_WALLET, raw)
    assert (exc.field, exc.rule) == ("value", rule)


def test_taproot_with_v0_checksum_is_refused() -> None:
    # BIP 350: witness v1+ must use bech32m; the old bech32 constant is a different address.
    data = [1, *(bech32.convertbits(bytes(range(32)), 8, 5) or [])]
    legacy_checksum = bech32.bech32_encode("bc", data)
    exc = refused(K.CRYPTO_WALLET, legacy_checksum)
    assert exc.rule == "is not a valid bc1 address"


# --- hashes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "digits", "name"),
    [(K.MD5, 32, "MD5"), (K.SHA1, 40, "SHA-1"), (K.SHA256, 64, "SHA-256"), (K.PDQ, 64, "PDQ hash")],
)
def test_hex_hashes(kind: SelectorKind, digits: int, name: str) -> None:
    raw = ("0123456789ABCDEF" * 4)[:digits]
    assert value(kind, f"  {raw} ") == raw.lower()
    assert normalise(kind, raw.lower()).key == normalise(kind, raw).key
    rule = f"must be {digits} hexadecimal digits ({name})"
    for bad in (raw[:-1], raw + "0", raw[:-1] + "g", raw[:10] + " " + raw[10:]):
        exc = refused(kind, bad)
        assert (exc.field, exc.rule) == ("value", rule)


def test_md5_of_empty_string() -> None:
    assert value(K.MD5, "D41D8CD98F00B204E9800998ECF8427E") == "d41d8cd98f00b204e9800998ecf8427e"


# --- imei -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw", ["490154203237518", "49-015420-323751-8", "49 015420 323751 8", "49/015420/323751/8"]
)
def test_imei_spellings(raw: str) -> None:
    assert value(K.IMEI, raw) == "490154203237518"


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("490154203237519", "IMEI check digit is wrong"),
        ("49015420323751", "IMEI needs its 15th (check) digit"),
        ("4901542032375101", "IMEISV has no check digit; give the 15-digit IMEI"),
        ("4901542032375", "must be 15 digits"),
        ("49015420323751A", "must be 15 digits"),
    ],
)
def test_imei_invalid(raw: str, rule: str) -> None:
    exc = refused(K.IMEI, raw)
    assert (exc.field, exc.rule) == ("value", rule)


# --- properties -----------------------------------------------------------------------------


def assert_idempotent(kind: SelectorKind, raw: str) -> None:
    try:
        first = normalise(kind, raw)
    except Invalid:
        return  # refusing is fine; what is accepted must be stable
    again = normalise(kind, first.value)
    assert again == first


@settings(max_examples=200)
@given(st.emails())
def test_email_normalisation_is_idempotent(address: str) -> None:
    assert_idempotent(K.EMAIL, address)


@given(st.emails())
def test_email_case_does_not_change_the_key(address: str) -> None:
    try:
        lower = normalise(K.EMAIL, address.lower())
    except Invalid:
        return
    assert normalise(K.EMAIL, address.upper()).key == lower.key


@given(st.ip_addresses())
def test_ip_normalisation_is_idempotent_and_matches_ipaddress(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    sel = normalise(K.IP, address.exploded.upper())
    assert normalise(K.IP, sel.value) == sel
    expected = getattr(address, "ipv4_mapped", None) or address
    assert sel.value == str(expected)


@given(st.sampled_from([(K.MD5, 32), (K.SHA1, 40), (K.SHA256, 64), (K.PDQ, 64)]), st.data())
def test_hex_normalisation_is_idempotent(
    kind_len: tuple[SelectorKind, int], data: st.DataObject
) -> None:
    kind, length = kind_len
    raw = data.draw(st.text(alphabet="0123456789abcdefABCDEF", min_size=length, max_size=length))
    assert value(kind, raw) == raw.lower()
    assert_idempotent(kind, raw)


@settings(max_examples=300)
@given(urls())
def test_url_normalisation_is_idempotent(url: str) -> None:
    assert_idempotent(K.URL, url)


@given(
    st.lists(st.sampled_from(["a", "b", ".", "..", "%2e", "%2E%2e", "", "x y", "%41"]), max_size=8)
)
def test_url_paths_are_stable_and_dot_free(segments: list[str]) -> None:
    url = "http://example.com/" + "/".join(segments)
    result = value(K.URL, url)
    assert value(K.URL, result) == result
    path_segments = result.removeprefix("http://example.com").split("/")
    assert "." not in path_segments
    assert ".." not in path_segments
