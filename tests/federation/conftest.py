"""This node (the test database, its own data folder and key) and a peer whose key the test
holds."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from node_builders import OtherNode
from sqlalchemy.orm import Session

from taskforce.core.caller import system_caller
from taskforce.core.settings import Settings
from taskforce.federation import identity, peering

HERE = "http://node-a.example.org"


@pytest.fixture
def node_settings(settings: Settings, tmp_path: Path) -> Settings:
    folder = tmp_path / "node"
    folder.mkdir()
    return settings.model_copy(update={"data_dir": folder})


@pytest.fixture
def here(session: Session, node_settings: Settings) -> uuid.UUID:
    node = peering.init_node(
        session, node_settings, system_caller(), name="Node A", country="GB", url=HERE
    )
    return node.id


@pytest.fixture
def peer(session: Session, here: uuid.UUID) -> OtherNode:
    """A node peered with this one."""
    assert here  # this node has its identity first
    node = OtherNode()
    peering.add_peer(session, system_caller(), identity.read_document(node.document()))
    return node
