"""`taskforce demo` builds three nodes (NL, GB, the coordinator's) on one machine: each its own
folder, SQLite file and port, peered pairwise, the coordinator the key holder, a profile between
the national nodes, and a RED case on each holding the same e-mail address and phone number."""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from serving import clean_environment
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case, Selector
from taskforce.cli import port_free
from taskforce.demo_nodes import SHARED_EMAIL, SHARED_PHONE
from taskforce.federation.models import Node, Peer, Profile, ReleaseRequest, RemoteHit


def three_free_ports() -> int:
    """A port P with P, P+1 and P+2 free on loopback, below Linux's ephemeral range (32768 and
    up), so no connection the demo opens meanwhile is given one of them."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20_000, 32_000)
        if all(port_free("127.0.0.1", p) for p in range(port, port + 3)):
            return port
    raise AssertionError("no three free ports in a row")


@dataclass
class Served:
    answered: dict[int, int]  # port -> status of /healthz while the demo served
    returncode: int


@dataclass
class Demo:
    folder: Path
    port: int
    output: str
    served: Served

    def session(self, key: str) -> Iterator[Session]:
        path = self.folder / key / "taskforce.db" if key else self.folder / "taskforce.db"
        engine = create_engine(f"sqlite:///{path}")
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """`taskforce demo` as a user runs it: served until it is told to stop (SIGINT, as Ctrl-C
    sends it to the demo's own process)."""
    data = tmp_path_factory.mktemp("network")
    port = three_free_ports()
    log = data / "demo.out"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "taskforce", "demo", "--port", str(port)],
            env=clean_environment(TASKFORCE_DATA_DIR=str(data), COLUMNS="200"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 300
        while "Network ready in" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        answered = {
            p: httpx.get(f"http://127.0.0.1:{p}/healthz", timeout=10).status_code
            for p in range(port, port + 3)
        }
        proc.send_signal(signal.SIGINT)
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return Demo(data / "demo", port, log.read_text(), Served(answered, returncode))


def test_ctrl_c_stops_all_three_nodes(demo: Demo) -> None:
    assert demo.served.answered == {demo.port + n: 200 for n in range(3)}
    assert demo.served.returncode == 130, demo.output  # as a shell reports Ctrl-C
    assert "Traceback" not in demo.output
    assert all(port_free("127.0.0.1", demo.port + n) for n in range(3))
    assert "Ctrl-C here stops all three" in demo.output


def test_three_nodes_each_with_its_folder_database_port_and_printed_accounts(demo: Demo) -> None:
    for key, country, offset in (("", "NL", 0), ("gb", "GB", 1), ("coordinator", "FR", 2)):
        folder = demo.folder / key
        assert (folder / "taskforce.db").exists()
        assert (folder / "node-signing.key").stat().st_mode & 0o777 == 0o600
        for session in demo.session(key):
            node = session.scalars(select(Node)).one()
            assert node.country == country
            assert node.url == f"http://127.0.0.1:{demo.port + offset}"
        assert f"http://127.0.0.1:{demo.port + offset}/ui/" in demo.output
    for login in (
        "admin@hub.example.org",
        "investigator@np.example.net",
        "admin@gb-node.example.com",
        "investigator@ceop.example.com",
        "admin@coordinator.example.org",
    ):
        assert login in demo.output


def test_every_pair_is_peered_the_coordinator_holds_the_key_and_receives_nothing(
    demo: Demo,
) -> None:
    names = {"": "Netherlands", "gb": "United Kingdom"}
    coordinator = "Network coordinator"
    for key, other in (("", "gb"), ("gb", "")):
        for session in demo.session(key):
            peers = {p.name: p for p in session.scalars(select(Peer))}
            assert set(peers) == {names[other], coordinator}
            assert all(p.state == "active" for p in peers.values())
            assert peers[coordinator].key_holder
            assert not peers[names[other]].key_holder
            assert session.get(Profile, peers[coordinator].id) is None
            profile = session.get(Profile, peers[names[other]].id)
            assert profile is not None
            assert set(profile.levels) == {"red", "amber", "green"}
            assert "email" in profile.kinds
            assert "phone" in profile.kinds
            assert "pdq" not in profile.kinds
            assert profile.green_plaintext
            assert profile.release_required
            # the other node's agencies are known here (a hit names their 24/7 desk)
            assert peers[names[other]].directory_synced_at is not None
    for session in demo.session("coordinator"):
        held = session.scalars(select(Peer)).all()
        assert sorted(p.name for p in held) == sorted(names.values())
        assert session.scalars(select(Profile)).all() == []
    assert (demo.folder / "coordinator" / "federation" / "oprf-keys").is_dir()


def test_a_red_case_on_each_national_node_holds_the_shared_values(demo: Demo) -> None:
    for key in ("", "gb"):
        for session in demo.session(key):
            rows = session.execute(
                select(Selector.kind, Selector.raw)
                .join(Case, Selector.case_id == Case.id)
                .where(Selector.note == "federation demo", Case.sharing == "red")
            ).all()
            assert {(r.kind, r.raw) for r in rows} >= {
                ("email", SHARED_EMAIL),
                ("phone", SHARED_PHONE),
            }


def test_a_busy_port_of_the_three_is_refused_before_anything_is_built(tmp_path: Path) -> None:
    port = three_free_ports()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port + 2))
        busy.listen()
        done = subprocess.run(
            [sys.executable, "-m", "taskforce", "demo", "--port", str(port)],
            env=clean_environment(TASKFORCE_DATA_DIR=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 1
    assert f"port {port + 2} is in use" in done.stderr
    assert "the demo's three nodes take PORT, PORT+1, PORT+2" in done.stderr
    assert not (tmp_path / "demo").exists()


def test_each_national_node_has_the_cross_node_hit_of_both_shared_values(demo: Demo) -> None:
    for key, title in (("", "Operation Lantern"), ("gb", "Operation Harbour")):
        for session in demo.session(key):
            rows = session.execute(
                select(RemoteHit.kind, Case.title, Peer.name)
                .join(Case, RemoteHit.case_id == Case.id)
                .join(Peer, RemoteHit.peer_id == Peer.id)
            ).all()
            other = "United Kingdom" if key == "" else "Netherlands"
            found = sorted((kind, case.split(" — ")[0], peer) for kind, case, peer in rows)
            assert found == [("email", title, other), ("phone", title, other)]
    assert "cross-node hits: NL 2, GB 2" in demo.output


def test_a_release_request_waits_for_the_gb_investigators_decision(demo: Demo) -> None:
    for session in demo.session("gb"):
        incoming = session.scalars(select(ReleaseRequest)).all()
        assert [(r.direction, r.state) for r in incoming] == [("incoming", "pending")]
        assert "Operation Lantern" in incoming[0].reason
    for session in demo.session(""):
        outgoing = session.scalars(select(ReleaseRequest)).one()
        assert (outgoing.direction, outgoing.state) == ("outgoing", "pending")
        assert outgoing.delivered_at is not None  # it reached GB
        assert outgoing.details == {}  # nothing released yet
    assert "release requests waiting: 1" in demo.output
    assert f"http://127.0.0.1:{demo.port + 1}/ui/releases" in demo.output
