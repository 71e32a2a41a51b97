"""The audit log: entries written without a lock, sealed in order into a Merkle tree whose signed
heads live outside the database; every kind of tampering is found and the first bad entry named
— truncation and a rewrite with recomputed hashes included, which a hash chain alone misses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import Network, Person, make_agency, make_case, make_person
from conftest import migrated_engine
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from taskforce.cli import app as cli_app
from taskforce.core import signing
from taskforce.core.audit import merkle, seal
from taskforce.core.audit import service as audit
from taskforce.core.audit.heads import signing_key
from taskforce.core.audit.models import AuditEntry, AuditTree
from taskforce.core.audit.verify import VerifyResult, load_evidence, verify
from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import User
from taskforce.core.console import State
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings

# --- in the test's transaction ----------------------------------------------------------------


def _work(session: Session, network: Network) -> list[AuditEntry]:
    for i in range(3):
        make_case(session, network.gb, title=f"Operation {i}")
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def test_unsealed_entries_verify_by_their_hash(session: Session, network: Network) -> None:
    entries = _work(session, network)
    result = verify(session)
    assert result.ok
    assert result.checked == result.pending == len(entries)
    assert result.sealed == 0
    assert result.root == merkle.EMPTY_ROOT.hex()


def test_many_entries_go_in_with_one_insert_in_order(session: Session, network: Network) -> None:
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
    audit.record(session, caller, action="after", operation=audit.Operation.CONSULTATION)
    actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions[-7:] == ["before", *(f"disclose {i}" for i in range(5)), "after"]
    assert verify(session).ok


def test_refusals_are_not_recorded_in_bulk(session: Session, network: Network) -> None:
    refused = audit.Action(action="x", operation=audit.Operation.CONSULTATION, outcome="denied")
    with pytest.raises(ValueError, match="one by one"):
        audit.record_many(session, network.gb.caller, [refused])


def test_an_entry_changed_in_place_is_named_before_sealing(
    session: Session, network: Network
) -> None:
    victim = _work(session, network)[4]
    session.execute(
        update(AuditEntry).where(AuditEntry.seq == victim.seq).values(actor_label="someone else")
    )
    session.expire_all()
    result = verify(session)
    assert not result.ok
    assert result.first_bad_seq == victim.seq
    assert "altered" in (result.reason or "")


# --- sealed, signed, and tampered with on a committed database --------------------------------


class Log:
    """A committed database with a sealed, exported log, and the means to tamper with it."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.factory: sessionmaker[Session] = make_sessionmaker(engine)

    def work(self, cases: int = 3) -> None:
        """Open cases as an investigator (made on first use): each is audited."""
        with unit_of_work(self.factory) as session:
            user = session.scalars(select(User)).first()
            if user is None:
                person = make_person(session, make_agency(session, "GB-NCA"))
            else:
                person = Person(user, auth_service.caller_for(session, user, channel="api"))
            for i in range(cases):
                make_case(session, person, title=f"Operation {i}")

    def seal(self, *, history: bool | None = True, now: datetime | None = None) -> seal.SealResult:
        return seal.seal(self.factory, self.settings, history=history, now=now)

    def verify(self, *heads_files: Path) -> VerifyResult:
        evidence = load_evidence(self.settings, heads_files=heads_files)
        try:
            with self.factory() as session:
                return verify(session, evidence)
        finally:
            evidence.close()

    def entries(self) -> list[AuditEntry]:
        with self.factory() as session:
            return list(session.scalars(select(AuditEntry).order_by(AuditEntry.leaf_index)))

    def tamper(self, *statements: object) -> None:
        with self.factory.begin() as session:
            for statement in statements:
                session.execute(statement)  # type: ignore[call-overload]

    def rewrite(self, seq: int, **changes: object) -> None:
        """Change an entry and recompute its hash and the stored tree, as an administrator
        with database access who knows the scheme would."""
        with self.factory.begin() as session:
            entry = session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).one()
            for name, value in changes.items():
                setattr(entry, name, value)
            entry.entry_hash = audit.entry_hash(audit.fields(entry))
            session.flush()
            self._rebuild_tree(session)

    def _rebuild_tree(self, session: Session) -> None:
        leaves = [
            bytes.fromhex(h)
            for h in session.scalars(
                select(AuditEntry.entry_hash)
                .where(AuditEntry.leaf_index.is_not(None))
                .order_by(AuditEntry.leaf_index)
            )
        ]
        frontier = merkle.Frontier()
        frontier.extend(leaves)
        tree = session.get(AuditTree, 1)
        assert tree is not None
        tree.size, tree.root_hash, tree.frontier = (
            frontier.size,
            frontier.root().hex(),
            frontier.to_hex(),
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    with migrated_engine(request.param, tmp_path) as engine:
        yield Log(engine, engine.info_settings)  # type: ignore[attr-defined]


def test_sealing_places_every_entry_and_signs_a_head_outside_the_database(log: Log) -> None:
    log.work()
    first = log.seal()
    entries = log.entries()
    assert first.sealed == first.tree_size == len(entries) == first.exported
    assert [e.leaf_index for e in entries] == list(range(len(entries)))
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)  # database order kept
    root = merkle.root([bytes.fromhex(e.entry_hash) for e in entries])
    assert first.root_hash == root.hex()
    folder = log.settings.audit_folder
    assert (folder / "leaves.bin").read_bytes() == b"".join(
        bytes.fromhex(e.entry_hash) for e in entries
    )
    [line] = (folder / "heads.jsonl").read_text().splitlines()
    head = json.loads(line)
    assert json.loads((folder / "head.json").read_text()) == head
    assert head["tree_size"] == len(entries)
    assert head["root_hash"] == root.hex()
    signing.verify(head, signing_key(log.settings).public_key(), what="head")
    # nothing new: no new head; more work: a second head over the grown tree
    assert log.seal().head is None
    log.work(1)
    second = log.seal()
    assert second.sealed > 0
    assert second.tree_size == len(log.entries())
    assert len((folder / "heads.jsonl").read_text().splitlines()) == 2
    result = log.verify()
    assert result.ok, result.reason
    assert result.heads_checked == 2
    assert result.newest_head == result.sealed
    assert result.pending == 0
    assert result.checked == result.sealed


def test_the_newest_head_is_always_current_and_the_history_thinned(log: Log) -> None:
    """head.json follows every round; heads.jsonl takes a head at most once a minute, and the
    newest one after a quiet spell, so a year of history stays quick to check."""
    folder = log.settings.audit_folder
    t0 = datetime(2026, 12, 6, 9, tzinfo=UTC)

    def history() -> list[int]:
        lines = (folder / "heads.jsonl").read_text().splitlines()
        return [json.loads(line)["tree_size"] for line in lines]

    def newest() -> int:
        return int(json.loads((folder / "head.json").read_text())["tree_size"])

    log.work(1)
    first = log.seal(history=None, now=t0).tree_size
    log.work(1)
    second = log.seal(history=None, now=t0 + timedelta(seconds=2)).tree_size
    assert history() == [first]
    assert newest() == second > first
    log.seal(history=None, now=t0 + timedelta(seconds=30))  # nothing new, not due yet
    assert history() == [first]
    log.seal(history=None, now=t0 + timedelta(seconds=61))  # quiet, due: the newest goes in
    assert history() == [first, second]
    log.work(1)
    third = log.seal(history=None, now=t0 + timedelta(seconds=61)).tree_size  # <60 s after 2nd
    assert history() == [first, second]
    assert newest() == third
    result = log.verify()
    assert result.ok
    assert result.heads_checked == 3
    assert result.newest_head == third


def test_entries_written_after_a_seal_wait_their_turn(log: Log) -> None:
    log.work(1)
    log.seal()
    log.work(1)
    result = log.verify()
    assert result.ok
    assert result.pending > 0
    assert result.newest_head == result.sealed


def _sealed_twice(log: Log) -> list[AuditEntry]:
    log.work(2)
    log.seal()
    log.work(2)
    log.seal()
    return log.entries()


def test_truncation_is_detected(log: Log) -> None:
    """Deleting the newest entries (and fixing the stored tree to match) used to pass."""
    entries = _sealed_twice(log)
    keep = len(entries) - 3
    log.tamper(delete(AuditEntry).where(AuditEntry.leaf_index >= keep))
    with log.factory.begin() as session:
        log._rebuild_tree(session)
    result = log.verify()
    assert not result.ok
    assert "truncated" in (result.reason or "")
    assert result.first_bad_index == keep
    # and the export refuses to sign a head over the shorter log
    assert "removed" in (log.seal().problem or "")


def test_truncation_is_detected_with_only_a_shipped_heads_file(log: Log, tmp_path: Path) -> None:
    entries = _sealed_twice(log)
    shipped = tmp_path / "shipped-heads.jsonl"
    shipped.write_bytes((log.settings.audit_folder / "heads.jsonl").read_bytes())
    log.tamper(delete(AuditEntry).where(AuditEntry.leaf_index == len(entries) - 1))
    with log.factory.begin() as session:
        log._rebuild_tree(session)
    (log.settings.audit_folder / "heads.jsonl").unlink()  # the local copy destroyed too
    (log.settings.audit_folder / "leaves.bin").unlink()
    result = log.verify(shipped)
    assert not result.ok
    assert "truncated" in (result.reason or "")
    assert result.first_bad_index == len(entries) - 1


def test_a_rewrite_with_recomputed_hashes_is_named(log: Log) -> None:
    """An entry changed, its hash and the stored tree recomputed: a chain alone passes this."""
    entries = _sealed_twice(log)
    victim = entries[3]
    log.rewrite(victim.seq, actor_label="someone else")
    result = log.verify()
    assert not result.ok
    assert result.first_bad_seq == victim.seq
    assert "rewritten" in (result.reason or "")


def test_a_rewrite_is_found_by_the_signed_heads_alone(log: Log, tmp_path: Path) -> None:
    entries = _sealed_twice(log)
    shipped = tmp_path / "heads.jsonl"
    shipped.write_bytes((log.settings.audit_folder / "heads.jsonl").read_bytes())
    first_head = json.loads(shipped.read_text().splitlines()[0])["tree_size"]
    victim = entries[first_head + 1]  # covered by the second head only
    log.rewrite(victim.seq, action="case.nothing")
    result = log.verify(shipped)
    assert not result.ok
    assert "does not match the head" in (result.reason or "")
    assert result.first_bad_index == first_head  # the entries since the previous head
    assert result.first_bad_seq == entries[first_head].seq


def test_reordering_is_named(log: Log) -> None:
    entries = _sealed_twice(log)
    a, b = entries[2], entries[5]
    log.tamper(
        update(AuditEntry).where(AuditEntry.seq == a.seq).values(leaf_index=-1),
        update(AuditEntry).where(AuditEntry.seq == b.seq).values(leaf_index=a.leaf_index),
        update(AuditEntry).where(AuditEntry.seq == a.seq).values(leaf_index=b.leaf_index),
    )
    with log.factory.begin() as session:
        log._rebuild_tree(session)
    result = log.verify()
    assert not result.ok
    assert "reordered" in (result.reason or "")
    assert result.first_bad_seq == b.seq
    assert result.first_bad_index == 2


def test_a_removed_entry_is_named(log: Log) -> None:
    entries = _sealed_twice(log)
    log.tamper(delete(AuditEntry).where(AuditEntry.seq == entries[3].seq))
    result = log.verify()
    assert not result.ok
    assert "removed" in (result.reason or "")
    assert result.first_bad_index == 3
    assert result.first_bad_seq == entries[4].seq


def test_an_altered_entry_is_named(log: Log) -> None:
    entries = _sealed_twice(log)
    log.tamper(update(AuditEntry).where(AuditEntry.seq == entries[1].seq).values(ip="203.0.113.9"))
    result = log.verify()
    assert not result.ok
    assert "altered" in (result.reason or "")
    assert result.first_bad_seq == entries[1].seq


def test_a_forged_head_line_fails_verification(log: Log) -> None:
    _sealed_twice(log)
    heads = log.settings.audit_folder / "heads.jsonl"
    lines = heads.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["tree_size"] -= 1
    heads.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    result = log.verify()
    assert not result.ok
    assert "line 2" in (result.reason or "")


def test_two_sealers_at_once_place_every_entry_once(log: Log) -> None:
    import threading

    log.work(6)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            log.seal()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    log.seal()
    entries = log.entries()
    assert [e.leaf_index for e in entries] == list(range(len(entries)))
    assert log.verify().ok


# --- the command line -------------------------------------------------------------------------


def test_cli_verify_names_the_first_bad_entry(log: Log) -> None:
    entries = _sealed_twice(log)
    runner = CliRunner()
    state = State(settings=log.settings, _engine=log.engine)
    ok = runner.invoke(cli_app, ["audit", "verify"], obj=state)
    assert ok.exit_code == 0, ok.output
    assert f"audit log intact: {len(entries)} entries, {len(entries)} sealed" in ok.output
    head = runner.invoke(cli_app, ["audit", "head"], obj=state)
    assert json.loads(head.output)["tree_size"] == len(entries)
    log.rewrite(entries[2].seq, justification="nothing to see")
    broken = runner.invoke(cli_app, ["audit", "verify"], obj=state)
    assert broken.exit_code == 1
    assert f"BROKEN at entry {entries[2].seq}" in broken.output
    assert "rewritten" in broken.output
    key = runner.invoke(cli_app, ["audit", "public-key"], obj=state).output.strip()
    other = runner.invoke(
        cli_app,
        [
            "audit",
            "verify",
            "--public-key",
            signing.public_b64(Ed25519PrivateKey.generate().public_key()),
        ],
        obj=state,
    )
    assert other.exit_code == 1
    assert "signed by another key" in other.output
    assert signing.load_public(key) is not None


def test_merkle_roots_and_proofs_match_rfc_9162() -> None:
    """Against pymerkle's RFC 9162 trees, and our proofs verify (and refuse a wrong root)."""
    from pymerkle import InmemoryTree

    for n in (1, 2, 3, 4, 5, 7, 8, 9, 31, 64, 65):
        data = [f"entry {i}".encode() for i in range(n)]
        reference = InmemoryTree(algorithm="sha256")
        for item in data:
            reference.append_entry(item)
        leaves = [merkle.leaf_hash(item) for item in data]
        assert merkle.root(leaves) == reference.get_root()
        head = merkle.root(leaves)
        for i in range(n):
            proof = merkle.inclusion_proof(leaves, i)
            assert merkle.verify_inclusion(leaves[i], i, n, proof, head)
            assert not merkle.verify_inclusion(leaves[i], i, n, proof, merkle.EMPTY_ROOT)
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(leaves, m)
            old = merkle.root(leaves[:m])
            assert old == reference._get_root(0, m)
            assert merkle.verify_consistency(m, n, old, head, proof)
            if m < n:
                assert not merkle.verify_consistency(m, n, old, merkle.EMPTY_ROOT, proof)
