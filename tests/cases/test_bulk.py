"""The batched bulk import deconflicts exactly as adding the lines one by one would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from builders import Network, add_selector, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import service as case_service
from taskforce.cases.models import Case, CaseEvent, Hit, Notification, Selector, SelectorValue
from taskforce.core.settings import Settings

PDQ = "f" * 16 + "0" * 48
PDQ_NEAR = "0" * 4 + "f" * 12 + "0" * 48  # 16 bits away
SEEN = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)

# (type, value, platform, observed_at); held by NL first, then added by GB
LINES = [
    ("email", "Fox.Hunter@Example.com", "", ""),
    ("username", "Fox_1", "Instagram", ""),
    ("phone", "+44 20 7946 0999", "", ""),
    ("pdq", PDQ_NEAR, "", ""),
    ("ip", "8.8.8.8", "", ""),  # noise: never hits
    ("ip", "203.0.113.7", "", SEEN.isoformat()),
    ("ip", "203.0.113.8", "", (SEEN + timedelta(days=30)).isoformat()),  # outside the window
    ("domain", "never-held.example.org", "", ""),
]
HELD = [
    ("email", "fox.hunter@example.com", None, None),
    ("username", "fox_1", "instagram", None),
    ("phone", "+442079460999", None, None),
    ("pdq", PDQ, None, None),
    ("ip", "8.8.8.8", None, None),
    ("ip", "203.0.113.7", None, SEEN + timedelta(hours=1)),
    ("ip", "203.0.113.8", None, SEEN),
]


def _hits_against(session: Session, case: Case, other: Case) -> set[tuple[str, str, int]]:
    rows = session.execute(
        select(Hit.kind, Selector.value, Hit.distance)
        .join(Selector, Selector.id == Hit.b_selector_id)
        .where(Hit.a_case_id == case.id, Hit.b_case_id == other.id)
    ).all()
    return {(k, v, d) for k, v, d in rows}


def test_bulk_import_makes_the_hits_single_additions_make(
    session: Session, settings: Settings, network: Network
) -> None:
    held = make_case(session, network.nl, title="Held by NL")
    for kind, value, platform, seen in HELD:
        add_selector(
            session, settings, network.nl, held, kind, value, platform=platform, observed_at=seen
        )

    one_by_one = make_case(session, network.us, title="Added one by one")
    for kind, value, platform, seen in LINES:
        add_selector(
            session,
            settings,
            network.us,
            one_by_one,
            kind,
            value,
            platform=platform or None,
            observed_at=datetime.fromisoformat(seen) if seen else None,
        )

    imported = make_case(session, network.gb, title="Imported")
    rows = [
        (n, {"type": k, "value": v, "platform": p, "observed_at": t})
        for n, (k, v, p, t) in enumerate(LINES, start=2)
    ]
    rows.append((len(rows) + 2, {"type": "email", "value": "FOX.hunter@example.com"}))  # dup
    rows.append((len(rows) + 2, {"type": "imei", "value": "123"}))  # bad
    report = case_service.bulk_add_selectors(
        session, network.gb.caller, settings, case_id=imported.id, rows=rows
    )

    expected = _hits_against(session, one_by_one, held)
    assert expected == {
        ("email", "fox.hunter@example.com", 0),
        ("username", "fox_1", 0),
        ("phone", "+442079460999", 0),
        ("pdq", PDQ, 16),
        ("ip", "203.0.113.7", 0),
    }
    assert _hits_against(session, imported, held) == expected
    # the case that added them one by one holds them too (the noise IP makes no hit)
    assert len(_hits_against(session, imported, one_by_one)) == len(LINES) - 1
    assert report.accepted == len(LINES)
    assert report.duplicates == 1
    assert [(e.line, e.field) for e in report.rejected] == [(len(LINES) + 3, "value")]
    assert report.hits == len(expected) + len(LINES) - 1

    noise = session.scalar(
        select(Selector).where(Selector.case_id == imported.id, Selector.value == "8.8.8.8")
    )
    assert noise is not None and noise.noise_reason
    value = session.scalar(
        select(SelectorValue).where(
            SelectorValue.kind == "email", SelectorValue.key == "fox.hunter@example.com"
        )
    )
    assert value is not None and value.case_count == 3
    assert (
        session.scalar(
            select(Notification).where(
                Notification.case_id == held.id,
                Notification.hit_id.in_(select(Hit.id).where(Hit.a_case_id == imported.id)),
            )
        )
        is not None
    )
    events = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == imported.id)).all()
    assert "selectors_imported" in events


def test_reimporting_the_same_lines_adds_nothing(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    rows = [(n, {"type": k, "value": v, "platform": p}) for n, (k, v, p, _) in enumerate(LINES)]
    first = case_service.bulk_add_selectors(
        session, network.gb.caller, settings, case_id=case.id, rows=rows
    )
    again = case_service.bulk_add_selectors(
        session, network.gb.caller, settings, case_id=case.id, rows=rows
    )
    assert first.accepted == len(LINES) and first.duplicates == 0
    assert again.accepted == 0 and again.duplicates == len(LINES) and again.hits == 0
