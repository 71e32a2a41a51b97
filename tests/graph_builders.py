"""Two synthetic distribution groups behind five brands, as sightings: the graph's tests, the
database tests of its runs and the drawing's all use it. Fictional values only (example hosts,
203.0.113.0/24 addresses, made-up wallets that no chain would accept: the graph never checks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# group → brand → number of sites
GROUPS: dict[str, dict[str, int]] = {
    "north": {"amber": 3, "birch": 2, "cedar": 2},
    "south": {"delta": 3, "ember": 2},
}
CDN_IP = "203.0.113.10"
PROCESSOR = "ExamplePay"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    site: str  # host, e.g. amber-1.example
    kind: str
    value: str
    seen: datetime


def site_hosts() -> dict[str, tuple[str, str]]:
    """Host → (group, brand)."""
    return {
        f"{brand}-{n}.example": (group, brand)
        for group, brands in GROUPS.items()
        for brand, count in brands.items()
        for n in range(1, count + 1)
    }


def rows(*, cross_analytics: bool = True, cross_email: bool = False) -> list[Row]:
    """Each brand: one template and one wallet on all its sites. Each group: one merchant
    account and one affiliate id (north) or messenger handle (south) on all its sites. Every
    site: its own e-mail, the CDN's address and the processor's name. `cross_analytics`: one
    analytics id on a north and a south site (a weak hint that must not merge them);
    `cross_email`: one e-mail reused by a north and a south site (a medium link across)."""
    found: list[Row] = []
    for day, (host, (group, brand)) in enumerate(sorted(site_hosts().items())):
        seen = T0 + timedelta(days=day)
        found += [
            Row(host, "template", f"{brand}-template-fingerprint", seen),
            Row(host, "wallet", f"bc1q{brand}wallet0000000000", seen),
            Row(host, "merchant", f"MID-{group.upper()}-0001", seen),
            Row(host, "affiliate" if group == "north" else "messenger", f"{group}-billing", seen),
            Row(host, "email", f"sales@{host}", seen),
            Row(host, "ip", CDN_IP, seen),
            Row(host, "processor", PROCESSOR, seen),
        ]
    if cross_analytics:
        found += [
            Row("amber-1.example", "analytics", "UA-000000-1", T0),
            Row("delta-1.example", "analytics", "UA-000000-1", T0),
        ]
    if cross_email:
        found += [
            Row("birch-1.example", "email", "orders@mail.example", T0),
            Row("ember-1.example", "email", "orders@mail.example", T0),
        ]
    return found
