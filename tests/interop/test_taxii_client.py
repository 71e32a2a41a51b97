"""The TAXII server as a real client uses it: `taxii2-client` (OASIS's own) against a
`taskforce serve` process on loopback, on both databases, paging through a collection with
`as_pages` and getting every object exactly once, as a MISP or OpenCTI poller would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from builders import add_selector, make_case, make_network, token_for
from conftest import fresh_database
from serving import Served, clean_environment
from taxii2client.common import TokenAuth
from taxii2client.v21 import (
    ApiRoot,
    Collection,
    Server,
    as_pages,
)
from taxii_builders import HELD_BACK, releasable_material

from taskforce import migrate
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.settings import Settings
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import formats
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.interop import collections

SELECTORS = 40
ENTRIES = 60


class Bearer(requests.auth.AuthBase):
    """The hub's API token, as a TAXII client's custom auth sends it."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


@dataclass
class Hub(Served):
    token: str = ""


def _seed(settings: Settings) -> str:
    """Two agencies' releasable material, more of it than one page, and the read-only
    account's token."""
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    with make_sessionmaker(engine)() as session:
        network = make_network(session)
        releasable_material(session, settings, network)
        bulk = make_case(session, network.nl, title="Operation Plover", sharing=SharingLevel.GREEN)
        for n in range(SELECTORS):
            add_selector(session, settings, network.nl, bulk, "domain", f"host{n}.example.org")
        big_set = hashset_service.create_hash_set(
            session,
            network.gb.caller,
            HashSetCreate(name="Green set Rook", sharing=SharingLevel.GREEN),
        )
        hashset_service.import_entries(
            session,
            network.gb.caller,
            set_id=big_set.id,
            entries=[formats.ParsedEntry(n + 1, md5=f"{n + 1:032x}") for n in range(ENTRIES)],
            fmt="lines",
        )
        token = token_for(session, settings, network.gb_reader)["Authorization"]
        session.commit()
    engine.dispose()
    return token.removeprefix("Bearer ")


@pytest.fixture
def hub(backend: str, tmp_path: Path) -> Iterator[Hub]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_database(backend, tmp_path) as url:
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            allow_insecure_defaults=True,
            worker="external",
            audit_seal_seconds=0,
        )
        token = _seed(settings)
        env = clean_environment(
            TASKFORCE_DATA_DIR=str(data_dir),
            TASKFORCE_DATABASE_URL=settings.effective_database_url,
            TASKFORCE_ALLOW_INSECURE_DEFAULTS="1",
            TASKFORCE_WORKER="external",
            TASKFORCE_AUDIT_SEAL_SECONDS="0",
            TASKFORCE_TAXII_PAGE_LIMIT="25",
        )
        running = Hub(env=env, token=token)
        running.start()
        try:
            yield running
        finally:
            running.stop()


def _network_collection(root: ApiRoot) -> Collection:
    wanted = collections.network_collection_id()
    [found] = [c for c in root.collections if c.id == wanted]
    return found


def test_taxii2_client_pages_through_a_collection_getting_every_object_once(hub: Hub) -> None:
    auth = Bearer(hub.token)
    server = Server(f"{hub.url}/taxii2/", auth=auth)
    assert server.title == "taskforce TAXII 2.1"
    root = server.default
    assert root is not None
    assert root.versions == ["application/taxii+json;version=2.1"]
    assert len(root.collections) == 3  # the network's, GB's, NL's
    collection = _network_collection(root)
    assert collection.can_read
    assert not collection.can_write

    pages = list(as_pages(collection.get_objects, per_request=7))
    objects: list[dict[str, Any]] = [o for page in pages for o in page.get("objects", [])]
    ids = [o["id"] for o in objects]
    assert len(ids) == len(set(ids))  # every object exactly once
    assert len(pages) > 5
    # the same objects as the manifest lists, in the same order, whatever the page size
    manifest = [
        m["id"]
        for page in as_pages(collection.get_manifest, per_request=50)
        for m in page.get("objects", [])
    ]
    assert manifest == ids
    kinds = [o["type"] for o in objects]
    assert kinds.count("indicator") >= SELECTORS + ENTRIES
    assert kinds.count("file") == ENTRIES + 2
    text = str(objects)
    for secret in HELD_BACK:
        assert secret not in text

    # a client that polls: nothing after the last date it was given
    last = collection.get_objects(limit=25)
    assert len(last["objects"]) == 25  # the server's page size, not more
    one = collection.get_object(ids[-1])
    assert [o["id"] for o in one["objects"]] == [ids[-1]]

    # taxii2-client's own TokenAuth sends "Authorization: Token <token>"
    assert Server(f"{hub.url}/taxii2/", auth=TokenAuth(hub.token)).title == server.title

    wrong = Server(f"{hub.url}/taxii2/", auth=Bearer("not-a-token"))
    with pytest.raises(requests.HTTPError) as refused:
        _ = wrong.title
    assert refused.value.response is not None
    assert refused.value.response.status_code == 401
