"""`taskforce demo`'s child nodes: the GB and coordinator nodes run as child `taskforce serve`
processes of the demo, the NL node is served by the demo process itself, and the three are
connected (`demo_nodes.connect`) once all answer. Ctrl-C stops all three."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from taskforce.core.errors import TaskforceError
from taskforce.core.settings import Settings
from taskforce.demo_nodes import NL, DemoNode, Network, NetworkFailed, Outcome, connect


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """What a child `taskforce serve` reads: this process's environment without any
    TASKFORCE_ setting, plus the node's own (and `extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFORCE_")}
    env.update(
        TASKFORCE_DATA_DIR=str(settings.data_dir),
        TASKFORCE_DATABASE_URL=settings.database_url or "",
        TASKFORCE_ALLOW_INSECURE_DEFAULTS="1",
        TASKFORCE_SECURE_COOKIES="0",
        TASKFORCE_PUBLIC_URL=settings.public_url,
        TASKFORCE_FEDERATION_KEY_HOLDER="1" if settings.federation_key_holder else "0",
        TASKFORCE_FEDERATION_PDQ_CHUNK_VALUES_PER_HOUR=str(
            settings.federation_pdq_chunk_values_per_hour
        ),
    )
    env.update(extra)
    return env


def _die_with_parent() -> None:
    """A child told to stop when the demo dies, however it dies (Linux's PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def start(node: DemoNode, host: str, **env: str) -> None:
    port = int(node.url.rsplit(":", 1)[1])
    log = node.log.open("ab")
    node.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "taskforce", "serve", "--host", host, "--port", str(port)],
        env=environment(node.settings, **env),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    log.close()


def wait_until_up(node: DemoNode, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process is not None and node.process.poll() is not None:
            raise RuntimeError(f"{node.spec.name} stopped at start; its log: {node.log}")
        try:
            if httpx.get(f"{node.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{node.spec.name} did not answer at {node.url} in {timeout:.0f} s")


def stop(node: DemoNode) -> None:
    proc = node.process
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def serve(
    network: Network,
    app: Any,
    port: int,
    *,
    keep_serving: bool,
    announce: Callable[[Outcome], None],
) -> Outcome:
    """Serve the NL node in this process, connect the three once all answer (`prepare`
    started the other two), `announce` what they show; then serve until Ctrl-C (which stops
    all three), or stop at once when not `keep_serving`."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=network.host, port=port, proxy_headers=False))
    done: dict[str, Any] = {}

    def connect_once_up() -> None:
        try:
            for node in network.children:
                wait_until_up(node)
            deadline = time.monotonic() + 90
            while not server.started:
                if server.should_exit or time.monotonic() > deadline:
                    raise NetworkFailed(f"{NL.name} did not start on port {port}")
                time.sleep(0.1)
            done["outcome"] = connect(network.nodes)
            announce(done["outcome"])
        except Exception as error:
            done["error"] = error
            server.should_exit = True
        if not keep_serving:
            server.should_exit = True

    helper = threading.Thread(target=connect_once_up, name="demo-network", daemon=True)
    helper.start()
    try:
        server.run()
    finally:
        for node in network.children:
            stop(node)
    helper.join(timeout=10)
    error = done.get("error")
    if isinstance(error, TaskforceError):
        raise NetworkFailed(f"the demo's network could not be connected: {error.message}")
    if error is not None:
        raise NetworkFailed(
            f"the demo's network could not be connected: {error} (the nodes' logs: "
            + ", ".join(str(node.log) for node in network.children)
            + ")"
        )
    if "outcome" not in done:
        raise NetworkFailed(f"{NL.name} stopped before the network was connected")
    outcome = done["outcome"]
    assert isinstance(outcome, Outcome)
    return outcome
