"""The STIX export from the command line (file + FILE.sig.json, counts, verify, public key)
and over the API (streamed bundle, signature headers, the signature by export id, 4xx for bad
input, refusals)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from builders import Network, make_network, token_for
from cli_hub import fresh_hub
from fastapi.testclient import TestClient
from releasable_builders import build
from sqlalchemy.orm import Session
from stix2validator import ValidationOptions, validate_string
from typer.testing import CliRunner

from taskforce.cli import app
from taskforce.core import signing
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.settings import Settings


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A fresh SQLite hub in tmp_path holding the releasability world."""
    runner = fresh_hub(tmp_path, monkeypatch)
    settings = Settings(data_dir=tmp_path, allow_insecure_defaults=True)
    engine = make_engine(settings)
    with make_sessionmaker(engine)() as session:
        build(session, settings, make_network(session, partners=False))
        session.commit()
    engine.dispose()
    return runner


def test_cli_exports_signs_and_verifies(hub: CliRunner, tmp_path: Path) -> None:
    bundle = tmp_path / "out" / "green.json"
    bundle.parent.mkdir()
    done = hub.invoke(app, ["export", "stix", "--agency", "US-HSI", "--out", str(bundle)])
    assert done.exit_code == 0, done.output
    data = bundle.read_bytes()
    assert hashlib.sha256(data).hexdigest() in done.output
    assert "skipped 1 phone (no STIX form)" in done.output
    assert validate_string(data.decode(), ValidationOptions(version="2.1")).is_valid
    document = json.loads((tmp_path / "out" / "green.json.sig.json").read_text())
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert not list((tmp_path / "out").glob("*.part"))

    checked = hub.invoke(app, ["export", "verify", str(bundle)])
    assert checked.exit_code == 0, checked.output
    assert "verified" in checked.output
    key = hub.invoke(app, ["export", "public-key"])
    assert key.exit_code == 0
    public = key.stdout.strip()
    assert signing.key_id(signing.load_public(public)) == document["key_id"]
    bundle.write_bytes(data.replace(b"example.org", b"example.net"))
    tampered = hub.invoke(app, ["export", "verify", str(bundle), "--public-key", public])
    assert tampered.exit_code == 2
    assert "not the one signed" in tampered.output
    absent = hub.invoke(app, ["export", "verify", str(tmp_path / "absent.json")])
    assert absent.exit_code == 2
    assert "absent.json cannot be read: no such file" in absent.output  # not its .sig.json


def test_cli_refuses_bad_input_naming_it(hub: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    late = hub.invoke(
        app, ["export", "stix", "--agency", "GB-NCA", "--out", str(out), "--since", "soon"]
    )
    assert late.exit_code == 2
    assert "since" in late.output
    assert not out.exists()
    unknown = hub.invoke(
        app, ["export", "stix", "--agency", "GB-NCA", "--out", str(out), "--only", "XX-NONE"]
    )
    assert unknown.exit_code == 2
    assert "agency" in unknown.output
    acting = hub.invoke(app, ["export", "stix", "--agency", "xx-none", "--out", str(out)])
    assert acting.exit_code == 1
    assert "agency XX-NONE not found" in acting.output  # the code typed, named
    nothing = hub.invoke(
        app, ["export", "stix", "--agency", "GB-NCA", "--out", str(out), "--since", "2031-01-01"]
    )
    assert nothing.exit_code == 1  # a valid bundle with no indicator in it
    assert "nothing to pass on" in nothing.output
    assert out.exists()
    nowhere = tmp_path / "no-such-folder" / "x.json"
    unwritable = hub.invoke(app, ["export", "stix", "--agency", "GB-NCA", "--out", str(nowhere)])
    assert unwritable.exit_code == 2  # a message naming --out, not a traceback
    assert "out: cannot be written" in unwritable.output
    assert not nowhere.parent.exists()


def test_api_streams_a_signed_bundle(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    headers = token_for(session, settings, network.gb_reader)
    answer = client.get("/api/v1/interop/stix", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/stix+json")
    data = answer.content
    assert hashlib.sha256(data).hexdigest() == answer.headers["X-Taskforce-SHA256"]
    document = json.loads(base64.b64decode(answer.headers["X-Taskforce-Signature"]))
    key = client.get("/api/v1/interop/public-key", headers=headers).json()
    signing.verify(document, signing.load_public(key["public_key"]), what="export signature")
    assert document["sha256"] == hashlib.sha256(data).hexdigest()
    assert json.loads(data)["type"] == "bundle"
    export_id = answer.headers["X-Taskforce-Export-Id"]
    again = client.get(f"/api/v1/interop/exports/{export_id}/signature", headers=headers)
    assert again.json() == document
    other = token_for(session, settings, network.nl)
    missing = client.get(f"/api/v1/interop/exports/{export_id}/signature", headers=other)
    assert missing.status_code == 404


def test_api_answers_bad_input_with_4xx(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    build(session, settings, network)
    headers = token_for(session, settings, network.gb)
    assert client.get("/api/v1/interop/stix?since=yesterday", headers=headers).status_code == 422
    assert client.get("/api/v1/interop/stix?agency=XX-NONE", headers=headers).status_code == 422
    assert client.get("/api/v1/interop/stix").status_code == 401
    narrowed = client.get("/api/v1/interop/stix?agency=NL-NP", headers=headers)
    groupings = [o for o in narrowed.json()["objects"] if o["type"] == "grouping"]
    assert len(groupings) == 1
