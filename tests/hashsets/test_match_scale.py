"""`POST /api/v1/match` does work in proportion to the question, not to the hub (issue 11,
finding 4): each hash is looked up through its index, whatever the number of hashes asked and
however many entries the visible sets hold; and answering N files costs about N, not N x the
matches. Work is counted (SQLite virtual-machine steps, Python calls), never timed."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from functools import partial
from typing import Any, cast

import pytest
from builders import Network
from sqlalchemy import Table, insert
from sqlalchemy.orm import Session

from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import matching, service
from taskforce.hashsets.models import HashEntry
from taskforce.hashsets.schemas import HashSetCreate, MatchQuery, MatchRequest

ENTRIES = cast(Table, HashEntry.__table__)


def _hex(rng: random.Random, width: int) -> str:
    return f"{rng.getrandbits(width * 4):0{width}x}"


def _load(session: Session, set_ids: list[Any], n: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = [
        {
            "hash_set_id": set_ids[i % len(set_ids)],
            "entry_key": _hex(rng, 64),
            "md5": _hex(rng, 32),
            "sha1": _hex(rng, 40),
            "sha256": _hex(rng, 64),
            "pdq": _hex(rng, 64),
            "pdq_quality": 100,
            "source": "test",
        }
        for i in range(n)
    ]
    session.execute(insert(ENTRIES), rows)
    return rows


def _flip(pdq: str, rng: random.Random) -> str:
    value = int(pdq, 16)
    for bit in rng.sample(range(256), 8):
        value ^= 1 << bit
    return f"{value:064x}"


def _question(rows: list[dict[str, Any]], n: int, rng: random.Random) -> MatchRequest:
    """n files: a third known MD5s, a third unknown SHA-256s, a third PDQ near a known one."""
    hashes = []
    for i in range(n):
        row = rng.choice(rows)
        if i % 3 == 0:
            hashes.append(MatchQuery(md5=row["md5"]))
        elif i % 3 == 1:
            hashes.append(MatchQuery(sha256=_hex(rng, 64)))
        else:
            hashes.append(MatchQuery(pdq=_flip(row["pdq"], rng)))
    return MatchRequest(hashes=hashes)


def _sets(session: Session, network: Network) -> list[Any]:
    own = service.create_hash_set(session, network.gb.caller, HashSetCreate(name="Own"))
    shared = service.create_hash_set(
        session, network.nl.caller, HashSetCreate(name="Shared", sharing=SharingLevel.GREEN)
    )
    return [own.id, shared.id]


def _vm_steps(session: Session, work: Callable[[], object]) -> int:
    """SQLite virtual-machine instructions `work` makes the connection run (by hundreds)."""
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    raw.set_progress_handler(count, 100)
    try:
        work()
    finally:
        raw.set_progress_handler(None, 100)
    return steps


def test_sqlite_reads_through_the_index_however_many_entries_the_sets_hold(
    session: Session, settings: Settings, network: Network, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("counts SQLite's virtual-machine steps")
    rng = random.Random(4)
    set_ids = _sets(session, network)
    rows = _load(session, set_ids, 2_000, rng)
    question = _question(rows, 60, rng)
    matching.match(session, network.gb.caller, settings, question)  # the PDQ index loads
    small = _vm_steps(
        session, lambda: matching.match(session, network.gb.caller, settings, question)
    )
    _load(session, set_ids, 38_000, rng)  # twenty times the entries
    again = _question(rows, 60, rng)
    found = matching.match(session, network.gb.caller, settings, again)
    large = _vm_steps(session, lambda: matching.match(session, network.gb.caller, settings, again))
    assert sum(1 for r in found if r.matches) == 40  # the known MD5s and the PDQ neighbours
    assert large < 2 * small, f"{small} -> {large}: the lookup scanned the sets"


def _python_calls(work: Callable[[], object]) -> int:
    calls = 0

    def profile(_frame: object, event: str, _arg: object) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return calls


def test_answering_more_files_costs_in_proportion(
    session: Session, settings: Settings, network: Network
) -> None:
    """4x the files asked, about 4x the work (it was 4x squared: every query against every
    entry found)."""
    rng = random.Random(5)
    rows = _load(session, _sets(session, network), 3_000, rng)
    calls = []
    for n in (300, 1_200):
        question = _question(rows, n, rng)
        matching.match(session, network.gb.caller, settings, question)  # index warm
        calls.append(
            _python_calls(partial(matching.match, session, network.gb.caller, settings, question))
        )
    assert calls[1] < 6 * calls[0], f"{calls[0]} -> {calls[1]} Python calls"
