"""Dates and times as exports write them: locale shapes, AM/PM with the spaces iOS uses, the
date order a file tells, zones with daylight saving, ISO 8601 offsets and Unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from taskforce.chats import timestamps

UTC_ZONE = timestamps.zone("UTC")
BERLIN = timestamps.zone("Europe/Berlin")


@pytest.mark.parametrize(
    ("date", "time", "order", "expected"),
    [
        ("12/31/20", "9:41 PM", "mdy", datetime(2020, 12, 31, 21, 41, tzinfo=UTC)),
        ("12/31/20", "9:41\u202fPM", "mdy", datetime(2020, 12, 31, 21, 41, tzinfo=UTC)),
        ("31/12/2020", "21:41", "dmy", datetime(2020, 12, 31, 21, 41, tzinfo=UTC)),
        ("31.12.20", "21:41:05", "dmy", datetime(2020, 12, 31, 21, 41, 5, tzinfo=UTC)),
        ("2020-12-31", "21:41:05", "dmy", datetime(2020, 12, 31, 21, 41, 5, tzinfo=UTC)),
        ("1/2/21", "12:05 a.m.", "mdy", datetime(2021, 1, 2, 0, 5, tzinfo=UTC)),
        ("1/2/21", "12:05 p. m.", "dmy", datetime(2021, 2, 1, 12, 5, tzinfo=UTC)),
    ],
)
def test_locale_shapes(date: str, time: str, order: str, expected: datetime) -> None:
    assert timestamps.local(date, time, order, UTC_ZONE) == expected


@pytest.mark.parametrize(
    ("date", "time", "rule"),
    [
        (
            "31/02/2024",
            "10:00",
            "'31/02/2024' is not a date (day 31 of February, reading it as dmy)",
        ),
        ("13/13/2024", "10:00", "'13/13/2024' is not a date (month 13, reading it as dmy)"),
        ("01/02/2024", "24:00", "'24:00' is not a time of day"),
        ("01/02/2024", "13:00 PM", "'13:00 PM' is not a time of day (hour 13 with AM/PM)"),
    ],
)
def test_what_is_not_a_date_says_why(date: str, time: str, rule: str) -> None:
    with pytest.raises(timestamps.BadTime) as caught:
        timestamps.local(date, time, "dmy", UTC_ZONE)
    assert str(caught.value) == rule


def test_order_told_by_a_file() -> None:
    assert timestamps.infer_order(["01/02/21", "03/04/21", "25/04/21"]) == "dmy"
    assert timestamps.infer_order(["01/02/21", "04/25/21"]) == "mdy"
    assert timestamps.infer_order(["2021-04-25"]) == "ymd"
    assert timestamps.infer_order(["01/02/21"]) == "dmy"
    assert timestamps.infer_order(["01/02/21"], twelve_hour=True) == "mdy"


def test_daylight_saving_in_berlin() -> None:
    winter = timestamps.local("27.03.21", "12:00", "dmy", BERLIN)
    summer = timestamps.local("29.03.21", "12:00", "dmy", BERLIN)
    assert winter == datetime(2021, 3, 27, 11, 0, tzinfo=UTC)
    assert summer == datetime(2021, 3, 29, 10, 0, tzinfo=UTC)
    # 02:30 on the night clocks go forward did not exist: read as if they had not moved yet
    assert timestamps.local("28.03.21", "02:30", "dmy", BERLIN) == datetime(
        2021, 3, 28, 1, 30, tzinfo=UTC
    )
    # 02:30 on the night clocks go back happened twice: the first one
    assert timestamps.local("31.10.21", "02:30", "dmy", BERLIN) == datetime(
        2021, 10, 31, 0, 30, tzinfo=UTC
    )


def test_iso_offsets_are_honoured_and_naive_times_take_the_zone() -> None:
    assert timestamps.stamp("2021-06-01T18:00:00+02:00", None, UTC_ZONE) == datetime(
        2021, 6, 1, 16, 0, tzinfo=UTC
    )
    assert timestamps.stamp("2021-06-01T18:00:00Z", None, BERLIN) == datetime(
        2021, 6, 1, 18, 0, tzinfo=UTC
    )
    assert timestamps.stamp("2021-06-01 18:00:00.250", None, BERLIN) == datetime(
        2021, 6, 1, 16, 0, 0, 250_000, tzinfo=UTC
    )
    assert timestamps.stamp("1622570400", None, BERLIN) == datetime(2021, 6, 1, 18, 0, tzinfo=UTC)
    assert timestamps.stamp("06/01/2021 6:00 PM", "mdy", UTC_ZONE) == datetime(
        2021, 6, 1, 18, 0, tzinfo=UTC
    )
    with pytest.raises(timestamps.BadTime, match="is not a date and time"):
        timestamps.stamp("yesterday", None, UTC_ZONE)
    with pytest.raises(timestamps.BadTime, match="day is out of range"):
        timestamps.stamp("2021-02-30T10:00:00", None, UTC_ZONE)


def test_an_unknown_zone_is_named() -> None:
    with pytest.raises(timestamps.BadTime, match="'Mars/Olympus' is not an IANA time zone"):
        timestamps.zone("Mars/Olympus")
