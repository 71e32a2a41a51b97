"""A Dask cluster of real processes on loopback (a scheduler and `dask worker` processes without
nannies, so a killed worker stays dead), for the distributed triage's tests and benchmark.

Workers import this module too (the tests folder is on their PYTHONPATH): `logged_examine`
hashes as triage does, slowly enough that a worker killed mid-run has work in hand, and logs
which process examined which file."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from distributed import Client
from distributed.security import Security

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


def _signed(
    name: str, key: ec.EllipticCurvePrivateKey, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey]
) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer[0])
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer[1] is key, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(issuer[1], hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_pki(folder: Path, names: tuple[str, ...]) -> dict[str, Path]:
    """A CA (`ca`) and, per name, `<name>` (certificate and key in one PEM file) signed by it."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"Test CA {folder.name}")])
    files = {"ca": folder / "ca.pem"}
    files["ca"].write_bytes(_signed(f"Test CA {folder.name}", ca_key, (ca_name, ca_key)))
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        files[name] = folder / f"{name}.pem"
        files[name].write_bytes(_signed(name, key, (ca_name, ca_key)) + _key_pem(key))
    return files


def _tls_args(pki: dict[str, Path] | None, name: str) -> list[str]:
    if pki is None:
        return []
    pem = str(pki[name])
    return ["--tls-ca-file", str(pki["ca"]), "--tls-cert", pem, "--tls-key", pem]


@dataclass
class LoopbackCluster:
    folder: Path
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    nanny: bool = False  # with a nanny, a worker process that dies is started again
    pki: dict[str, Path] | None = None  # TLS: ca, scheduler, worker, coordinator

    def security(self) -> Security | None:
        if self.pki is None:
            return None
        pem = str(self.pki["coordinator"])
        return Security(  # type: ignore[no-untyped-call]
            tls_ca_file=str(self.pki["ca"]),
            tls_client_cert=pem,
            tls_client_key=pem,
            require_encryption=True,
        )

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
                    *_tls_args(self.pki, "worker"),
                ],
                errors,
                _env(self.folder),
            )
        self.workers.append(process)
        alive = sum(1 for w in self.workers if w.poll() is None)
        client = Client(  # type: ignore[no-untyped-call]
            self.address, timeout=START_TIMEOUT, security=self.security(), set_as_default=False
        )
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
    folder: Path,
    workers: int,
    *,
    nanny: bool = False,
    allowed_failures: int = 3,
    pki: dict[str, Path] | None = None,
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
                *(["--protocol", "tls"] if pki else []),
                *_tls_args(pki, "scheduler"),
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
    cluster = LoopbackCluster(folder, address, scheduler, nanny=nanny, pki=pki)
    try:
        for _ in range(workers):
            cluster.add_worker()
    except BaseException:
        cluster.close()
        raise
    return cluster
