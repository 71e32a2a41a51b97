"""Selector imports within the parser budget, committed batch by batch (issue 11)."""

from __future__ import annotations

import pytest
from builders import Network, add_selector, make_case
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases import additions as case_additions
from taskforce.cases import deconfliction
from taskforce.cases.models import CaseEvent, Hit, Notification, Selector
from taskforce.core.audit.models import AuditEntry
from taskforce.core.settings import Settings

EMAILS = [f"person{n}@example.com" for n in range(5)]


def test_a_cell_over_128_kib_is_one_bad_line_the_others_import(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    long_note = "n" * (200 * 1024)  # csv.Error "field larger than field limit": a 500 before
    text = f"type,value,note\nemail,{EMAILS[0]},{long_note}\nemail,{EMAILS[1]},short\n"
    report = case_additions.bulk_add_selectors(
        session,
        network.gb.caller,
        settings,
        case_id=case.id,
        rows=case_additions.parse_bulk_csv(text),
    )
    assert report.accepted == 1
    assert [(e.line, e.field, e.rule) for e in report.rejected] == [
        (2, "note", "is longer than 131,072 characters")
    ]


def test_a_row_with_too_many_cells_is_one_bad_line(
    session: Session, settings: Settings, network: Network
) -> None:
    case = make_case(session, network.gb)
    text = f"type,value\nemail,{EMAILS[0]}{',' * 5_000}\nemail,{EMAILS[1]}\n"
    report = case_additions.bulk_add_selectors(
        session,
        network.gb.caller,
        settings,
        case_id=case.id,
        rows=case_additions.parse_bulk_csv(text),
    )
    assert report.accepted == 1
    assert [(e.line, e.field) for e in report.rejected] == [(2, "line")]


def test_large_imports_commit_per_batch_each_audited_and_resume(
    session: Session, settings: Settings, network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(deconfliction, "BATCH_SIZE", 2)
    held = make_case(session, network.nl, title="Held by NL")
    add_selector(session, settings, network.nl, held, "email", EMAILS[0])
    case = make_case(session, network.gb)
    rows = [(n, {"type": "email", "value": v}) for n, v in enumerate(EMAILS, start=2)]
    commits: list[int] = []

    def interrupt() -> None:
        session.commit()
        commits.append(1)
        if len(commits) == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        case_additions.bulk_add_selectors(
            session,
            network.gb.caller,
            settings,
            case_id=case.id,
            rows=rows,
            after_batch=interrupt,
        )
    session.rollback()
    kept = session.scalars(select(Selector.value).where(Selector.case_id == case.id)).all()
    assert sorted(kept) == EMAILS[:2]  # the first batch, committed with its hit ...
    [hit] = session.scalars(select(Hit).where(Hit.a_case_id == case.id)).all()
    notified = session.scalars(select(Notification.case_id).where(Notification.hit_id == hit.id))
    assert set(notified) == {case.id, held.id}  # ... its notifications ...
    audited = session.scalars(
        select(AuditEntry.detail).where(
            AuditEntry.action == "selector.bulk_add", AuditEntry.subject_id == case.id
        )
    ).all()
    assert len(audited) == 1  # ... and its audit entry

    rest = case_additions.bulk_add_selectors(
        session, network.gb.caller, settings, case_id=case.id, rows=rows, after_batch=session.commit
    )
    assert (rest.accepted, rest.duplicates, rest.hits) == (3, 2, 0)
    assert len(session.scalars(select(Hit).where(Hit.a_case_id == case.id)).all()) == 1
    events = session.scalars(select(CaseEvent.action).where(CaseEvent.case_id == case.id)).all()
    assert events.count("selectors_imported") == 3  # one per batch that added lines
