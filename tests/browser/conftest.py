"""A real server on a free port over a seeded SQLite file, and Debian's chromium driven by
Playwright (its own browser download does not work here, so the executable path is given)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine

from taskforce import migrate
from taskforce.app import create_app
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.demo import build_scenario


def chromium_path() -> str | None:
    return os.environ.get("TASKFORCE_CHROMIUM") or shutil.which("chromium")


@dataclass
class LiveServer:
    url: str
    settings: Settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[LiveServer]:
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'browser.db'}",
        allow_insecure_defaults=True,
        worker_interval_seconds=0.5,
        secure_cookies=False,  # the browser reaches the test server over plain http
        report_url_check=request.node.get_closest_marker("url_check") is not None,
    )
    hosts = request.node.get_closest_marker("hosts")
    if hosts is not None:  # the fictional hosts the test's reports name, instead of DNS
        path = tmp_path / "hosts"
        path.write_text("".join(f"{ip} {name}\n" for name, ip in hosts.args[0].items()))
        settings = settings.model_copy(update={"resolver_hosts_file": path})
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    seed = getattr(request, "param", None) or request.node.get_closest_marker("seed")
    if seed is not None:
        with unit_of_work(make_sessionmaker(engine)) as session:
            seed.args[0](session, settings)
    with serving(settings, engine) as url:
        yield LiveServer(url=url, settings=settings)
    engine.dispose()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The demo's whole fictional network (`taskforce demo`'s scenario), served once for a
    module: pages full of realistic data, for tests that walk many pages as many people."""
    folder = tmp_path_factory.mktemp("demo")
    settings = Settings(
        data_dir=folder,
        database_url=f"sqlite:///{folder / 'demo.db'}",
        allow_insecure_defaults=True,
        worker_interval_seconds=60,
        secure_cookies=False,
    )
    engine = make_engine(settings)
    migrate.upgrade(settings, engine)
    with unit_of_work(make_sessionmaker(engine)) as session:
        build_scenario(session, settings=settings)
    with serving(settings, engine) as url:
        yield LiveServer(url=url, settings=settings)
    engine.dispose()


@contextmanager
def serving(settings: Settings, engine: Engine) -> Iterator[str]:
    """The app on a free local port in a thread, for as long as the block runs; its URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "test server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Debian chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium not installed")
    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=path,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()
