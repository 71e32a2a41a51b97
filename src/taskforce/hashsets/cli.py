"""`taskforce hashset create|import|rename|delete|export|list`: an agency's hash sets from the
console."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from taskforce.agencies import service as agency_service
from taskforce.cases.schemas import export_standing
from taskforce.core.caller import system_caller
from taskforce.core.console import err, out, unit
from taskforce.core.sharing import SharingLevel
from taskforce.hashsets import formats, service
from taskforce.hashsets.schemas import HashSetCreate

app = typer.Typer(
    help="Hash sets: known files' hashes, imported and exported.", no_args_is_help=True
)


@app.command("create")
def create(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name, unique within the agency"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code, e.g. GB-NCA"),
    sharing: SharingLevel = typer.Option(SharingLevel.RED, "--sharing"),
    partner: list[str] = typer.Option([], "--partner", help="Partner agency code (AMBER)"),
    description: str = typer.Option("", "--description"),
    source: str = typer.Option("", "--source", help="Where the hashes come from"),
) -> None:
    """Create an empty hash set."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        data = HashSetCreate(
            name=name, description=description, source=source, sharing=sharing, partners=partner
        )
        created = service.create_hash_set(session, caller, data)
        out.print(f"hash set {created.name!r} created for {agency} ({created.sharing})")


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    name: str = typer.Option(..., "--name", help="Hash set (created if the agency lacks it)"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code"),
    fmt: str | None = typer.Option(
        None, "--format", help=f"One of {', '.join(formats.FORMATS)}; detected when not given"
    ),
    sharing: SharingLevel = typer.Option(
        SharingLevel.RED, "--sharing", help="Sharing level of a set created by this import"
    ),
    partner: list[str] = typer.Option(
        [], "--partner", help="Partner agency code of a set created by this import (AMBER)"
    ),
) -> None:
    """Import a hash list; bad lines are reported, good ones kept; re-running adds nothing.

    A file that is no hash list (empty, a picture, a letter) is refused before a set is
    created; an import of which no line could be read exits non-zero."""
    size = file.stat().st_size
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        fmt = service.check_hash_list(file, fmt)
        exists = any(
            s.name == name
            for s in service.list_hash_sets(session, caller)
            if s.agency == caller.agency_code
        )
        if not exists:
            service.create_hash_set(
                session,
                caller,
                HashSetCreate(name=name, sharing=sharing, partners=partner, source=file.name),
            )
            session.commit()
        with Progress(
            TextColumn(f"importing {file.name} ({fmt})"),
            BarColumn(),
            TextColumn("{task.completed:,} entries"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("import", total=None)

            def after_batch(read: int) -> None:
                session.commit()  # an interrupted import keeps what it wrote; re-run resumes
                progress.update(task, completed=read)

            report = service.import_file(
                session, caller, name=name, path=file, fmt=fmt, after_batch=after_batch
            )
    for bad in report.rejected[:20]:
        err.print(f"line {bad.line}: {bad.field} {bad.rule}", markup=False)
    if len(report.rejected) > 20:
        err.print(f"... and {len(report.rejected) - 20} more rejected lines")
    out.print(
        f"{report.hash_set}: {report.lines_read:,} entries read from {size:,} bytes, "
        f"{report.added:,} added, {report.already_present:,} already present, "
        f"{len(report.rejected):,} rejected"
    )


@app.command("rename")
def rename(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The set's current name"),
    new_name: str = typer.Argument(..., help="Its new name, unique within the agency"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code"),
) -> None:
    """Rename one of the agency's hash sets (audited)."""
    with unit(ctx) as session:
        renamed = service.rename_hash_set(
            session, agency_service.operator(session, agency), name=name, new_name=new_name
        )
        out.print(f"hash set {name!r} is now {renamed.name!r}", markup=False)


@app.command("not-for-export")
def not_for_export(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="One of the agency's sets"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code"),
    undo: bool = typer.Option(False, "--undo", help="Allow the set to be exported again"),
) -> None:
    """Keep a GREEN set inside the hub: members still match against it, but no STIX bundle,
    MISP event, feed or TAXII collection carries its hashes (audited)."""
    with unit(ctx) as session:
        marked = service.mark_not_for_export(
            session, agency_service.operator(session, agency), name=name, not_for_export=not undo
        )
        standing = export_standing(marked.sharing, marked.not_for_export)
        out.print(f"hash set {marked.name!r}: {standing}", markup=False)


@app.command("delete")
def delete(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The set to delete, with all its entries"),
    agency: str = typer.Option(..., "--agency", help="Owning agency code"),
    force: bool = typer.Option(
        False, "--force", help="Delete even while triage runs or series depend on it"
    ),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation"),
) -> None:
    """Delete one of the agency's hash sets and its entries (audited); refused while triage
    runs or series depend on it unless --force."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        found, depending = service.deletion_target(session, caller, name=name)
        if not yes:
            also = f"; {'; '.join(depending)}" if depending else ""
            question = (
                f"Delete hash set {found.name!r} and its {_entries(found.entry_count)}{also}?"
            )
            if not typer.confirm(question, err=True):
                err.print("nothing deleted")
                raise typer.Exit(1)
        count = service.delete_hash_set(session, caller, name=name, force=force)
    out.print(f"hash set {name!r} deleted with its {_entries(count)}", markup=False)


def _entries(count: int) -> str:
    return f"{count:,} entr{'y' if count == 1 else 'ies'}"


@app.command("export")
def export(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    fmt: str = typer.Option(..., "--format", help=", ".join(formats.EXPORT_FORMATS)),
    out_path: Path = typer.Option(..., "--out", help="File to write ('-' for standard output)"),
    agency: str = typer.Option(..., "--agency", help="Agency whose view of the sets to use"),
) -> None:
    """Export a hash set (VICS JSON for Griffeye and other forensic tools, CSV, PDQ list)."""
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        if str(out_path) == "-":
            count = service.export(session, caller, name=name, fmt=fmt, out=sys.stdout)
        else:
            with out_path.open("w", encoding="utf-8", newline="") as f:
                count = service.export(session, caller, name=name, fmt=fmt, out=f)
    err.print(f"{count:,} entries written to {out_path} ({fmt})")


@app.command("list")
def list_(
    ctx: typer.Context,
    agency: str | None = typer.Option(None, "--agency", help="Only what this agency sees"),
) -> None:
    """Hash sets with their owner, sharing and size."""
    with unit(ctx) as session:
        if agency:
            sets = service.list_hash_sets(session, agency_service.operator(session, agency))
        else:
            sets = service.list_all(session, system_caller())
    table = Table(box=None, pad_edge=False)
    for column in ("name", "agency", "sharing", "entries", "source", "updated"):
        table.add_column(column)
    for s in sets:
        table.add_row(
            s.name,
            s.agency,
            s.sharing.value,
            f"{s.entry_count:,}",
            s.source,
            s.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table if sets else "no hash sets")


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="hashset")
