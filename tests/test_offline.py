"""Tests cannot reach past loopback (tests/offline.py, installed by tests/conftest.py)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
from offline import NetworkRefused, is_local


@pytest.mark.parametrize("address", [("192.0.2.1", 80), ("2001:db8::1", 443, 0, 0)])
def test_a_connection_past_loopback_is_refused_before_it_leaves(
    address: tuple[object, ...],
) -> None:
    family = socket.AF_INET6 if ":" in str(address[0]) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        with pytest.raises(NetworkRefused, match="only loopback"):
            sock.connect(address)
        with pytest.raises(NetworkRefused, match="only loopback"):
            sock.connect_ex(address)
    with (
        socket.socket(family, socket.SOCK_DGRAM) as udp,
        pytest.raises(NetworkRefused, match="send to"),
    ):
        udp.sendto(b"query", address)


def test_an_http_client_cannot_reach_an_outside_address() -> None:
    with pytest.raises(NetworkRefused, match=r"connect to \('192\.0\.2\.1', 80\)"):
        httpx.get("http://192.0.2.1/", timeout=2)


def test_names_are_not_looked_up_in_dns() -> None:
    with pytest.raises(NetworkRefused, match=r"DNS look-up of 'example\.org'"):
        socket.getaddrinfo("example.org", 443)
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("nothing.invalid", 443)
    assert socket.getaddrinfo("203.0.113.7", 80)  # a literal needs no DNS


def test_loopback_and_unix_sockets_still_work(tmp_path: Path) -> None:
    accepted: list[bytes] = []

    def serve(server: socket.socket) -> None:
        conn, _ = server.accept()
        with conn:
            accepted.append(conn.recv(5))

    with socket.create_server(("127.0.0.1", 0)) as server:
        thread = threading.Thread(target=serve, args=(server,))
        thread.start()
        with socket.create_connection(server.getsockname(), timeout=5) as client:
            client.sendall(b"hello")
        thread.join(5)
    assert accepted == [b"hello"]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        path = str(tmp_path / "s")
        listener.bind(path)
        listener.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(path)


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("0.0.0.0", True),  # noqa: S104 (an address a client connects to: this machine)
        ("10.0.0.1", False),
        ("192.0.2.1", False),
        ("::ffff:192.0.2.1", False),
        ("example.org", False),
        ("localhost.example.org", False),
    ],
)
def test_what_counts_as_this_machine(host: str, local: bool) -> None:
    assert is_local(host) is local
