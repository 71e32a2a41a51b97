"""`taskforce demo`: build the demo (`demo.py`; with `demo_nodes.py`, three nodes), print how
to use it, and serve it until Ctrl-C."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table
from sqlalchemy import Engine

from taskforce import demo_hotline, demo_mail, demo_nodes, demo_processes, migrate
from taskforce.core.console import out
from taskforce.core.db import make_engine, make_sessionmaker, unit_of_work
from taskforce.core.settings import Settings
from taskforce.demo import DemoSummary, build_scenario
from taskforce.demo_scenario import DEMO_PASSWORD


def _fresh_database(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "taskforce.db"  # the data folder's default: TASKFORCE_DATA_DIR finds it
    for name in ("taskforce.db", "demo.db"):  # demo.db: where releases before 13 put it
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{folder / name}{suffix}").unlink(missing_ok=True)
    return path


@dataclass
class _Demo:
    settings: Settings  # the demo node's
    engine: Engine
    path: Path
    host: str
    port: int
    sink: demo_mail.MailSink
    started: float
    network: demo_nodes.Network | None = None


def run(
    settings: Settings, *, host: str, port: int, serve: bool, single_node: bool = False
) -> None:
    """Build a fresh demo database, print how to use it, and serve the hub on it; unless
    `single_node`, with two more nodes beside it (`demo_nodes.py`) on the next two ports."""
    folder = settings.data_dir / "demo"
    path = _fresh_database(folder)
    demo_nodes.forget_federation(folder)
    # e-mails go to a local mail server on a free loopback port: delivered, and readable at
    # /ui/demo/mail (demo_mail.py); nothing leaves the machine
    # (started once the scenario is built: triage forks its workers, best with no thread running)
    sink = demo_mail.MailSink(folder / "mail", port=demo_mail.free_port())
    demo_settings = sink.settings(
        settings.model_copy(
            update={
                "data_dir": folder,  # the hub's keys (the block list's signing key) live here too
                "node_signing_key": None,  # its node key too (made in the folder)
                "database_url": f"sqlite:///{path}",
                "allow_insecure_defaults": True,
                "secure_cookies": False,  # the demo serves plain http on this machine
                "public_url": f"http://{host}:{port}",  # links in e-mails and on /blocked
                "resolver_hosts_file": demo_hotline.write_hosts_file(folder),
            }
        )
    )
    engine = make_engine(demo_settings)
    demo = _Demo(demo_settings, engine, path, host, port, sink, time.monotonic())
    out.print(
        "Building the fictional demo scenario…"
        if single_node
        else "Building the fictional demo scenario on three nodes (NL, GB, the coordinator's)…"
    )
    migrate.upgrade(demo_settings, engine)
    try:
        if not single_node:  # first: the two other nodes start while this one's is built
            demo.network = demo_nodes.prepare(settings, demo_settings, engine, host, port)
            for node in demo.network.children:
                demo_processes.start(node, host)
        _build(demo)
        _serve(demo, serve=serve)
    finally:
        sink.stop()
        if demo.network is not None:
            for node in demo.network.children:
                demo_processes.stop(node)


def _build(demo: _Demo) -> None:
    settings, host, port, sink = demo.settings, demo.host, demo.port, demo.sink
    factory = make_sessionmaker(demo.engine)
    with unit_of_work(factory) as session:
        summary = build_scenario(session, settings=settings)
    if demo.network is not None:
        demo_nodes.finish(demo.network)
    demo_hotline.finish(factory, settings)
    sink.start()
    with unit_of_work(factory) as session:
        demo_mail.file_history(session, settings)
    demo_mail.deliver(factory, settings)
    elapsed = time.monotonic() - demo.started

    _print_summary(
        summary, folder=settings.data_dir, path=demo.path, url=f"http://{host}:{port}/ui/"
    )
    out.print(
        f"Demo ready in {elapsed:.1f} s: {summary.agencies} agencies, {summary.cases} cases, "
        f"{summary.selectors} selectors, {summary.hits} hits."
    )
    if summary.hotline is not None:
        h = summary.hotline
        out.print(
            f"Hotline: {h.reports} public reports, {h.notices} takedown notices ({h.removed} "
            f"removed), {h.leads} urgent leads. The public form: http://{host}:{port}/report"
        )
    if summary.features is not None:
        f = summary.features
        out.print(
            f"Triage: a run of {f.triage_files} files recorded on {f.case_reference}, "
            f"{f.proposals} candidate series proposed from it. Trace-an-object page (with a "
            f"tip): http://{host}:{port}/trace/{f.public_token}",
            markup=False,
        )
    if summary.watch is not None:
        w = summary.watch
        out.print(
            f"24/7 watch: {w.desks} desks on a follow-the-sun rota, {w.gaps} gap in the next "
            f"14 days (red on http://{host}:{port}/ui/rota), {w.preservations} preservation "
            f"requests (http://{host}:{port}/ui/preservations)",
            markup=False,
        )
    if summary.observatory is not None:
        o = summary.observatory
        out.print(
            f"Observatory: {o.period} published ({o.received or o.reports} URL reports "
            "received, "
            f"{o.countries} hosting countries, {o.suppressed} shown as fewer than "
            f"{settings.observatory_threshold}; sha256 {o.sha256[:16]}…): "
            f"http://{host}:{port}/observatory",
            markup=False,
        )
    if summary.interop is not None:
        i = summary.interop
        held = f"; {i.held_back} is marked not for export" if i.held_back else ""
        out.print(
            f"Interop: {i.exports} exports already taken ({i.objects:,} STIX objects){held}: "
            f"http://{host}:{port}/ui/interop, TAXII at http://{host}:{port}/taxii2/",
            markup=False,
        )
    if summary.commerce is not None:
        c = summary.commerce
        where = f"/ui/commerce/groups/{c.group_id}" if c.group_id else "/ui/commerce"
        out.print(
            f"Commercial sites: {c.sites} synthetic shops crawled ({c.pages} pages, text only), "
            f"{c.groups} distribution groups behind {c.brands} brands, {c.watched} wallets on "
            f"the watch list, {c.notices} notice to a payment provider: "
            f"http://{host}:{port}{where} (as GB-NCA's investigator)",
            markup=False,
        )
    if summary.chats is not None:
        t = summary.chats
        where = f"/ui/chats/conversations/{t.flagged_id}" if t.flagged_id else "/ui/chats"
        out.print(
            f"Chat logs: {t.imports} synthetic exports imported into {t.case_reference} "
            f"({t.conversations} conversations, {t.messages} messages), {t.flagged} flagged for "
            f"review: http://{host}:{port}{where} (as GB-NCA's investigator or analyst)",
            markup=False,
        )
    out.print(
        f"Mail: {demo_mail.mail_count(sink.folder)} e-mails delivered to the demo's mail server "
        f"on {sink.host}:{sink.port}; read them at http://{host}:{port}/ui/demo/mail "
        "(as an admin or the coordinator)",
        markup=False,
    )


def _serve(demo: _Demo, *, serve: bool) -> None:
    from taskforce.app import create_app

    network = demo.network
    if network is not None:

        def announce(outcome: demo_nodes.Outcome) -> None:
            _print_network(network, outcome)
            out.print(f"Network ready in {time.monotonic() - demo.started:.1f} s.")

        # served even with --no-serve until the nodes have synced (they call each other)
        demo_processes.serve(
            network, create_app(demo.settings, demo.engine), demo.port,
            keep_serving=serve, announce=announce,
        )  # fmt: skip
    elif serve:
        import uvicorn

        # the app reads forwarded addresses itself, from the trusted proxies only
        app = create_app(demo.settings, demo.engine)
        uvicorn.run(app, host=demo.host, port=demo.port, proxy_headers=False)


def _print_summary(summary: DemoSummary, *, folder: Path, path: Path, url: str) -> None:
    out.print()
    out.print("[bold]taskforce demo[/bold] — every agency, person and identifier is fictional")
    out.print(f"  data folder: {folder}", markup=False)
    out.print(f"  database:    {path}", markup=False)
    out.print(f"  open:        {url}", markup=False)
    out.print(
        f"  console:     export TASKFORCE_DATA_DIR={folder}   # then the README's "
        "taskforce lines work on the demo (source .venv/bin/activate puts taskforce on PATH)",
        markup=False,
    )
    out.print()
    table = Table(title="Demo logins", title_justify="left")
    for column in ("email", "agency", "role"):
        table.add_column(column, no_wrap=True)
    for login in summary.logins:
        table.add_row(login.email, login.agency, login.role)
    out.print(table)
    passwords = sorted({login.password for login in summary.logins})
    out.print(f"  password of every demo login: {', '.join(passwords)}", markup=False)
    d = summary.hits_by_disclosure
    out.print(
        f"  agencies: {summary.agencies}   cases: {summary.cases} ({summary.closed_cases} closed)"
        f"   selectors: {summary.selectors} ({summary.noise_selectors} on the noise list)"
    )
    out.print(
        f"  hits: {summary.hits} ({summary.acknowledged_hits} acknowledged) — full both ways "
        f"{d.get('full', 0)}, blind one way {d.get('mixed', 0)}, blind both ways "
        f"{d.get('blind', 0)}"
    )
    out.print(
        "  hits by type: " + ", ".join(f"{k} {v}" for k, v in summary.hits_by_type.items()),
        markup=False,
    )
    out.print()


def _print_network(network: demo_nodes.Network, outcome: demo_nodes.Outcome) -> None:
    """Each node's address, folder and sign-in accounts, and what to look at."""
    nl, gb, coordinator = (network.node(spec) for spec in demo_nodes.NODES)
    nl_investigator, gb_investigator = demo_nodes.NL_INVESTIGATOR, demo_nodes.GB_INVESTIGATOR
    out.print()
    out.print("[bold]The demo's network[/bold] — three nodes on this machine")
    table = Table(title_justify="left")
    for column in ("node", "open", "data folder", "sign in as"):
        table.add_column(column, no_wrap=column != "sign in as")
    table.add_row(
        f"{nl.spec.name}\n{nl.spec.role}", f"{nl.url}/ui/", str(nl.folder),
        f"{demo_nodes.NL_ADMIN} (network admin), {nl_investigator}; every login of the table "
        "above",
    )  # fmt: skip
    for node in (gb, coordinator):
        accounts = ", ".join(f"{a.email} ({a.role.replace('_', ' ')})" for a in node.logins)
        if node.spec.key_holder:
            accounts += "; the network's OPRF key holder"
        table.add_row(
            f"{node.spec.name}\n{node.spec.role}", f"{node.url}/ui/", str(node.folder), accounts
        )
    out.print(table)
    out.print(f"  password of every login: {DEMO_PASSWORD}", markup=False)
    hits = ", ".join(
        f"{spec.code.upper()} {outcome.hits[spec.code]}"
        for spec in demo_nodes.NODES
        if spec.code in outcome.hits
    )
    out.print(
        f"  cross-node hits: {hits or 'none'}; release requests waiting: {outcome.release_pending}",
        markup=False,
    )
    out.print("  look at:", markup=False)
    for line in (
        f"the Network page of each node (its network admin): {nl.url}/ui/network, "
        f"{gb.url}/ui/network, {coordinator.url}/ui/network",
        f"the cross-node hit on {demo_nodes.SHARED_EMAIL} / {demo_nodes.SHARED_PHONE}: "
        f"{nl.url}/ui/hits as {nl_investigator}, {gb.url}/ui/hits as {gb_investigator}",
        f"the NL investigator's release request, waiting for GB's decision: {gb.url}/ui/releases "
        f"as {gb_investigator} (approve or refuse, with a reason); the answer shows on the NL "
        f"hit's page ({nl.url}/ui/hits, the hit marked with node {gb.spec.name})",
    ):
        out.print(f"    - {line}", markup=False, soft_wrap=True)
    out.print(
        "  the GB and coordinator nodes are child processes of this one (their logs: "
        f"{gb.log}, {coordinator.log}); Ctrl-C here stops all three",
        markup=False,
        soft_wrap=True,
    )
    out.print()
