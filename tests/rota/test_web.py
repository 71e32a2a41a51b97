"""The rota's pages as the desks and the coordinator use them: the timeline where the shifts are
in the reader's zone with the gaps in red, who covers a capability at a time typed on a chosen
clock, the gaps ahead, a desk's feed made, read without a login, replaced and revoked, its
calendar imported (a bad file refused naming the line), and the coordinator's override that
lands on the timeline. Errors are shown next to their field; what a desk may not do is 404."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import icalendar
import pytest
from builders import Person, make_person, web_login
from fastapi.testclient import TestClient
from rota_builders import NOW, RotaNet, make_rota
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.caller import Role
from taskforce.rota import service
from taskforce.rota.models import DeskUnavailability
from taskforce.rota.schemas import Power, RequirementCreate
from taskforce.rota.timeline import HOUR, LABEL

ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//example//test//EN\r\n"
    "BEGIN:VEVENT\r\nUID:course@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
    "DTSTART;VALUE=DATE:20270115\r\nDTEND;VALUE=DATE:20270116\r\nSUMMARY:Course\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def net(session: Session, monkeypatch: pytest.MonkeyPatch) -> RotaNet:
    """The builders' follow-the-sun rota, its pages seen at `NOW` (Monday 7 December 2026,
    00:00 UTC), never at the real clock."""
    from taskforce.rota import forms, web

    monkeypatch.setattr(web, "utcnow", lambda: NOW)
    monkeypatch.setattr(forms, "utcnow", lambda: NOW)
    return make_rota(session)


def _login(client: TestClient, session: Session, person: Person) -> str:
    return web_login(client, session, person)


def _desk_id(net: RotaNet, code: str) -> str:
    return str(net.desks[code].id)


def _bars(html: str, kind: str) -> list[tuple[float, float, str]]:
    """(x, width, tooltip) of the timeline's bars of a kind."""
    found = re.findall(
        rf'<rect class="bar bar-{kind}" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*>'
        r"<title>([^<]*)</title>",
        html,
    )
    return [(float(x), float(w), t) for x, w, t in found]


def test_the_timeline_draws_the_shifts_in_the_readers_zone_with_gaps_in_red(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    service.add_requirement(
        session, net.coord.caller, RequirementCreate(name="Preservation", power=Power.PRESERVATION)
    )
    _login(client, session, net.gb)
    page = client.get("/ui/rota?tz=UTC&start=2026-12-07")
    assert page.status_code == 200
    assert 'role="img"' in page.text
    gb = [b for b in _bars(page.text, "rule") if b[2].startswith("GB-NCA")]
    # Monday 7 December: GB-NCA 06:00-14:00 UTC, the first of its 14 days
    assert gb[0][:2] == (LABEL + 6 * HOUR, 8 * HOUR)
    assert len(gb) == 14
    gaps = _bars(page.text, "gap")
    # preservation: nobody 22:00-06:00 UTC (US-HSI cannot preserve); the first night is the
    # 6 hours before 06:00 on the 7th, the next from 22:00
    assert gaps[0][:2] == (LABEL, 6 * HOUR)
    assert gaps[1][:2] == (LABEL + 22 * HOUR, 8 * HOUR)
    assert "Preservation: not covered" in gaps[1][2]
    # the same day seen from Amsterdam: the grid starts an hour earlier, the bar as long
    ams = client.get("/ui/rota?tz=Europe/Amsterdam&start=2026-12-07")
    gb_ams = [b for b in _bars(ams.text, "rule") if b[2].startswith("GB-NCA")]
    assert gb_ams[0][:2] == (LABEL + 7 * HOUR, 8 * HOUR)
    assert "Mon 07 Dec 07:00 CET – 15:00 CET" in gb_ams[0][2]
    # and the text alternative lists the same intervals
    assert "The timeline as a table" in ams.text
    # at NOW (Monday 00:00 UTC) the night belongs to New York
    now = page.text.split('id="now"')[1].split("</section>")[0]
    assert "US-HSI" in now
    assert "GB-NCA" not in now
    assert "until Mon 07 Dec 06:00 UTC" in now


def test_who_covers_a_capability_at_a_time_typed_on_a_chosen_clock(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    _login(client, session, net.nl)
    # 04:00 in Amsterdam = 03:00 UTC: only US-HSI is on duty
    page = client.get(
        "/ui/rota/on-duty?at=2026-12-07T04:00&tz=Europe/Amsterdam&power=emergency_disclosure"
    )
    assert page.status_code == 200
    found = page.text.split('id="found"')[1]
    assert "US-HSI" in found
    assert "GB-NCA" not in found
    assert "Mon 07 Dec 03:00 UTC" in found
    nobody = client.get(
        "/ui/rota/on-duty?at=2026-12-07T04:00&tz=Europe/Amsterdam&power=preservation"
    )
    assert "No desk on duty covers this" in nobody.text
    spanish = client.get("/ui/rota/on-duty?at=2026-12-07T03:00&tz=UTC&language=es")
    assert "US-HSI" in spanish.text.split('id="found"')[1]
    for query, field, rule in (
        ("at=yesterday&tz=UTC", "at", "A date and time like"),
        ("at=2026-12-07T04:00&tz=Mars/Olympus", "tz", "Must be an IANA time zone"),
        ("power=telepathy", "power", "One of preservation"),
        ("language=spanish", "language", "An ISO 639-1 language code"),
    ):
        refused = client.get(f"/ui/rota/on-duty?{query}")
        assert refused.status_code == 422, query
        error = re.search(
            rf'<p class="field-error" id="err-{field}" role="alert">([^<]*)', refused.text
        )
        assert error, query
        assert rule in error.group(1)


def test_the_gaps_page_lists_each_requirement_and_refuses_a_bad_span(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    service.add_requirement(
        session,
        net.coord.caller,
        RequirementCreate(name="Emergency disclosure", power=Power.EMERGENCY_DISCLOSURE),
    )
    _login(client, session, net.us)
    page = client.get("/ui/rota/gaps?days=3&tz=UTC")
    assert page.status_code == 200
    assert "Any desk on duty" in page.text
    assert "Covered at every moment of the next 3 days" in page.text
    # US-HSI alone can disclose in an emergency, 22:00-06:00 UTC: a gap of 16 hours each day
    assert "16 h" in page.text.split("Emergency disclosure")[1]
    for days in ("0", "93", "soon"):
        refused = client.get(f"/ui/rota/gaps?days={days}")
        assert refused.status_code == 422
        assert 'id="err-days"' in refused.text


def test_a_desk_makes_reads_replaces_and_revokes_its_feed(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    _login(client, session, net.nl)
    desk = _desk_id(net, "NL-NP")
    page = client.get(f"/ui/rota/desks/{desk}")
    assert "Make a feed address" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    made = client.post(f"/ui/rota/desks/{desk}/feed", data={"csrf_token": csrf.group(1)})
    assert made.status_code == 201
    url = re.search(r'rota-feed-url">([^<]+)<', made.text)
    assert url
    path = urlsplit(url.group(1)).path
    assert path.startswith("/rota/feed/")
    assert path.endswith(".ics")
    with TestClient(client.app, base_url="http://testserver") as anonymous:  # no login
        feed = anonymous.get(path)
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        events = list(icalendar.Calendar.from_ical(feed.content).walk("VEVENT"))
        assert len(events) == 60  # a shift a day for 60 days
        assert {str(e["SUMMARY"]) for e in events} == {"24/7 duty: NL-NP"}
        for e in events:  # 15:00-23:00 Amsterdam in December: 14:00-22:00 UTC
            assert (e.decoded("DTSTART").hour, e.decoded("DTEND").hour) == (14, 22)
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "rota.feed.read"))
        assert [r.channel for r in reads] == ["feed"]
        # a new address kills the old one
        again = client.post(f"/ui/rota/desks/{desk}/feed", data={"csrf_token": csrf.group(1)})
        new = re.search(r'rota-feed-url">([^<]+)<', again.text)
        assert new
        assert anonymous.get(path).status_code == 404
        new_path = urlsplit(new.group(1)).path
        assert anonymous.get(new_path).status_code == 200
        revoked = client.post(
            f"/ui/rota/desks/{desk}/feed/revoke",
            data={"csrf_token": csrf.group(1)},
            follow_redirects=False,
        )
        assert revoked.status_code == 303
        assert anonymous.get(new_path).status_code == 404
        assert anonymous.get("/rota/feed/not-a-secret.ics").status_code == 404


def test_another_desk_is_read_only_and_its_forms_answer_404(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.gb)
    desk = _desk_id(net, "NL-NP")
    page = client.get(f"/ui/rota/desks/{desk}")
    assert page.status_code == 200
    assert "Make a feed address" not in page.text
    assert "Import an iCal calendar" not in page.text
    for action in ("feed", "feed/revoke"):
        assert (
            client.post(f"/ui/rota/desks/{desk}/{action}", data={"csrf_token": csrf}).status_code
            == 404
        )
    sent = client.post(
        f"/ui/rota/desks/{desk}/import",
        data={"csrf_token": csrf},
        files={"file": ("x.ics", ICS.encode(), "text/calendar")},
    )
    assert sent.status_code == 404


def test_a_calendar_is_imported_and_a_bad_one_refused_naming_the_line(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.nl)
    desk = _desk_id(net, "NL-NP")
    done = client.post(
        f"/ui/rota/desks/{desk}/import",
        data={"csrf_token": csrf},
        files={"file": ("desk.ics", ICS.encode(), "text/calendar")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert "imported=1" in done.headers["location"]
    rows = session.scalars(select(DeskUnavailability).where(DeskUnavailability.source == "ical"))
    assert [r.ical_uid for r in rows] == ["course@example.com"]
    bad = ICS.replace("DTSTART;VALUE=DATE:20270115\r\n", "")
    refused = client.post(
        f"/ui/rota/desks/{desk}/import",
        data={"csrf_token": csrf},
        files={"file": ("desk.ics", bad.encode(), "text/calendar")},
    )
    assert refused.status_code == 422
    error = re.search(r'id="err-file" role="alert">([^<]*)', refused.text)
    assert error
    assert error.group(1) == "Line 4: VEVENT course@example.com has no DTSTART (an event needs one)"
    kept = session.scalars(
        select(DeskUnavailability.ical_uid).where(DeskUnavailability.source == "ical")
    )
    assert list(kept) == ["course@example.com"]  # nothing of the bad file, the last import kept


def test_the_coordinators_override_lands_on_the_timeline(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.coord)
    assert client.get("/ui/rota/plan").status_code == 200
    # replace NL-NP by GB-NCA for NL-NP's Tuesday shift, typed on the Amsterdam clock
    done = client.post(
        "/ui/rota/plan/overrides",
        data={
            "csrf_token": csrf,
            "starts_at": "2026-12-08T15:00",
            "ends_at": "2026-12-08T23:00",
            "tz": "Europe/Amsterdam",
            "add": "GB-NCA",
            "remove": "NL-NP",
            "reason": "NL-NP training day",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/ui/rota?tz=Europe/Amsterdam&start=2026-12-08#timeline"
    page = client.get(done.headers["location"].split("#")[0])
    (bar,) = _bars(page.text, "override")
    assert bar[2].startswith("GB-NCA: on duty (override), Tue 08 Dec 15:00 CET – 23:00 CET")
    assert bar[:2] == (LABEL + 15 * HOUR, 8 * HOUR)
    nl = [b for b in _bars(page.text, "rule") if b[2].startswith("NL-NP")]
    assert all("Tue 08 Dec" not in b[2] for b in nl)  # removed for that window


def test_a_refused_plan_form_shows_its_error_next_to_its_field(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.coord)
    refused = client.post(
        "/ui/rota/plan/overrides",
        data={
            "csrf_token": csrf,
            "starts_at": "2026-12-08T15:00",
            "ends_at": "2026-12-08T14:00",
            "tz": "Europe/Amsterdam",
            "add": "GB-NCA",
        },
    )
    assert refused.status_code == 422
    assert 'id="err-override.ends_at" role="alert">Must be after starts_at' in refused.text
    assert 'value="2026-12-08T14:00"' in refused.text  # what was typed is kept
    rule = client.post(
        "/ui/rota/plan/rules",
        data={"csrf_token": csrf, "target": "desk:GB-NCA", "start": "08:00", "end": "20:00"},
    )
    assert rule.status_code == 422
    assert 'id="err-rule.weekdays" role="alert">At least one weekday' in rule.text


def test_people_without_the_watch_do_not_see_the_rota(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    _login(client, session, net.gb_analyst)
    assert 'href="/ui/rota"' not in client.get("/ui/").text
    assert client.get("/ui/rota").status_code == 403
    _login(client, session, net.gb)
    assert 'href="/ui/rota"' in client.get("/ui/").text
    assert client.get("/ui/rota/plan").status_code == 403


def test_a_reader_of_another_agency_sees_no_feed_secret_or_form(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    reader = make_person(
        session,
        net.coordinator,
        role=Role.INVESTIGATOR,
        email="inv@hub.example.org",
    )
    _login(client, session, reader)
    page = client.get(f"/ui/rota/desks/{_desk_id(net, 'US-HSI')}")
    assert page.status_code == 200
    assert "/rota/feed/" not in page.text


def test_a_time_typed_in_the_missing_hour_is_the_instant_the_clocks_jump(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    _login(client, session, net.nl)
    # 02:30 on 29 March 2026 does not exist in Amsterdam: it is read as 03:00 CEST, 01:00 UTC
    page = client.get("/ui/rota/on-duty?at=2026-03-29T02:30&tz=Europe/Amsterdam")
    assert page.status_code == 200
    assert "On duty at Sun 29 Mar 03:00 CEST" in page.text
    assert "Sun 29 Mar 01:00 UTC" in page.text


def test_the_coordinator_builds_a_rotation_its_rule_and_a_temporary_schedule_from_the_forms(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.coord)

    def post(path: str, **data: object) -> str:
        answer = client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert answer.status_code == 303, re.findall(
            r'class="field-error"[^>]*>([^<]*)', answer.text
        )
        return str(answer.headers["location"])

    assert (
        post(
            "/ui/rota/plan/rotations",
            name="Weekend relay",
            members="nl-np, us-hsi",
            shift_length="1",
            kind="daily",
            starts_at="2026-12-12T00:00",
            time_zone="Europe/Amsterdam",
        )
        == "/ui/rota/plan#rotations"
    )
    post(
        "/ui/rota/plan/rules",
        target="rotation:Weekend relay",
        weekdays=["5", "6"],
        start="00:00",
        end="24:00",
        time_zone="",
    )
    post(
        "/ui/rota/plan/temporary",
        name="Operation Kestrel",
        starts_at="2026-12-16T00:00",
        ends_at="2026-12-17T00:00",
        tz="UTC",
        shifts=(
            "GB-NCA 2026-12-16T00:00 2026-12-16T12:00\nus-hsi 2026-12-16T12:00 2026-12-17T00:00\n"
        ),
    )
    post("/ui/rota/plan/requirements", name="Spanish", language="es")
    plan = client.get("/ui/rota/plan")
    assert "NL-NP → US-HSI" in plan.text
    assert "Operation Kestrel" in plan.text
    page = client.get("/ui/rota?tz=UTC&start=2026-12-07")
    # a day each from Saturday 12 December on Amsterdam's clock (23:00 UTC on the 11th):
    # NL-NP, US-HSI; the next weekend is handoffs 7 and 8: US-HSI, NL-NP
    relay = _bars(page.text, "rotation")
    assert [b[2].split(":")[0] for b in relay] == ["NL-NP", "US-HSI", "US-HSI", "NL-NP"]
    assert relay[0][:2] == (LABEL + (4 * 24 + 23) * HOUR, 24 * HOUR)
    temporary = _bars(page.text, "temporary")
    assert [(b[2].split(":")[0], b[1]) for b in temporary] == [
        ("GB-NCA", 12 * HOUR),
        ("US-HSI", 12 * HOUR),
    ]
    assert "Spanish" in page.text  # its lane
    # a refused temporary schedule names the line of its shifts
    refused = client.post(
        "/ui/rota/plan/temporary",
        data={
            "csrf_token": csrf,
            "name": "Operation Merlin",
            "starts_at": "2026-12-20T00:00",
            "ends_at": "2026-12-21T00:00",
            "tz": "UTC",
            "shifts": "GB-NCA 2026-12-20T00:00 2026-12-20T12:00\nNL-NP tomorrow later",
        },
    )
    assert refused.status_code == 422
    error = re.search(r'id="err-temporary.shifts" role="alert">([^<]*)', refused.text)
    assert error
    assert error.group(1).startswith("Line 2: a date and time like")
    assert "NL-NP tomorrow later" in refused.text  # what was typed is kept


def test_a_desk_declares_its_unavailability_and_capabilities_from_its_page(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.nl)
    desk = _desk_id(net, "NL-NP")
    done = client.post(
        f"/ui/rota/desks/{desk}/unavailability",
        data={
            "csrf_token": csrf,
            "starts_at": "2026-12-09T15:00",
            "ends_at": "2026-12-09T19:00",
            "tz": "Europe/Amsterdam",
            "reason": "Fire drill",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(f"/ui/rota/desks/{desk}?tz=UTC")
    assert "Fire drill" in page.text
    assert "Wed 09 Dec 14:00 UTC – Wed 09 Dec 18:00 UTC" in page.text
    timeline = client.get("/ui/rota?tz=UTC&start=2026-12-07")
    (off,) = _bars(timeline.text, "off")
    assert off[:2] == (LABEL + (2 * 24 + 14) * HOUR, 4 * HOUR)
    assert "Fire drill" in off[2]
    refused = client.post(
        f"/ui/rota/desks/{desk}/unavailability",
        data={
            "csrf_token": csrf,
            "starts_at": "2026-12-09T15:00",
            "ends_at": "2026-12-09T14:00",
            "tz": "Europe/Amsterdam",
        },
    )
    assert refused.status_code == 422
    assert re.search(r'id="err-ends_at" role="alert">Must be after starts_at', refused.text)
    caps = client.post(
        f"/ui/rota/desks/{desk}/capabilities",
        data={
            "csrf_token": csrf,
            "languages": "nl, en, de",
            "powers": ["preservation", "traffic_data"],
        },
        follow_redirects=False,
    )
    assert caps.status_code == 303
    saved = client.get(f"/ui/rota/desks/{desk}").text
    languages = re.search(r"<dt>Languages</dt><dd>([^<]*)</dd>", saved)
    powers = re.search(r"<dt>Powers</dt><dd>([^<]*)</dd>", saved)
    assert languages
    assert powers
    assert sorted(languages.group(1).split(", ")) == ["de", "en", "nl"]
    assert sorted(powers.group(1).split(", ")) == ["Preservation", "Traffic data"]
    bad = client.post(
        f"/ui/rota/desks/{desk}/capabilities",
        data={"csrf_token": csrf, "languages": "nl, dutch"},
    )
    assert bad.status_code == 422
    assert re.search(r'id="err-languages" role="alert">Must be an ISO 639-1', bad.text)


def test_the_coordinator_deletes_from_the_plan_but_never_the_any_desk_requirement(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.coord)
    plan = client.get("/ui/rota/plan").text
    rules = re.findall(r'action="/ui/rota/plan/rules/([0-9a-f-]{36})/delete"', plan)
    assert len(rules) == 3
    gone = client.post(
        f"/ui/rota/plan/rules/{rules[0]}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert gone.headers["location"] == "/ui/rota/plan#rules"
    plan = client.get("/ui/rota/plan").text
    assert len(re.findall(r"/ui/rota/plan/rules/[0-9a-f-]{36}/delete", plan)) == 2
    # the requirement every rota keeps has no delete button, and refuses a forged one
    (any_desk,) = [r for r in service.list_requirements(session, net.coord.caller) if not r.power]
    assert f"/ui/rota/plan/requirements/{any_desk.id}/delete" not in plan
    refused = client.post(
        f"/ui/rota/plan/requirements/{any_desk.id}/delete", data={"csrf_token": csrf}
    )
    assert refused.status_code == 422
    assert "is always kept" in refused.text
    unknown = client.post(f"/ui/rota/plan/rules/{rules[0]}/delete", data={"csrf_token": csrf})
    assert unknown.status_code == 404
    # a desk may not delete from the plan
    desk_csrf = _login(client, session, net.nl)
    assert (
        client.post(f"/ui/rota/plan/rules/{rules[1]}/delete", data={"csrf_token": desk_csrf})
    ).status_code == 403


def test_a_desk_declares_its_reliable_hours_and_the_plan_flags_a_rule_outside_them(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    csrf = _login(client, session, net.gb)
    desk = _desk_id(net, "GB-NCA")
    done = client.post(
        f"/ui/rota/desks/{desk}/capabilities",
        data={
            "csrf_token": csrf,
            "languages": "en",
            "powers": ["preservation"],
            "reliable": "mon-fri 08:00-18:00\nSat,Sun 10:00-14:00\n",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(f"/ui/rota/desks/{desk}").text
    assert "<dt>Reliable hours</dt><dd>Mon-Fri 08:00-18:00; Sat-Sun 10:00-14:00" in page
    refused = client.post(
        f"/ui/rota/desks/{desk}/capabilities",
        data={"csrf_token": csrf, "languages": "en", "reliable": "mon-fri 08:00-18:00\nweekdays"},
    )
    assert refused.status_code == 422
    error = re.search(r'id="err-reliable_hours" role="alert">([^<]*)', refused.text)
    assert error
    assert html.unescape(error.group(1)) == 'Line 2: days and hours like "mon-fri 08:00-18:00"'
    # GB-NCA's rule (06:00-14:00 London, every day) begins before its reliable hours
    _login(client, session, net.coord)
    plan = client.get("/ui/rota/plan").text
    rules = plan.split('id="rules"')[1].split("</table>")[0]
    gb_row = next(row for row in rules.split("<tr>") if "<td>GB-NCA</td>" in row)
    assert 'class="chip chip-known"' in gb_row
    nl_row = next(row for row in rules.split("<tr>") if "<td>NL-NP</td>" in row)
    assert "chip-known" not in nl_row  # declared none: never warned


def test_a_gap_says_in_words_what_is_missing_and_the_coordinator_where_to_close_it(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    service.add_requirement(
        session,
        net.coord.caller,
        RequirementCreate(name="Urgent disclosure", power=Power.EMERGENCY_DISCLOSURE),
    )
    _login(client, session, net.us)
    page = client.get("/ui/rota/gaps?days=3&tz=UTC")
    told = html.unescape(page.text.split("Urgent disclosure")[1])
    assert "No desk on duty then offers emergency disclosure by a provider." in told
    assert "/ui/rota/plan#overrides" not in page.text  # a desk cannot change the plan
    front = html.unescape(client.get("/ui/rota").text)
    assert "No desk on duty then offers emergency disclosure by a provider." in front

    other = TestClient(client.app)
    _login(other, session, net.coord)
    assert "/ui/rota/plan#overrides" in other.get("/ui/rota/gaps?days=3").text
    assert "/ui/rota/plan#overrides" in other.get("/ui/rota").text


def test_gap_meaning_and_day_span_read_as_people_write() -> None:
    from taskforce.rota.forms import day_span
    from taskforce.rota.web import gap_meaning

    assert gap_meaning(None, None) == "No desk at all is on duty then."
    assert gap_meaning("preservation", "es") == (
        "No desk on duty then offers expedited preservation of stored data in Spanish."
    )
    assert gap_meaning(None, "xx") == "No desk on duty then offers any help in xx."
    assert day_span(range(7)) == "Every day"
    assert day_span([0, 1, 2, 3, 4]) == "Mon–Fri"
    assert day_span([5, 6]) == "Sat, Sun"
    assert day_span([0, 1, 2, 4]) == "Mon–Wed, Fri"
    assert day_span([2]) == "Wed"


def test_a_desk_page_lists_its_own_shifts_ahead_on_its_clock(
    client: TestClient, session: Session, net: RotaNet
) -> None:
    _login(client, session, net.nl)
    us = html.unescape(client.get(f"/ui/rota/desks/{_desk_id(net, 'US-HSI')}").text)
    duty = us.split('id="duty"')[1].split("</section>")[0]
    # US-HSI works 17:00-01:00 New York: at NOW (Sunday 19:00 there) its shift is under way,
    # shown from its real start, not from the moment the page was read
    assert "Sun 06 Dec 17:00 EST – Mon 07 Dec 01:00 EST" in duty
    assert "Sun 06 Dec 22:00 – Mon 07 Dec 06:00 UTC" in duty
    assert duty.count(">now<") == 1
    nl = html.unescape(client.get(f"/ui/rota/desks/{_desk_id(net, 'NL-NP')}").text)
    duty = nl.split('id="duty"')[1].split("</section>")[0]
    assert "Mon 07 Dec 15:00 CET – 23:00 CET" in duty
    assert duty.count("<li>") == 7  # one shift a day for the week ahead
    assert ">now<" not in duty
