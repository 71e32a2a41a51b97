"""Public report form under load: reports/s through real HTTP, none lost, on PostgreSQL.

Target: **≥ 200 reports/s sustained on 2 cores with PostgreSQL, none lost (count them after).**

What runs: a fresh PostgreSQL database built by the migrations, the real app served as in
production in a subprocess (`taskforce serve --workers W`; or, with `--serve uvicorn`,
`uvicorn taskforce.app:create_app --factory --workers W --no-access-log`, whose shared socket
leaves Nagle on: ~40 ms per keep-alive answer, see cli.tcp_listener), and a load generator of a
few processes, each holding C keep-alive connections. Every connection comes from its own
loopback source address (the whole 127.0.0.0/8 is local on Linux) and sends at most 4 reports,
under the form's limit of 5 per address per 10 minutes, which stays switched on. One report is
one visit: GET the kind's form (its signed `form_token`), then POST the form as a browser would
(url-encoded: the token, kind, lang, the kind's fields, country); `--posts-per-page 4` posts
four reports per page fetched, to isolate the POST. Kinds: 80 % URL, 15 % grooming (a third
with a meeting planned), 5 % danger; every report's text is unique.

Baselines from the same server and load generator, in the same run: `GET /healthz` (the
framework's ceiling: routing, middleware, a JSON body) and `GET /report?kind=url` (the public
page: template, 250 countries, a form token).

None lost: every 200 answer carries a receipt code; after the run the rows of `public_report`
are counted and the SHA-256 of every code (`reports.service.receipt_hash`) must be there, the
audit chain must verify and hold one `report.public.create` entry per report. Exits 1 if any
accepted report is missing or any report was refused as rate-limited (429).

CPU is read from /proc for the server's process tree, the bench database's PostgreSQL backends,
PostgreSQL's shared background processes, the load generator, and the rest of the machine.

Run: .venv/bin/python benchmarks/public_form.py [--seconds 30] [--workers 2] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import multiprocessing as mp
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, func, select, text

from taskforce import migrate
from taskforce.core.audit import verify as audit
from taskforce.core.audit.models import AuditEntry
from taskforce.core.db import make_engine, make_sessionmaker
from taskforce.core.jobs import runner as jobs
from taskforce.core.settings import Settings
from taskforce.reports.models import Report
from taskforce.watch.models import UrgentLead

console = Console(stderr=True, width=None if sys.stderr.isatty() else 150)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TARGET = 200.0  # reports/s
WINDOW_S = 5.0
REPORTS_PER_ADDRESS = 4  # the form allows 5 per address per 10 minutes
TOKEN_RE = re.compile(rb'name="form_token" value="([^"]+)"')
RECEIPT_RE = re.compile(rb'class="rp-receipt"><code>([A-Z0-9-]+)</code>')
COUNTRIES = ["GB", "ES", "MX", "US", "DE", "FR", "NL", "AR", "CO", "IE", "IT", "BR", ""]
PLATFORMS = ["Instagram", "TikTok", "Snapchat", "Discord", "Roblox", "WhatsApp", "Telegram"]
WORDS = [
    "message",
    "photo",
    "asked",
    "meet",
    "school",
    "park",
    "after",
    "weekend",
    "secret",
    "account",
    "sent",
    "video",
    "call",
    "game",
    "chat",
    "friend",
    "older",
    "said",
    "again",
    "online",
    "phone",
    "number",
    "bus",
    "station",
    "tomorrow",
    "evening",
]

# --- /proc readings -------------------------------------------------------------------------

CLK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds used: user + system) of a process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _all_pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]


def _tree(root: int, parents: dict[int, int]) -> set[int]:
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found


@dataclass
class CpuSample:
    at: float
    machine_busy: float  # seconds of all cores, from /proc/stat (user+nice+system+irq+softirq)
    steal: float
    server: dict[int, float]
    pg_bench: dict[int, float]
    pg_other: dict[int, float]  # the rest of the cluster: walwriter, checkpointer, other dbs
    clients: dict[int, float]
    me: float


def sample_cpu(server_pid: int, client_pids: list[int], db_name: str) -> CpuSample:
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in parts]
    busy = (ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]) / CLK
    steal = ticks[7] / CLK if len(ticks) > 7 else 0.0
    stats: dict[int, tuple[int, float]] = {}
    for pid in _all_pids():
        st = _stat(pid)
        if st is not None:
            stats[pid] = st
    parents = {pid: st[0] for pid, st in stats.items()}
    server_tree = _tree(server_pid, parents)
    client_set = set(client_pids)
    sample = CpuSample(time.time(), busy, steal, {}, {}, {}, {}, time.process_time())
    for pid, (_, cpu) in stats.items():
        if pid in server_tree:
            sample.server[pid] = cpu
        elif pid in client_set:
            sample.clients[pid] = cpu
        elif pid != os.getpid():
            cmd = _cmdline(pid)
            if cmd.startswith("postgres"):
                (sample.pg_bench if f" {db_name} " in cmd else sample.pg_other)[pid] = cpu
    return sample


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two samples; a process born in between counts from zero (one that
    ended in between is lost: the server and the pool keep theirs for the whole run)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


@dataclass
class CpuUse:
    """Cores used on average over the measured window."""

    server: float
    pg_bench: float
    pg_other: float
    clients: float
    others: float
    steal: float


def cpu_use(a: CpuSample, b: CpuSample) -> CpuUse:
    span = b.at - a.at
    server = _delta(a.server, b.server)
    pg_bench = _delta(a.pg_bench, b.pg_bench)
    pg_other = _delta(a.pg_other, b.pg_other)
    clients = _delta(a.clients, b.clients)
    busy = b.machine_busy - a.machine_busy
    others = busy - server - pg_bench - pg_other - clients - (b.me - a.me)
    return CpuUse(
        server / span,
        pg_bench / span,
        pg_other / span,
        clients / span,
        max(0.0, others) / span,
        (b.steal - a.steal) / span,
    )


# --- the load generator (runs in child processes) -------------------------------------------


@dataclass
class Plan:
    phase: str  # healthz | page | report
    port: int
    concurrency: int
    start_at: float  # time.time() when requests begin (warm-up first)
    measure_from: float
    stop_at: float  # no new connection or request after this
    address_prefix: tuple[int, int]  # 127.A.B.* with B counting up from the second number
    posts_per_page: int
    seed: int
    timeout: float  # seconds for one answer; then the request counts as timed out


@dataclass
class Outcome:
    phase: str
    records: list[tuple[str, float, float, int]] = field(default_factory=list)
    # (request: get|post|healthz|page, completed at, seconds, status; 0: connection error,
    # -1: no answer within the timeout)
    receipts: list[tuple[str, str, bool]] = field(default_factory=list)  # (code, kind, urgent)
    errors: Counter[str] = field(default_factory=Counter)


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def report_form(rng: random.Random, serial: str) -> tuple[str, dict[str, str], bool]:
    """(kind, the kind's fields with unique content, urgent) for one report."""
    roll = rng.random()
    if roll < 0.80:
        host = f"{rng.choice(WORDS)}{rng.randrange(10**6)}.example.{rng.choice(['net', 'org'])}"
        url = f"https://{host}/{rng.choice(['gallery', 'v', 'p', 'files'])}/{serial}"
        if rng.random() < 0.1:
            url = url.removeprefix("https://")  # typed without the scheme: accepted
        return (
            "url",
            {
                "url": url,
                "where_found": rng.choice(["", "", "a link in a forum post", "search results"]),
                "description": rng.choice(["", f"{_words(rng, rng.randrange(5, 40))} ({serial})"]),
            },
            False,
        )
    if roll < 0.95:
        meeting = rng.random() < 1 / 3
        fields = {
            "platform": rng.choice(PLATFORMS),
            "adult_username": f"user_{serial[:12]}",
            "child_username": rng.choice(["", f"kid_{serial[12:20]}"]),
            "excerpt": f"{_words(rng, rng.randrange(20, 200))} [{serial}]",
            "when": rng.choice(["", "yesterday", "last week", "2026-11-20"]),
        }
        if meeting:
            fields["meeting"] = "on"
        return "grooming", fields, meeting
    return (
        "danger",
        {
            "what": f"{_words(rng, rng.randrange(10, 80))} [{serial}]",
            "where": rng.choice(["", "near the station", "a flat above the shop on High Street"]),
        },
        True,
    )


class Connection:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams (a fraction of httpx's CPU per
    request, which leaves more of the 2 cores to the server under test)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, timeout: float
    ):
        self.reader, self.writer, self.host, self.timeout = reader, writer, host, timeout

    @classmethod
    async def open(cls, port: int, source: str, timeout: float) -> Connection:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0), limit=1 << 20),
            timeout,
        )
        return cls(reader, writer, f"127.0.0.1:{port}", timeout)

    async def request(
        self, method: str, path: str, body: bytes | None = None, lang: str = "en"
    ) -> tuple[int, bytes]:
        """(status, body); (-1, b"") when no answer came within the timeout (the connection
        is then unusable: the caller closes it)."""
        try:
            return await asyncio.wait_for(self._request(method, path, body, lang), self.timeout)
        except TimeoutError:
            return -1, b""

    async def _request(
        self, method: str, path: str, body: bytes | None, lang: str
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAccept-Language: {lang}\r\n"
        if body is not None:
            head += (
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\n"
            )
        self.writer.write(head.encode() + b"\r\n" + (body or b""))
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length, chunked = 0, False
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length)
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            parts.append(await self.reader.readexactly(size + 2))
            if size == 0:
                return status, b"".join(parts)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


async def _visitor_loop(plan: Plan, addresses: Iterator[str], out: Outcome, seed: int) -> None:
    """One keep-alive connection per source address, REPORTS_PER_ADDRESS reports on it (or as
    many GETs for a baseline), then the next address."""
    rng = random.Random(seed)
    per_connection = REPORTS_PER_ADDRESS * (1 + 1 / plan.posts_per_page)
    while time.time() < plan.stop_at:
        source = next(addresses)
        try:
            conn = await Connection.open(plan.port, source, plan.timeout)
        except (OSError, TimeoutError) as exc:
            out.errors[f"connect: {type(exc).__name__}"] += 1
            out.records.append(("connect", time.time(), 0.0, 0))
            await asyncio.sleep(0.05)
            continue
        try:
            if plan.phase != "report":
                path = "/healthz" if plan.phase == "healthz" else "/report?kind=url&country=GB"
                for _ in range(round(per_connection)):
                    if time.time() >= plan.stop_at:
                        break
                    started = time.perf_counter()
                    status, _ = await conn.request("GET", path)
                    out.records.append(
                        (plan.phase, time.time(), time.perf_counter() - started, status)
                    )
                    if status < 0:
                        break
                continue
            token = ""
            for n in range(REPORTS_PER_ADDRESS):
                if time.time() >= plan.stop_at:
                    break
                serial = f"{uuid.UUID(int=rng.getrandbits(128)).hex}"
                kind, fields, urgent = report_form(rng, serial)
                lang = "es" if rng.random() < 0.2 else "en"
                country = rng.choice(COUNTRIES)
                if n % plan.posts_per_page == 0:
                    started = time.perf_counter()
                    status, page = await conn.request(
                        "GET", f"/report/{lang}?kind={kind}&country={country}", lang=lang
                    )
                    out.records.append(("get", time.time(), time.perf_counter() - started, status))
                    found = TOKEN_RE.search(page)
                    if status < 0:
                        out.errors["GET form: no answer"] += 1
                        break
                    if status != 200 or found is None:
                        out.errors[f"form page {status} without a token"] += 1
                        break
                    token = found.group(1).decode()
                body = urlencode(
                    {"form_token": token, "kind": kind, "lang": lang, **fields, "country": country}
                ).encode()
                started = time.perf_counter()
                status, answer = await conn.request("POST", "/report", body, lang=lang)
                out.records.append(("post", time.time(), time.perf_counter() - started, status))
                if status < 0:
                    out.errors["POST: no answer"] += 1
                    break
                if status == 200:
                    got = RECEIPT_RE.search(answer)
                    if got is None:
                        out.errors["200 without a receipt code"] += 1
                    else:
                        out.receipts.append((got.group(1).decode(), kind, urgent))
                elif status != 429:
                    out.errors[f"POST {status}"] += 1
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            out.errors[f"{type(exc).__name__}"] += 1
            out.records.append(("error", time.time(), 0.0, 0))
        finally:
            conn.close()


def _addresses(prefix: tuple[int, int]) -> Iterator[str]:
    a, b = prefix
    while True:
        for c in range(1, 255):
            yield f"127.{a}.{b}.{c}"
        b += 1
        if b > 255:
            a, b = a + 1, 0


async def _run_plan(plan: Plan) -> Outcome:
    out = Outcome(plan.phase)
    addresses = _addresses(plan.address_prefix)
    await asyncio.sleep(max(0.0, plan.start_at - time.time()))
    tasks = [
        asyncio.create_task(_visitor_loop(plan, addresses, out, plan.seed * 1000 + i))
        for i in range(plan.concurrency)
    ]
    await asyncio.gather(*tasks)
    return out


def client_process(plan: Plan, results: Any) -> None:
    results.put(asyncio.run(_run_plan(plan)))


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def database() -> Iterator[tuple[str, str]]:
    name = f"taskforce_bench_{uuid.uuid4().hex[:6]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name, PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def server(
    url: str, workdir: Path, port: int, workers: int, how: str
) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "TASKFORCE_DATABASE_URL": url,
        "TASKFORCE_SECRET_KEY": secrets.token_urlsafe(32),
        "TASKFORCE_DATA_DIR": str(workdir),
        # the form's URL check would reach out for each fictional address: the benchmark
        # measures the form and the database, as before the check existed
        "TASKFORCE_REPORT_URL_CHECK": "false",
    }
    if how == "taskforce":
        cmd = [
            sys.executable,
            "-m",
            "taskforce",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "taskforce.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - its own session: the workers end with it
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.time() + 60
        ready = 0
        while ready < 20:  # every worker up: 20 answers in a row
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("server did not start:\n" + (workdir / "server.log").read_text())
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    ready = ready + 1 if s.recv(100).startswith(b"HTTP/1.1 200") else 0
            except OSError:
                ready = 0
                time.sleep(0.2)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


# --- a phase: plan, run, collect ------------------------------------------------------------


@dataclass
class PhaseResult:
    phase: str
    seconds: float
    records: list[tuple[str, float, float, int]]
    receipts: list[tuple[str, str, bool]]
    errors: Counter[str]
    cpu: CpuUse
    measure_from: float
    measure_to: float

    def measured(self, request: str) -> list[tuple[str, float, float, int]]:
        return [
            r
            for r in self.records
            if r[0] == request and self.measure_from <= r[1] < self.measure_to
        ]

    def rate(self, request: str, status: int = 200) -> float:
        ok = [r for r in self.measured(request) if r[3] == status]
        return len(ok) / self.seconds

    def windows(self, request: str) -> list[float]:
        """Answers/s in each whole window of WINDOW_S seconds (one window if the phase is
        shorter); a partial window at the end is left out."""
        width = min(WINDOW_S, self.seconds)
        n = max(1, int(self.seconds // width))
        counts = [0] * n
        for r in self.measured(request):
            i = int((r[1] - self.measure_from) // width)
            if r[3] == 200 and i < n:
                counts[i] += 1
        return [c / width for c in counts]

    def latency_ms(self, request: str) -> tuple[float, float, float]:
        times = sorted(r[2] * 1000 for r in self.measured(request) if r[3] == 200)
        if len(times) < 2:
            return (0.0, 0.0, 0.0)
        q = statistics.quantiles(times, n=100, method="inclusive")
        return q[49], q[94], q[98]

    def statuses(self) -> Counter[str]:
        seen: Counter[str] = Counter()
        for r in self.records:
            status = {0: "conn-error", -1: "no answer"}.get(r[3], r[3])
            seen[f"{r[0]} {status}"] += 1
        return seen


def run_phase(
    phase: str,
    args: argparse.Namespace,
    port: int,
    server_pid: int,
    db_name: str,
    index: int,
    seconds: float,
) -> PhaseResult:
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 2.0  # the spawned interpreters import first
    measure_from = start_at + args.warmup
    stop_at = measure_from + seconds
    per_proc = [
        args.concurrency // args.clients + (i < args.concurrency % args.clients)
        for i in range(args.clients)
    ]
    procs = []
    for i in range(args.clients):
        plan = Plan(
            phase=phase,
            port=port,
            concurrency=per_proc[i],
            start_at=start_at,
            measure_from=measure_from,
            stop_at=stop_at,
            address_prefix=(10 + index * 20 + i * 2, 0),
            posts_per_page=args.posts_per_page,
            seed=args.seed + 100 * index + i,
            timeout=args.timeout,
        )
        p = ctx.Process(target=client_process, args=(plan, results), daemon=True)
        p.start()
        procs.append(p)
    pids = [p.pid for p in procs if p.pid is not None]
    time.sleep(max(0.0, measure_from - time.time()))
    spy = None
    if args.py_spy and phase == "report":
        spy = subprocess.Popen(  # noqa: S603 - a profiler the user asked for by path
            [
                args.py_spy_bin,
                "record",
                "--pid",
                str(server_pid),
                "--subprocesses",
                "--format",
                "raw",
                "--rate",
                "100",
                "--gil",
                "--output",
                args.py_spy,
                "--duration",
                str(int(seconds)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    before = sample_cpu(server_pid, pids, db_name)
    time.sleep(max(0.0, stop_at - time.time()))
    after = sample_cpu(server_pid, pids, db_name)
    if spy is not None:
        spy.wait(30)
    outcomes: list[Outcome] = [results.get(timeout=args.timeout + 60) for _ in procs]
    for p in procs:
        p.join(10)
    merged = PhaseResult(
        phase, seconds, [], [], Counter(), cpu_use(before, after), measure_from, stop_at
    )
    for o in outcomes:
        merged.records.extend(o.records)
        merged.receipts.extend(o.receipts)
        merged.errors.update(o.errors)
    return merged


# Where a report's server CPU goes, from py-spy's collapsed stacks (--gil: only the thread that
# holds the GIL is sampled, so waits on PostgreSQL, locks and sockets do not count). The first
# group matches anywhere in the stack, in this order; the second by the innermost frame.
PROFILE_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("form token check", ("check_form_token",)),
    ("connection checkout (pool, pre-ping)", ("sqlalchemy/pool/", "do_ping")),
    ("throttle queries (_over_limit)", ("_over_limit",)),
    ("audit chain (lock, head, insert)", ("core/audit/service.py",)),
    ("urgent lead, savepoint (after_report)", ("after_report", "_after (")),
    ("report + throttle insert (submit_report)", ("submit_report",)),
    ("commits", ("Session.commit", "do_commit")),
    ("field checks (clean, country)", ("reports/schemas.py",)),
    ("form body parsing (multipart)", ("multipart", "Request.form", "_get_form")),
    ("thanks page: template, response", ("send_report",)),
    ("form page (GET): template, token", ("report_page",)),
    ("session open/close (get_session)", ("get_session", "unit_of_work")),
)
PROFILE_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("HTTP parsing and writing (uvicorn)", ("h11/", "httptools", "uvicorn/protocols")),
    ("routing, dependencies, middleware", ("fastapi/", "starlette/", "taskforce/app.py")),
    ("event loop, thread hand-offs", ("asyncio", "anyio", "threading", "queue.py", "uvloop")),
)


def profile_breakdown(path: Path) -> list[tuple[str, int]]:
    """(step, samples) from a py-spy raw file, largest first."""
    counts: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        step = next((name for name, marks in PROFILE_STEPS if any(m in stack for m in marks)), "")
        if not step:
            for frame in reversed(stack.split(";")):
                step = next(
                    (name for name, marks in PROFILE_LAYERS if any(m in frame for m in marks)), ""
                )
                if step:
                    break
        counts[step or "other"] += int(n)
    return counts.most_common()


def stuck_sessions(db_name: str) -> list[tuple[Any, ...]]:
    """The bench database's sessions that are waiting or hold a transaction open (what a
    request that got no answer is stuck behind)."""
    admin = create_engine(PG_ADMIN)
    try:
        with admin.connect() as conn:
            return [
                tuple(row)
                for row in conn.execute(
                    text(
                        "SELECT pid, state, wait_event_type, wait_event, left(query, 60), "
                        "round(extract(epoch FROM now() - xact_start)::numeric, 1) "
                        "FROM pg_stat_activity WHERE datname = :db AND xact_start IS NOT NULL"
                    ),
                    {"db": db_name},
                )
            ]
    finally:
        admin.dispose()


# --- after the run: count them ----------------------------------------------------------------


def receipt_hash(code: str) -> str:
    """As `reports.service.receipt_hash` (the check imports that too and compares)."""
    return hashlib.sha256("".join(ch for ch in code.upper() if ch.isalnum()).encode()).hexdigest()


@dataclass
class Count:
    accepted: int
    rows: int
    lost: int
    extra: int
    urgent_expected: int
    urgent_leads: int
    audit_entries: int
    audit_ok: bool
    audit_checked: int


def count_after(url: str, receipts: list[tuple[str, str, bool]]) -> Count:
    from taskforce.reports import intake, service

    settings = Settings(database_url=url, allow_insecure_defaults=True)
    engine = make_engine(settings)
    try:
        # what a `taskforce worker` does beside the servers: arrivals go into the audit chain
        # in batches (the form itself takes no chain lock for a report that is not urgent)
        started = time.monotonic()
        logged = 0
        while done := jobs.once(make_sessionmaker(engine), service.log_arrivals):
            logged += done
        console.print(
            f"worker's audit of arrivals: {logged:,} reports in {time.monotonic() - started:.1f} s"
        )
        with make_sessionmaker(engine)() as s:
            stored = set(s.scalars(select(Report.receipt_hash)))
            expected = {intake.receipt_hash(code) for code, _, _ in receipts}
            assert expected == {receipt_hash(code) for code, _, _ in receipts}
            leads = s.scalar(select(func.count()).select_from(UrgentLead)) or 0
            entries = (
                s.scalar(select(func.count()).where(AuditEntry.action == "report.public.create"))
                or 0
            )
            verified = audit.verify(s)
    finally:
        engine.dispose()
    return Count(
        accepted=len(receipts),
        rows=len(stored),
        lost=len(expected - stored),
        extra=len(stored - expected),
        urgent_expected=sum(1 for r in receipts if r[2]),
        urgent_leads=leads,
        audit_entries=entries,
        audit_ok=verified.ok,
        audit_checked=verified.checked,
    )


# --- output ---------------------------------------------------------------------------------


def _cores(c: CpuUse) -> str:
    return (
        f"{c.server:.2f} / {c.pg_bench:.2f} / {c.pg_other:.2f} / {c.clients:.2f} / {c.others:.2f}"
    )


def phase_rows(results: list[PhaseResult]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in results:
        request = {"healthz": "healthz", "page": "page", "report": "post"}[r.phase]
        label = {
            "healthz": "GET /healthz (framework ceiling)",
            "page": "GET /report?kind=url (public page)",
            "report": "POST /report (reports)",
        }[r.phase]
        win = r.windows(request)
        p50, p95, p99 = r.latency_ms(request)
        rows.append(
            (
                label,
                f"{r.rate(request):,.1f}",
                f"{min(win):,.1f}",
                f"{statistics.median(win):,.1f}",
                f"{p50:.1f} / {p95:.1f} / {p99:.1f}",
                _cores(r.cpu),
                f"{r.cpu.server * 1000 / r.rate(request):.2f}" if r.rate(request) else "—",
            )
        )
        if r.phase == "report" and r.measured("get"):
            g50, g95, g99 = r.latency_ms("get")
            rows.append(
                (
                    "… its GET of the kind's form",
                    f"{r.rate('get'):,.1f}",
                    "",
                    "",
                    f"{g50:.1f} / {g95:.1f} / {g99:.1f}",
                    "",
                    "",
                )
            )
    return rows


PHASE_COLUMNS = (
    "phase",
    "ok/s",
    "min 5 s",
    "median 5 s",
    "p50 / p95 / p99 ms",
    "cores: server / pg bench / pg rest / client / other",
    "server CPU ms per answer",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured report phase")
    parser.add_argument("--baseline-seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before each phase")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes")
    parser.add_argument("--concurrency", type=int, default=16, help="connections in all")
    parser.add_argument(
        "--posts-per-page",
        type=int,
        default=1,
        help="reports posted per GET of the form (1: every report is a visit)",
    )
    parser.add_argument(
        "--serve",
        choices=["uvicorn", "taskforce"],
        default="taskforce",
        help="uvicorn --factory, or `taskforce serve --workers`",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="seconds a request may wait for its answer"
    )
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument(
        "--py-spy",
        metavar="FILE",
        help="record the server's workers with py-spy during the report phase "
        "(collapsed stacks; its sampling costs the server some CPU)",
    )
    parser.add_argument("--py-spy-bin", default=str(Path(sys.executable).parent / "py-spy"))
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args(argv)

    load_start = os.getloadavg()
    console.print(
        f"load average at start: {load_start[0]:.2f} {load_start[1]:.2f} "
        f"{load_start[2]:.2f} ({os.cpu_count()} CPUs)"
    )
    results: list[PhaseResult] = []
    with tempfile.TemporaryDirectory() as tmp, database() as (db_name, url):
        settings = Settings(database_url=url, data_dir=Path(tmp), allow_insecure_defaults=True)
        engine = make_engine(settings)
        migrate.upgrade(settings, engine)
        engine.dispose()
        port = free_port()
        with server(url, Path(tmp), port, args.workers, args.serve) as proc:
            phases = (
                []
                if args.no_baselines
                else [("healthz", args.baseline_seconds), ("page", args.baseline_seconds)]
            )
            phases.append(("report", args.seconds))
            for index, (phase, seconds) in enumerate(phases):
                console.print(
                    f"[bold]{phase}[/]: {seconds:.0f} s after {args.warmup:.0f} s "
                    f"warm-up, {args.concurrency} connections"
                )
                result = run_phase(phase, args, port, proc.pid, db_name, index, seconds)
                results.append(result)
                request = {"healthz": "healthz", "page": "page", "report": "post"}[phase]
                console.print(
                    f"  {result.rate(request):,.1f}/s; answers: "
                    f"{dict(sorted(result.statuses().items()))}"
                )
                if result.errors:
                    console.print(f"  [yellow]errors: {dict(result.errors)}")
            stuck = (
                stuck_sessions(db_name)
                if any(r[3] < 0 for res in results for r in res.records)
                else []
            )
            log_text = (Path(tmp) / "server.log").read_text(errors="replace")
        report = results[-1]
        counted = count_after(url, report.receipts)
    load_end = os.getloadavg()

    posts = [r for r in report.records if r[0] == "post"]
    limited = sum(1 for r in posts if r[3] == 429)
    bad = Counter(r[3] for r in posts if r[3] not in (200, 429))
    rate = report.rate("post")
    wins = report.windows("post")
    sustained = min(wins)
    base = {
        r.phase: r.rate("healthz" if r.phase == "healthz" else "page")
        for r in results
        if r.phase != "report"
    }

    title = (
        f"Public form on PostgreSQL: {args.workers} uvicorn workers, "
        f"{args.concurrency} connections from {args.clients} client processes"
    )
    table = Table(title=title)
    for col in PHASE_COLUMNS:
        table.add_column(col, justify="left" if col == "phase" else "right")
    for row in phase_rows(results):
        table.add_row(*row)
    console.print(table)

    met = sustained >= TARGET and counted.lost == 0 and limited == 0
    summary = [
        (
            "reports/s (measured window)",
            f"{rate:,.1f}",
            f"≥ {TARGET:.0f}: {'met' if rate >= TARGET else 'missed'}",
        ),
        (
            "reports/s, slowest 5 s window",
            f"{sustained:,.1f}",
            f"windows: {', '.join(f'{w:.0f}' for w in wins)}",
        ),
        (
            "reports accepted (whole run, warm-up included)",
            f"{counted.accepted:,}",
            f"rows in public_report: {counted.rows:,}",
        ),
        ("lost", f"{counted.lost}", "accepted receipts whose hash is not stored"),
        ("stored without a receipt answered", f"{counted.extra}", "no answer reached the client"),
        ("rate-limited (429)", f"{limited}", "must be 0: a fresh address per 4 reports"),
        (
            "other failures",
            f"{sum(bad.values()) + sum(report.errors.values())}",
            f"{dict(bad)} {dict(report.errors)}" if bad or report.errors else "",
        ),
        ("urgent leads", f"{counted.urgent_leads:,}", f"expected {counted.urgent_expected:,}"),
        (
            "audit entries report.public.create",
            f"{counted.audit_entries:,}",
            f"chain {'verifies' if counted.audit_ok else 'BROKEN'} ({counted.audit_checked:,} "
            "entries)",
        ),
    ]
    c = report.cpu
    if rate:
        per_report = (c.server + c.pg_bench + c.pg_other + c.clients) / rate
        cores = os.cpu_count() or 1
        summary.append(
            (
                "CPU per report: server + PostgreSQL + client",
                f"{per_report * 1000:.1f} ms",
                f"{cores} idle cores would carry ≈ {cores / per_report:,.0f} reports/s"
                " at this cost",
            )
        )
    for phase, value in base.items():
        summary.append(
            (
                f"reports/s ÷ {phase} baseline",
                f"{rate / max(value, 1e-9):.3f}",
                f"{value:,.1f} {phase} answers/s",
            )
        )
    summary.append(
        (
            "load average start → end",
            f"{load_start[0]:.2f} → {load_end[0]:.2f}",
            f"1-min; 5-min {load_start[1]:.2f} → {load_end[1]:.2f}",
        )
    )
    stable = Table(title="Against the target")
    for col in ("measure", "result", "note"):
        stable.add_column(col)
    for row in summary:
        stable.add_row(*row)
    console.print(stable)
    console.print(f"lost: {counted.lost}")
    if stuck:
        console.print(
            "[red]requests went unanswered; the bench database's open transactions "
            "when the load stopped (pid, state, wait, query, seconds open):"
        )
        for row in stuck:
            console.print(f"  {row}")
    profile_rows: list[tuple[str, ...]] = []
    if args.py_spy and Path(args.py_spy).exists() and rate:
        steps = profile_breakdown(Path(args.py_spy))
        total = sum(n for _, n in steps) or 1
        per_report_ms = report.cpu.server * 1000 / rate
        for name, n in steps:
            profile_rows.append(
                (name, f"{100 * n / total:.1f} %", f"{per_report_ms * n / total:.2f}")
            )
        ptable = Table(
            title=f"Server CPU per report by step (py-spy --gil, {total:,} samples; "
            f"{per_report_ms:.2f} ms per report in all)"
        )
        for col in ("step", "share", "ms per report"):
            ptable.add_column(col, justify="left" if col == "step" else "right")
        for row in profile_rows:
            ptable.add_row(*row)
        console.print(ptable)
    tracebacks = log_text.count("Traceback")
    if tracebacks:
        console.print(
            f"[yellow]server log: {tracebacks} tracebacks; last lines:\n"
            + "\n".join(log_text.splitlines()[-30:])
        )

    out = sys.stdout
    out.write("| " + " | ".join(PHASE_COLUMNS) + " |\n|" + "---|" * len(PHASE_COLUMNS) + "\n")
    for row in phase_rows(results):
        out.write("| " + " | ".join(row) + " |\n")
    out.write("\n| measure | result | note |\n|---|---|---|\n")
    for row in summary:
        out.write("| " + " | ".join(row) + " |\n")
    if profile_rows:
        out.write("\n| step (py-spy --gil) | share | ms per report |\n|---|---:|---:|\n")
        for row in profile_rows:
            out.write("| " + " | ".join(row) + " |\n")
    console.print(f"[bold]{'target met' if met else 'target not met'}[/]")
    return 1 if counted.lost or limited or counted.accepted == 0 else 0


if __name__ == "__main__":
    raise SystemExit(main())
