"""Tests stay on this machine: sockets may reach loopback and unix sockets, nothing else.

A test that reached a real host would pass or fail with the network, and could leak test data to
it. `tests/conftest.py` installs `refuse_outside_connections` for the whole session: connecting
(TCP or UDP) past loopback and asking DNS for a name raise `NetworkRefused`, which no code under
test catches as a network error (it is not an `OSError`). Servers in the tests listen on
127.0.0.1 and fakes answer for names (`StaticResolver`, `hosts` markers); PostgreSQL is reached
at 127.0.0.1; Playwright's chromium runs in its own process and is not affected.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

# answered from /etc/hosts, never by DNS
LOCAL_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})
_INET = (socket.AF_INET, socket.AF_INET6)


class NetworkRefused(RuntimeError):
    """A test reached past loopback: a fake resolver or a local server is missing."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what}: tests may reach only loopback and unix sockets (tests/offline.py); "
            "serve it on 127.0.0.1 or answer the name with a StaticResolver"
        )


def is_local(host: object) -> bool:
    """Whether `host` (an address literal or a name) stays on this machine."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower().rstrip(".") in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified  # 0.0.0.0 reaches this machine too


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _check(sock: socket.socket, address: Any, verb: str) -> None:
    if sock.family not in _INET:
        return  # unix sockets, socket pairs
    host = address[0] if isinstance(address, tuple) and address else address
    if not is_local(host):
        sock.close()  # unusable now; callers such as socket.create_connection close on OSError only
        raise NetworkRefused(f"{verb} {address!r}")


@contextmanager
def refuse_outside_connections() -> Iterator[None]:
    """Within the block, connect/connect_ex/sendto past loopback and DNS look-ups fail."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        _check(self, address, "connect to")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(self, address, "connect to")
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *rest: Any) -> int:
        _check(self, rest[-1], "send to")
        return real_sendto(self, data, *rest)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if name is None or not isinstance(name, str) or _is_literal(name) or is_local(name):
            return real_getaddrinfo(host, *args, **kwargs)  # no DNS asked
        if f".{name.lower().rstrip('.')}".endswith(".invalid"):  # RFC 6761: never exists
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        raise NetworkRefused(f"DNS look-up of {name!r}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket.socket, "sendto", sendto)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield
