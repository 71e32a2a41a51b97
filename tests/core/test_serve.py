"""`taskforce serve --workers`: the listening socket the workers share gets TCP_NODELAY on every
accepted connection (uvicorn's own leaves Nagle on: ~40 ms per keep-alive answer on Linux)."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor

import uvicorn

from taskforce.cli import tcp_listener


def test_worker_socket_is_tcp_and_accepted_connections_get_nodelay() -> None:
    config = uvicorn.Config("taskforce.app:create_app", factory=True, host="127.0.0.1", port=0)
    sock = tcp_listener(config)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.get_inheritable()

        async def accepted_nodelay() -> int:
            seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

            class Probe(asyncio.Protocol):
                def connection_made(self, transport: asyncio.BaseTransport) -> None:
                    accepted = transport.get_extra_info("socket")
                    seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                    transport.close()

            server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
            try:
                host, port = sock.getsockname()[:2]
                _, writer = await asyncio.open_connection(host, port)
                value = await asyncio.wait_for(seen, 5)
                writer.close()
                return value
            finally:
                server.close()

        # A thread of its own: the browser tests' session-wide Playwright keeps an event loop
        # running in this worker's main thread, where asyncio.run() refuses to start another.
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(asyncio.run, accepted_nodelay()).result(timeout=30) != 0
    finally:
        sock.close()
