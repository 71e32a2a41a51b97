"""`taskforce audit`: verify the log against its signed heads, seal now, show the newest head."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from taskforce.core import signing
from taskforce.core.audit import heads, seal, service
from taskforce.core.audit.verify import load_evidence, verify
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import TaskforceError

app = typer.Typer(
    help="The audit log, sealed in a Merkle tree with signed heads.", no_args_is_help=True
)


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    heads_files: list[Path] = typer.Option(
        [],
        "--heads",
        exists=True,
        dir_okay=False,
        help="A copy of heads.jsonl or head.json kept elsewhere; repeat for both (default: the "
        "audit folder's, with its leaves)",
    ),
    leaves_file: Path | None = typer.Option(
        None, "--leaves", exists=True, dir_okay=False, help="A copy of leaves.bin kept elsewhere"
    ),
    public_key: str | None = typer.Option(
        None, "--public-key", help="The hub's audit key (base64 or its file; default: this hub's)"
    ),
) -> None:
    """Check every entry, the Merkle tree and the signed heads; exit 1 naming the first bad
    entry when the log was altered, removed from, reordered, rewritten or truncated."""
    settings = state(ctx).settings
    try:
        public = signing.load_public_given(public_key) if public_key else None
        evidence = load_evidence(
            settings, heads_files=heads_files, leaves_file=leaves_file, public=public
        )
    except (TaskforceError, OSError) as error:
        err.print(f"error: {getattr(error, 'message', error)}", markup=False)
        raise typer.Exit(2) from None
    columns = (
        TextColumn("verifying"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("entries"),
        TimeRemainingColumn(),
    )
    with unit(ctx) as session, Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("verify", total=service.count(session))
        result = verify(session, evidence, progress=lambda n: progress.advance(task, n))
    evidence.close()
    if not result.ok:
        where = (
            f"entry {result.first_bad_seq}"
            if result.first_bad_seq is not None
            else f"place {result.first_bad_index}"
        )
        err.print(
            f"audit log BROKEN at {where}: {result.reason} "
            f"({result.checked:,} entries verified before it)",
            markup=False,
        )
        raise typer.Exit(1)
    against = (
        f"{result.heads_checked:,} signed heads (newest: {result.newest_head:,} entries)"
        if result.newest_head is not None
        else "no signed head yet"
    )
    out.print(
        f"audit log intact: {result.checked:,} entries, {result.sealed:,} sealed (root "
        f"{result.root}), {result.pending:,} waiting to be sealed; checked against {against}",
        markup=False,
    )


@app.command("seal")
def seal_command(ctx: typer.Context) -> None:
    """Seal the entries written since the last round and sign a head (the server and the worker
    do this every second; this is for cron or before shipping the heads file)."""
    st = state(ctx)
    result = seal.seal(st.sessionmaker, st.settings, history=True)
    if result.problem:
        err.print(f"error: {result.problem}", markup=False)
        raise typer.Exit(1)
    out.print(
        f"{result.sealed:,} entries sealed; tree of {result.tree_size:,} entries, root "
        f"{result.root_hash}; {result.exported:,} leaves exported to {st.settings.audit_folder}",
        markup=False,
    )


@app.command("head")
def head_command(ctx: typer.Context) -> None:
    """Print the newest signed head of this machine's audit folder (JSON): ship it elsewhere to
    detect a later truncation or rewrite."""
    path = state(ctx).settings.audit_folder / "head.json"
    line = heads.newest_line(path)
    if line is None:
        err.print(f"error: no signed head in {path} yet (run taskforce audit seal)")
        raise typer.Exit(1)
    typer.echo(json.dumps(json.loads(line), indent=2, sort_keys=True))


@app.command("public-key")
def public_key_command(ctx: typer.Context) -> None:
    """The public key that checks the signed heads (base64 of its 32 raw bytes)."""
    private = heads.signing_key(state(ctx).settings)
    typer.echo(signing.public_b64(private.public_key()))
