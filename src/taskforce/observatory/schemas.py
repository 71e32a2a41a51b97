"""The observatory's figures: one shape for the live member view, the published snapshot (its
JSON is what is hashed), the pages, the CSV and JSON downloads.

A suppressed count is `None`, never 0 or a rounded number: fewer than `threshold` (default 10)
of anything is shown as "fewer than 10", and every figure computed from a suppressed count (a
rate, a median) is suppressed with it, so nothing can be singled out.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

CAVEAT = (
    "Report volume is not a measure of prevalence: it reflects who reports, where hotlines "
    "operate, how platforms detect and how each country's law defines what is reportable. "
    "Counts below the threshold are suppressed so that no case or person can be singled out."
)


class Rate(BaseModel):
    """Per million of a population, with its 95 % interval (exact Poisson on the count)."""

    per_million: float
    low: float
    high: float


class CountryReports(BaseModel):
    """Reports whose URL is hosted in one country (ISO 3166-1 alpha-2; "ZZ" not located)."""

    country: str
    name: str
    received: int | None  # None: suppressed
    confirmed: int | None  # assessed illegal material by a hotline
    confirmed_per_internet_users: Rate | None  # None: suppressed, or no denominator loaded
    confirmed_per_people: Rate | None


class CountryRemoval(BaseModel):
    """Takedown notices to hosts in one country closed as removed in the period."""

    country: str
    name: str
    removed: int | None
    median_hours: float | None
    p90_hours: float | None
    open_past_deadline: int | None


class MonthValue(BaseModel):
    month: str  # "2026-11"
    value: int | None


class Denominators(BaseModel):
    """Where the rates' populations come from, stated beside every rate."""

    internet_users_source: str | None  # None: none loaded (rates per internet user omitted)
    internet_users_year: int | None
    internet_users_countries: int
    people_source: str  # countryinfo's population figures


class Figures(BaseModel):
    period: str  # "2026-11" for a monthly snapshot, "live" for the member view
    period_start: datetime
    period_end: datetime  # exclusive
    computed_at: datetime
    threshold: int
    caveat: str = CAVEAT
    reports_received: int | None
    reports_confirmed: int | None
    reports_by_country: list[CountryReports] = Field(default_factory=list)
    removal_by_country: list[CountryRemoval] = Field(default_factory=list)
    # the twelve months up to the period's end, oldest first
    children_identified: list[MonthValue] = Field(default_factory=list)
    hits_between_agencies: list[MonthValue] = Field(default_factory=list)
    denominators: Denominators


class SnapshotRead(BaseModel):
    period: str
    published_at: datetime
    published_by: str | None
    threshold: int
    sha256: str
    figures: Figures
