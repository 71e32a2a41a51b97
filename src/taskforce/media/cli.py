"""`taskforce hash PATH...`: the hashes of files, for people and (with --json) for scripts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from taskforce.core.console import err, out
from taskforce.media import hashing


def hash_command(
    paths: list[Path] = typer.Argument(..., help="Files or folders (folders are walked)"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per file and line"),
    every_frame: bool = typer.Option(
        False, "--every-frame", help="Videos: hash every frame (default: one per second)"
    ),
) -> None:
    """Print MD5, SHA-1, SHA-256 and, for images, PDQ with its quality and the EXIF camera,
    capture time and GPS position (read as triage reads them)."""
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        err.print(f"error: no such file or folder: {missing[0]}", markup=False)
        raise typer.Exit(2)
    files = list(hashing.walk(paths))
    results = []
    with Progress(
        TextColumn("hashing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=len(files) < 20,
    ) as progress:
        task = progress.add_task("hash", total=len(files))
        for path in files:
            result = hashing.hash_file(path, seconds_per_frame=0 if every_frame else 1)
            if as_json:
                out.print(
                    result.model_dump_json(exclude={"pdq_rotations"}), markup=False, soft_wrap=True
                )
            else:
                results.append(result)
            progress.advance(task)
    for r in results:  # one block per file: readable at any terminal width
        kind = r.media_type or "type unknown"
        size = f"{r.size:,} bytes" if r.size is not None else "size unknown"
        out.print(f"{r.path}  ({kind}, {size})", markup=False)
        for name in ("md5", "sha1", "sha256"):
            if getattr(r, name):
                out.print(f"  {name:<7}{getattr(r, name)}", markup=False)
        if r.pdq:
            note = "" if r.pdq_usable else f", below {hashing.MIN_PDQ_QUALITY}: never matched"
            out.print(f"  {'pdq':<7}{r.pdq}  quality {r.pdq_quality}{note}", markup=False)
        camera = " ".join(x for x in (r.camera_make, r.camera_model) if x)
        if camera or r.camera_serial:
            serial = f"  serial {r.camera_serial}" if r.camera_serial else ""
            out.print(f"  {'camera':<7}{camera or 'unknown'}{serial}", markup=False)
        if r.taken_at:
            out.print(f"  {'taken':<7}{r.taken_at}", markup=False)
        if r.gps_lat is not None and r.gps_lon is not None:
            out.print(f"  {'gps':<7}{r.gps_lat}, {r.gps_lon}", markup=False)
        if r.vpdq:
            usable = sum(1 for f in r.vpdq if f.quality >= hashing.MIN_PDQ_QUALITY)
            out.print(
                f"  {'vpdq':<7}{len(r.vpdq)} frames hashed, {usable} of quality >= "
                f"{hashing.MIN_PDQ_QUALITY} (--json lists them)",
                markup=False,
            )
        if r.vpdq_crop:
            c = r.vpdq_crop
            out.print(
                f"  {'bars':<7}cut off: hashed x {c.left}-{c.right}, y {c.top}-{c.bottom} "
                f"of {c.frame_width}x{c.frame_height}",
                markup=False,
            )
        if r.error:
            out.print(f"  error  {r.error}", markup=False)
    errors = sum(1 for r in results if r.error) if not as_json else 0
    err.print(f"{len(files)} file(s) hashed" + (f", {errors} with errors" if errors else ""))


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.command("hash")(hash_command)
