"""`taskforce triage EVIDENCE... --out REPORT_DIR`: seized media against known hash sets."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from taskforce.agencies import service as agency_service
from taskforce.core.console import err, out, state, unit
from taskforce.triage import service


def _count_files(roots: list[Path]) -> int:
    """Files on disk under the roots (archive members are added as they are found)."""
    total = 0
    for root in roots:
        if root.is_dir() and not root.is_symlink():
            for _folder, _dirs, files in os.walk(root):
                total += len(files)
        else:
            total += 1
    return total


def triage_command(
    ctx: typer.Context,
    evidence: list[Path] = typer.Argument(..., help="Folders, files and archives to triage"),
    out_dir: Path = typer.Option(..., "--out", help="Report folder (resumes if it has a run)"),
    agency: str = typer.Option(..., "--agency", help="Agency running the triage, e.g. GB-NCA"),
    case: str | None = typer.Option(None, "--case", help="Case reference to feed new material to"),
    hashset: list[str] = typer.Option([], "--hashset", help="Hash set (default: all visible)"),
    workers: int = typer.Option(0, "--workers", help="Hashing processes (default: one per core)"),
    pdq_threshold: int | None = typer.Option(
        None, "--pdq-threshold", help="Largest PDQ Hamming distance that matches (default 31)"
    ),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Hash on a Dask cluster, e.g. tcp://10.0.0.5:8786; workers read the evidence "
        "from shared storage",
    ),
    path_map: list[str] = typer.Option(
        [],
        "--path-map",
        help="LOCAL=REMOTE: evidence under LOCAL here is under REMOTE on the workers",
    ),
    tls_ca: Path | None = typer.Option(None, "--tls-ca", help="CA certificate (tls://)"),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="Client certificate (tls://)"),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="Client key (tls://)"),
) -> None:
    """Hash every file (archives opened), match known sets, write the report, feed the case."""
    settings = state(ctx).settings
    options = service.Options(
        threshold=settings.pdq_match_threshold if pdq_threshold is None else pdq_threshold,
        workers=workers,
        hash_sets=hashset,
        case_reference=case,
        scheduler=scheduler,
        path_map=path_map,
        tls=(tls_ca, tls_cert, tls_key),
    )
    with unit(ctx) as session:
        service.check_paths(evidence, out_dir)  # before the progress bar, naming the path
        service.cluster_target(options)  # a bad --scheduler too (connecting comes later)
        total = _count_files(evidence)
        caller = agency_service.operator(session, agency)
        with Progress(
            TextColumn("triage"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("files"),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("triage", total=total, rate="")

            def advance(done: int, _path: str) -> None:
                elapsed = progress.tasks[0].elapsed or 0
                rate = f"{done / elapsed:,.0f} files/s" if elapsed > 1 else ""
                progress.update(task, completed=done, total=max(total, done), rate=rate)

            summary = service.run(
                session,
                caller,
                settings,
                evidence,
                out_dir,
                options,
                advance,
                checkpoint=session.commit,  # an interrupted run keeps what it recorded
            )
    out.print(
        f"{summary.files_total:,} files, {summary.files_hashed:,} hashed: "
        f"{summary.matched_exact:,} known by exact hash, {summary.matched_perceptual:,} by PDQ, "
        f"{summary.new_images:,} new images, {summary.identified_victims:,} with an identified "
        f"victim, {len(summary.errors):,} errors"
        + (f"; {summary.selectors_added:,} selectors added to {case}" if case else "")
    )
    out.print(
        f"report: {out_dir / 'report.html'}  (also summary.json, results.csv, results.vics.json)"
    )
    if case:
        out.print(f"recorded with case {case}: the case's Triage page shows this run")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.command("triage")(triage_command)
