"""The feeds' sync between two real nodes on loopback (`benchmarks/federation.py --sync N`,
whose docstring says what is measured). Imported by that script (`python benchmarks/...` puts
this folder on the path)."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from bench_network import database
from rich.console import Console
from rich.table import Table
from sqlalchemy import Table as SqlTable
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.cli import app as cli_app
from taskforce.core.console import State
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.settings import Settings
from taskforce.federation import feeds, sync, transport
from taskforce.federation.models import FeedEntry, Node, Peer, RemoteEntry

STEADY = 1_000
SEED_BATCH = 5_000
_REMOTE = cast(SqlTable, RemoteEntry.__table__)


class BenchNode:
    """One node: its folder, database, settings; `serve` starts its web process."""

    def __init__(self, name: str, folder: Path, url: str, port: int) -> None:
        folder.mkdir()
        self.name, self.folder, self.port = name, folder, port
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TASKFORCE_")},
            "TASKFORCE_DATA_DIR": str(folder),
            "TASKFORCE_DATABASE_URL": url,
            "TASKFORCE_ALLOW_INSECURE_DEFAULTS": "1",
            "TASKFORCE_WORKER": "external",
            "TASKFORCE_AUDIT_SEAL_SECONDS": "0",
        }
        self.settings = Settings.model_validate(
            {
                k.removeprefix("TASKFORCE_").lower(): v
                for k, v in self.env.items()
                if k.startswith("TASKFORCE_")
            }
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        state = State(settings=self.settings)
        result = CliRunner().invoke(cli_app, list(args), obj=state)
        if "engine_to_upgrade" in state.__dict__:
            state.engine_to_upgrade.dispose()
        assert result.exit_code == 0, (args, result.output)
        return result.output

    def serve(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter running taskforce
            [sys.executable, "-m", "taskforce", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def _port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bodies(start: int, count: int, rng: random.Random, agency: str) -> list[str]:
    return [
        feeds.canonical(
            {
                "op": "upsert",
                "ref": str(uuid.UUID(int=n)),
                "kind": "email",
                "form": "token",
                "epoch": 1,
                "value": base64.b64encode(rng.randbytes(64)).decode(),
                "level": "red",
                "agency_id": agency,
                "details": {},
            }
        )
        for n in range(start, start + count)
    ]


def _seed(node: BenchNode, recipient: uuid.UUID, start: int, count: int) -> float:
    """Append `count` entries to node's feed to `recipient`; seconds taken."""
    engine = make_engine(node.settings)
    rng = random.Random(start)
    agency = str(uuid.UUID(int=1))
    began = time.perf_counter()
    try:
        with Session(engine) as session:
            origin = session.scalars(select(Node.id)).one()
            for first in range(start, start + count, SEED_BATCH):
                size = min(SEED_BATCH, start + count - first)
                feeds.append(session, origin, recipient, _bodies(first, size, rng, agency))
                session.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - began


def _rows(node: BenchNode, origin: uuid.UUID) -> list[dict[str, Any]]:
    """A's feed as the rows B's merge writes (every entry here is an upsert)."""
    engine = make_engine(node.settings)
    try:
        with Session(engine) as session:
            found = []
            for seq, text in session.execute(select(FeedEntry.seq, FeedEntry.body)):
                body = json.loads(text)
                found.append(
                    {
                        "peer_id": origin,
                        "ref": body["ref"],
                        "seq": seq,
                        "kind": body["kind"],
                        "form": body["form"],
                        "epoch": body["epoch"],
                        "value": body["value"],
                        "level": body["level"],
                        "agency_id": uuid.UUID(body["agency_id"]),
                        "details": body["details"],
                        "withdrawn_at": None,
                    }
                )
            return found
    finally:
        engine.dispose()


@contextmanager
def _nodes(receiver: str, folder: Path) -> Iterator[tuple[BenchNode, BenchNode]]:
    with database("sqlite", folder / "a-db") as url_a, database(receiver, folder / "b-db") as url_b:
        a = BenchNode("Node A", folder / "a", url_a, _port())
        b = BenchNode("Node B", folder / "b", url_b, _port())
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


def measure_sync(count: int, receiver: str, console: Console) -> None:
    folder = Path(tempfile.mkdtemp(prefix="taskforce-sync-bench-"))
    try:
        _measure(count, receiver, console, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _measure(count: int, receiver: str, console: Console, folder: Path) -> None:
    for sub in ("a-db", "b-db"):
        (folder / sub).mkdir()
    with _nodes(receiver, folder) as (a, b):
        for node, country in ((a, "GB"), (b, "NL")):
            node.cli("db", "upgrade")
            node.cli("node", "init", "--name", node.name, "--country", country, "--url", node.url)
            node.cli("node", "show", "--output", str(folder / f"{node.name}.json"))
        a.cli("peer", "add", str(folder / "Node B.json"), "--yes")
        b.cli("peer", "add", str(folder / "Node A.json"), "--yes")
        b_engine = make_engine(b.settings)
        factory = make_sessionmaker(b_engine)
        with factory() as session:
            a_id = session.scalars(select(Peer.id)).one()
            b_id = session.scalars(select(Node.id)).one()
        console.print(f"seeding {count:,} entries of node A's feed to node B …")
        seed_s = _seed(a, b_id, 1, count)
        a.serve()
        load_before = os.getloadavg()[0]

        # baseline 2: the same rows written directly into B's empty table, 5,000 per
        # transaction (Core, as the sync does), then removed again before the sync
        rows = _rows(a, a_id)
        began = time.perf_counter()
        for first in range(0, count, 5_000):
            with factory.begin() as session:
                session.execute(insert(_REMOTE), rows[first : first + 5_000])
        insert_s = time.perf_counter() - began
        del rows
        with factory.begin() as session:
            session.execute(delete(RemoteEntry))

        # baseline 1: the transfer alone (same pages, signed GETs, JSON parsed, nothing checked)
        began = time.perf_counter()
        with factory() as session:
            target_node = session.scalars(select(Node.id)).one()
        position = 0
        with transport.client(b.settings, target_node, a.url) as http:
            while True:
                page = transport.get_json(
                    http, f"{sync.FEED_PATH}?after_seq={position}&limit=5000", peer="Node A"
                )
                if not page["entries"]:
                    break
                position = page["entries"][-1]["seq"]
                if page["next"] is None:
                    break
        transfer_s = time.perf_counter() - began
        assert position == count, position

        # the initial sync
        began = time.perf_counter()
        report = sync.sync_peer(factory, b.settings, a_id)
        initial_s = time.perf_counter() - began
        assert report.error is None, report.error
        assert (report.position, report.merged) == (count, count), report

        # a steady round: 1,000 new entries
        _seed(a, b_id, count + 1, STEADY)
        began = time.perf_counter()
        steady = sync.sync_peer(factory, b.settings, a_id)
        steady_s = time.perf_counter() - began
        assert steady.error is None, steady.error
        assert steady.merged == STEADY, steady

        b_engine.dispose()
        load_after = os.getloadavg()[0]

    table = Table(
        title=f"feed sync between two nodes on loopback: {count:,} entries, node B on {receiver}"
    )
    for column in ("step", "entries", "seconds", "entries / s", "× transfer time", "target"):
        table.add_column(column, justify="left" if column == "step" else "right")

    def row(label: str, n: int, seconds: float, target: str = "") -> None:
        table.add_row(
            label,
            f"{n:,}",
            f"{seconds:,.2f}",
            f"{n / seconds:,.0f}",
            f"{seconds / transfer_s:,.2f}",
            target,
        )

    row("setup: seed A's feed (chain, bodies, inserts)", count, seed_s)
    row("initial sync (fetch, check, merge, move position)", count, initial_s, "≤ 120 s")
    row("steady round: 1,000 new entries", STEADY, steady_s, "≤ 1 s")
    row("baseline: transfer alone (signed GETs, JSON parsed)", count, transfer_s)
    row("baseline: the same rows inserted directly on B (empty table)", count, insert_s)
    console.print(table)
    console.print(
        f"initial sync of {count:,}: {initial_s:,.1f} s, target ≤ 120 s: "
        f"{'met' if initial_s <= 120 else 'NOT met'} (scaled to 1,000,000: "
        f"{initial_s * 1_000_000 / count:,.0f} s); steady round of {STEADY:,}: {steady_s:.2f} s, "
        f"target ≤ 1 s: {'met' if steady_s <= 1 else 'NOT met'} (load average {load_before:.1f} "
        f"before, {load_after:.1f} after, on {os.cpu_count()} cores)"
    )
    print(json.dumps({"count": count, "initial_s": initial_s, "steady_s": steady_s}))
