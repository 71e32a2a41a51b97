"""Round trips to PostgreSQL per add-and-deconflict, counted from the client's system calls.

On a machine shared with other work the wall clock of one addition moves 10× with the load,
while the number of times the client sends and then waits for the server does not: this
counts them. `strace` follows this process during the additions; every `recvfrom` that comes
after a `sendto` on the database socket is one round trip (pipelined messages sent back to back
count once). Needs `strace` and PostgreSQL (benchmarks/bench_network.py's server).

Run: .venv/bin/python benchmarks/deconfliction_round_trips.py --additions 20
     PYTHONPATH=../before/src .venv/bin/python benchmarks/deconfliction_round_trips.py
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_network import database
from deconfliction import _add, _other_case, preload, setup_world, valid_value

from taskforce.cases.schemas import SelectorCreate

KINDS = ["email", "phone", "username", "ip", "url", "domain", "md5", "sha1", "sha256", "imei"]


def round_trips(trace: str) -> tuple[int, int]:
    """(round trips, sendto calls) in an strace log of sendto/recvfrom."""
    trips = sends = 0
    last = ""
    for line in trace.splitlines():
        if "sendto(" in line:
            sends += 1
            last = "send"
        elif "recvfrom(" in line:
            if last == "send":
                trips += 1
            last = "recv"
    return trips, sends


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--size", type=int, default=2000, help="selectors preloaded")
    parser.add_argument("--additions", type=int, default=20, help="additions of each kind")
    args = parser.parse_args(argv)
    if shutil.which("strace") is None:
        print("strace is not installed: nothing measured", file=sys.stderr)
        return 2
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp, database("postgresql", Path(tmp)) as url:
        world = setup_world(url, Path(tmp), max(6, args.size // 500))
        preload(world, args.size, rng)
        print("| addition | round trips | sendto calls |\n|---|---:|---:|")
        for label in ("a value new to the network", "a held value (one hit)"):
            items = []
            for _ in range(args.additions + 1):
                if label.startswith("a value new"):
                    kind = rng.choice(KINDS)
                    raw, platform, _ = valid_value(rng, kind)
                    agency, case_id = _other_case(world, rng, -1)
                else:
                    held = world.held.pop(rng.randrange(len(world.held)))
                    kind, raw, platform = held.kind, held.raw, held.platform
                    agency, case_id = _other_case(world, rng, held.agency)
                data = SelectorCreate(type=kind, value=raw, platform=platform)
                items.append((agency, case_id, data))
            _add(world, *items.pop())  # warm: connection, statement caches
            log = Path(tmp) / "strace.log"
            command = ["strace", "-f", "-p", str(os.getpid()), "-e", "trace=sendto,recvfrom"]
            tracer = subprocess.Popen(  # noqa: S603 - a fixed command on this process
                [*command, "-o", str(log)], stderr=subprocess.DEVNULL
            )
            time.sleep(1.5)  # strace attached
            for item in items:
                _add(world, *item)
            time.sleep(0.5)
            tracer.terminate()
            tracer.wait()
            trips, sends = round_trips(log.read_text())
            n = len(items)
            print(f"| {label} | {trips / n:.1f} | {sends / n:.1f} |")
        world.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
