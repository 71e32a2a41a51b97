"""Real `taskforce serve` processes for tests: one per node or hub, each on its own loopback
port with its own data folder and database, started and stopped the way an operator would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from conftest import fresh_database
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.console import State
from taskforce.core.db import make_engine
from taskforce.core.settings import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any TASKFORCE_ setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFORCE_")}
    env.update(extra)
    return env


@dataclass
class Served:
    """One `taskforce serve` process: `start` waits for /healthz, `stop` is SIGTERM (SIGKILL
    after 20 s), `kill` is SIGKILL."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None  # where stdout and stderr go (default: nowhere)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab") if self.log is not None else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "taskforce", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if self.log is not None else subprocess.DEVNULL,
            )
        finally:
            if not isinstance(out, int):
                out.close()  # the child has its own copy
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the server exited"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError("the server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def rss(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


class Node(Served):
    """A federation node: its own data folder (and so its own signing key) and database; its
    admin's CLI runs in this process against the same folder and database."""

    def __init__(self, name: str, data_dir: Path, database_url: str, **env: str) -> None:
        self.name = name
        self.data_dir = data_dir
        self.database_url = database_url
        super().__init__(
            env=clean_environment(
                TASKFORCE_DATA_DIR=str(data_dir),
                TASKFORCE_DATABASE_URL=database_url,
                TASKFORCE_ALLOW_INSECURE_DEFAULTS="1",
                TASKFORCE_WORKER="external",
                TASKFORCE_AUDIT_SEAL_SECONDS="0",
                **env,
            )
        )

    @property
    def settings(self) -> Settings:
        """The settings the node's processes read from their environment."""
        values = {
            key.removeprefix("TASKFORCE_").lower(): value
            for key, value in self.env.items()
            if key.startswith("TASKFORCE_")
        }
        return Settings.model_validate(values)

    @contextmanager
    def database(self) -> Iterator[Session]:
        """A session on the node's database, its engine disposed after (no connection outlives
        it)."""
        engine = make_engine(self.settings)
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()

    def cli(self, *args: str, ok: bool = True, input: str | None = None) -> tuple[int, str]:
        state = State(settings=self.settings)
        try:
            result = CliRunner().invoke(app, list(args), obj=state, input=input)
        finally:
            if "engine_to_upgrade" in state.__dict__:
                state.engine_to_upgrade.dispose()  # no connection outlives the command
        if ok:
            assert result.exit_code == 0, (args, result.output)
        return result.exit_code, result.output


def make_node(name: str, folder: Path, url: str, country: str, **env: str) -> Node:
    """A node with its database built, its key made and its identity set (not started)."""
    folder.mkdir()
    node = Node(name, folder, url, **env)
    node.cli("db", "upgrade")
    assert (folder / "node-signing.key").stat().st_mode & 0o777 == 0o600
    node.cli("node", "init", "--name", name, "--country", country, "--url", node.url)
    return node


@contextmanager
def two_nodes(
    backend: str, tmp_path: Path, *, key_holder: str | None = None
) -> Iterator[tuple[Node, Node]]:
    """National nodes A (`backend`, GB) and B (SQLite, NL), `key_holder` ("Node A" or "Node B")
    holding the network's OPRF key (not made yet): built, not started, not peered; stopped
    afterwards."""
    holder = {"TASKFORCE_FEDERATION_KEY_HOLDER": "true"}
    with (
        fresh_database(backend, tmp_path) as url_a,
        fresh_database("sqlite", tmp_path) as url_b,
    ):
        a = make_node(
            "Node A", tmp_path / "a", url_a, "GB", **(holder if key_holder == "Node A" else {})
        )
        b = make_node(
            "Node B", tmp_path / "b", url_b, "NL", **(holder if key_holder == "Node B" else {})
        )
        try:
            yield a, b
        finally:
            a.stop()
            b.stop()


def peer_both(a: Node, b: Node, tmp_path: Path, *, b_names_a_key_holder: bool = False) -> None:
    """The admins of A and B exchange their node documents and each adds the other as a peer."""
    documents = {}
    for node in (a, b):
        documents[node.name] = tmp_path / f"{node.name}.json"
        node.cli("node", "show", "--output", str(documents[node.name]))
    a.cli("peer", "add", str(documents["Node B"]), "--yes")
    extra = ["--key-holder"] if b_names_a_key_holder else []
    b.cli("peer", "add", str(documents["Node A"]), "--yes", *extra)


@contextmanager
def three_nodes(backend: str, tmp_path: Path) -> Iterator[tuple[Node, Node, Node]]:
    """National nodes A (SQLite, GB) and B (`backend`, NL) and the key holder K (SQLite, FR,
    its OPRF keys made): built, not started, not peered; stopped afterwards."""
    with (
        fresh_database("sqlite", tmp_path) as url_a,
        fresh_database(backend, tmp_path) as url_b,
        fresh_database("sqlite", tmp_path) as url_k,
    ):
        a = make_node("Node A", tmp_path / "a", url_a, "GB")
        b = make_node("Node B", tmp_path / "b", url_b, "NL")
        k = make_node(
            "Key holder", tmp_path / "k", url_k, "FR", TASKFORCE_FEDERATION_KEY_HOLDER="1"
        )
        k.cli("federation", "key", "init")
        try:
            yield a, b, k
        finally:
            for node in (a, b, k):
                node.stop()
