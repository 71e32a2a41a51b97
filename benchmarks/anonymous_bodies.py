"""Anonymous bodies: what N parallel chunked POSTs without a token cost a real server.

Issue 11, finding 1: the body limit checked only `Content-Length`, so a chunked 300 MB JSON
POST with no token was read and parsed before the token check (+850 MiB per request; four in
parallel took the server from 226 to 3,543 MiB). This starts `taskforce serve` (one uvicorn
process, SQLite in a fresh data folder) on a loopback port, samples the server's resident
memory every 10 ms, and sends `--requests` POSTs of `--mib` MiB each in parallel, each on its
own connection, with chunked framing and no `Authorization` header, as fast as the server
takes them. Targets (`--target`, repeatable):

- `api`: `POST /api/v1/cases`, `Content-Type: application/json` (the issue's measurement);
- `report`: `POST /report`, a multipart form whose one part is a file (the public form);
- `notice`: `POST /ui/notices/new`, a multipart form with a file, not logged in.

For each request it prints the status the server answered, how many bytes it managed to send
before the server closed the connection (or the whole body), and the time; then the server's
memory before and at its peak. `--src DIR` runs the server from another checkout's `src`
folder (e.g. `git worktree add ../before <commit>`, then `--src ../before/src`) with this
checkout's virtual environment, to measure the code as it was.

Loopback only, bounded: each request stops at `--mib` MiB, the server is killed at the end.

Run: .venv/bin/python benchmarks/anonymous_bodies.py [--requests 4] [--mib 300] [--target api]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

console = Console(stderr=True)
MIB = 1 << 20
PIECE = 256 * 1024


@dataclass
class Result:
    target: str
    status: str = "-"
    sent: int = 0
    seconds: float = 0.0


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    samples: list[int] = field(default_factory=list)

    def rss(self) -> int:
        """Resident memory of the server and its children (uvicorn runs in one process)."""
        total = 0
        pids = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            except FileNotFoundError:
                pass
        return total


def start(data_dir: Path, src: Path | None) -> Server:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TASKFORCE_")}
    env.update(
        TASKFORCE_DATA_DIR=str(data_dir),
        TASKFORCE_ALLOW_INSECURE_DEFAULTS="1",
        TASKFORCE_WORKER="external",
        TMPDIR=str(data_dir / "tmp"),
    )
    (data_dir / "tmp").mkdir(parents=True, exist_ok=True)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.Popen(  # noqa: S603 - this interpreter running taskforce
        [sys.executable, "-m", "taskforce", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited at start")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return Server(proc=proc, port=port)
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def _request(target: str) -> tuple[str, str, bytes, bytes]:
    """Path, content type, and the bytes before and after the streamed part of the body."""
    if target == "api":
        return "/api/v1/cases", "application/json", b'{"title": "', b'"}'
    boundary = "bench" + uuid.uuid4().hex
    name = "url" if target == "report" else "image"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nurl\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    path = "/report" if target == "report" else "/ui/notices/new"
    tail = f"\r\n--{boundary}--\r\n".encode()
    return path, f"multipart/form-data; boundary={boundary}", head, tail


def post(port: int, target: str, size: int, result: Result) -> None:
    path, content_type, head, tail = _request(target)
    started = time.monotonic()
    response = bytearray()
    closed = threading.Event()
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)

    def read() -> None:
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            response.extend(data)
        closed.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    piece = b"x" * PIECE
    frame = b"%x\r\n" % PIECE + piece + b"\r\n"
    try:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            f"Content-Type: {content_type}\r\n\r\n".encode()
        )
        sock.sendall(b"%x\r\n" % len(head) + head + b"\r\n")
        while result.sent < size and not closed.is_set():
            sock.sendall(frame)
            result.sent += PIECE
        if result.sent >= size:
            sock.sendall(b"%x\r\n" % len(tail) + tail + b"\r\n0\r\n\r\n")
    except OSError:
        pass
    closed.wait(timeout=600)
    sock.close()
    result.seconds = time.monotonic() - started
    status_line = bytes(response).split(b"\r\n", 1)[0].decode("latin-1", "replace")
    result.status = status_line.removeprefix("HTTP/1.1 ") or "(no answer)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4)
    parser.add_argument("--mib", type=int, default=300)
    parser.add_argument("--target", action="append", choices=["api", "report", "notice"])
    parser.add_argument("--src", type=Path, default=None, help="run the server from this src")
    args = parser.parse_args()
    targets = args.target or ["api"]
    with tempfile.TemporaryDirectory(prefix="taskforce-bench-") as folder:
        server = start(Path(folder), args.src)
        try:
            time.sleep(1.0)
            before = server.rss()
            peak = before
            stop = threading.Event()

            def sample() -> None:
                nonlocal peak
                while not stop.is_set():
                    peak = max(peak, server.rss())
                    time.sleep(0.01)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            results: list[Result] = []
            for target in targets:
                batch = [Result(target) for _ in range(args.requests)]
                threads = [
                    threading.Thread(target=post, args=(server.port, target, args.mib * MIB, r))
                    for r in batch
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                results += batch
            time.sleep(0.5)
            stop.set()
            sampler.join()
            after = server.rss()
        finally:
            server.proc.send_signal(signal.SIGKILL)
            server.proc.wait()
    table = Table(title=f"{args.requests} parallel chunked {args.mib} MiB POSTs, no token")
    for column in ("target", "answer", "MiB sent before close", "seconds"):
        table.add_column(column)
    for r in results:
        table.add_row(r.target, r.status, f"{r.sent / MIB:,.1f}", f"{r.seconds:.2f}")
    console.print(table)
    console.print(
        f"server memory: {before / MIB:,.0f} MiB before, {peak / MIB:,.0f} MiB at peak "
        f"(+{(peak - before) / MIB:,.0f}), {after / MIB:,.0f} MiB after"
    )


if __name__ == "__main__":
    main()
