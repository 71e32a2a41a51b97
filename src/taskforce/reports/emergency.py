"""National emergency numbers, shown at once to someone reporting a child in immediate danger.

Sources (public, checked 2026-11): the European Commission's 112 page
(https://digital-strategy.ec.europa.eu/en/policies/112 — 112 works in every EU member state,
EEA and the UK, Directive (EU) 2018/1972 art. 109) and the ITU's list of national emergency
numbers (ITU Operational Bulletin, "Emergency numbers", https://www.itu.int/oth/T0202),
cross-read with Wikipedia's "List of emergency telephone numbers". Where a country has a
separate police number, the police number is given first. For countries not listed the page
shows 112 (which most GSM phones route to the local emergency service) and says to call the
local emergency number.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EmergencyNumber:
    number: str
    known: bool  # False: the 112 fallback for a country without data here


_EU_112 = [
    "AT",
    "BE",
    "BG",
    "CY",
    "CZ",
    "DE",
    "DK",
    "EE",
    "ES",
    "FI",
    "FR",
    "GR",
    "HR",
    "HU",
    "IE",
    "IT",
    "LT",
    "LU",
    "LV",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SE",
    "SI",
    "SK",
    "IS",
    "LI",
    "NO",
    "CH",
]

NUMBERS: dict[str, str] = dict.fromkeys(_EU_112, "112")
NUMBERS.update(
    {
        "GB": "999",
        "US": "911",
        "CA": "911",
        "MX": "911",
        "AR": "911",
        "PH": "911",
        "AU": "000",
        "NZ": "111",
        "ZA": "10111",
        "IN": "112",
        "JP": "110",
        "KR": "112",
        "CN": "110",
        "TW": "110",
        "HK": "999",
        "SG": "999",
        "MY": "999",
        "TH": "191",
        "ID": "110",
        "BR": "190",
        "CO": "123",
        "CL": "133",
        "PE": "105",
        "TR": "112",
        "UA": "102",
        "IL": "100",
        "NG": "112",
        "KE": "999",
    }
)

FALLBACK = "112"


def for_country(country: str | None) -> EmergencyNumber:
    """The number to call; 112 (marked unknown) when the country is not in the table."""
    number = NUMBERS.get((country or "").upper())
    if number is None:
        return EmergencyNumber(number=FALLBACK, known=False)
    return EmergencyNumber(number=number, known=True)
