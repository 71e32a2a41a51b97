"""The provider's copy: `sync` fetches the whole list once, then signed deltas kept in a bundle;
every load verifies every piece; a refused answer never replaces the copy held."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import cast

import httpx
import pytest
from builders import Network, provider_headers
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from taskforce.blocklist import local, service
from taskforce.blocklist.schemas import EntryCreate
from taskforce.cli import app as cli_app
from taskforce.core import signing
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings


@pytest.fixture
def provider(
    client: TestClient,
    session: Session,
    settings: Settings,
    network: Network,  # noqa: ARG001 - the agencies the token is issued among
) -> httpx.Client:
    """The test client, signed in as an internet provider's download token."""
    client.headers.update(provider_headers(session, settings))
    return cast(httpx.Client, client)  # starlette's TestClient: httpx2's Client, same interface


def _list(session: Session, network: Network, *urls: str, prefix: bool = False) -> list[uuid.UUID]:
    ids = []
    for url in urls:
        data = EntryCreate(url=url, match="prefix" if prefix else "exact", category="A")
        ids.append(service.add_entry(session, network.gb_analyst.caller, data).id)
    session.commit()
    return ids


def _public(settings: Settings) -> Ed25519PublicKey:
    return service.signing_key(settings).public_key()


def test_first_sync_fetches_the_whole_list_then_only_the_changes(
    provider: httpx.Client, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    copy = tmp_path / "blocklist.json"
    public = _public(settings)
    ids = _list(session, network, *(f"http://site{i}.example.com/a.jpg" for i in range(10)))

    first = local.sync(provider, copy, public)
    assert (first.kind, first.before, first.entries, first.why_full) == (
        "full",
        None,
        10,
        "no copy yet",
    )
    assert json.loads(copy.read_text())["kind"] == "full"
    assert copy.stat().st_mode & 0o777 == 0o644  # readable by a filtering service

    again = local.sync(provider, copy, public)
    assert (again.kind, again.version) == ("current", first.version)

    _list(session, network, "http://example.org/gallery", prefix=True)
    service.remove_entry(session, network.gb_analyst.caller, ids[0], reason="content gone")
    session.commit()
    step = local.sync(provider, copy, public)
    assert (step.kind, step.before, step.version) == ("delta", first.version, first.version + 2)
    assert (step.added, step.removed, step.entries) == (1, 1, 10)
    bundle = json.loads(copy.read_text())
    assert bundle["format"] == local.BUNDLE
    assert len(bundle["deltas"]) == 1

    checker = local.load(copy, public)  # verifies the full list and the delta
    assert checker.is_blocked("https://example.org/gallery/2") is not None
    assert checker.is_blocked("http://site0.example.com/a.jpg") is None
    assert checker.is_blocked("http://site1.example.com/a.jpg") is not None
    whole = service.document(session, network.gb_analyst.caller, settings)
    assert sorted(checker.entries()) == sorted(
        local.load_document(whole, public).entries()
    )  # the bundle answers exactly as the hub's whole list


def test_many_changes_start_the_bundle_over(
    provider: httpx.Client,
    session: Session,
    settings: Settings,
    network: Network,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(local, "COMPACT_MIN", 0)
    copy = tmp_path / "blocklist.json"
    public = _public(settings)
    _list(session, network, *(f"http://site{i}.example.com/a.jpg" for i in range(8)))
    local.sync(provider, copy, public)
    _list(session, network, *(f"http://site{i}.example.net/b.jpg" for i in range(4)))
    result = local.sync(provider, copy, public)  # 4 changes > a quarter of 12 entries
    assert result.kind == "full"
    assert "starting over" in result.why_full
    assert json.loads(copy.read_text())["kind"] == "full"
    assert len(local.load(copy, public)) == 12


def test_a_tampered_copy_is_replaced_by_the_whole_list(
    provider: httpx.Client, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    copy = tmp_path / "blocklist.json"
    public = _public(settings)
    _list(session, network, "http://example.com/a.jpg", "http://example.com/b.jpg")
    local.sync(provider, copy, public)
    doc = json.loads(copy.read_text())
    doc["entries"].pop()  # someone took an entry out of the file
    copy.write_text(json.dumps(doc))
    with pytest.raises(Invalid, match="does not verify"):
        local.load(copy, public)
    result = local.sync(provider, copy, public)
    assert result.kind == "full"
    assert "refused" in result.why_full
    assert len(local.load(copy, public)) == 2


def test_a_hub_behind_the_copy_gives_the_whole_list(
    provider: httpx.Client, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    """A hub restored from an older backup has no version to start a delta from."""
    copy = tmp_path / "blocklist.json"
    public = _public(settings)
    _list(session, network, "http://example.com/a.jpg")
    held = service.document(session, network.gb_analyst.caller, settings)
    ahead = signing.sign({**held, "version": held["version"] + 50}, service.signing_key(settings))
    local.write(copy, ahead)
    result = local.sync(provider, copy, public)
    assert result.kind == "full"
    assert f"no version {held['version'] + 50}" in result.why_full
    assert local.load(copy, public).version == held["version"]


def test_a_delta_signed_by_another_key_leaves_the_copy_alone(
    provider: httpx.Client, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    copy = tmp_path / "blocklist.json"
    _list(session, network, "http://example.com/a.jpg")
    local.sync(provider, copy, _public(settings))
    before = copy.read_bytes()
    _list(session, network, "http://example.com/b.jpg")
    stranger = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(Invalid, match="another key"):
        local.sync(provider, copy, stranger)
    assert copy.read_bytes() == before


def test_refused_token_and_unreachable_hub(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    copy = tmp_path / "blocklist.json"
    client.headers["Authorization"] = "Bearer not-a-token"
    with pytest.raises(local.HubError, match="refused the token"):
        local.sync(cast(httpx.Client, client), copy, _public(settings))
    nowhere = httpx.Client(base_url="http://127.0.0.1:9", timeout=2)
    with nowhere, pytest.raises(local.HubError, match="could not reach the hub"):
        local.sync(nowhere, copy, _public(settings))
    assert not copy.exists()


def test_check_reads_a_bundle(
    provider: httpx.Client, session: Session, settings: Settings, network: Network, tmp_path: Path
) -> None:
    copy = tmp_path / "blocklist.json"
    public = _public(settings)
    _list(session, network, *(f"http://site{i}.example.com/a.jpg" for i in range(10)))
    local.sync(provider, copy, public)
    _list(session, network, "http://example.org/new.jpg")
    assert local.sync(provider, copy, public).kind == "delta"
    key = tmp_path / "hub.key"
    key.write_text(signing.public_b64(public))
    result = CliRunner().invoke(
        cli_app,
        [
            "blocklist",
            "check",
            "http://example.org/new.jpg",
            "http://example.org/old.jpg",
            "--list",
            str(copy),
            "--public-key",
            str(key),
        ],
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines() == [
        "blocked\thttp://example.org/new.jpg\texact example.org/new.jpg",
        "ok\thttp://example.org/old.jpg",
    ]


def test_cli_sync_says_what_it_did_and_fails_clearly(settings: Settings, tmp_path: Path) -> None:
    key = signing.public_b64(_public(settings))
    result = CliRunner().invoke(
        cli_app,
        [
            "blocklist",
            "sync",
            "--hub",
            "http://127.0.0.1:9",
            "--token",
            "x",
            "--list",
            str(tmp_path / "l.json"),
            "--public-key",
            key,
        ],
    )
    assert result.exit_code == 1
    assert "could not reach the hub" in result.output
