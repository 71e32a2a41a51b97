"""`taskforce peer profile|key-holder` and `peer add --key-holder`, on SQLite and PostgreSQL:
what a peer receives, said in words; changed only by the options given; refusals name the
field and exit non-zero."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import fresh_database
from node_builders import OtherNode
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core.audit.models import AuditEntry
from taskforce.core.console import State
from taskforce.core.db import make_engine
from taskforce.core.settings import Settings


class Cli:
    """The `taskforce` command on one database (the engine the test closes afterwards)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings, self.engine = settings, engine

    def __call__(self, *args: str, code: int = 0) -> str:
        state = State(settings=self.settings, _engine=self.engine)
        result = CliRunner().invoke(app, list(args), obj=state)
        assert result.exit_code == code, result.output
        return result.output

    def actions(self) -> list[str]:
        with Session(self.engine) as session:
            return list(session.scalars(select(AuditEntry.action)))


@pytest.fixture
def cli(backend: str, tmp_path: Path) -> Iterator[Cli]:
    with fresh_database(backend, tmp_path) as url:
        engine = make_engine(Settings(database_url=url, data_dir=tmp_path))
        run = Cli(Settings(database_url=url, data_dir=tmp_path), engine)
        try:
            run("db", "upgrade")
            run(
                "node",
                "init",
                "--name",
                "Node A",
                "--country",
                "GB",
                "--url",
                "http://a.example.org",
            )
            yield run
        finally:
            engine.dispose()


def _document(tmp_path: Path, node: OtherNode) -> str:
    path = tmp_path / f"{node.id}.json"
    path.write_text(json.dumps(node.document()))
    return str(path)


def test_a_profile_is_shown_set_and_cleared_in_words(cli: Cli, tmp_path: Path) -> None:
    cli("peer", "add", _document(tmp_path, OtherNode(name="Node NL")), "--yes")
    assert cli("peer", "profile", "Node NL") == (
        "Node NL:\n  Receives nothing.\n  No profile is set: nothing crosses until one allows it.\n"
    )

    changed = cli("peer", "profile", "Node NL", "--kinds", "email,phone", "--levels", "red,amber")
    assert changed.splitlines()[:3] == [
        "profile of Node NL changed",
        "Node NL:",
        "  Receives blinded tokens of e-mail and phone number selectors of RED and AMBER "
        "cases: it can match them, not read them.",
    ]
    # an option not given keeps its value
    green = cli("peer", "profile", "Node NL", "--levels", "green", "--green-plaintext")
    assert "Receives e-mail and phone number selectors of GREEN cases as plaintext." in green
    none = cli("peer", "profile", "Node NL", "--kinds", "")
    assert "The profile lists no selector types: nothing crosses." in none

    assert "profile of Node NL cleared" in cli("peer", "profile", "Node NL", "--clear")
    assert "No profile is set" in cli("peer", "profile", "Node NL")
    assert cli.actions().count("federation.profile.change") == 4


def test_bad_options_are_named_and_change_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("peer", "add", _document(tmp_path, OtherNode(name="Node NL")), "--yes")
    bad = cli("peer", "profile", "Node NL", "--kinds", "email,fax", "--levels", "red", code=2)
    assert "kinds: 'fax' is not a selector type" in bad
    level = cli("peer", "profile", "Node NL", "--kinds", "email", "--levels", "pink", code=2)
    assert "levels: 'pink' is not a sharing level" in level
    both = cli("peer", "profile", "Node NL", "--clear", "--kinds", "all", code=2)
    assert "clear: cannot be combined with other options" in both
    assert "peer 'Node XX' not found" in cli("peer", "profile", "Node XX", code=1)
    assert "No profile is set" in cli("peer", "profile", "Node NL")
    assert "federation.profile.change" not in cli.actions()


def test_the_key_holder_is_named_once_and_receives_nothing(cli: Cli, tmp_path: Path) -> None:
    cli("peer", "add", _document(tmp_path, OtherNode(name="Node NL")), "--yes")
    cli("peer", "profile", "Node NL", "--kinds", "all", "--levels", "red")
    named = cli("peer", "key-holder", "Node NL")
    assert "Node NL is the network's key holder" in named
    assert "its profile was cleared: the key holder never receives selectors" in named
    refused = cli("peer", "profile", "Node NL", "--kinds", "email", "--levels", "red", code=2)
    assert "the key holder never receives selectors" in refused
    assert "it is the network's key holder" in cli("peer", "profile", "Node NL")

    coordinator = OtherNode(name="Coordinator", url="http://c.example.org")
    added = cli("peer", "add", _document(tmp_path, coordinator), "--yes", "--key-holder", code=1)
    assert "Node NL is the key holder already" in added
    assert "peered with" not in added  # and nothing was added
    listed = cli("peer", "list").splitlines()
    assert len(listed) == 1  # the coordinator was not added
    assert listed[0].split()[-4:] == ["never", "synced", "key", "holder"]

    assert "no longer the key holder" in cli("peer", "key-holder", "Node NL", "--unset")
    added = cli("peer", "add", _document(tmp_path, coordinator), "--yes", "--key-holder")
    assert "Coordinator is the network's key holder" in added
    assert cli.actions().count("federation.peer.key_holder") == 3
