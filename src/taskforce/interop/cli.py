"""`taskforce export ...` and `taskforce import ...`: what an agency may pass on, written as a
STIX 2.1 bundle, MISP event JSON or a MISP feed, each signed and audited; MISP events read into
a case as selectors. The operator acts for the agency named by `--agency` (its code)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from taskforce.agencies import service as agency_service
from taskforce.core import signing
from taskforce.core.console import err, out, state, unit
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid, TaskforceError
from taskforce.interop import bundle, feed, misp, misp_import, signatures
from taskforce.interop import service as stix_service

export_app = typer.Typer(
    help="Export what an agency may pass on (GREEN, not marked 'not for export'): STIX 2.1, "
    "MISP, a MISP feed; signed, audited.",
    no_args_is_help=True,
)
import_app = typer.Typer(help="Import indicators into a case (MISP events).", no_args_is_help=True)


# --- STIX 2.1 bundles, their detached signatures ------------------------------------------------

PROGRESS_EVERY = 100_000  # rows between progress lines on stderr
NOTHING = (
    "nothing to pass on: no selector of a GREEN case and no entry of a GREEN hash set, not "
    "marked 'not for export', matched what was asked"
)


@export_app.command("stix")
def export_stix(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help="The exporting agency's code, e.g. GB-NCA"),
    out_file: Path = typer.Option(..., "--out", dir_okay=False, help="The bundle file to write"),
    since: str | None = typer.Option(None, "--since", help="Only rows added at or after (ISO)"),
    only: str | None = typer.Option(None, "--only", help="Only this agency's material (code)"),
) -> None:
    """Write what may leave the hub (GREEN, local, not 'not for export', not noise or common)
    as a STIX 2.1 bundle to --out, its signature to FILE.sig.json; print the counts and the
    SHA-256. Audited. Exits 1 when the bundle holds no indicator."""
    settings = state(ctx).settings
    partial = out_file.with_name(out_file.name + ".part")
    shown = [0]

    def progress(counts: bundle.Counts) -> None:
        rows = counts.selectors + counts.hash_entries
        if rows >= shown[0] + PROGRESS_EVERY:
            shown[0] = rows
            err.print(f"… {rows:,} rows, {counts.total:,} objects", markup=False)

    try:
        with unit(ctx) as session:
            caller = agency_service.operator(session, agency)
            moment = stix_service.parse_since(since)
            try:
                with partial.open("wb") as handle:
                    result = stix_service.export_stix(
                        session,
                        caller,
                        settings,
                        handle,
                        agency_code=only,
                        since=moment,
                        now=utcnow(),
                        progress=progress,
                    )
            except OSError as exc:
                raise Invalid("out", f"cannot be written: {exc.strerror or exc}") from None
        partial.replace(out_file)
    finally:
        partial.unlink(missing_ok=True)
    signature = signatures.signature_path(out_file)
    signature.write_text(json.dumps(result.signature, indent=2) + "\n")
    for kind, count in result.counts["objects"].items():
        out.print(f"{count:>10,} {kind}", markup=False)
    for kind, count in result.counts["skipped"].items():
        out.print(f"skipped {count:,} {kind} (no STIX form)", markup=False)
    out.print(
        f"{out_file}: {result.objects:,} objects, {result.bytes:,} bytes, "
        f"{result.counts['selectors']:,} selectors, {result.counts['hash_entries']:,} hash "
        f"entries; sha256 {result.sha256}; signature {signature}",
        markup=False,
    )
    if not result.counts["objects"].get("indicator"):
        err.print(NOTHING, markup=False, soft_wrap=True)
        raise typer.Exit(1)


@export_app.command("verify")
def verify_export(
    ctx: typer.Context,
    file: Path = typer.Argument(..., dir_okay=False, help="An exported file"),
    signature: Path | None = typer.Option(None, "--signature", help="Default: FILE.sig.json"),
    public_key: str | None = typer.Option(
        None, "--public-key", help="The hub's export key or its file; default: this hub's"
    ),
) -> None:
    """Check an export against its detached signature: signed by the hub's export key, and
    the file's SHA-256 and size are the signed ones. Exit 2 when it does not verify."""
    if not file.is_file():  # before its signature: the file is what the user named
        err.print(f"error: file: {file} cannot be read: no such file", markup=False, soft_wrap=True)
        raise typer.Exit(2)
    try:
        document = signatures.read_document(signature or signatures.signature_path(file))
        public = (
            signing.load_public_given(public_key)
            if public_key
            else signatures.public_key(state(ctx).settings)
        )
        with file.open("rb") as stream:
            signatures.verify(stream, document, public)
    except (TaskforceError, OSError) as error:
        err.print(f"error: {getattr(error, 'message', error)}", markup=False)
        raise typer.Exit(2) from None
    out.print(
        f"{file}: verified ({document['format']}, {document['objects']:,} objects, sha256 "
        f"{document['sha256']}, exported {document['exported_at']} by {document['agency']}, "
        f"key {document['key_id']})",
        markup=False,
    )


@export_app.command("public-key")
def export_public_key(ctx: typer.Context) -> None:
    """Print the hub's export public key (base64 of 32 raw bytes) and its key id: what a
    recipient checks signatures with."""
    public, key_id = stix_service.public_key(state(ctx).settings)
    out.print(public, markup=False)
    err.print(f"key id {key_id}", markup=False)


# --- MISP events and the MISP feed; MISP import -------------------------------------------------


ONLY_HELP = "Only this agency's material (its code); default: all it may pass on"


def _said(what: str, done: misp.Exported, signature: Path) -> None:
    written = done.written
    for kind, count in sorted(written.skipped.items()):
        out.print(f"skipped {count:,} {kind} (no MISP type)", markup=False)
    out.print(
        f"{what}: {written.events} event{'' if written.events == 1 else 's'}, "
        f"{written.attributes:,} attributes ({written.selectors:,} selectors, "
        f"{written.hash_entries:,} hash entries), {written.bytes:,} bytes; "
        f"sha256 {written.sha256}; signature {signature}",
        markup=False,
        soft_wrap=True,
    )


def _write_signature(path: Path, document: dict[str, object]) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n")


@export_app.command("misp")
def export_misp(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help="The exporting agency's code, e.g. GB-NCA"),
    file: Path = typer.Option(..., "--out", dir_okay=False, help="The MISP JSON file to write"),
    only: str | None = typer.Option(None, "--only", help=ONLY_HELP),
) -> None:
    """What the agency may pass on as MISP events (one per GREEN case, one per GREEN hash set)
    in one MISP JSON file, its signature to FILE.sig.json; recorded and audited. Exits 1 when
    there was nothing to export."""
    settings = state(ctx).settings
    part = file.with_name(file.name + ".part")
    try:
        with unit(ctx) as session:
            caller = agency_service.operator(session, agency)
            try:
                with part.open("wb") as sink:
                    done = misp.export_misp(
                        session, caller, settings, sink, agency_code=only, now=utcnow()
                    )
            except OSError as exc:
                raise Invalid("out", f"cannot be written: {exc.strerror or exc}") from None
        part.replace(file)  # once recorded: a file on disk is an export the audit knows
    finally:
        part.unlink(missing_ok=True)
    signature = signatures.signature_path(file)
    _write_signature(signature, done.signature)
    _said(str(file), done, signature)
    if done.written.events == 0:
        err.print(NOTHING, markup=False, soft_wrap=True)
        raise typer.Exit(1)


@export_app.command("misp-feed")
def export_misp_feed(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help="The exporting agency's code, e.g. GB-NCA"),
    folder: Path = typer.Option(..., "--out", help="The feed folder (new, or a previous feed)"),
    only: str | None = typer.Option(None, "--only", help=ONLY_HELP),
) -> None:
    """The same as a MISP feed folder that a MISP instance subscribes to (manifest.json,
    <uuid>.json per event, hashes.csv) with SHA256SUMS and its signature SHA256SUMS.sig.json
    (`taskforce export verify DIR/SHA256SUMS`); recorded and audited. Exits 1 when there was
    nothing to export."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        try:
            done = misp.export_feed(
                session, caller, settings, folder, agency_code=only, now=utcnow()
            )
        except OSError as exc:
            raise Invalid("out", f"cannot be written: {exc.strerror or exc}") from None
    signature = signatures.signature_path(folder / feed.SUMS)
    _write_signature(signature, done.signature)
    _said(str(folder), done, signature)
    if done.written.events == 0:
        err.print(NOTHING, markup=False, soft_wrap=True)
        raise typer.Exit(1)


def _read(file: Path) -> bytes:
    """The file's bytes, if it is a file no larger than a MISP import reads."""
    try:
        if file.stat().st_size > misp_import.MAX_BYTES:
            raise Invalid("file", f"a MISP file of at most {misp_import.MAX_BYTES:,} bytes")
        return file.read_bytes()
    except OSError as exc:
        raise Invalid("file", f"cannot be read: {exc.strerror or exc}") from None


@import_app.command("misp")
def import_misp(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help='A MISP event JSON file ({"Event": ...}, or a list)'),
    case: str = typer.Option(..., "--case", help="Reference of a case of the agency"),
    agency: str = typer.Option(..., "--agency", help="The agency's code, e.g. GB-NCA"),
) -> None:
    """Add a MISP event's urls, domains, addresses, wallets and hashes to a case as selectors
    (deconflicted: hits are made); other attribute types are skipped and counted, values the
    selector rules refuse are listed. Exits 1 when nothing was added."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        summary = misp.import_misp(session, caller, state(ctx).settings, _read(file), case)
    for line in summary.invalid:
        out.print(
            f"attribute {line.line} ({line.misp_type}): {line.field}: {line.rule}: {line.value}",
            markup=False,
        )
    for misp_type, count in summary.skipped.items():
        if misp_type.startswith("("):  # attributes with no type or value: no MISP type to name
            plural = "" if count == 1 else "s"
            out.print(
                f"skipped {count:,} attribute{plural} with {misp_type.strip('()')}", markup=False
            )
        else:
            out.print(f"skipped {count:,} {misp_type} (no selector type)", markup=False)
    out.print(
        f"{summary.case}: {summary.added:,} added, {summary.already_there:,} already there, "
        f"{len(summary.invalid):,} invalid, {sum(summary.skipped.values()):,} skipped, "
        f"{summary.hits:,} hit{'' if summary.hits == 1 else 's'} "
        f"({summary.events:,} event{'' if summary.events == 1 else 's'}, "
        f"{summary.attributes:,} attributes)",
        markup=False,
    )
    if summary.added == 0:
        raise typer.Exit(1)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(export_app, name="export")
    cli.add_typer(import_app, name="import")
