"""`taskforce federation ...` (the network's OPRF key on the key-holder node), `taskforce node`
(this node's identity) and `taskforce peer` (the nodes it talks to)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import Invalid, TaskforceError
from taskforce.federation import (
    directory,
    feeds,
    identity,
    keys,
    pdq_rounds,
    peering,
    profiles,
    publish,
    service,
    sync,
    transport,
)
from taskforce.federation.models import Peer, Profile

app = typer.Typer(help="Federation between sovereign nodes.", no_args_is_help=True)
key_app = typer.Typer(
    help="The network's OPRF key (on the key-holder node only).", no_args_is_help=True
)
app.add_typer(key_app, name="key")


def _print(key: keys.EpochKey, verb: str) -> None:
    out.print(f"{verb} epoch {key.epoch}: public key {key.public_key.hex()}", soft_wrap=True)
    chunk = key.pdq_chunk_public_key
    out.print(
        f"  PDQ-chunk key {chunk.hex()}"
        if chunk
        else "  no PDQ-chunk key (made before it existed)",
        soft_wrap=True,
    )


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
    """The public keys of every epoch held, exact-match and PDQ-chunk (what peers verify
    evaluations against)."""
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
            chunk = key.pdq_chunk_public_key
            line = {
                "epoch": key.epoch,
                "public_key": key.public_key.hex(),
                "pdq_chunk_public_key": chunk.hex() if chunk else None,
                "current": key.current,
            }
            out.print(json.dumps(line), markup=False, soft_wrap=True)
        else:
            _print(key, "current" if key.current else "read-only")


node_app = typer.Typer(help="This node's identity for federation.", no_args_is_help=True)
peer_app = typer.Typer(help="The nodes this node is peered with.", no_args_is_help=True)


@node_app.command("init")
def init(
    ctx: typer.Context,
    name: str = typer.Option(..., "--name", help="The node's name, e.g. 'NL national node'"),
    country: str = typer.Option(..., "--country", help="ISO 3166-1 alpha-2, e.g. NL"),
    url: str = typer.Option(
        ..., "--url", help="Address peers reach it at, e.g. https://tf.example.nl"
    ),
) -> None:
    """Name this node (its id and key stay the same when run again)."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        node = peering.init_node(
            session, settings, system_caller(), name=name, country=country, url=url
        )
        out.print(f"node {node.id}: {node.name} ({node.country}) at {node.url}")
    out.print(f"fingerprint: {peering.own_fingerprint(settings)}")


@node_app.command("show")
def show(
    ctx: typer.Context,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the document here"),
) -> None:
    """Print this node's peering document (JSON, to hand to another node's admin); its
    fingerprint goes to stderr, to read out over the phone."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        document = peering.peering_document(session, settings)
    text = json.dumps(document, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
        out.print(f"peering document written to {output}")
    else:
        out.print(text, markup=False)
    err.print(f"fingerprint: {peering.own_fingerprint(settings)}")


def _read(file: Path) -> identity.PeeringDocument:
    try:
        text = file.read_text() if str(file) != "-" else typer.get_text_stream("stdin").read()
        data = json.loads(text)
    except OSError as error:
        raise Invalid("file", f"cannot be read: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise Invalid("file", "must hold a peering document (JSON)") from None
    return identity.read_document(data)


@peer_app.command("add")
def add(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The other node's peering document ('-': stdin)"),
    yes: bool = typer.Option(False, "--yes", help="Do not ask to confirm the fingerprint"),
    key_holder: bool = typer.Option(
        False, "--key-holder", help="It is the network's OPRF key holder (it receives nothing)"
    ),
) -> None:
    """Peer with another node: shows its fingerprint to compare over the phone, then adds it."""
    with unit(ctx) as session:
        document = _read(file)
        out.print(
            f"node {document.node_id}: {document.name} ({document.country}) at {document.url}"
        )
        out.print(f"fingerprint: {document.fingerprint}")
        if not yes and not typer.confirm(
            "Does the other node's admin read out the same fingerprint?", default=False
        ):
            err.print("not peered: nothing was done")
            raise typer.Exit(1)
        peer = peering.add_peer(session, system_caller(), document)
        # named before anything is said: a refusal (another key holder) adds nothing
        said = peering.set_key_holder(session, system_caller(), peer, True) if key_holder else None
        out.print(f"peered with {peer.name}")
        if said is not None:
            _said(said.messages)


def _said(lines: list[str]) -> None:
    for line in lines:
        out.print(line, markup=False, soft_wrap=True)


@peer_app.command("key-holder")
def key_holder(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The peer's name"),
    unset: bool = typer.Option(False, "--unset", help="It is no longer the key holder"),
) -> None:
    """Name the peer that holds the network's OPRF key (at most one): this node's tokens are
    made through it, and it receives no selectors."""
    with unit(ctx) as session:
        peer = peering.peer_by_name(session, name)
        _said(peering.set_key_holder(session, system_caller(), peer, not unset).messages)


def _kept(found: Profile | None, field: str, default: list[str]) -> list[str]:
    return list(getattr(found, field)) if found is not None else default


def _given(option: bool | None, found: Profile | None, field: str, default: bool) -> bool:
    """An option given wins; else the profile's value; else the strict default."""
    if option is not None:
        return option
    return bool(getattr(found, field)) if found is not None else default


@peer_app.command("profile")
def profile(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The peer's name"),
    kinds: str | None = typer.Option(
        None, "--kinds", help="Selector types that may cross, e.g. email,phone, or all; '' none"
    ),
    levels: str | None = typer.Option(
        None, "--levels", help="Sharing levels that may cross, e.g. red,amber; '' none"
    ),
    green_plaintext: bool | None = typer.Option(
        None,
        "--green-plaintext/--no-green-plaintext",
        help="GREEN selectors cross as plaintext (else as blinded tokens)",
    ),
    release: bool | None = typer.Option(
        None,
        "--release/--no-release",
        help="Details of AMBER and GREEN hits wait for your release (RED's always do)",
    ),
    clear: bool = typer.Option(False, "--clear", help="Back to no profile: nothing crosses"),
) -> None:
    """What a peer receives, in words; with options, change it (options not given keep their
    value; a peer without a profile starts from nothing)."""
    changes = (kinds, levels, green_plaintext, release)
    with unit(ctx) as session:
        peer = peering.peer_by_name(session, name)
        found = profiles.get_profile(session, peer.id)
        if clear:
            if any(c is not None for c in changes):
                raise Invalid("clear", "cannot be combined with other options")
            cleared = profiles.clear_profile(session, system_caller(), peer)
            out.print(f"profile of {peer.name} {'cleared' if cleared else 'was not set'}")
            found = None
        elif any(c is not None for c in changes):
            found = profiles.set_profile(
                session,
                system_caller(),
                peer,
                kinds=kinds.split(",") if kinds is not None else _kept(found, "kinds", []),
                levels=levels.split(",") if levels is not None else _kept(found, "levels", []),
                green_plaintext=_given(green_plaintext, found, "green_plaintext", False),
                release_required=_given(release, found, "release_required", True),
            )
            out.print(f"profile of {peer.name} changed")
        out.print(f"{peer.name}:", markup=False)
        _said([f"  {line}" for line in profiles.describe(peer, found)])


@peer_app.command("list")
def list_peers(ctx: typer.Context) -> None:
    """The peers: name, state, country, URL, last contact, last error, last sync, and
    "key holder" on the peer that holds the network key (`peer profile NAME`: what it
    receives)."""
    with unit(ctx) as session:
        for p in peering.list_peers(session):
            contact = f"{p.last_contact_at:%Y-%m-%d %H:%M}Z" if p.last_contact_at else "never"
            synced = f"{p.synced_at:%Y-%m-%d %H:%M}Z" if p.synced_at else "never synced"
            out.print(
                f"{p.name}\t{p.state}\t{p.country}\t{p.url}\t{contact}\t{p.last_error or ''}"
                f"\t{synced}\t{'key holder' if p.key_holder else ''}",
                markup=False,
            )


@peer_app.command("remove")
def remove(ctx: typer.Context, name: str = typer.Argument(..., help="The peer's name")) -> None:
    """Stop answering a peer: its requests are refused (403) from now on."""
    with unit(ctx) as session:
        peer = peering.remove_peer(session, system_caller(), name)
        out.print(f"removed {peer.name}")


def _target(ctx: typer.Context, name: str) -> peering.Target:
    with unit(ctx) as session:
        return peering.target(session, system_caller(), name)


def _failed(ctx: typer.Context, target: peering.Target, error: TaskforceError) -> None:
    """Say why a call to a peer failed, and keep it on the peer when the peer was the cause."""
    if isinstance(error, transport.PeerUnreachable):
        with unit(ctx) as session:
            peering.note_error(session, target, error.message)
    err.print(f"error: {error.message}", markup=False, soft_wrap=True)
    raise typer.Exit(error.exit_code)


@peer_app.command("hello")
def hello(ctx: typer.Context, name: str = typer.Argument(..., help="The peer's name")) -> None:
    """Ask a peer who it is over a signed request (checks both sides' peering)."""
    target = _target(ctx, name)
    try:
        answer = directory.hello(state(ctx).settings, target)
    except TaskforceError as error:
        _failed(ctx, target, error)
        return
    with unit(ctx) as session:
        peering.note_contact(session, target)
    out.print(f"{answer.name} ({answer.country}, node {answer.node_id}) answered at {answer.time}")


@peer_app.command("sync-directory")
def sync_directory(
    ctx: typer.Context, name: str = typer.Argument(..., help="The peer's name")
) -> None:
    """Fetch a peer's agencies, 24/7 contact points and partnerships, and keep them."""
    target = _target(ctx, name)
    try:
        received = directory.fetch_directory(state(ctx).settings, target)
    except TaskforceError as error:
        _failed(ctx, target, error)
        return
    with unit(ctx) as session:
        peer = session.get(Peer, target.peer_id)
        assert peer is not None
        count = peering.store_directory(session, system_caller(), peer, received)
    out.print(f"{target.name}: {count} agencies")


@peer_app.command("agencies")
def agencies(ctx: typer.Context, name: str = typer.Argument(..., help="The peer's name")) -> None:
    """The agencies a peer's directory named at its last sync."""
    with unit(ctx) as session:
        for a in peering.peer_agencies(session, peering.peer_by_name(session, name)):
            out.print(
                f"{a.code}\t{a.country}\t{a.name}\t{a.contact_desk}\t{a.contact_phone}\t"
                f"{a.contact_email}\t{','.join(a.partners)}",
                markup=False,
            )


def _published(report: publish.PublishReport) -> None:
    if report.tokenised:
        out.print(f"{report.tokenised} selector values tokenised under epoch {report.epoch}")
    if report.token_error:
        err.print(f"warning: not tokenised: {report.token_error}", markup=False, soft_wrap=True)
    if report.pdq.tokenised:
        out.print(
            f"{report.pdq.tokenised} PDQ values cut into chunk tokens under epoch "
            f"{report.pdq.epoch}; {report.pdq.candidates} new candidates"
        )
    if report.pdq.error:
        err.print(
            f"warning: PDQ values not tokenised: {report.pdq.error}", markup=False, soft_wrap=True
        )
    for p in report.peers:
        nudged = {True: "; nudged", False: "; nudge failed (it pulls on its schedule)"}
        out.print(
            f"{p.peer}: {p.upserts} added or changed, {p.withdrawals} withdrawn; feed head "
            f"{p.head}{nudged.get(p.nudged, '') if p.nudged is not None else ''}",
            markup=False,
        )


@app.command("publish")
def publish_command(ctx: typer.Context) -> None:
    """Tokenise new selectors and append what each peer may receive to its feed (what the
    worker does every round); a summary per peer. Exit 75 if the key holder could not be asked."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        peering.require_node(session)
    try:
        report = publish.publish(state(ctx).sessionmaker, settings)
    except TaskforceError as error:
        err.print(f"error: {error.message}", markup=False, soft_wrap=True)
        raise typer.Exit(error.exit_code) from None
    _published(report)
    if not report.peers:
        out.print("no active peers: nothing published")
    if report.token_error:
        raise typer.Exit(transport.PeerUnreachable.exit_code)


@peer_app.command("sync")
def sync_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The peer's name"),
    limit: int = typer.Option(
        feeds.LIMIT_MAX, "--limit", min=1, max=feeds.LIMIT_MAX, help="Entries per page"
    ),
) -> None:
    """Publish to the peers, then pull this peer's feed to its head now (the worker does it on
    a schedule): entries merged and withdrawn, new hits, our position. Exit 75 when the peer
    failed, with the reason."""
    settings = state(ctx).settings
    target = _target(ctx, name)
    try:
        _published(publish.publish(state(ctx).sessionmaker, settings))
    except TaskforceError as error:
        err.print(f"warning: not published: {error.message}", markup=False, soft_wrap=True)
    with Progress(
        TextColumn(f"{target.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("entries"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("sync", total=None)

        def advance(position: int, head: int) -> None:
            progress.update(task, completed=position, total=head)

        try:
            report = sync.sync_peer(
                state(ctx).sessionmaker, settings, target.peer_id, progress=advance, limit=limit
            )
        except TaskforceError as error:
            err.print(f"error: {error.message}", markup=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
    out.print(
        f"{report.peer}: {report.merged} entries merged, {report.withdrawn} withdrawn, "
        f"{report.hits} new hits; position {report.position} of {report.head}",
        markup=False,
    )
    if report.directory_agencies is not None:
        out.print(f"{report.peer}'s directory: {report.directory_agencies} agencies")
    asked = pdq_rounds.confirm_pending(state(ctx).sessionmaker, settings, peer_id=target.peer_id)
    if asked.asked or asked.withheld:
        out.print(
            f"{report.peer}: {asked.asked} PDQ candidates sent to be confirmed: {asked.hits} new "
            f"hits, {asked.no_hits} no hit, {asked.withdrawn} withdrawn, {asked.failed} failed "
            f"(retried later); {asked.withheld} withheld by this node's profile",
            markup=False,
        )
    if report.error:
        err.print(f"error: {report.error}", markup=False, soft_wrap=True)
        raise typer.Exit(transport.PeerUnreachable.exit_code)


@peer_app.command("feed")
def feed_command(
    ctx: typer.Context, name: str = typer.Argument(..., help="The peer's name")
) -> None:
    """Where this node stands in the peer's feed (position, the peer's head, lag), the last
    sync and its error; and the head of this node's feed to the peer."""
    with unit(ctx) as session:
        peer = peering.peer_by_name(session, name)
        ours = feeds.head_seq(session, peer.id)
        synced = f"{peer.synced_at:%Y-%m-%d %H:%M:%S}Z" if peer.synced_at else "never"
        out.print(
            f"{peer.name}: position {peer.feed_seq} of head {peer.feed_head} "
            f"({max(peer.feed_head - peer.feed_seq, 0)} behind); last synced {synced}",
            markup=False,
        )
        if peer.sync_error:
            retry = f"{peer.next_sync_at:%Y-%m-%d %H:%M:%S}Z" if peer.next_sync_at else "next round"
            out.print(
                f"last error ({peer.sync_failures} in a row, next try {retry}): {peer.sync_error}",
                markup=False,
                soft_wrap=True,
            )
        out.print(f"our feed to {peer.name}: head {ours}", markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="federation")
    cli.add_typer(node_app, name="node")
    cli.add_typer(peer_app, name="peer")
