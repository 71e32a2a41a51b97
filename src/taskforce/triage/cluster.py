"""Triage across machines: the hashing of a run done by the workers of a Dask distributed cluster.

The coordinator (the `taskforce triage` process) keeps everything but the hashing: it walks the
evidence, writes the journal, the database and the report exactly as a local run does. Workers
get items in batches, a bounded number in flight (back-pressure: the walk never runs ahead of
the cluster by more than `WINDOW_PER_THREAD` batches per worker thread), and results are taken
in the order the items were sent, so the journal is the one a local run writes.

Workers read evidence files by path from shared storage: the same path on every machine, or
rewritten by `--path-map LOCAL=REMOTE`. Archive members held in memory travel as bytes; members
spilled to the report's work folder travel as bytes only when the workers cannot read that
folder (a probe file at the start decides). A batch is pure (items in, hashes out), so when a
worker dies Dask runs its batches again elsewhere, results held only by the dead worker
included, and the coordinator still writes each file once.

This module is imported only when `--scheduler` is given: `distributed` takes a while to import.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

import threadpoolctl
from distributed import Client, Future, KilledWorker
from distributed.security import Security

from taskforce.core.errors import Invalid
from taskforce.media.schemas import FileHashes
from taskforce.triage import evidence

CONNECT_TIMEOUT = 5.0  # seconds: an unreachable scheduler is reported this soon
WORKERS_TIMEOUT = 30.0  # seconds to wait for a first worker on a scheduler that has none
BATCH = 4  # items per task: fewer scheduler round trips, still fine-grained on a worker's death
WINDOW_PER_THREAD = 4  # batches in flight per worker thread
THREADS_EVERY = 2.0  # seconds between asking the scheduler how many worker threads there are
WORKER_DIED = "hashing this file stopped the worker process each time it was tried"

ExamineOne = Callable[[evidence.Item], FileHashes]


@dataclass(frozen=True)
class PathMap:
    """Evidence under `local` on the coordinator is under `remote` on the workers."""

    local: PurePosixPath
    remote: PurePosixPath

    @classmethod
    def parse(cls, text: str) -> PathMap:
        local, sep, remote = text.partition("=")
        if not sep or not local.startswith("/") or not remote.startswith("/"):
            raise Invalid("path_map", f"expected LOCAL=REMOTE, two absolute paths (got {text!r})")
        return cls(PurePosixPath(local), PurePosixPath(remote))

    def apply(self, path: Path) -> Path | None:
        """The worker's path for `path`, or None if it is not under `local`."""
        try:
            tail = PurePosixPath(path).relative_to(self.local)
        except ValueError:
            return None
        return Path(self.remote / tail)


@dataclass(frozen=True)
class Target:
    """Where the hashing goes: a scheduler address, path maps, and TLS files for `tls://`."""

    address: str
    path_maps: tuple[PathMap, ...] = ()
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def parse(
        cls,
        address: str,
        path_maps: Sequence[str] = (),
        tls: tuple[Path | None, Path | None, Path | None] = (None, None, None),
    ) -> Target:
        """Check everything the user gave before anything is done (no connection yet)."""
        scheme, sep, rest = address.partition("://")
        host, colon, port = rest.rpartition(":")
        if not sep or scheme not in ("tcp", "tls") or not colon or not host or not port.isdigit():
            raise Invalid(
                "scheduler",
                f"a Dask scheduler address such as tcp://10.0.0.5:8786 or tls://10.0.0.5:8786 "
                f"(got {address!r})",
            )
        ca, cert, key = tls
        if scheme == "tls":
            for name, path in (("tls_ca", ca), ("tls_cert", cert), ("tls_key", key)):
                if path is None:
                    raise Invalid(name, f"a tls:// scheduler needs --{name.replace('_', '-')}")
                if not path.is_file():
                    raise Invalid(name, f"no such file: {evidence.display_name(path)}")
        elif any(p is not None for p in tls):
            raise Invalid("scheduler", "certificates are for a tls:// scheduler address")
        return cls(address, tuple(PathMap.parse(m) for m in path_maps), ca, cert, key)

    def security(self) -> Security | None:
        if not self.address.startswith("tls://"):
            return None
        return Security(  # type: ignore[no-untyped-call]
            tls_ca_file=str(self.tls_ca),
            tls_client_cert=str(self.tls_cert),
            tls_client_key=str(self.tls_key),
            require_encryption=True,
        )

    def remote(self, path: Path) -> Path:
        """Where the workers find `path` (the first matching map, else the same path)."""
        for m in self.path_maps:
            mapped = m.apply(path)
            if mapped is not None:
                return mapped
        return path


_threads_limited = False


def _examine_batch(
    examine: ExamineOne, batch: list[tuple[evidence.Item, bool]]
) -> list[FileHashes]:
    """Runs on a worker. An item flagged `spilled` carries a spilled member's bytes: it is
    written to a private temporary file there, so it is hashed from a file as it is locally."""
    global _threads_limited
    if not _threads_limited:  # one BLAS thread: the worker processes already use every core
        threadpoolctl.threadpool_limits(1)
        _threads_limited = True
    out = []
    for item, spilled in batch:
        if not spilled:
            out.append(examine(item))
            continue
        assert item.data is not None
        fd, name = tempfile.mkstemp(prefix="taskforce-triage-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(item.data)
            out.append(examine(replace(item, data=None, path=Path(name))))
        finally:
            Path(name).unlink(missing_ok=True)
    return out


def _sees(paths: list[str], probe: str, token: str) -> tuple[list[str], bool]:
    """Runs on every worker at the start: which evidence paths it cannot see, and whether it
    reads the coordinator's probe file (the work folder is shared)."""
    missing = [p for p in paths if not Path(p).exists()]
    try:
        shared = Path(probe).read_text(encoding="utf-8") == token
    except OSError:
        shared = False
    return missing, shared


class Examiner:
    """The Examine of a run on a cluster: items in, their hashes out, in the same order."""

    def __init__(
        self, client: Client, target: Target, examine: ExamineOne, work_dir: Path, shared: bool
    ) -> None:
        self.client = client
        self.target = target
        self.examine = examine
        self.work_dir = work_dir
        self.work_shared = shared
        self._threads_at = -THREADS_EVERY
        self._thread_count = 1

    def _outbound(self, item: evidence.Item) -> tuple[evidence.Item, bool]:
        if item.path is None:
            return item, False  # an error, or a member held in memory: sent as it is
        if self.work_dir in item.path.parents and not self.work_shared:
            return replace(item, path=None, data=item.path.read_bytes()), True
        return replace(item, path=self.target.remote(item.path.absolute())), False

    def _threads(self) -> int:
        """Worker threads in the cluster now (asked at most every `THREADS_EVERY` seconds)."""
        now = time.monotonic()
        if now - self._threads_at > THREADS_EVERY:
            workers = self.client.scheduler_info().get("workers", {})
            self._thread_count = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
            self._threads_at = now
        return self._thread_count

    def _submit(self, batch: list[tuple[evidence.Item, bool]]) -> Future[list[FileHashes]]:
        return self.client.submit(_examine_batch, self.examine, batch, pure=False)

    def _collect(
        self, future: Future[list[FileHashes]], batch: list[tuple[evidence.Item, bool]]
    ) -> list[FileHashes]:
        """A batch's hashes. A batch whose workers kept dying (Dask gives up after
        `allowed-failures` deaths) is tried file by file, and a file that still kills its
        worker is reported as an error: one poisonous file must not stop the seizure."""
        try:
            return future.result()
        except KilledWorker:
            if len(batch) == 1:
                item = batch[0][0]
                return [FileHashes(path=item.display, error=WORKER_DIED)]
            return [h for one in batch for h in self._collect(self._submit([one]), [one])]

    def __call__(self, items: Iterator[evidence.Item]) -> Iterator[FileHashes]:
        window: deque[tuple[Future[list[FileHashes]], list[tuple[evidence.Item, bool]]]]
        window = deque()
        batch: list[tuple[evidence.Item, bool]] = []
        for item in items:
            batch.append(self._outbound(item))
            if len(batch) < BATCH:
                continue
            window.append((self._submit(batch), batch))
            batch = []
            while len(window) >= WINDOW_PER_THREAD * self._threads():
                yield from self._collect(*window.popleft())
        if batch:
            window.append((self._submit(batch), batch))
        while window:
            yield from self._collect(*window.popleft())


@contextmanager
def connect(
    target: Target, examine: ExamineOne, roots: Sequence[Path], work_dir: Path
) -> Iterator[Examiner]:
    """Connect, check the workers can import taskforce and see the evidence, then hash there."""
    try:
        client = Client(  # type: ignore[no-untyped-call]
            target.address,
            timeout=CONNECT_TIMEOUT,
            security=target.security(),
            set_as_default=False,
        )
    except (OSError, TimeoutError) as exc:
        raise Invalid(
            "scheduler",
            "unreachable",
            f"--scheduler {target.address}: no Dask scheduler answered within "
            f"{CONNECT_TIMEOUT:g} s ({exc})",
        ) from None
    try:
        shared = _check_workers(client, target, roots, work_dir)
        yield Examiner(client, target, examine, work_dir, shared)
    finally:
        client.close()  # type: ignore[no-untyped-call]


def _check_workers(client: Client, target: Target, roots: Sequence[Path], work_dir: Path) -> bool:
    """Refuse a cluster whose workers cannot do the run, before any work: a file a worker
    cannot see would otherwise be reported as an error instead of hashed."""
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        raise Invalid(
            "scheduler",
            "no workers",
            f"--scheduler {target.address}: no worker joined within {WORKERS_TIMEOUT:g} s "
            "(start them with `dask worker ADDRESS`)",
        ) from None
    work_dir.mkdir(parents=True, exist_ok=True)
    probe = work_dir / f"probe-{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    probe.write_text(token, encoding="utf-8")
    wanted = {str(target.remote(r.absolute())): evidence.display_name(r) for r in roots}
    try:
        # a task (the scheduler unpickles it, a worker runs it), then every worker
        client.submit(_sees, [], "", "", pure=False).result(timeout=WORKERS_TIMEOUT)
        answers: dict[str, Any] = client.run(
            _sees, list(wanted), str(target.remote(probe.absolute())), token
        )
    except Exception as exc:  # whatever the remote side raised: reported, not a traceback
        raise Invalid(
            "scheduler",
            "cannot run taskforce",
            f"--scheduler {target.address}: the scheduler or its workers cannot run "
            f"taskforce's code ({type(exc).__name__}: {exc}); start them from the same "
            "virtual environment and version of taskforce",
        ) from None
    finally:
        probe.unlink(missing_ok=True)
    for worker, (missing, _shared) in sorted(answers.items()):
        if missing:
            raise Invalid(
                "scheduler",
                "evidence not on shared storage",
                f"--scheduler {target.address}: worker {worker} cannot see "
                f"{wanted[missing[0]]} (as {missing[0]}): workers read the evidence from shared "
                "storage, mounted at the same path or mapped with --path-map LOCAL=REMOTE",
            )
    return all(shared for _missing, shared in answers.values())
