"""The leak test (issue 14, "Done when"): a RED selector's plaintext never leaves its node.

Three real `taskforce serve` nodes on loopback: the key holder K, node A (the owner) and node B
(on PostgreSQL in the `postgresql` run). Every node is reached only through a recording TCP
proxy (each node's URL, in its peering document, is its proxy's), so every byte that passes
between nodes is kept. The admins peer with the CLI, name K the key holder and give each other
a profile (RED and AMBER as tokens, GREEN as plaintext); A and B hold the same RED e-mail
address, so the publish-and-sync round makes a cross-node hit. Then the RED value, in every
spelling (as typed, its normalised key, lower and upper case, base64 and hex of the key), is
looked for in B's and K's data folders (database files, audit files), B's PostgreSQL tables,
B's and K's logs, and everything the proxies relayed: it must be nowhere.

The control shows the search would find a leak: A's GREEN selector, which the profile lets
cross as plaintext, IS found in B's database and in the relayed bytes.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from builders import add_selector, make_agency, make_case, make_person
from serving import Node, three_nodes
from sqlalchemy import Engine, create_engine, func, select, text

from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.sharing import SharingLevel
from taskforce.federation.models import RemoteEntry, RemoteHit

# --- a recording proxy ------------------------------------------------------------------------


@dataclass
class RecordingProxy:
    """A TCP relay on a loopback port to `upstream`, keeping every byte of both directions."""

    upstream: int
    relayed: bytearray = field(default_factory=bytearray)
    connections: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._closing = False
        self._open: list[list[socket.socket]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                client.close()
                continue
            self.connections += 1
            pair = [client, server]
            with self._lock:
                self._open.append(pair)
            done = threading.Barrier(2, action=functools.partial(self._close, pair))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b, done), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, done: threading.Barrier) -> None:
        try:
            while chunk := source.recv(65536):
                with self._lock:
                    self.relayed += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)  # the other side reads the end of this direction
        with contextlib.suppress(threading.BrokenBarrierError):
            done.wait(timeout=60)

    def _close(self, pair: list[socket.socket]) -> None:
        with self._lock:
            if pair in self._open:
                self._open.remove(pair)
        for s in pair:
            s.close()

    def close(self) -> None:
        self._closing = True
        self._listener.close()
        with self._lock:
            left = list(self._open)
        for pair in left:
            for s in pair:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self._close(pair)


# --- the three nodes --------------------------------------------------------------------------


@dataclass
class Network:
    a: Node
    b: Node
    k: Node
    proxies: dict[str, RecordingProxy]

    @property
    def relayed(self) -> bytes:
        return b"".join(bytes(p.relayed) for p in self.proxies.values())


@pytest.fixture
def network(backend: str, tmp_path: Path) -> Iterator[Network]:
    with three_nodes(backend, tmp_path) as (a, b, k):
        proxies: dict[str, RecordingProxy] = {}
        for node, country in ((a, "GB"), (b, "NL"), (k, "FR")):
            proxy = RecordingProxy(node.port)
            proxies[node.name] = proxy
            # peers reach the node only through its proxy: its URL (and so the signed target)
            node.cli("node", "init", "--name", node.name, "--country", country, "--url", proxy.url)
            node.log = tmp_path / f"{node.data_dir.name}.log"
        try:
            yield Network(a, b, k, proxies)
        finally:
            for proxy in proxies.values():
                proxy.close()


def _peer_with_the_cli(net: Network, tmp_path: Path) -> None:
    documents = {}
    for node in (net.a, net.b, net.k):
        documents[node.name] = tmp_path / f"{node.data_dir.name}.json"
        node.cli("node", "show", "--output", str(documents[node.name]))
    for node in (net.a, net.b):
        other = net.b if node is net.a else net.a
        node.cli("peer", "add", str(documents[other.name]), "--yes")
        node.cli("peer", "add", str(documents[net.k.name]), "--yes", "--key-holder")
        node.cli(
            "peer", "profile", other.name,
            "--kinds", "all", "--levels", "red,amber,green", "--green-plaintext",
        )  # fmt: skip
        net.k.cli("peer", "add", str(documents[node.name]), "--yes")


def _engine(node: Node) -> Engine:
    return make_engine(node.settings)


@dataclass(frozen=True)
class Values:
    red_typed: str  # A's RED value only A holds, as its investigator typed it
    red_key: str  # its normalised match key
    shared_typed: str  # A's spelling of the RED value both hold (B typed it otherwise)
    green_key: str  # the control: a GREEN value the profile lets cross as plaintext

    def red_spellings(self) -> list[bytes]:
        key = self.red_key.encode()
        return [
            self.red_typed.encode(),
            key,
            self.red_key.lower().encode(),
            self.red_key.upper().encode(),
            base64.b64encode(key),
            base64.urlsafe_b64encode(key).rstrip(b"="),
            key.hex().encode(),
        ]


def _add_cases(net: Network) -> Values:
    """A RED case on A holding two e-mail addresses, one of them also on a RED case on B
    (typed differently: the hit), and a GREEN case on A (the control)."""
    tag = uuid.uuid4().hex[:12]
    values = Values(
        red_typed=f"Lantern.{tag.upper()}@Example.COM",
        red_key=f"lantern.{tag}@example.com",
        shared_typed=f"Harbour.{tag.upper()}@Example.NET",
        green_key=f"control.{tag}@example.org",
    )
    on_a = [(SharingLevel.RED, values.red_typed), (SharingLevel.RED, values.shared_typed),
            (SharingLevel.GREEN, values.green_key)]  # fmt: skip
    on_b = [(SharingLevel.RED, values.shared_typed.lower())]
    for node, agency, holds in ((net.a, "GB-NCA", on_a), (net.b, "NL-NP", on_b)):
        engine = _engine(node)
        try:
            with unit_of_work(make_sessionmaker(engine)) as session:
                person = make_person(session, make_agency(session, agency))
                cases = {
                    level: make_case(session, person, title="Operation Lantern", sharing=level)
                    for level in {level for level, _ in holds}
                }
                for level, value in holds:
                    add_selector(session, node.settings, person, cases[level], "email", value)
        finally:
            engine.dispose()
    return values


def _publish_and_sync(net: Network) -> None:
    """One round with the CLI, as an admin (or the worker) runs it: each national node
    tokenises through K and publishes, then pulls the other's feed."""
    for node in (net.a, net.b):
        node.cli("federation", "publish")
    for node, other in ((net.a, net.b), (net.b, net.a)):
        _, said = node.cli("peer", "sync", other.name)
        assert f"{other.name}: " in said
        assert "entries merged" in said


# --- where a value could be -------------------------------------------------------------------


def _folder_bytes(folder: Path) -> bytes:
    """Every file of a node's data folder: its SQLite file (and WAL), audit files, keys."""
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _postgres_dump(url: str) -> bytes:
    """Every row of every table of the node's PostgreSQL database, as text (bytea as hex)."""
    engine = create_engine(url)
    try:
        with engine.connect() as db:
            tables = db.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).all()
            rows = [
                line
                for table in tables
                for line in db.scalars(text(f'SELECT t::text FROM "{table}" AS t')).all()  # noqa: S608
            ]
    finally:
        engine.dispose()
    return "\n".join(rows).encode()


def _stored(node: Node) -> bytes:
    """All a node keeps: its data folder, and its database (SQLite: the file, its WAL and
    shared memory; PostgreSQL: every table)."""
    kept = _folder_bytes(node.data_dir)
    if node.database_url.startswith("postgresql"):
        return kept + _postgres_dump(node.database_url)
    path = Path(node.database_url.removeprefix("sqlite:///"))
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    assert files[0].stat().st_size > 0
    return kept + b"".join(f.read_bytes() for f in files if f.exists())


def _found(haystack: bytes, needles: list[bytes]) -> list[bytes]:
    lowered = haystack.lower()
    return [n for n in needles if n in haystack or n.lower() in lowered]


def _count(node: Node, model: type[Any]) -> int:
    engine = _engine(node)
    try:
        with engine.connect() as db:
            return db.scalar(select(func.count()).select_from(model)) or 0
    finally:
        engine.dispose()


def test_a_red_value_appears_nowhere_outside_its_node(network: Network, tmp_path: Path) -> None:
    net = network
    for node in (net.a, net.b, net.k):
        node.start()
    _peer_with_the_cli(net, tmp_path)
    values = _add_cases(net)
    _publish_and_sync(net)

    # the round did its work: B holds A's entries, and the shared RED value is a hit on both
    assert _count(net.b, RemoteEntry) >= 2
    assert _count(net.a, RemoteHit) == 1
    assert _count(net.b, RemoteHit) == 1
    assert all(p.connections for p in net.proxies.values())  # every node was reached via its proxy

    for node in (net.a, net.b, net.k):
        node.stop()  # logs flushed, SQLite's WAL written back
    red = values.red_spellings()
    relayed = net.relayed
    assert _found(relayed, red) == [], "a RED spelling crossed between nodes"
    shared = values.shared_typed.encode()  # B holds the value too, but never A's spelling
    assert shared not in relayed
    for node in (net.b, net.k):
        stored = _stored(node)
        assert _found(stored, red) == [], f"a RED spelling is stored on {node.name}"
        assert shared not in stored
        assert node.log is not None
        logged = node.log.read_bytes()
        assert _found(logged, red) == [], f"a RED spelling is in {node.name}'s log"
        assert shared not in logged

    # the control: the same search finds the GREEN value the profile let cross as plaintext
    green = [values.green_key.encode()]
    assert _found(relayed, green) == green
    assert _found(_stored(net.b), green) == green
    assert _found(_stored(net.k), green) == []  # the key holder never receives selectors
    # and on A itself, where it belongs, the RED value is found (the search reads those files)
    assert _found(_stored(net.a), [values.red_key.encode()]) != []
