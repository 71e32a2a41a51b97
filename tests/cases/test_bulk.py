"""The bulk import deconflicts exactly as adding the lines one by one would: both go through
the one engine (`cases.deconfliction`), and a property test holds them to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from builders import Network, add_selector, make_case
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import additions as case_additions
from taskforce.cases import deconfliction
from taskforce.cases.models import Case, Hit, Notification, Selector
from taskforce.core.settings import Settings

PDQ = "f" * 16 + "0" * 48
PDQ_NEAR = "0" * 4 + "f" * 12 + "0" * 48  # 16 bits away
SEEN = datetime(2026, 3, 1, 14, 0, tzinfo=UTC)

# (type, value, platform, observed_at)
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


# One line of a generated sequence: (type, value, observed_at); values are made distinct per
# example by a token, so the examples sharing one database never meet each other's values.
Line = tuple[str, str, str]
_NEAR = [PDQ, PDQ_NEAR, "0" * 8 + "f" * 8 + "0" * 48, "0" * 64]  # 0, 16, 32, 32 bits from PDQ


def _line(kind: str, n: int, hours: int, token: int) -> Line:
    seen = (SEEN + timedelta(hours=hours)).isoformat()
    if kind == "email":
        return ("email", f"Person{n}.{token}@Example.com", "")
    if kind == "ip":  # 203.0.113.x with a time: the observation window decides
        return ("ip", f"198.{token % 250}.{n}.{token // 250 % 250}", seen)
    if kind == "noise":
        return ("ip", "8.8.8.8", "")
    if kind == "common":  # held by two other cases: over the limit of 2 once added
        return ("email", f"shared{n}.{token}@example.com", "")
    return ("pdq", _flip(_NEAR[n % len(_NEAR)], token), "")


def _flip(pdq: str, token: int) -> str:
    """The hash with its last 16 bits set from the token: far from other examples' hashes."""
    return pdq[:-4] + f"{token % 0xFFFF:04x}"


KINDS = st.sampled_from(["email", "ip", "noise", "common", "pdq"])
LINE = st.tuples(KINDS, st.integers(0, 3), st.sampled_from([-30 * 24, -2, 0, 5, 30 * 24]))
_TOKENS = iter(range(1, 1_000_000))


@hyp_settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    held=st.lists(LINE, max_size=6),
    added=st.lists(LINE, min_size=1, max_size=10),
    batch=st.sampled_from([1, 3, 2000]),
)
def test_bulk_import_makes_what_single_additions_make(
    session: Session,
    settings: Settings,
    network: Network,
    monkeypatch: pytest.MonkeyPatch,
    held: list[tuple[str, int, int]],
    added: list[tuple[str, int, int]],
    batch: int,
) -> None:
    """Random sequences (duplicates, noise, common values, near PDQ hashes, IPs at times)
    added one by one and imported: same selectors, hits and notifications."""
    limited = settings.model_copy(update={"common_value_case_limit": 2})
    token = next(_TOKENS)
    holders = [make_case(session, person, title="Holder") for person in (network.nl, network.us)]
    for kind, n, hours in held:
        line = _line(kind, n, hours, token)
        for holder in holders if kind == "common" else holders[:1]:
            add_selector(
                session,
                limited,
                network.nl if holder is holders[0] else network.us,
                holder,
                line[0],
                line[1],
                observed_at=datetime.fromisoformat(line[2]) if line[2] else None,
            )
    lines = [_line(kind, n, hours, token) for kind, n, hours in added]

    # one by one, then undone: the import starts from the same network
    savepoint = session.begin_nested()
    one_by_one = make_case(session, network.gb, title="Added one by one")
    for kind, value, seen in lines:
        add_selector(
            session,
            limited,
            network.gb,
            one_by_one,
            kind,
            value,
            observed_at=datetime.fromisoformat(seen) if seen else None,
        )
    single = _outcome(session, one_by_one)
    savepoint.rollback()

    imported = make_case(session, network.gb, title="Imported")
    rows = [
        (n, {"type": k, "value": v.upper() if k == "email" else v, "observed_at": t})
        for n, (k, v, t) in enumerate(lines, start=2)
    ]
    monkeypatch.setattr(deconfliction, "BATCH_SIZE", batch)  # 1, 3: recorded apart
    report = case_additions.bulk_add_selectors(
        session,
        network.gb.caller,
        limited,
        case_id=imported.id,
        rows=rows,
        after_batch=session.flush,
    )

    assert _outcome(session, imported) == single
    selectors, hits, _ = single
    assert (report.accepted, report.duplicates) == (len(selectors), len(lines) - len(selectors))
    assert report.hits == len(hits)


def _outcome(
    session: Session, case: Case
) -> tuple[list[tuple[str, str, str | None]], list[tuple[str, str, int]], list[str]]:
    """The case's selectors, its hits (kind, other side's value, distance) and the kinds of
    the notifications they made."""
    selectors = session.execute(
        select(Selector.kind, Selector.value, Selector.noise_reason).where(
            Selector.case_id == case.id
        )
    ).all()
    hits = session.execute(
        select(Hit.kind, Selector.value, Hit.distance)
        .join(Selector, Selector.id == Hit.b_selector_id)
        .where(Hit.a_case_id == case.id)
    ).all()
    notices = session.scalars(
        select(Hit.kind)
        .join(Notification, Notification.hit_id == Hit.id)
        .where(Hit.a_case_id == case.id)
    ).all()
    return (
        sorted((k, v, r) for k, v, r in selectors),
        sorted((k, v, d) for k, v, d in hits),
        sorted(notices),
    )


def test_reimporting_the_same_lines_adds_nothing(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    rows = [(n, {"type": k, "value": v, "platform": p}) for n, (k, v, p, _) in enumerate(LINES)]
    first = case_additions.bulk_add_selectors(
        session, network.gb.caller, settings, case_id=case.id, rows=rows
    )
    again = case_additions.bulk_add_selectors(
        session, network.gb.caller, settings, case_id=case.id, rows=rows
    )
    assert first.accepted == len(LINES)
    assert first.duplicates == 0
    assert again.accepted == 0
    assert again.duplicates == len(LINES)
    assert again.hits == 0
