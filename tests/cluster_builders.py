"""A Dask cluster of real processes on loopback (a scheduler and `dask worker` processes without
nannies, so a killed worker stays dead), for the distributed triage's tests and benchmark.

Workers import this module too (the tests folder is on their PYTHONPATH): `logged_examine`
hashes as triage does, slowly enough that a worker killed mid-run has work in hand, and logs
which process examined which file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from distributed import Client

from taskforce.media.schemas import FileHashes
from taskforce.triage import evidence
from taskforce.triage.service import examine

LOG_ENV = "TASKFORCE_TEST_EXAMINED_LOG"
SLOW_SECONDS = 0.1
START_TIMEOUT = 60.0


def logged_examine(item: evidence.Item) -> FileHashes:
    """Runs on a worker: log `pid<TAB>display` before hashing, then hash after a pause."""
    log = os.environ.get(LOG_ENV)
    if log:
        with Path(log).open("a", encoding="utf-8") as f:
            f.write(f"{os.getpid()}\t{item.display}\n")
    time.sleep(SLOW_SECONDS)
    return examine(item)


def poisoned_examine(item: evidence.Item) -> FileHashes:
    """Runs on a worker: a file named `poison.jpg` ends the worker process, as a decoder that
    crashes on a hostile file would; every other file is hashed as triage does."""
    if item.display.endswith("/poison.jpg"):
        os._exit(70)
    return examine(item)


def examined(log: Path) -> list[tuple[int, str]]:
    """(pid, display) per examination logged by `logged_examine`, in order."""
    if not log.exists():
        return []
    rows = [line.split("\t", 1) for line in log.read_text(encoding="utf-8").splitlines()]
    return [(int(pid), display) for pid, display in rows]


@dataclass
class LoopbackCluster:
    folder: Path
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    nanny: bool = False  # with a nanny, a worker process that dies is started again

    @property
    def log(self) -> Path:
        return self.folder / "examined.log"

    def add_worker(self) -> subprocess.Popen[bytes]:
        """One more single-threaded worker process; returns once the scheduler has it."""
        n = len(self.workers)
        with (self.folder / f"w{n}.log").open("wb") as errors:
            process = _start(
                [
                    "distributed.cli.dask_worker",
                    self.address,
                    "--nthreads",
                    "1",
                    "--nanny" if self.nanny else "--no-nanny",
                    "--no-dashboard",
                    "--host",
                    "127.0.0.1",
                    "--name",
                    f"w{n}",
                    "--local-directory",
                    str(self.folder / f"w{n}"),
                ],
                errors,
                _env(self.folder),
            )
        self.workers.append(process)
        alive = sum(1 for w in self.workers if w.poll() is None)
        client = Client(self.address, timeout=START_TIMEOUT, set_as_default=False)  # type: ignore[no-untyped-call]
        with client:
            client.wait_for_workers(alive, timeout=START_TIMEOUT)
        return process

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _env(folder: Path) -> dict[str, str]:
    root = Path(__file__).resolve().parents[1]
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root / "tests")]),
        "OMP_NUM_THREADS": "1",
        LOG_ENV: str(folder / "examined.log"),
    }


def _start(
    module_and_args: list[str], errors: IO[bytes], env: dict[str, str] | None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *module_and_args], env=env, stdout=subprocess.DEVNULL, stderr=errors
    )


def start_cluster(
    folder: Path, workers: int, *, nanny: bool = False, allowed_failures: int = 3
) -> LoopbackCluster:
    """A scheduler on a free loopback port and `workers` worker processes. `allowed_failures`:
    how many worker deaths a task may cause before Dask gives up on it (`KilledWorker`)."""
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    with (folder / "scheduler.log").open("wb") as errors:
        scheduler = _start(
            [
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            errors,
            {  # the scheduler unpickles the tasks: it imports taskforce too
                **_env(folder),
                "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": str(allowed_failures),
            },
        )
    deadline = time.monotonic() + START_TIMEOUT
    while not info.exists() or not info.read_text():
        if scheduler.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError((folder / "scheduler.log").read_text())
        time.sleep(0.1)
    time.sleep(0.1)  # the file is written in one go, but let it be complete
    address = json.loads(info.read_text())["address"]
    cluster = LoopbackCluster(folder, address, scheduler, nanny=nanny)
    try:
        for _ in range(workers):
            cluster.add_worker()
    except BaseException:
        cluster.close()
        raise
    return cluster
