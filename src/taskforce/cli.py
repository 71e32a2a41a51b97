"""The `taskforce` command: serve, demo, db, and one sub-command group per domain."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from taskforce import domains
from taskforce.core.audit import cli as audit_cli
from taskforce.core.auth import cli as auth_cli
from taskforce.core.console import State, err, out, state
from taskforce.core.errors import TaskforceError
from taskforce.core.outbox import cli as outbox_cli
from taskforce.core.proposals import cli as proposals_cli
from taskforce.core.settings import Settings, unknown_environment_variables
from taskforce.federation import identity

if TYPE_CHECKING:
    import uvicorn

app = typer.Typer(
    help="taskforce: cross-border deconfliction hub for agencies fighting online child sexual "
    "exploitation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(auth_cli.user_app, name="user")
app.add_typer(auth_cli.token_app, name="token")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(outbox_cli.app, name="outbox")
app.add_typer(proposals_cli.app, name="proposal")
for _domain_cli in domains.modules("cli"):
    _domain_cli.install(app)


@app.callback()
def main_callback(ctx: typer.Context) -> None:
    if ctx.obj is None:
        for name in unknown_environment_variables():
            err.print(f"warning: {name} matches no setting (see docs/settings.md)")
        try:
            ctx.obj = State(settings=Settings())
        except ValueError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Create or upgrade the database schema to the newest version."""
    from taskforce import migrate

    settings = state(ctx).settings
    migrate.upgrade(settings, state(ctx).engine_to_upgrade)
    out.print(f"database at newest schema: {_safe_url(settings.effective_database_url)}")
    identity.signing_key(settings)  # the node's federation key, made here if absent


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Fail if the models and the migrations disagree (run in CI), or the database is behind."""
    from alembic.util import CommandError

    from taskforce import migrate

    _ = state(ctx).engine  # a database without a schema is refused here, and no file is made
    try:
        migrate.check(state(ctx).settings)
    except CommandError as exc:
        if "not up to date" in str(exc):
            err.print(
                "error: this database is behind the newest schema: run `taskforce db upgrade`"
            )
            raise typer.Exit(2) from None
        err.print(f"error: the models and the migrations disagree: {exc}", markup=False)
        raise typer.Exit(1) from None
    out.print("models and migrations agree")


def _safe_url(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(8000, "--port", help="Port to listen on"),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Worker processes, one per core; above 1 each worker builds the app from the "
        "TASKFORCE_* environment",
    ),
    access_log: bool = typer.Option(
        False,
        "--access-log/--no-access-log",
        help="Log every request with the client's address (off by default: the public report "
        "pages promise not to keep reporters' addresses)",
    ),
) -> None:
    """Run the hub (API and pages), upgrading the database schema first."""
    import uvicorn

    from taskforce import migrate
    from taskforce.app import create_app

    st = state(ctx)
    try:
        st.settings.require_real_secret()
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    migrate.upgrade(st.settings, st.engine_to_upgrade)
    database = _safe_url(st.settings.effective_database_url)
    out.print(f"taskforce on http://{host}:{port}/  (database {database}, {workers} workers)")
    for line in plain_http_notice(st.settings):
        err.print(line, markup=False)
    if not st.settings.worker_in_process:
        out.print("background jobs: run `taskforce worker` beside this server (TASKFORCE_WORKER)")
    if workers == 1:
        app_ = create_app(st.settings, st.engine_to_upgrade)
        uvicorn.run(
            app_,
            host=host,
            port=port,
            log_level="info",
            access_log=access_log,
            proxy_headers=False,  # the app believes forwarded headers from trusted_proxies only
        )
        return
    st.engine_to_upgrade.dispose()  # the workers open their own connections
    config = uvicorn.Config(
        "taskforce.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=access_log,
        proxy_headers=False,
    )
    from uvicorn.supervisors import Multiprocess

    sock = tcp_listener(config)
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


def plain_http_notice(settings: Settings) -> list[str]:
    """What an operator must know about serving plain http: the hub speaks no TLS itself."""
    proxies = ", ".join(settings.trusted_proxies) or "none"
    if settings.secure_cookies:
        return [
            "note: this server speaks plain http. Session cookies are Secure, so browsers sign "
            "in only through an HTTPS reverse proxy in front of it (trusted proxies: "
            f"{proxies}); TASKFORCE_SECURE_COOKIES=false only for a trial on this machine."
        ]
    return [
        "warning: TASKFORCE_SECURE_COOKIES is off: session cookies travel over plain http, "
        "where anyone on the network path can read them and sign in as your users. Serve "
        "behind HTTPS and remove the setting."
    ]


def tcp_listener(config: uvicorn.Config) -> socket.socket:
    """uvicorn's listening socket for its worker processes, with its protocol set to TCP.

    `uvicorn.Config.bind_socket` leaves the protocol at 0; accepted connections inherit it and
    asyncio then never sets TCP_NODELAY on them (it checks for IPPROTO_TCP), so a response
    written in two pieces (headers, then body) waits for the client's delayed ACK: about 40 ms
    per request on Linux (Kludex/uvicorn#3149). A single worker is not affected: asyncio binds
    that socket itself.
    """
    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6) or bound.proto:
        return bound
    tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    tcp.set_inheritable(True)
    return tcp


@app.command()
def demo(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on"),
    port: int = typer.Option(
        8000, "--port", help="Port of the demo node; the GB and coordinator nodes take the next two"
    ),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Build the demo data (and connect the three nodes) and exit"
    ),
    single_node: bool = typer.Option(
        False, "--single-node", help="Only the demo node, without the GB and coordinator nodes"
    ),
) -> None:
    """Build a fresh synthetic multinational scenario on SQLite and serve it: three nodes
    (NL, GB and the coordinator's, peered) on PORT, PORT+1 and PORT+2."""
    from taskforce import demo_command, demo_nodes

    # said now, not after a minute of building; the three nodes listen even with --no-serve
    wanted = [port] if single_node else demo_nodes.ports(port)
    if single_node and no_serve:
        wanted = []
    busy = [p for p in wanted if not port_free(host, p)]
    if busy:
        nodes = "" if single_node else " (the demo's three nodes take PORT, PORT+1, PORT+2)"
        free = max(wanted) + 1
        err.print(
            f"error: port {busy[0]} is in use on {host}{nodes}; choose another: taskforce demo "
            f"--port {free} (make demo PORT={free})",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)
    try:
        demo_command.run(
            state(ctx).settings, host=host, port=port, serve=not no_serve, single_node=single_node
        )
    except TaskforceError as exc:
        err.print(f"error: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (the way uvicorn binds: SO_REUSEADDR)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError:
        return False
    return True


@app.command()
def worker(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Run one round and exit"),
) -> None:
    """Run the background jobs: routing, the outbox, re-checks, urgent-lead escalation.

    Several workers may run at once against PostgreSQL; none does a job another took."""
    from taskforce import migrate
    from taskforce import worker as worker_module
    from taskforce.core import spool
    from taskforce.core.audit.seal import Sealer

    st = state(ctx)
    migrate.upgrade(st.settings, st.engine_to_upgrade)
    spool.sweep(st.settings.data_dir)  # what crashed processes left (the server does the same)
    tools = worker_module.default_tools(st.settings)

    def show(done: dict[str, int]) -> None:
        parts = [f"{count} {name}" for name, count in done.items() if count]
        out.print(f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S}Z  " + ", ".join(parts or ["idle"]))

    if once:
        show(worker_module.run_round(st.sessionmaker, st.settings, tools))
        return
    database = _safe_url(st.settings.effective_database_url)
    out.print(
        f"taskforce worker on {database}; a round every {st.settings.worker_interval_seconds:g} s "
        f"when idle; Ctrl-C stops"
    )
    sealer = Sealer(st.sessionmaker, st.settings) if st.settings.audit_seal_seconds else None
    if sealer is not None:
        sealer.start()  # heads within seconds, whatever the worker's interval
    try:
        worker_module.run_forever(st.sessionmaker, st.settings, tools=tools, report=show)
    except KeyboardInterrupt:
        out.print("worker stopped")
    finally:
        if sealer is not None:
            sealer.stop()


def main() -> None:
    app()
