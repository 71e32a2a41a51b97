"""The audit chain: intact after work, and a tampered or removed entry is named."""

from __future__ import annotations

import pytest
from builders import Network, make_case
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.core.audit import service as audit
from taskforce.core.audit.models import AuditEntry


def _work(session: Session, network: Network) -> list[AuditEntry]:
    for i in range(3):
        make_case(session, network.gb, title=f"Operation {i}")
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_chain_is_intact(session: Session, network: Network) -> None:
    entries = _work(session, network)
    result = audit.verify(session)
    assert result.ok and result.checked == len(entries)
    assert result.head == entries[-1].entry_hash


def test_many_entries_chain_in_order_between_single_ones(
    session: Session, network: Network
) -> None:
    """A bulk import's disclosures go in with one insert; the chain must not notice."""
    caller = network.gb.caller
    audit.record(session, caller, action="before", operation=audit.Operation.CONSULTATION)
    audit.record_many(
        session,
        caller,
        [
            audit.Action(action=f"disclose {i}", operation=audit.Operation.DISCLOSURE)
            for i in range(5)
        ],
    )
    session.flush()  # a flush in between must not make the next entry re-read a stale head
    audit.record(session, caller, action="after", operation=audit.Operation.CONSULTATION)
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions[-7:] == ["before", *(f"disclose {i}" for i in range(5)), "after"]
    assert audit.verify(session).ok


def test_refusals_are_not_recorded_in_bulk(session: Session, network: Network) -> None:
    refused = audit.Action(action="x", operation=audit.Operation.CONSULTATION, outcome="denied")
    with pytest.raises(ValueError, match="one by one"):
        audit.record_many(session, network.gb.caller, [refused])


def test_altered_entry_is_named(session: Session, network: Network) -> None:
    entries = _work(session, network)
    victim = entries[4]
    session.execute(
        update(AuditEntry).where(AuditEntry.seq == victim.seq).values(actor_label="someone else")
    )
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok
    assert result.first_bad_seq == victim.seq
    assert "altered" in (result.reason or "")


def test_removed_entry_breaks_the_next_link(session: Session, network: Network) -> None:
    entries = _work(session, network)
    session.execute(delete(AuditEntry).where(AuditEntry.seq == entries[3].seq))
    session.expire_all()
    result = audit.verify(session)
    assert not result.ok and result.first_bad_seq == entries[4].seq


def test_cli_verify_exit_status(session: Session, network: Network, tmp_path: object) -> None:
    from taskforce.cli import app
    from taskforce.core.console import State

    _work(session, network)
    session.commit()
    state = State(settings=network_settings(session))
    state.__dict__["sessionmaker"] = lambda: session_proxy(session)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"], obj=state)
    assert ok.exit_code == 0, ok.output
    assert "audit chain intact" in ok.output
    first = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).first()
    assert first is not None
    session.execute(update(AuditEntry).where(AuditEntry.seq == first.seq).values(action="x"))
    session.commit()
    broken = runner.invoke(app, ["audit", "verify"], obj=state)
    assert broken.exit_code == 1
    assert f"BROKEN at entry {first.seq}" in broken.output


def network_settings(session: Session) -> object:
    from taskforce.core.settings import Settings

    return Settings(allow_insecure_defaults=True, database_url="sqlite://")


class session_proxy:  # noqa: N801 - a stand-in for sessionmaker's product in CLI tests
    """Lets a CLI unit of work run inside the test's transaction (commit = savepoint)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def __getattr__(self, name: str) -> object:
        if name == "close":
            return lambda: None
        return getattr(self._s, name)
