"""The rates' populations: people per country and internet users per country.

People: the population figures that `countryinfo` (1.0.1, MIT) ships, a static snapshot of
estimates from about 2014–2015, never updated by the hub; they are named as such beside every
rate. Internet users: loaded by the coordinator from a published source (ITU, World Bank) as
CSV. A country without a figure gets no rate: a denominator is never invented.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

import countryinfo
import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.observatory.models import InternetUsers
from taskforce.observatory.schemas import Denominators

PEOPLE_SOURCE = (
    "countryinfo 1.0.1 population figures (static estimates of about 2014-2015 shipped with "
    "the package; not updated)"
)
NOT_LOCATED = "ZZ"  # ISO 3166-1 user-assigned: the hosting country could not be found
CSV_COLUMNS = ("country", "internet_users", "year", "source")
MAX_LINES = 1000  # a country a line: a few hundred at most
MAX_USERS = 10_000_000_000  # more than the world's people: a figure above it is a typo


@cache
def people() -> dict[str, int]:
    """Population by ISO alpha-2 code, as countryinfo ships it (read once, ~50 ms)."""
    found: dict[str, int] = {}
    for info in countryinfo.all_countries():
        try:
            iso = info.iso()
            population = info.population()
        except (KeyError, AttributeError, TypeError):
            continue
        code = iso.get("alpha2") if isinstance(iso, dict) else None
        valid = isinstance(code, str) and len(code) == 2
        if valid and isinstance(population, int) and population > 0:
            found[str(code).upper()] = population
    return found


def country_name(code: str) -> str:
    """The country's short English name (ISO 3166 via pycountry); "Not located" for ZZ."""
    if code == NOT_LOCATED:
        return "Not located"
    found = pycountry.countries.get(alpha_2=code)
    if found is None:
        return code
    return str(getattr(found, "common_name", None) or found.name)


def alpha2(text: str) -> str | None:
    """An ISO 3166-1 alpha-2 or alpha-3 code as alpha-2; None when it is neither."""
    value = text.strip().upper()
    if len(value) == 2:
        found = pycountry.countries.get(alpha_2=value)
    elif len(value) == 3:
        found = pycountry.countries.get(alpha_3=value)
    else:
        return None
    return None if found is None else str(found.alpha_2)


def internet_users(session: Session) -> dict[str, int]:
    """Internet users by country, as loaded."""
    rows = session.execute(select(InternetUsers.country, InternetUsers.users))
    return {str(country): int(users) for country, users in rows}


def described(session: Session) -> Denominators:
    """Where the populations come from (one source and year, or each named when they differ)."""
    rows = session.execute(select(InternetUsers.source, InternetUsers.year)).all()
    sources = sorted({source for source, _ in rows})
    years = [year for _, year in rows]
    return Denominators(
        internet_users_source="; ".join(sources) if sources else None,
        internet_users_year=max(years) if years else None,
        internet_users_countries=len(rows),
        people_source=PEOPLE_SOURCE,
    )


@dataclass
class Loaded:
    """What an import did: the countries kept and each bad line with why."""

    loaded: list[str] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)


def parse(text: str, *, now: datetime) -> tuple[list[InternetUsers], list[tuple[int, str]]]:
    """Rows of `country,internet_users,year,source` (a header line first); bad lines are
    reported by number and why, good ones kept. A country given twice keeps its last line."""
    reader = csv.reader(io.StringIO(text.replace("\0", "")))  # csv refuses a NUL outright
    try:
        header = next(reader, None)
        if header is None or [h.strip().lower() for h in header[:4]] != list(CSV_COLUMNS):
            return [], [(1, "the first line must be the header " + ",".join(CSV_COLUMNS))]
        rows: dict[str, InternetUsers] = {}
        bad: list[tuple[int, str]] = []
        _read(reader, rows, bad, now)
    except csv.Error as exc:
        return [], [(reader.line_num, f"not CSV ({exc}); nothing loaded")]
    return list(rows.values()), bad


def _read(
    reader: Iterator[list[str]],
    rows: dict[str, InternetUsers],
    bad: list[tuple[int, str]],
    now: datetime,
) -> None:
    for number, line in enumerate(reader, start=2):
        if number > MAX_LINES + 1:
            bad.append((number, f"at most {MAX_LINES} lines; the rest was not read"))
            break
        if not any(cell.strip() for cell in line):
            continue
        if len(line) != 4:
            bad.append((number, "4 fields expected: " + ",".join(CSV_COLUMNS)))
            continue
        country, users, year, source = (cell.strip() for cell in line)
        code = alpha2(country)
        if code is None:
            bad.append((number, f"country: {country[:20]!r} is not an ISO 3166-1 code"))
            continue
        if not (users.isdecimal() and 0 < int(users) <= MAX_USERS):
            bad.append((number, f"internet_users: a whole number from 1 to {MAX_USERS:,}"))
            continue
        if not (year.isdecimal() and 1990 <= int(year) <= now.year):
            bad.append((number, f"year: a year from 1990 to {now.year}"))
            continue
        if not source or len(source) > 200:
            bad.append((number, "source: name where the figure comes from (at most 200 chars)"))
            continue
        rows[code] = InternetUsers(
            country=code, users=int(users), year=int(year), source=source, loaded_at=now
        )


def store(session: Session, rows: list[InternetUsers]) -> None:
    """Replace the figures of the countries given (others are kept)."""
    for row in rows:
        existing = session.get(InternetUsers, row.country)
        if existing is None:
            session.add(row)
        else:
            existing.users, existing.year = row.users, row.year
            existing.source, existing.loaded_at = row.source, row.loaded_at
    session.flush()
