"""Hash sets through the service: create, import (idempotent), share, export."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from builders import Network
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.audit.models import AuditEntry
from taskforce.core.errors import Conflict, Forbidden, NotFound
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import service
from taskforce.hashsets.models import HashEntry
from taskforce.hashsets.schemas import HashSetCreate

MD5S = [f"{i:032x}" for i in range(1, 8)]
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _list(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "list.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _make(session: Session, network: Network, **kw: object) -> None:
    data = HashSetCreate(name=str(kw.pop("name", "Known series")), **kw)
    service.create_hash_set(session, network.gb.caller, data)


def test_import_twice_adds_nothing_the_second_time(
    session: Session, network: Network, tmp_path: Path
) -> None:
    _make(session, network)
    path = _list(tmp_path, *MD5S, "nonsense")
    first = service.import_file(session, network.gb.caller, name="Known series", path=path)
    assert (first.format, first.added, first.already_present) == ("lines", 7, 0)
    assert [r.line for r in first.rejected] == [8]
    again = service.import_file(session, network.gb.caller, name="Known series", path=path)
    assert (again.added, again.already_present) == (0, 7)
    assert session.scalar(select(HashEntry.id).where(HashEntry.md5 == MD5S[0])) is not None
    [listed] = service.list_hash_sets(session, network.gb.caller)
    assert listed.entry_count == 7
    assert listed.agency == "GB-NCA"


def test_import_commits_per_batch_so_an_interrupted_import_resumes(
    session: Session, network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "BATCH_SIZE", 3)
    _make(session, network)
    path = _list(tmp_path, *MD5S)
    seen: list[int] = []

    def interrupt(read: int) -> None:
        session.commit()
        seen.append(read)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.import_file(
            session, network.gb.caller, name="Known series", path=path, after_batch=interrupt
        )
    session.rollback()
    kept = len(session.scalars(select(HashEntry.id)).all())
    assert kept == 6  # two batches of three were committed before the interruption
    rest = service.import_file(session, network.gb.caller, name="Known series", path=path)
    assert (rest.added, rest.already_present) == (1, 6)


def test_names_are_unique_per_agency(session: Session, network: Network) -> None:
    _make(session, network)
    with pytest.raises(Conflict):
        _make(session, network)


def test_read_only_users_may_not_create_sets(session: Session, network: Network) -> None:
    with pytest.raises(Forbidden):
        service.create_hash_set(session, network.gb_reader.caller, HashSetCreate(name="x"))


def test_red_set_is_invisible_to_other_agencies_amber_to_partners(
    session: Session, network: Network
) -> None:
    _make(session, network, name="Red set")
    _make(session, network, name="Amber set", sharing=SharingLevel.AMBER, partners=["NL-NP"])
    assert [s.name for s in service.list_hash_sets(session, network.nl.caller)] == ["Amber set"]
    assert service.list_hash_sets(session, network.us.caller) == []
    with pytest.raises(NotFound):
        service.export(session, network.us.caller, name="Red set", fmt="csv", out=io.StringIO())


def test_only_the_owner_imports_into_a_set(
    session: Session, network: Network, tmp_path: Path
) -> None:
    _make(session, network, name="Green set", sharing=SharingLevel.GREEN)
    with pytest.raises(NotFound):
        service.import_file(
            session, network.nl.caller, name="Green set", path=_list(tmp_path, MD5S[0])
        )


def test_export_vics_round_trip_is_audited(
    session: Session, network: Network, tmp_path: Path
) -> None:
    _make(session, network, sharing=SharingLevel.GREEN)
    csv_path = tmp_path / "in.csv"
    csv_path.write_text(
        f"md5,pdq,category,series,victim_identified\n{MD5S[0]},{PDQ},vic-us:1,Bridge,true\n"
    )
    service.import_file(session, network.gb.caller, name="Known series", path=csv_path)
    out = io.StringIO()
    assert service.export(session, network.us.caller, name="Known series", fmt="vics", out=out) == 1
    vics = tmp_path / "out.json"
    vics.write_text(out.getvalue())
    _make(session, network, name="Copy")
    report = service.import_file(session, network.gb.caller, name="Copy", path=vics)
    assert (report.format, report.added) == ("vics", 1)
    copied = session.scalars(select(HashEntry).where(HashEntry.series == "Bridge")).all()
    assert {(e.md5, e.pdq, e.category_code, e.victim_identified) for e in copied} == {
        (MD5S[0], PDQ, "1", True)
    }
    exported = session.scalars(select(AuditEntry).where(AuditEntry.action == "hashset.export"))
    assert [e.recipients or e.actor_agency_id for e in exported]
