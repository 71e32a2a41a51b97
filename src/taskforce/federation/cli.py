"""`taskforce federation ...`: the network's OPRF key on the key-holder node."""

from __future__ import annotations

import json

import typer

from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import TaskforceError
from taskforce.federation import keys, service

app = typer.Typer(help="Federation between sovereign nodes.", no_args_is_help=True)
key_app = typer.Typer(
    help="The network's OPRF key (on the key-holder node only).", no_args_is_help=True
)
app.add_typer(key_app, name="key")


def _print(key: keys.EpochKey, verb: str) -> None:
    out.print(f"{verb} epoch {key.epoch}: public key {key.public_key.hex()}", soft_wrap=True)


@key_app.command("init")
def key_init(ctx: typer.Context) -> None:
    """Create the first epoch's key (mode 0600 in the data folder); refused if one exists."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        created = service.init_key(session, system_caller(), settings)
    _print(created, "created")
    out.print(f"kept in {keys.folder(settings)}", markup=False, soft_wrap=True)


@key_app.command("rotate")
def key_rotate(ctx: typer.Context) -> None:
    """Start a new epoch; the older keys stay, read-only, until their tokens are re-blinded."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        created = service.rotate_key(session, system_caller(), settings)
    _print(created, "created")


@key_app.command("show")
def key_show(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line"),
) -> None:
    """The public key of every epoch held (what peers verify evaluations against)."""
    try:
        published = service.public_keys(state(ctx).settings)
    except TaskforceError as exc:
        err.print(f"error: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    if not published:
        err.print("error: no OPRF key yet; run `taskforce federation key init`", markup=False)
        raise typer.Exit(1)
    for key in published:
        if as_json:
            line = {"epoch": key.epoch, "public_key": key.public_key.hex(), "current": key.current}
            out.print(json.dumps(line), markup=False, soft_wrap=True)
        else:
            _print(key, "current" if key.current else "read-only")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="federation")
