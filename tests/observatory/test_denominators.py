"""Internet users loaded by the coordinator (bad lines reported, good ones kept, a country
loaded again replaced), people from countryinfo, no denominator invented."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from builders import Network
from sqlalchemy.orm import Session

from taskforce.core.caller import system_caller
from taskforce.core.errors import Forbidden
from taskforce.observatory import denominators, service

NOW = datetime(2026, 11, 15, tzinfo=UTC)
HEADER = "country,internet_users,year,source\n"


def test_alpha3_and_alpha2_codes_bad_lines_numbered(session: Session) -> None:
    text = (
        HEADER
        + "NLD,16500000,2023,ITU (test figure)\n"
        + "de,78000000,2023,ITU (test figure)\n"
        + "\n"
        + "Narnia,5,2023,ITU\n"
        + "FR,-3,2023,ITU\n"
        + "FR,1000,2030,ITU\n"
        + 'GB,1000,2023,""\n'
    )
    loaded = service.load_internet_users(session, system_caller(), text, NOW)
    assert sorted(loaded.loaded) == ["DE", "NL"]
    assert [n for n, _ in loaded.bad_lines] == [5, 6, 7, 8]
    assert denominators.internet_users(session) == {"NL": 16_500_000, "DE": 78_000_000}
    described = denominators.described(session)
    assert described.internet_users_source == "ITU (test figure)"
    assert described.internet_users_countries == 2


def test_a_country_loaded_again_is_replaced(session: Session) -> None:
    service.load_internet_users(session, system_caller(), HEADER + "NL,1000,2022,A\n", NOW)
    service.load_internet_users(session, system_caller(), HEADER + "NL,2000,2023,B\n", NOW)
    assert denominators.internet_users(session) == {"NL": 2000}
    assert denominators.described(session).internet_users_year == 2023


def test_only_the_coordinator_loads_figures(session: Session, network: Network) -> None:
    with pytest.raises(Forbidden):
        service.load_internet_users(session, network.gb_admin.caller, HEADER, NOW)


def test_people_come_from_countryinfo_and_unknown_codes_have_none() -> None:
    people = denominators.people()
    assert people["NL"] > 10_000_000
    assert "ZZ" not in people
    assert denominators.alpha2("NLD") == "NL"
    assert denominators.alpha2("XX") is None
    assert denominators.country_name("ZZ") == "Not located"


def test_odd_input_is_a_reported_line_never_a_crash(session: Session) -> None:
    text = (
        HEADER
        + "NL,²,2023,ITU\n"
        + "DE,99999999999999999999999,2023,ITU\n"
        + "FR,1000,２０２３,ITU\n"  # full-width digits are digits: 2023
        + "BE,11000000,2023,ITU\x00 (a NUL)\n"
    )
    loaded = service.load_internet_users(session, system_caller(), text, NOW)
    assert sorted(loaded.loaded) == ["BE", "FR"]
    assert [n for n, _ in loaded.bad_lines] == [2, 3]
    assert denominators.internet_users(session) == {"BE": 11_000_000, "FR": 1000}
