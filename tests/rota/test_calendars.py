"""A desk's calendars: the shift feed round-trips through icalendar with exact UTC times (DST
included) behind a secret that a new one or a revocation kills; an imported unavailability file
(all-day, timed with TZID, floating, recurring with exceptions) becomes the desk's windows and
replaces the previous import; a malformed file is refused naming the line and the rule, and
leaves everything as it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from builders import Network
from cli_hub import add_agency, fresh_hub
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency
from taskforce.cli import app
from taskforce.core.audit.models import AuditEntry
from taskforce.core.budgets import DEFAULT
from taskforce.core.caller import Role
from taskforce.core.errors import Invalid, NotFound
from taskforce.rota import calendars, engine
from taskforce.rota import cli as rota_cli
from taskforce.rota.models import DeskUnavailability, DutyDesk

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ics(*events: str) -> bytes:
    body = "".join(
        f"BEGIN:VEVENT\r\nDTSTAMP:20260101T000000Z\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events
    )
    text = (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//test//EN\r\n{body}END:VCALENDAR\r\n"
    )
    return text.replace("\n        ", "\n").encode()


def read(data: bytes, **kw: object) -> list[calendars.Window]:
    return calendars.read_unavailability(data, AMS, now=NOW, **kw)  # type: ignore[arg-type]


def refusal(data: bytes, **kw: object) -> str:
    with pytest.raises(Invalid) as caught:
        read(data, **kw)
    assert caught.value.field == "file"
    return caught.value.rule


# --- the feed ---------------------------------------------------------------------------------


def test_a_feed_round_trips_through_icalendar_with_exact_utc_times() -> None:
    desk = uuid.uuid4()
    shifts = [
        # 00:00-08:00 on the Amsterdam clock the night the clocks go forward: 7 real hours
        engine.Shift(desk, at(2026, 3, 28, 23), at(2026, 3, 29, 6), "rotation", None),
        engine.Shift(desk, at(2026, 3, 30, 6), at(2026, 3, 30, 14), "override", None),
        engine.Shift(uuid.uuid4(), at(2026, 3, 30, 6), at(2026, 3, 30, 14), "rule", None),
    ]
    data = calendars.render_feed(desk_id=desk, label="NL-NP", shifts=shifts, now=NOW)
    cal = icalendar.Calendar.from_ical(data)
    assert str(cal["X-WR-CALNAME"]) == "NL-NP 24/7 duty"
    events = list(cal.walk("VEVENT"))
    assert [(e.decoded("DTSTART"), e.decoded("DTEND")) for e in events] == [
        (at(2026, 3, 28, 23), at(2026, 3, 29, 6)),
        (at(2026, 3, 30, 6), at(2026, 3, 30, 14)),
    ]  # the other desk's shift is not in this desk's feed
    assert events[0].decoded("DTEND") - events[0].decoded("DTSTART") == timedelta(hours=7)
    assert [str(e["SUMMARY"]) for e in events] == ["24/7 duty: NL-NP"] * 2
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == 2
    # the same shifts read again tomorrow keep their UIDs (a subscriber updates, not duplicates)
    again = calendars.render_feed(
        desk_id=desk, label="NL-NP", shifts=shifts, now=NOW + timedelta(days=1)
    )
    assert [str(e["UID"]) for e in icalendar.Calendar.from_ical(again).walk("VEVENT")] == uids


def _desk(session: Session, agency: Agency, zone: str = "Europe/Amsterdam") -> DutyDesk:
    desk = DutyDesk(agency_id=agency.id, time_zone=zone, languages=["nl", "en"], powers=[])
    session.add(desk)
    session.flush()
    return desk


def _agency(session: Session, code: str) -> Agency:
    return session.scalars(select(Agency).where(Agency.code == code)).one()


def _actions(session: Session, desk: DutyDesk) -> list[str]:
    rows = session.scalars(select(AuditEntry.action).where(AuditEntry.subject_id == desk.id))
    return sorted(rows)


def test_a_new_secret_revokes_the_old_and_only_its_hash_is_kept(
    session: Session, network: Network
) -> None:
    desk = _desk(session, _agency(session, "NL-NP"))
    first = calendars.create_feed(session, network.nl.caller, desk.id, now=NOW)
    assert len(first) >= 43  # 32 random bytes, URL-safe
    assert desk.feed_secret_hash == calendars.secret_hash(first) != first
    assert calendars.desk_for_secret(session, first) is desk
    second = calendars.create_feed(session, network.nl.caller, desk.id, now=NOW)
    assert calendars.desk_for_secret(session, first) is None
    assert calendars.desk_for_secret(session, second) is desk
    assert calendars.revoke_feed(session, network.nl.caller, desk.id)
    assert calendars.desk_for_secret(session, second) is None
    kept: str | None = desk.feed_secret_hash
    assert kept is None
    assert calendars.desk_for_secret(session, "../../etc/passwd") is None
    assert _actions(session, desk) == ["rota.feed.create", "rota.feed.create", "rota.feed.revoke"]


def test_another_agencys_desk_is_not_found(session: Session, network: Network) -> None:
    desk = _desk(session, _agency(session, "NL-NP"))
    for person in (network.gb, network.gb_reader):
        with pytest.raises(NotFound):
            calendars.create_feed(session, person.caller, desk.id)
        with pytest.raises(NotFound):
            calendars.import_unavailability(session, person.caller, desk.id, ics())
    assert network.gb_reader.caller.role is Role.READ_ONLY
    reader = _desk(session, _agency(session, "GB-NCA"), "Europe/London")
    with pytest.raises(NotFound):  # a read-only user keeps no watch, even at home
        calendars.create_feed(session, network.gb_reader.caller, reader.id)
    assert desk.feed_secret_hash is None


# --- importing unavailability -----------------------------------------------------------------


def test_all_day_timed_and_floating_events_are_read_on_the_desks_clock() -> None:
    windows = read(
        ics(
            "UID:day@example.com\r\nDTSTART;VALUE=DATE:20260405\r\nDTEND;VALUE=DATE:20260407\r\n"
            "SUMMARY:Training days",
            "UID:tz@example.com\r\nDTSTART;TZID=America/New_York:20260310T090000\r\n"
            "DTEND;TZID=America/New_York:20260310T110000\r\nSUMMARY:Visit",
            "UID:float@example.com\r\nDTSTART:20260312T080000\r\nDURATION:PT2H",
            "UID:utc@example.com\r\nDTSTART:20260313T080000Z\r\nDTEND:20260313T090000Z",
            "UID:oneday@example.com\r\nDTSTART;VALUE=DATE:20260320",
        )
    )
    got = {w.uid: (w.starts_at, w.ends_at, w.reason) for w in windows}
    # whole local days in Amsterdam (CEST from 29 March)
    assert got["day@example.com"] == (at(2026, 4, 4, 22), at(2026, 4, 6, 22), "Training days")
    assert got["tz@example.com"][:2] == (at(2026, 3, 10, 13), at(2026, 3, 10, 15))  # EDT
    assert got["float@example.com"][:2] == (at(2026, 3, 12, 7), at(2026, 3, 12, 9))  # CET
    assert got["utc@example.com"][:2] == (at(2026, 3, 13, 8), at(2026, 3, 13, 9))
    assert got["oneday@example.com"] == (at(2026, 3, 19, 23), at(2026, 3, 20, 23), "unavailable")


def test_recurring_events_expand_with_exceptions_across_the_dst_change() -> None:
    windows = read(
        ics(
            "UID:weekly@example.com\r\nDTSTART;TZID=Europe/Amsterdam:20260316T090000\r\n"
            "DTEND;TZID=Europe/Amsterdam:20260316T120000\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n"
            "EXDATE;TZID=Europe/Amsterdam:20260323T090000\r\nSUMMARY:Staff meeting",
            "UID:off@example.com\r\nSTATUS:CANCELLED\r\nDTSTART:20260310T080000Z\r\n"
            "DTEND:20260310T090000Z",
            "UID:free@example.com\r\nTRANSP:TRANSPARENT\r\nDTSTART:20260311T080000Z\r\n"
            "DTEND:20260311T090000Z",
            "UID:past@example.com\r\nDTSTART:20260210T080000Z\r\nDTEND:20260210T090000Z",
            "UID:zero@example.com\r\nDTSTART:20260310T080000Z",
        )
    )
    # 09:00 Amsterdam is 08:00 UTC before 29 March and 07:00 UTC after; 23 March is excepted
    assert [(w.uid, w.starts_at) for w in windows] == [
        ("weekly@example.com", at(2026, 3, 16, 8)),
        ("weekly@example.com", at(2026, 3, 30, 7)),
        ("weekly@example.com", at(2026, 4, 6, 7)),
    ]
    assert all(w.ends_at - w.starts_at == timedelta(hours=3) for w in windows)


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "is empty"),
        (b"hello world\r\n", "line 1: is not an iCalendar content line"),
        (
            b"BEGIN:VEVENT\r\nEND:VEVENT\r\n",
            "line 1: an iCalendar file begins with BEGIN:VCALENDAR",
        ),
        (
            ics("UID:a@example.com\r\nDTSTART:20260310T080000Z").replace(b"END:VCALENDAR\r\n", b""),
            "ends inside BEGIN:VCALENDAR of line 1",
        ),
        (
            ics("UID:a@example.com\r\nDTSTART:20260310T080000Z\r\nEND:VTODO"),
            "line 8: END:VTODO closes BEGIN:VEVENT of line 4",
        ),
        (
            ics("UID:nostart@example.com\r\nSUMMARY:x"),
            "line 4: VEVENT nostart@example.com has no DTSTART",
        ),
        (
            ics(
                "UID:ok@example.com\r\nDTSTART:20260310T080000Z",
                "UID:back@example.com\r\nDTSTART:20260310T080000Z\r\nDTEND:20260310T070000Z",
            ),
            "line 9: VEVENT back@example.com ends before it starts",
        ),
        (
            ics("UID:neg@example.com\r\nDTSTART:20260310T080000Z\r\nDURATION:-PT1H"),
            "line 4: VEVENT neg@example.com ends before it starts",
        ),
        (
            ics("UID:bad@example.com\r\nDTSTART:yesterday"),
            "line 4: VEVENT bad@example.com has a DTSTART, DTEND or DURATION that is no date",
        ),
        (b"BEGIN:VCALENDAR\r\n\xff\xfe\r\nEND:VCALENDAR\r\n", "line 2: is not UTF-8 text"),
        (
            ics(
                "UID:hourly@example.com\r\nDTSTART:20260310T080000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY"
            ),
            "gives more than 5,000 unavailable windows",
        ),
    ],
)
def test_a_malformed_file_is_refused_naming_the_line_and_the_rule(data: bytes, rule: str) -> None:
    assert rule in refusal(data)


def test_a_file_over_the_budget_is_refused_before_it_is_read() -> None:
    data = ics("UID:a@example.com\r\nDTSTART:20260310T080000Z\r\nDTEND:20260310T090000Z")
    assert len(read(data)) == 1
    small = DEFAULT.smaller(max_calendar_bytes=len(data) - 1)
    assert refusal(data, budget=small) == f"is larger than {len(data) - 1:,} bytes"


def test_a_reimport_replaces_the_last_import_and_keeps_what_was_declared(
    session: Session, network: Network
) -> None:
    desk = _desk(session, _agency(session, "NL-NP"))
    declared = DeskUnavailability(
        desk_id=desk.id, starts_at=at(2026, 3, 2), ends_at=at(2026, 3, 3), reason="move"
    )
    session.add(declared)
    first = ics(
        "UID:a@example.com\r\nDTSTART:20260310T080000Z\r\nDTEND:20260310T090000Z",
        "UID:b@example.com\r\nDTSTART:20260311T080000Z\r\nDTEND:20260311T090000Z",
    )
    result = calendars.import_unavailability(session, network.nl.caller, desk.id, first, now=NOW)
    assert (result.added, result.replaced) == (2, 0)

    def rows() -> list[tuple[str, str | None, datetime]]:
        found = session.scalars(
            select(DeskUnavailability)
            .where(DeskUnavailability.desk_id == desk.id)
            .order_by(DeskUnavailability.starts_at)
        )
        return [(r.source, r.ical_uid, r.starts_at) for r in found]

    assert rows() == [
        ("desk", None, at(2026, 3, 2)),
        ("ical", "a@example.com", at(2026, 3, 10, 8)),
        ("ical", "b@example.com", at(2026, 3, 11, 8)),
    ]
    second = ics("UID:b@example.com\r\nDTSTART:20260312T080000Z\r\nDTEND:20260312T090000Z")
    result = calendars.import_unavailability(session, network.nl.caller, desk.id, second, now=NOW)
    assert (result.added, result.replaced) == (1, 2)
    assert rows() == [("desk", None, at(2026, 3, 2)), ("ical", "b@example.com", at(2026, 3, 12, 8))]
    # a bad file changes nothing
    bad = ics("UID:c@example.com\r\nSUMMARY:no start")
    with pytest.raises(Invalid), session.begin_nested():
        calendars.import_unavailability(session, network.nl.caller, desk.id, bad, now=NOW)
    assert rows() == [("desk", None, at(2026, 3, 2)), ("ical", "b@example.com", at(2026, 3, 12, 8))]
    assert _actions(session, desk) == ["rota.unavailability.import"] * 2


def test_the_console_imports_a_desks_calendar_and_refuses_a_bad_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rota_cli, "utcnow", lambda: NOW)
    run = fresh_hub(tmp_path, monkeypatch)
    add_agency(run, "NL-NP", country="NL", timezone="Europe/Amsterdam", phone="+31201234567")
    assert run.invoke(app, ["rota", "desk", "set", "NL-NP", "--languages", "nl"]).exit_code == 0
    good = tmp_path / "desk.ics"
    good.write_bytes(
        ics(
            "UID:a@example.com\r\nDTSTART:20260310T080000Z\r\nDTEND:20260310T090000Z",
            "UID:w@example.com\r\nDTSTART;TZID=Europe/Amsterdam:20260302T090000\r\n"
            "DTEND;TZID=Europe/Amsterdam:20260302T100000\r\nRRULE:FREQ=WEEKLY;COUNT=3",
        )
    )
    done = run.invoke(app, ["rota", "unavailable", "import", "NL-NP", str(good)])
    assert done.exit_code == 0, done.output
    assert (
        done.stdout.strip()
        == "NL-NP: 4 unavailable windows imported, 0 of the last import replaced"
    )
    listed = run.invoke(app, ["rota", "unavailable", "list", "NL-NP", "--all"])
    assert listed.stdout.split().count("ical") == 4
    bad = tmp_path / "bad.ics"
    bad.write_bytes(ics("UID:x@example.com\r\nSUMMARY:no start"))
    refused = run.invoke(app, ["rota", "unavailable", "import", "NL-NP", str(bad)])
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    assert refused.stderr.strip() == (
        "error: file: line 4: VEVENT x@example.com has no DTSTART (an event needs one)"
    )
    missing = run.invoke(app, ["rota", "unavailable", "import", "NL-NP", str(tmp_path / "no.ics")])
    assert missing.exit_code == 2
    assert "file: cannot be read" in missing.stderr
    again = run.invoke(app, ["rota", "unavailable", "list", "NL-NP", "--all"])
    assert again.stdout.split().count("ical") == 4  # the refused file changed nothing
