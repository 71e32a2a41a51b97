from __future__ import annotations

import typer

from taskforce.core.audit import service
from taskforce.core.console import err, out, unit

app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@app.command()
def verify(ctx: typer.Context) -> None:
    """Check the whole chain; exit 1 and name the first bad entry if it is broken."""
    with unit(ctx) as session:
        result = service.verify(session)
    if result.ok:
        out.print(f"audit chain intact: {result.checked} entries, head {result.head}")
        return
    err.print(
        f"audit chain BROKEN at entry {result.first_bad_seq}: {result.reason} "
        f"({result.checked} entries before it verified)"
    )
    raise typer.Exit(1)


@app.command()
def head(ctx: typer.Context) -> None:
    """Print the newest entry's number and hash; publish it to detect later truncation."""
    with unit(ctx) as session:
        seq, digest = service.head(session)
    out.print(f"{seq} {digest}")
