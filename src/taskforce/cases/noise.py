"""The noise list: selector values that are stored but never create hits.

Some identifiers turn up in unrelated cases because of how the internet works, not because the
cases are connected: a phone's DNS resolver, a carrier's CGNAT range, a home router's private
address, the address Facebook sends its notifications from. Letting them hit would bury real
hits under false ones (over-correlation), so, like MISP warninglists, they are matched against
this list and stored with the reason instead. Admins add their own entries as `NoiseRule`s
(passed as `extra`), validated with `parse_rule`.

Deliberately *not* listed: the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24
and 2001:db8::/32, and example.com. Training and demo data use them as the fictional suspects'
identifiers, and they must hit there like real ones would. An `@domain` rule matches that exact
domain, not its subdomains. This module is pure: no database, no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from taskforce.cases.selectors import NormalisedSelector, SelectorKind, normalise, parse_kind
from taskforce.core.errors import Invalid

MAX_REASON_LENGTH = 200  # the width of Selector.noise_reason

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_ANY_V4 = str(ipaddress.IPv4Address(0))  # "0.0.0.0", spelt so linters do not take it for a bind


@dataclass(frozen=True)
class NoiseRule:
    kind: SelectorKind
    pattern: str
    """IP: an address or CIDR network. EMAIL: an address, or `@domain` for every address at that
    domain. Other kinds: the exact normalised key (USERNAME: `platform:username`)."""
    reason: str


_DNS = "public DNS resolver ({}): every device that uses it talks to this address"
_CGNAT = "shared address space for carrier-grade NAT (RFC 6598): thousands of subscribers at once"
_PRIVATE = "private network address (RFC 1918): reused inside every home and office network"
_LOOPBACK = "loopback address (RFC 1122 / RFC 4291): the device itself"
_LINK_LOCAL = "link-local address (RFC 3927 / RFC 4291): only meaningful on one local link"
_UNIQUE_LOCAL = "unique local address (RFC 4193): private IPv6, reused inside many networks"
_UNSPECIFIED = "unspecified address (RFC 1122 / RFC 4291): means 'no address'"
_PLATFORM = "platform's own notification/support address ({}): appears in every account case"


def _ip_rules(reason: str, *patterns: str) -> tuple[NoiseRule, ...]:
    return tuple(NoiseRule(SelectorKind.IP, p, reason) for p in patterns)


def _email_rules(platform: str, *addresses: str) -> tuple[NoiseRule, ...]:
    return tuple(NoiseRule(SelectorKind.EMAIL, a, _PLATFORM.format(platform)) for a in addresses)


BUILTIN_NOISE: tuple[NoiseRule, ...] = (
    *_ip_rules(_DNS.format("Google Public DNS"), "8.8.8.8", "8.8.4.4"),
    *_ip_rules(_DNS.format("Google Public DNS"), "2001:4860:4860::8888", "2001:4860:4860::8844"),
    *_ip_rules(_DNS.format("Cloudflare 1.1.1.1"), "1.1.1.1", "1.0.0.1"),
    *_ip_rules(_DNS.format("Cloudflare 1.1.1.1"), "2606:4700:4700::1111", "2606:4700:4700::1001"),
    *_ip_rules(_DNS.format("Quad9"), "9.9.9.9", "149.112.112.112"),
    *_ip_rules(_DNS.format("Cisco OpenDNS"), "208.67.222.222", "208.67.220.220"),
    *_ip_rules(_CGNAT, "100.64.0.0/10"),
    *_ip_rules(_PRIVATE, "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
    *_ip_rules(_LOOPBACK, "127.0.0.0/8", "::1"),
    *_ip_rules(_LINK_LOCAL, "169.254.0.0/16", "fe80::/10"),
    *_ip_rules(_UNIQUE_LOCAL, "fc00::/7"),
    *_ip_rules(_UNSPECIFIED, _ANY_V4, "::"),
    *_email_rules(
        "Facebook",
        "noreply@facebookmail.com",
        "notification@facebookmail.com",
        "security@facebookmail.com",
    ),
    *_email_rules("Instagram", "no-reply@mail.instagram.com", "security@mail.instagram.com"),
    *_email_rules("Google", "no-reply@accounts.google.com"),
    *_email_rules(
        "X/Twitter", "verify@x.com", "info@x.com", "verify@twitter.com", "info@twitter.com"
    ),
    *_email_rules("Discord", "noreply@discord.com"),
    *_email_rules("Snapchat", "no-reply@snapchat.com"),
    *_email_rules("TikTok", "noreply@tiktok.com"),
    *_email_rules("Telegram", "no-reply@telegram.org"),
)


_BUILTIN_BY_KIND: dict[SelectorKind, tuple[NoiseRule, ...]] = {
    kind: tuple(r for r in BUILTIN_NOISE if r.kind is kind) for kind in SelectorKind
}


@lru_cache(maxsize=1024)
def _network(pattern: str) -> _Network:
    return ipaddress.ip_network(pattern, strict=False)


def _matches(rule: NoiseRule, selector: NormalisedSelector, address: _Address | None) -> bool:
    if rule.kind != selector.kind:
        return False
    if address is not None:
        return address in _network(rule.pattern)
    if rule.kind is SelectorKind.EMAIL and rule.pattern.startswith("@"):
        return selector.value.rpartition("@")[2] == rule.pattern[1:]
    return rule.pattern == selector.key


def noise_reason(selector: NormalisedSelector, extra: Iterable[NoiseRule] = ()) -> str | None:
    """Why this selector must not create hits, or None when it may.

    Built-in rules are tried before `extra` (the admins' entries); the first match wins.
    """
    address = ipaddress.ip_address(selector.value) if selector.kind is SelectorKind.IP else None
    for rule in (*_BUILTIN_BY_KIND.get(selector.kind, ()), *extra):
        if _matches(rule, selector, address):
            return rule.reason
    return None


def parse_rule(kind: SelectorKind | str, pattern: str, reason: str) -> NoiseRule:
    """Check and canonicalise an admin's noise entry so it matches what `normalise` stores.

    Pattern errors are reported on field "pattern" with the rule `normalise` gave, so an admin
    entering `foo@` sees the same rule an investigator would.
    """
    kind = kind if isinstance(kind, SelectorKind) else parse_kind(kind)
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("reason", "must not be empty")
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid("reason", f"at most {MAX_REASON_LENGTH} characters")
    text = pattern.strip()
    try:
        canonical = _canonical_pattern(kind, text)
    except Invalid as exc:
        raise Invalid("pattern", exc.rule) from None
    return NoiseRule(kind, canonical, reason)


def _canonical_pattern(kind: SelectorKind, text: str) -> str:
    if kind is SelectorKind.IP:
        if "/" not in text:
            # One address: the selector rules apply (IPv4-mapped IPv6 becomes IPv4, no zone id).
            return normalise(kind, text).value
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise Invalid(
                "pattern", "must be an IP address or a CIDR network like 203.0.113.0/24"
            ) from None
        if network.num_addresses == 1:
            return str(network.network_address)
        return str(network)
    if kind is SelectorKind.EMAIL and text.startswith("@"):
        return "@" + normalise(SelectorKind.DOMAIN, text[1:]).value
    if kind is SelectorKind.USERNAME:
        platform, colon, username = text.partition(":")
        if not colon:
            raise Invalid("pattern", "must be platform:username, like instagram:example_user")
        return normalise(kind, username, platform=platform).key
    return normalise(kind, text).key
