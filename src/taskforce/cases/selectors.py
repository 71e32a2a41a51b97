"""Selector types and their normalisation: when two entries are one and the same identifier.

A hit is only as good as the match key behind it: `Foo.Bar@Example.COM` and `foo.bar@example.com`
must meet, `020 7946 0958` typed by a British agency must meet `+44 20 7946 0958`. Every selector
type therefore has one documented canonical form (`value`, shown and stored) and a match key
(`key`, compared); invalid input is refused with `Invalid(field, rule)` rather than stored in a
form that can never match. This module is pure: no database, no network, no clock.

Decisions that are not obvious:

* E-mail addresses are lower-cased whole, local part included. RFC 5321 lets a server treat the
  local part case-sensitively, but no mainstream provider does, and a missed hit costs more than
  a false one (the investigator sees both cases before anything happens). Provider-specific
  tricks (Gmail dots, `+tags`) are *not* undone: they would merge distinct accounts elsewhere.
* Usernames are lower-cased: the big platforms (Instagram, TikTok, X, Snapchat, Telegram,
  Discord, Reddit, Kik) resolve handles case-insensitively. A username only means something on
  its platform, so the key is `platform:username` and a username without a platform is refused.
  Platform names are lower-cased with inner whitespace turned into `-` (`Kik Messenger` ->
  `kik-messenger`); no alias table (`twitter` = `x`) is applied.
* Phone numbers are stored in E.164. A national number (`020 7946 0958`) is read in the entering
  agency's country; without one, only `+...` or `00...` numbers are accepted.
* URLs follow RFC 3986 section 6 normalisation (case, percent-encoding, dot segments, default
  port), plus: no scheme means `http`, the fragment and any `user:password@` are dropped, and
  characters that are not allowed in a URL (spaces, non-ASCII) are percent-encoded as UTF-8, as a
  browser does. Query strings are kept in order: parameter order can matter to a server.
* Crypto wallets are checked by `cases.wallets`, per chain (base58check, bech32/bech32m,
  EIP-55, Monero's Keccak checksum). Ethereum addresses are lower-cased (mixed case must match
  EIP-55; all-lower/all-upper carry no checksum and are accepted), bc1/ltc1 lower-cased, base58
  addresses kept as typed. A `3...` address is read as Bitcoin: Litecoin's legacy P2SH has the
  same bytes.
* Control and invisible format characters (zero-width space, BOM, bidi marks) are refused for
  every type: pasted from a web page they would make a selector that looks right but never
  matches.
"""

from __future__ import annotations

import ipaddress
import re
import string
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import email_validator
import idna
import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum import imei as stdnum_imei
from stdnum import luhn as stdnum_luhn
from stdnum.exceptions import InvalidChecksum, ValidationError

from taskforce.cases import wallets
from taskforce.core.errors import Invalid

MAX_VALUE_LENGTH = 2048
MAX_PLATFORM_LENGTH = 100

# (text after strip/NFC, agency region) -> canonical value; USERNAME is handled apart.
_Normaliser = Callable[[str, str | None], str]


class SelectorKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    USERNAME = "username"
    IP = "ip"
    URL = "url"
    DOMAIN = "domain"
    PAYMENT_ACCOUNT = "payment_account"
    CRYPTO_WALLET = "crypto_wallet"
    MD5 = "md5"
    SHA1 = "sha1"
    SHA256 = "sha256"
    PDQ = "pdq"
    IMEI = "imei"


@dataclass(frozen=True)
class NormalisedSelector:
    kind: SelectorKind
    value: str
    """Canonical form, shown to users and stored."""
    platform: str | None
    """Canonical platform name, for USERNAME only."""
    key: str
    """Match key: two selectors of one kind are the same identifier iff their keys are equal."""


_KIND_RULE = "must be one of: " + ", ".join(k.value for k in SelectorKind)


def parse_kind(raw: str) -> SelectorKind:
    """Read a selector type as typed in a form, CSV or CLI (`Crypto wallet` is accepted)."""
    name = re.sub(r"[\s-]+", "_", raw.strip().lower())
    try:
        return SelectorKind(name)
    except ValueError:
        raise Invalid("type", _KIND_RULE) from None


def normalise(
    kind: SelectorKind | str,
    raw: str,
    *,
    platform: str | None = None,
    default_region: str | None = None,
) -> NormalisedSelector:
    """Turn what an investigator typed into the canonical selector, or refuse it.

    `platform` is needed for USERNAME and ignored otherwise. `default_region` is the ISO 3166
    alpha-2 country of the entering agency, used only to read national phone numbers; an unknown
    code is treated as no country.
    """
    kind = kind if isinstance(kind, SelectorKind) else parse_kind(kind)
    if len(raw) > MAX_VALUE_LENGTH:
        raise Invalid("value", f"at most {MAX_VALUE_LENGTH} characters")
    text = unicodedata.normalize("NFC", raw.strip())
    if not text:
        raise Invalid("value", "must not be empty")
    _refuse_invisible(text, "value")

    if kind is SelectorKind.USERNAME:
        platform_name = _platform(platform)
        value = _username(text)
        return NormalisedSelector(kind, value, platform_name, f"{platform_name}:{value}")

    value = _NORMALISERS[kind](text, default_region)
    if len(value) > MAX_VALUE_LENGTH:
        raise Invalid("value", f"at most {MAX_VALUE_LENGTH} characters once normalised")
    return NormalisedSelector(kind, value, None, value)


def describe_rules() -> dict[SelectorKind, str]:
    """One sentence per type for the web form help and the docs; keep in step with the code."""
    return dict(_RULES)


_RULES: dict[SelectorKind, str] = {
    SelectorKind.EMAIL: (
        "An e-mail address, lower-cased whole (Foo.Bar@Example.COM becomes "
        "foo.bar@example.com); international domains are stored in their xn-- ASCII form."
    ),
    SelectorKind.PHONE: (
        "A phone number, stored in international E.164 form (+442079460958); national numbers "
        "are read in your agency's country, and 00 works in place of +."
    ),
    SelectorKind.USERNAME: (
        "A handle on a named platform: one leading @ is dropped and both handle and platform are "
        "lower-cased, because platforms treat handles case-insensitively."
    ),
    SelectorKind.IP: (
        "One IPv4 or IPv6 address (not a range), in its shortest standard form; IPv4-mapped "
        "IPv6 addresses (::ffff:203.0.113.7) become plain IPv4."
    ),
    SelectorKind.URL: (
        "An http or https URL: scheme and host lower-cased, default port, fragment and "
        "user:password removed, ../ resolved and percent-encoding tidied; no scheme means http."
    ),
    SelectorKind.DOMAIN: (
        "A domain name such as example.com (not a URL, not a wildcard), lower-cased without a "
        "trailing dot; international names are stored in their xn-- ASCII form."
    ),
    SelectorKind.PAYMENT_ACCOUNT: (
        "A card number (Luhn-checked), an IBAN (checked) or merchant:<id>, stored with its "
        "sub-type prefix and without spaces, e.g. card:4111111111111111."
    ),
    SelectorKind.CRYPTO_WALLET: (
        "A Bitcoin (1..., 3..., bc1...), Litecoin (L..., M..., ltc1...), Dogecoin (D..., A..., "
        "9...), Ethereum (0x...) or Monero (4..., 8...) address; every checksum is verified "
        "(mixed-case 0x addresses by EIP-55), bc1, ltc1 and 0x addresses are lower-cased, "
        "others kept as typed."
    ),
    SelectorKind.MD5: "An MD5 hash: exactly 32 hexadecimal digits, lower-cased.",
    SelectorKind.SHA1: "A SHA-1 hash: exactly 40 hexadecimal digits, lower-cased.",
    SelectorKind.SHA256: "A SHA-256 hash: exactly 64 hexadecimal digits, lower-cased.",
    SelectorKind.PDQ: (
        "A PDQ perceptual image hash: exactly 64 hexadecimal digits (256 bits), lower-cased; "
        "near matches count as hits."
    ),
    SelectorKind.IMEI: (
        "A 15-digit IMEI with a valid check digit; spaces, dashes and slashes are removed."
    ),
}


# --- shared helpers -------------------------------------------------------------------------

# Zero-width (non-)joiners are legitimate inside some scripts' words; every other format
# character is invisible noise from copy and paste.
_ALLOWED_FORMAT_CHARS = frozenset("\u200c\u200d")


def _refuse_invisible(text: str, field: str) -> None:
    if text.isascii() and text.isprintable():
        return  # printable ASCII has no control or format characters
    for char in text:
        category = unicodedata.category(char)
        if category in ("Cc", "Cs") or (category == "Cf" and char not in _ALLOWED_FORMAT_CHARS):
            raise Invalid(field, "must not contain control or invisible characters")


def _compact(text: str, separators: str) -> str:
    return "".join(c for c in text if c not in separators and not c.isspace())


# --- email ----------------------------------------------------------------------------------


def _email(text: str, _region: str | None) -> str:
    try:
        result = email_validator.validate_email(
            text, check_deliverability=False, test_environment=True
        )
    except email_validator.EmailNotValidError:
        raise Invalid("value", "must be an e-mail address like name@example.com") from None
    # ascii_email is None when the local part itself is non-ASCII; the domain is then still
    # the Unicode one, which is the best canonical form available.
    address = result.ascii_email or result.normalized
    return address.lower()


# --- phone ----------------------------------------------------------------------------------


def _phone(text: str, region: str | None) -> str:
    region = region.strip().upper() if region else None
    if region not in phonenumbers.SUPPORTED_REGIONS:
        region = None
    # 00 is the international prefix almost everywhere; phonenumbers only knows it when the
    # region's own prefix is 00, so read it as + whatever the agency's country.
    if text.startswith("00"):
        text = "+" + text[2:]
    if region is None and not text.startswith("+"):
        raise Invalid(
            "value", "needs an international number starting with + (no agency country to read it)"
        )
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise Invalid("value", "must be a phone number like +44 20 7946 0958") from None
    if not phonenumbers.is_valid_number(number):
        raise Invalid("value", "is not a valid number in its country's numbering plan")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# --- username -------------------------------------------------------------------------------


def _platform(raw: str | None) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise Invalid("platform", "a username needs its platform")
    name = unicodedata.normalize("NFC", name).lower().replace(" ", "-")
    if len(name) > MAX_PLATFORM_LENGTH:
        raise Invalid("platform", f"at most {MAX_PLATFORM_LENGTH} characters")
    _refuse_invisible(name, "platform")
    if ":" in name:
        # The key is platform:username; a colon in the platform would make it ambiguous.
        raise Invalid("platform", "must not contain ':'")
    return name


def _username(text: str) -> str:
    name = text.removeprefix("@")
    if not name:
        raise Invalid("value", "must not be empty")
    if name.startswith("@"):
        # Stripping only one @ keeps Mastodon-style @user@instance intact; a second one would
        # be stripped on re-normalising, so it is refused rather than stored.
        raise Invalid("value", "may start with at most one @")
    if any(c.isspace() for c in name):
        raise Invalid("value", "must not contain spaces")
    return name.lower()


# --- ip -------------------------------------------------------------------------------------


def _ip_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "/" in text:
        raise Invalid("value", "must be a single address, not a range (no /prefix)")
    if "%" in text:
        raise Invalid("value", "must not carry an IPv6 zone id (%...)")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise Invalid("value", "must be an IPv4 or IPv6 address like 203.0.113.7") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _ip(text: str, _region: str | None) -> str:
    return str(_ip_address(text))


# --- domain ---------------------------------------------------------------------------------

_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _hostname(text: str, subject: str) -> str:
    """Canonical ASCII host name; `subject` prefixes the rule ("host " inside a URL)."""
    name = text.lower().removesuffix(".")
    if "*" in name:
        raise Invalid("value", f"{subject}must not be a wildcard; give the domain itself")
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise Invalid("value", f"{subject}must be a domain name like example.com") from None
    if len(name) > 253:
        raise Invalid("value", f"{subject}must be at most 253 characters")
    labels = name.split(".")
    if len(labels) < 2:
        raise Invalid("value", f"{subject}needs at least two labels, like example.com")
    for label in labels:
        if not _LABEL_RE.fullmatch(label):
            raise Invalid(
                "value",
                f"{subject}labels must be 1 to 63 letters, digits or hyphens, "
                "not starting or ending with a hyphen",
            )
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise Invalid("value", f"{subject}has an invalid xn-- label") from None
    if labels[-1].isdigit():
        raise Invalid("value", f"{subject}must not end in an all-digit label")
    return name


def _domain(text: str, _region: str | None) -> str:
    if "://" in text or "/" in text:
        raise Invalid("value", "must be a domain name like example.com, not a URL")
    if "@" in text:
        raise Invalid("value", "must be a domain name like example.com, not an e-mail address")
    try:
        ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return _hostname(text, "")
    raise Invalid("value", "must be a domain name like example.com, not an IP address")


# --- url ------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_PORT_AFTER_HOST_RE = re.compile(r"[0-9]*(?:[/?#]|$)")
_HEX2_RE = re.compile(r"[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PATH_SAFE = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")


def _split_scheme(text: str) -> tuple[str, str]:
    """Split off the scheme, treating `example.com/a` and `example.com:8080` as scheme-less."""
    if text.startswith("//"):
        return "http", text[2:]
    match = _SCHEME_RE.match(text)
    if match:
        rest = text[match.end() :]
        scheme = match.group()[:-1].lower()
        if rest.startswith("//"):
            return scheme, rest[2:]
        if scheme in _DEFAULT_PORTS:
            raise Invalid("value", "must have a host, like http://example.com/")
        if not _PORT_AFTER_HOST_RE.match(rest):
            # mailto:, javascript:, data: ... : a scheme, and not one we take.
            raise Invalid("value", "scheme must be http or https")
    return "http", text


def _percent_normalise(text: str, safe: frozenset[str]) -> str:
    """Upper-case escapes, decode escaped unreserved characters, escape what may not appear."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "%" and _HEX2_RE.fullmatch(text[i + 1 : i + 3]):
            byte = int(text[i + 1 : i + 3], 16)
            out.append(chr(byte) if chr(byte) in _UNRESERVED else f"%{byte:02X}")
            i += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{b:02X}" for b in char.encode("utf-8"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for the absolute paths a URL with a host has."""
    out: list[str] = []
    rest = path
    while rest:
        if rest.startswith("../"):
            rest = rest[3:]
        elif rest.startswith(("./", "/./")):
            rest = rest[2:]
        elif rest == "/.":
            rest = "/"
        elif rest.startswith("/../") or rest == "/..":
            rest = "/" + rest[4:]
            if out:
                out.pop()
        elif rest in (".", ".."):
            rest = ""
        else:
            end = rest.find("/", 1)
            end = len(rest) if end == -1 else end
            out.append(rest[:end])
            rest = rest[end:]
    return "".join(out)


def _url_host(hostport: str, scheme: str) -> str:
    if hostport.startswith("["):
        inner, bracket, after = hostport[1:].partition("]")
        if not bracket or "%" in inner or (after and not after.startswith(":")):
            raise Invalid("value", "host must be a domain name or IP address")
        port_text = after[1:] if after else ""
        try:
            host = f"[{ipaddress.IPv6Address(inner).compressed}]"
        except ValueError:
            raise Invalid("value", "host must be a domain name or IP address") from None
    else:
        host_text, _, port_text = hostport.partition(":")
        if not host_text:
            raise Invalid("value", "must have a host, like http://example.com/")
        if "%" in host_text:
            raise Invalid("value", "host must not be percent-encoded")
        try:
            host = str(ipaddress.IPv4Address(host_text))
        except ValueError:
            host = _hostname(host_text, "host ")
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise Invalid("value", "port must be a number from 1 to 65535")
        if int(port_text) != _DEFAULT_PORTS[scheme]:
            host = f"{host}:{int(port_text)}"
    return host


def _url(text: str, _region: str | None) -> str:
    scheme, rest = _split_scheme(text)
    if scheme not in _DEFAULT_PORTS:
        raise Invalid("value", "scheme must be http or https")
    # Authority ends at the first / ? or #; the fragment is dropped, the query kept.
    without_fragment = rest.partition("#")[0]
    authority_end = min(
        (i for i in (without_fragment.find(c) for c in "/?") if i != -1),
        default=len(without_fragment),
    )
    authority = without_fragment[:authority_end]
    path, _, query = without_fragment[authority_end:].partition("?")
    hostport = authority.rpartition("@")[2]  # user:password@ is dropped
    if not hostport:
        raise Invalid("value", "must have a host, like http://example.com/")
    host = _url_host(hostport, scheme)
    path = _remove_dot_segments(_percent_normalise(path, _PATH_SAFE)) or "/"
    query = _percent_normalise(query, _QUERY_SAFE)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


# --- payment account ------------------------------------------------------------------------

_PAYMENT_FORMS_RULE = (
    "must be a card number (12 to 19 digits), an IBAN like GB82 WEST 1234 5698 7654 32, "
    "or merchant:<id>"
)
_PAYMENT_PREFIX_RE = re.compile(r"(card|iban|merchant)\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
_DIGITS_RE = re.compile(r"[0-9]+")
_IBAN_SHAPE_RE = re.compile(r"[A-Za-z]{2}[0-9]{2}[A-Za-z0-9]+")


def _card(digits: str) -> str:
    if not _DIGITS_RE.fullmatch(digits) or not 12 <= len(digits) <= 19:
        raise Invalid("value", "card number must be 12 to 19 digits")
    if not stdnum_luhn.is_valid(digits):
        raise Invalid("value", "card number fails the Luhn check")
    return f"card:{digits}"


def _iban(text: str) -> str:
    try:
        return f"iban:{stdnum_iban.validate(text)}"
    except InvalidChecksum:
        raise Invalid("value", "IBAN check digits are wrong") from None
    except ValidationError:
        raise Invalid(
            "value", "is not a valid IBAN (wrong length or format for its country)"
        ) from None


def _payment_account(text: str, _region: str | None) -> str:
    match = _PAYMENT_PREFIX_RE.fullmatch(text)
    if match:
        sub_kind, rest = match.group(1).lower(), match.group(2)
        if sub_kind == "card":
            return _card(_compact(rest, "-"))
        if sub_kind == "iban":
            return _iban(rest)
        merchant = "".join(rest.split()).upper()
        if not merchant:
            raise Invalid("value", "merchant id must not be empty")
        return f"merchant:{merchant}"
    compact = _compact(text, "-")
    if _DIGITS_RE.fullmatch(compact):
        if not 12 <= len(compact) <= 19:
            raise Invalid("value", _PAYMENT_FORMS_RULE)
        return _card(compact)
    if _IBAN_SHAPE_RE.fullmatch(compact):
        return _iban(compact)
    raise Invalid("value", _PAYMENT_FORMS_RULE)


# --- crypto wallet --------------------------------------------------------------------------


def _crypto_wallet(text: str, _region: str | None) -> str:
    """One rule for the hub: `cases.wallets` checks every chain's checksum (extraction from
    crawled pages uses the same)."""
    try:
        return wallets.validate(text).address
    except wallets.WalletError as error:
        raise Invalid("value", str(error)) from None


# --- hashes and IMEI ------------------------------------------------------------------------


def _hex(digits: int, name: str) -> _Normaliser:
    pattern = re.compile(f"[0-9a-f]{{{digits}}}")

    def normalise_hex(text: str, _region: str | None) -> str:
        value = text.lower()
        if not pattern.fullmatch(value):
            raise Invalid("value", f"must be {digits} hexadecimal digits ({name})")
        return value

    return normalise_hex


def _imei(text: str, _region: str | None) -> str:
    digits = _compact(text, "-/")
    if not _DIGITS_RE.fullmatch(digits):
        raise Invalid("value", "must be 15 digits")
    if len(digits) == 16:
        raise Invalid("value", "IMEISV has no check digit; give the 15-digit IMEI")
    if len(digits) == 14:
        raise Invalid("value", "IMEI needs its 15th (check) digit")
    if len(digits) != 15:
        raise Invalid("value", "must be 15 digits")
    if not stdnum_imei.is_valid(digits):
        raise Invalid("value", "IMEI check digit is wrong")
    return digits


_NORMALISERS: dict[SelectorKind, _Normaliser] = {
    SelectorKind.EMAIL: _email,
    SelectorKind.PHONE: _phone,
    SelectorKind.IP: _ip,
    SelectorKind.URL: _url,
    SelectorKind.DOMAIN: _domain,
    SelectorKind.PAYMENT_ACCOUNT: _payment_account,
    SelectorKind.CRYPTO_WALLET: _crypto_wallet,
    SelectorKind.MD5: _hex(32, "MD5"),
    SelectorKind.SHA1: _hex(40, "SHA-1"),
    SelectorKind.SHA256: _hex(64, "SHA-256"),
    SelectorKind.PDQ: _hex(64, "PDQ hash"),
    SelectorKind.IMEI: _imei,
}
