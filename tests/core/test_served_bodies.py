"""A real `taskforce serve` (uvicorn) process: a chunked body without a token is answered
before it is read and the connection is closed, so the server's memory does not grow with what
an anonymous client sends (issue 11, finding 1: +850 MiB per 300 MB request before); an upload
cut short by kill -9 leaves its spool file in the data folder, not in /tmp, and the next
start removes it (finding 10)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from builders import make_agency, make_person, token_for
from serving import Served, clean_environment

from taskforce import migrate
from taskforce.core import spool
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.settings import Settings

MIB = 1 << 20


@dataclass
class Hub(Served):
    data_dir: Path = Path()
    tmp_dir: Path = Path()  # the server's TMPDIR: must stay empty
    token: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    data_dir, tmp_dir = tmp_path / "data", tmp_path / "tmp"
    data_dir.mkdir()
    tmp_dir.mkdir()
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'hub.db'}",
        allow_insecure_defaults=True,
        worker="external",
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    with make_sessionmaker(engine)() as session:
        token = token_for(session, settings, make_person(session, make_agency(session)))
        session.commit()
    engine.dispose()
    env = clean_environment(
        TASKFORCE_DATA_DIR=str(data_dir),
        TASKFORCE_DATABASE_URL=settings.effective_database_url,
        TASKFORCE_ALLOW_INSECURE_DEFAULTS="1",
        TASKFORCE_WORKER="external",
        TMPDIR=str(tmp_dir),
    )
    running = Hub(data_dir=data_dir, tmp_dir=tmp_dir, env=env, token=token)
    running.start()
    try:
        yield running
    finally:
        running.kill()


@dataclass
class Exchange:
    sent: int = 0
    response: bytearray = field(default_factory=bytearray)
    closed: bool = False


def chunked_post(
    hub: Hub,
    path: str,
    *,
    headers: dict[str, str],
    total: int,
    line: bytes = b"x" * 64 * 1024,
    stop: threading.Event | None = None,
) -> Exchange:
    """POST `total` bytes with chunked framing over a raw socket, reading the answer as it
    comes; stops sending when the server closes, when `stop` is set, or when it stalls."""
    exchange = Exchange()
    sock = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"

    def read() -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            exchange.response.extend(data)
        exchange.closed = True

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    frame = b"%x\r\n" % len(line) + line + b"\r\n"
    try:
        sock.sendall(head.encode())
        while exchange.sent < total and not exchange.closed:
            if stop is not None and stop.is_set():
                break
            sock.sendall(frame)
            exchange.sent += len(line)
        if exchange.sent >= total:
            sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # reset or timed out: the server stopped reading
    reader.join(timeout=10)
    sock.close()
    return exchange


def test_an_anonymous_chunked_body_is_answered_unread_and_memory_stays_flat(hub: Hub) -> None:
    total = 96 * MIB
    before = hub.rss()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, hub.rss())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        exchange = chunked_post(
            hub, "/api/v1/cases", headers={"Content-Type": "application/json"}, total=total
        )
    finally:
        done.set()
        sampler.join()
    head = bytes(exchange.response).split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 401"), head
    assert b"connection: close" in head
    assert exchange.closed
    assert exchange.sent < total // 2  # the server stopped reading (socket buffers aside)
    assert peak - before < 32 * MIB, f"server memory grew by {(peak - before) / MIB:.0f} MiB"


def test_an_upload_cut_by_kill_9_leaves_nothing_once_the_server_starts_again(hub: Hub) -> None:
    created = httpx.post(
        f"{hub.url}/api/v1/hashsets", json={"name": "Known"}, headers=hub.token, timeout=30
    )
    assert created.status_code == 201, created.text
    set_id = created.json()["id"]
    stop = threading.Event()
    sender = threading.Thread(
        target=chunked_post,
        args=(hub, f"/api/v1/hashsets/{set_id}/import"),
        kwargs={
            "headers": hub.token,
            "total": 1 << 40,
            "line": b"0123456789abcdef0123456789abcdef\n" * 2000,
            "stop": stop,
        },
        daemon=True,
    )
    sender.start()
    root = spool.spool_root(hub.data_dir)
    deadline = time.monotonic() + 60
    spooled: list[Path] = []
    while time.monotonic() < deadline and not spooled:
        spooled = [p for p in root.rglob("hash-list-*") if p.stat().st_size > MIB]
        time.sleep(0.05)
    try:
        assert spooled, "the upload never reached a spool file in the data folder"
        hub.kill()  # mid-upload: no clean-up runs
    finally:
        stop.set()
        sender.join(timeout=30)
    assert spooled[0].exists()  # what the crash left ...
    assert list(hub.tmp_dir.iterdir()) == []  # ... is in the data folder, not in TMPDIR
    hub.start()
    assert not spooled[0].exists()
    assert not spooled[0].parent.exists()
