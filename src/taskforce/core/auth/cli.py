from __future__ import annotations

import sys

import typer

from taskforce.core.auth import service, throttle
from taskforce.core.caller import Role, system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import NotFound

user_app = typer.Typer(help="People: users of member agencies.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for scripts.", no_args_is_help=True)


def _read_password(no_password: bool) -> str | None:
    if no_password:
        return None
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        return line or None
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("add")
def add_user(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="Login e-mail"),
    agency: str = typer.Option(..., "--agency", help="Agency code, e.g. GB-NCA"),
    role: Role = typer.Option(..., "--role", help="Role in the network"),
    name: str | None = typer.Option(None, "--name", help="Display name"),
    no_password: bool = typer.Option(
        False, "--no-password", help="API-only user: no password login"
    ),
) -> None:
    """Add a user. The password is read from a prompt, or from the first line of stdin."""
    password = _read_password(no_password)
    with unit(ctx) as session:
        user = service.create_user(
            session,
            system_caller(),
            email=email,
            agency_code=agency,
            role=role,
            password=password,
            display_name=name,
        )
        out.print(f"added {user.email} ({role.value}, {agency.upper()})")


@user_app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List users of every agency."""
    with unit(ctx) as session:
        for user in service.list_users(session, system_caller()):
            agency = service.agency_row(session, agency_id=user.agency_id)
            out.print(f"{user.email}\t{agency.code if agency else '?'}\t{user.role}")


@user_app.command("locks")
def locks(ctx: typer.Context) -> None:
    """Show the sign-in limits in force: account at an address, account, address."""
    with unit(ctx) as session:
        found = throttle.locks(session, system_caller(), state(ctx).settings)
    if not found:
        out.print("no sign-in limit is in force")
    for lock in found:
        out.print(
            f"{lock.kind}\t{lock.email or '-'}\t{lock.ip or '-'}\t{lock.failures} failures\t"
            f"lifts at {lock.until:%Y-%m-%d %H:%M} UTC",
            markup=False,
        )


@user_app.command("unlock")
def unlock(
    ctx: typer.Context,
    email: str | None = typer.Argument(None, help="Account to unlock (at every address)"),
    address: str | None = typer.Option(
        None, "--address", help="Address to unlock (with an e-mail: only that pair)"
    ),
) -> None:
    """Lift sign-in limits by forgetting the failures behind them (audited)."""
    with unit(ctx) as session:
        forgotten = throttle.lift(
            session, system_caller(), state(ctx).settings, email=email, ip=address
        )
    out.print(f"lifted: {forgotten} failed sign-ins forgotten", markup=False)


@token_app.command("create")
def create_token(
    ctx: typer.Context,
    email: str = typer.Argument(..., help="E-mail of the user the token acts as"),
    name: str = typer.Option("cli", "--name", help="What the token is for"),
    days: int | None = typer.Option(None, "--days", min=1, max=3650, help="Lifetime in days"),
) -> None:
    """Create an API token. It is printed once, as the last word of the last line."""
    with unit(ctx) as session:
        user = service.find_user(session, email)
        if user is None:
            raise_not_found()
        assert user is not None
        issued = service.create_token(
            session, system_caller(), state(ctx).settings, user=user, name=name, days=days
        )
        expires = issued.record.expires_at.date().isoformat()
    out.print(f"token for {user.email} (expires {expires}); store it now, it is not shown again:")
    out.print(issued.secret)


def raise_not_found() -> None:
    err.print("error: user not found")
    raise typer.Exit(NotFound.exit_code)
