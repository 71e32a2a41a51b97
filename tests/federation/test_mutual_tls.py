"""Mutual TLS between nodes: a node whose TLS terminator demands a client certificate answers a
peer that shows one signed by the agreed CA (`federation_client_cert`, `federation_ca`), and
the peer that shows none, or does not trust the node's CA, gets no answer at all. A real
uvicorn server with TLS on a loopback port; certificates generated here."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from builders import make_agency
from conftest import make_settings, migrated_engine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from node_builders import OtherNode

from taskforce.app import create_app
from taskforce.core.caller import system_caller
from taskforce.core.db import make_sessionmaker, unit_of_work
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.federation import directory, identity, peering, transport

Key = ec.EllipticCurvePrivateKey


def _cert(
    name: str, key: Key, issuer: tuple[x509.Name, Key] | None, *, ca: bool = False
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_name, issuer_key = issuer or (subject, key)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, cert: x509.Certificate, key: Key | None = None) -> Path:
    path = folder / f"{name}.pem"
    data = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    path.write_bytes(data)
    return path


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "pki"
    folder.mkdir()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("Test federation CA", ca_key, None, ca=True)
    issuer = (ca.subject, ca_key)
    server_key, client_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    return {
        "ca": _write(folder, "ca", ca),
        "server": _write(folder, "server", _cert("127.0.0.1", server_key, issuer), server_key),
        "client": _write(folder, "client", _cert("node-a", client_key, issuer), client_key),
    }


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def node_b(tmp_path: Path, pki: dict[str, Path]) -> Iterator[tuple[peering.Target, Settings]]:
    """Node B behind TLS that demands a client certificate, peered with node A; yields A's
    target for B and A's settings (its own data folder and key)."""
    a_settings = make_settings(tmp_path / "a", "sqlite://")
    (tmp_path / "a").mkdir()
    a_id = uuid.uuid4()
    a_doc = identity.document(
        a_id, "Node A", "GB", "https://a.example.org", identity.signing_key(a_settings)
    )
    port = _port()
    url = f"https://127.0.0.1:{port}"
    (tmp_path / "b").mkdir()
    with migrated_engine("sqlite", tmp_path / "b") as engine:
        settings: Settings = engine.info_settings  # type: ignore[attr-defined]
        with unit_of_work(make_sessionmaker(engine)) as session:
            node = peering.init_node(
                session, settings, system_caller(), name="Node B", country="NL", url=url
            )
            make_agency(session, "NL-POL")
            peering.add_peer(session, system_caller(), identity.read_document(a_doc))
            b_id = node.id
        config = uvicorn.Config(
            create_app(settings, engine),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(pki["server"]),
            ssl_ca_certs=str(pki["ca"]),
            ssl_cert_reqs=ssl.CERT_REQUIRED,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the TLS server did not start"
            time.sleep(0.05)
        try:
            yield peering.Target(node_id=a_id, peer_id=b_id, name="Node B", url=url), a_settings
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def test_a_peer_with_the_agreed_client_certificate_is_answered(
    node_b: tuple[peering.Target, Settings], pki: dict[str, Path]
) -> None:
    target, settings = node_b
    mutual = settings.model_copy(
        update={"federation_client_cert": pki["client"], "federation_ca": pki["ca"]}
    )
    received = directory.fetch_directory(mutual, target)
    assert [a.code for a in received.agencies] == ["NL-POL"]
    assert received.node_id == target.peer_id


def test_no_client_certificate_or_an_untrusted_server_gets_no_answer(
    node_b: tuple[peering.Target, Settings], pki: dict[str, Path]
) -> None:
    target, settings = node_b
    no_cert = settings.model_copy(update={"federation_ca": pki["ca"]})
    with pytest.raises(transport.PeerUnreachable, match="Node B did not answer"):
        directory.fetch_directory(no_cert, target)
    untrusted = settings.model_copy(update={"federation_client_cert": pki["client"]})
    with pytest.raises(transport.PeerUnreachable, match="CERTIFICATE_VERIFY_FAILED"):
        directory.fetch_directory(untrusted, target)


def test_a_certificate_file_that_cannot_be_used_is_named(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "sqlite://")
    missing = settings.model_copy(update={"federation_client_cert": tmp_path / "none.pem"})
    with pytest.raises(Invalid) as caught:
        transport.tls_context(missing)
    assert caught.value.field == "federation_client_cert"
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(Invalid) as caught:
        transport.tls_context(settings.model_copy(update={"federation_ca": garbage}))
    assert caught.value.field == "federation_ca"


def test_the_command_names_an_unusable_tls_setting_without_a_traceback(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from taskforce.cli import app
    from taskforce.core.console import State

    (tmp_path / "n").mkdir()
    document = tmp_path / "peer.json"
    document.write_text(json.dumps(OtherNode().document()))
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate\n")
    with migrated_engine("sqlite", tmp_path / "n") as engine:
        base: Settings = engine.info_settings  # type: ignore[attr-defined]
        settings = base.model_copy(update={"federation_ca": garbage})

        def run(*args: str) -> tuple[int, str]:
            state = State(settings=settings, _engine=engine)
            result = CliRunner().invoke(app, list(args), obj=state)
            return result.exit_code, result.output

        assert (
            run("node", "init", "--name", "A", "--country", "GB", "--url", "http://a.example.org")[
                0
            ]
            == 0
        )
        assert run("peer", "add", str(document), "--yes")[0] == 0
        code, said = run("peer", "hello", "Node B")
    assert code == 2
    assert "error: federation_ca: cannot be used as a CA bundle" in said
    assert "Traceback" not in said
