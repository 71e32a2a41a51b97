"""Where a notice is sent: UN M49 regions and sub-regions, or single countries.

The grouping of countries is the United Nations Statistics Division's M49 geoscheme at its
region level ("Africa", "Europe", ...) and sub-region level ("Sub-Saharan Africa", "Western
Europe", ...), as shipped by the `countryinfo` package (MIT, maintained); its country data
holds each country's M49 region and sub-region. Country codes are checked with `pycountry`
(ISO 3166-1). A target is matched without regard to case, so "western europe" works too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pycountry
from countryinfo import CountryInfo

from taskforce.core.errors import Invalid


@dataclass(frozen=True)
class Region:
    name: str
    parent: str | None  # the region of a sub-region; None for a region
    countries: frozenset[str]  # ISO 3166-1 alpha-2


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Region]:
    """Every region and sub-region by name, each with its ISO alpha-2 countries.

    The package spells a few names two ways ("South-eastern Asia", "South-Eastern Asia"):
    names equal but for case are one region, under the spelling most countries use."""
    members: dict[str, set[str]] = {}
    parents: dict[str, str | None] = {}
    spellings: dict[str, Counter[str]] = {}
    for info in CountryInfo.all().values():
        raw: dict[str, Any] = dict(info)  # the package's data is not always complete
        code = str((raw.get("ISO") or {}).get("alpha2") or "").upper()
        region, sub = str(raw.get("region") or ""), str(raw.get("subregion") or "")
        if not region or pycountry.countries.get(alpha_2=code) is None:
            continue
        for name in (region, sub):
            if name:
                spellings.setdefault(name.casefold(), Counter())[name] += 1
        members.setdefault(region.casefold(), set()).add(code)
        parents.setdefault(region.casefold(), None)
        if sub:
            members.setdefault(sub.casefold(), set()).add(code)
            parents[sub.casefold()] = region.casefold()

    def spelt(key: str) -> str:
        return spellings[key].most_common(1)[0][0]

    found = {
        spelt(key): Region(
            name=spelt(key),
            parent=spelt(parent) if (parent := parents[key]) else None,
            countries=frozenset(codes),
        )
        for key, codes in members.items()
    }
    return dict(sorted(found.items()))


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return str(getattr(country, "common_name", None) or country.name)


def parse_country(raw: str, field: str) -> str:
    """An ISO alpha-2 code from a code ("za"), an alpha-3 code or an English name."""
    value = raw.strip()
    if len(value) == 2 and pycountry.countries.get(alpha_2=value.upper()) is not None:
        return value.upper()
    try:
        found = pycountry.countries.lookup(value) if len(value) > 2 else None
    except LookupError:
        found = None
    if found is None:
        raise Invalid(
            field,
            f"each must be an ISO 3166-1 country code like ZA or a country name; "
            f"unknown: '{value[:40]}'",
        )
    return str(found.alpha_2)


def resolve(targets: Iterable[str]) -> tuple[list[str], frozenset[str]]:
    """The targets as written canonically, and every country they cover.

    No target at all means every member agency; that is the caller's decision, not ours.
    """
    by_name = {name.casefold(): region for name, region in catalogue().items()}
    names: list[str] = []
    countries: set[str] = set()
    for raw in targets:
        value = raw.strip()
        if not value:
            continue
        region = by_name.get(value.casefold())
        if region is not None:
            label = region.name
            countries |= region.countries
        else:
            try:
                label = parse_country(value, "targets")
            except Invalid:
                raise Invalid(
                    "targets",
                    "each must be a UN M49 region or sub-region (e.g. 'Europe', "
                    "'Sub-Saharan Africa') or an ISO 3166-1 country code (e.g. 'ZA'); "
                    f"unknown: '{value[:40]}'",
                ) from None
            countries.add(label)
        if label not in names:
            names.append(label)
    return names, frozenset(countries)


def country_choices() -> list[tuple[str, str]]:
    """Every ISO 3166 country as (code, name), sorted by name: the choices of a country field."""
    return sorted(
        ((str(c.alpha_2), country_name(str(c.alpha_2))) for c in pycountry.countries),
        key=lambda pair: pair[1],
    )
