"""`taskforce federation publish`, `peer sync` and `peer feed` on a fresh SQLite data folder,
against a peer that does not answer: the reason is said, the exit code is 75, and the peer
keeps the error for `peer feed`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_hub import fresh_hub
from node_builders import OtherNode
from serving import free_port
from typer.testing import CliRunner

from taskforce.cli import app


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    runner = fresh_hub(tmp_path, monkeypatch)
    made = runner.invoke(
        app,
        ["node", "init", "--name", "Node A", "--country", "GB", "--url", "http://a.example.org"],
    )
    assert made.exit_code == 0, made.output
    return runner


def test_publish_and_sync_say_why_a_peer_failed_and_exit_75(run: CliRunner, tmp_path: Path) -> None:
    alone = run.invoke(app, ["federation", "publish"])
    assert (alone.exit_code, alone.output.strip()) == (0, "no active peers: nothing published")

    down = OtherNode(url=f"http://127.0.0.1:{free_port()}")  # nothing listens there
    document = tmp_path / "b.json"
    document.write_text(json.dumps(down.document()))
    added = run.invoke(app, ["peer", "add", str(document), "--yes", "--key-holder"])
    assert added.exit_code == 0, added.output

    published = run.invoke(app, ["federation", "publish"])
    assert published.exit_code == 75
    assert "warning: not tokenised: Node B did not answer: ConnectError" in published.output
    assert "Node B: 0 added or changed, 0 withdrawn; feed head 0" in published.output

    synced = run.invoke(app, ["peer", "sync", "Node B"])
    assert synced.exit_code == 75
    assert "Node B: 0 entries merged, 0 withdrawn, 0 new hits; position 0 of 0" in synced.output
    assert "error: Node B did not answer: ConnectError" in synced.output

    shown = run.invoke(app, ["peer", "feed", "Node B"])
    assert shown.exit_code == 0
    assert "Node B: position 0 of head 0 (0 behind); last synced never" in shown.output
    assert "last error (1 in a row, next try " in shown.output
    assert "our feed to Node B: head 0" in shown.output

    unknown = run.invoke(app, ["peer", "sync", "Node Z"])
    assert (unknown.exit_code, unknown.output.strip()) == (1, "error: peer 'Node Z' not found")
