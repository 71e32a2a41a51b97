"""`taskforce chats …`: import exports into a case, the participants and identifiers found,
the review queue, and the evaluation harness on a labelled corpus."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session

from taskforce.agencies import service as agency_service
from taskforce.cases import service as case_service
from taskforce.chats import (
    evaluation,
    importing,
    participants,
    review,
    scorecard,
    service,
    tagging,
)
from taskforce.chats.reading import FORMATS, ReadOptions
from taskforce.chats.schemas import ImportSummary, MentionRow
from taskforce.chats.scorecard import plural
from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller
from taskforce.core.console import err, out, state, unit
from taskforce.core.errors import Invalid, NotFound, TaskforceError
from taskforce.core.settings import Settings

app = typer.Typer(
    help="Chat logs: import exports into a case, confirm participants as selectors, the "
    "review queue, and the tagger's evaluation on a labelled corpus.",
    no_args_is_help=True,
)

# --- import (importing.py) -------------------------------------------------------------------

PROBLEMS_SHOWN = 10  # per file, in the summary; the import's record keeps the first 100
PROGRESS_LINE_EVERY = 100_000  # messages, when stderr is a log rather than a terminal


def acting(session: Session, agency: str, email: str | None) -> Caller:
    """Who acts: one of the agency's users, active (the importer's `--as`, the `--reviewer` of a
    decision: recorded on the import or review and in the audit log under their name and
    role), or, with no e-mail, the agency's operator at the console."""
    operator = agency_service.operator(session, agency)
    if email is None:
        return operator
    user = auth_service.find_user(session, email)
    if user is None or user.agency_id != operator.agency_id or not user.is_active:
        raise NotFound(f"user {email.strip().lower()} of {operator.agency_code}")
    return auth_service.caller_for(session, user, channel="cli")


def case_id_of(session: Session, caller: Caller, reference: str) -> uuid.UUID:
    """The agency's own case named on the command line; a miss (or a partner's case, whose
    chats are not the caller's) names the reference and the agency it was looked for in."""
    try:
        found = case_service.find_case(session, caller, reference)
        return service.own_case(session, caller, found.id).id  # a partner's case: no chats
    except NotFound:
        where = caller.agency_code or "your agency"
        raise NotFound(f"case {reference.strip().upper()} of {where}") from None


def summary_lines(done: list[ImportSummary]) -> list[str]:
    """The summary table as plain lines, columns aligned and nothing cut (paths stay whole,
    whatever the terminal's width)."""
    header = ("file", "format", "read", "added", "already", "problems", "conversations", "flagged")
    rows = [header] + [
        (
            s.file_name,
            s.formats or "-",
            f"{s.messages_read:,}",
            f"{s.messages_added:,}",
            f"{s.messages_present:,}",
            f"{s.problems_count:,}",
            f"{s.conversations:,}",
            f"{s.flagged:,}",
        )
        for s in done
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(r)
        ).rstrip()
        for r in rows
    ]


@app.command("import")
def import_command(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="Chat exports (a zip, or its chat file)"),
    case: str = typer.Option(..., "--case", help="Reference of the agency's case"),
    agency: str = typer.Option(..., "--agency", help="The agency's code, e.g. GB-NCA"),
    as_user: str | None = typer.Option(
        None, "--as", help="E-mail of the agency's user who imports (default: the operator)"
    ),
    timezone: str | None = typer.Option(
        None,
        "--timezone",
        help="IANA zone of times the export writes without an offset, e.g. Europe/Berlin "
        "(default: the chats_timezone setting)",
    ),
    fmt: str | None = typer.Option(
        None, "--format", help=f"One of {', '.join(FORMATS)}; detected per file when not given"
    ),
    platform: str | None = typer.Option(
        None, "--platform", help="Platform of the authors when the export does not say (CSV, logs)"
    ),
    date_order: str | None = typer.Option(
        None, "--date-order", help="dmy, mdy or ymd for dates like 03/04/24 (default: inferred)"
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="A legacy export's encoding, e.g. cp1252 (default: UTF-8/16)"
    ),
) -> None:
    """Import chat exports into a case: bad lines are reported with file and line and the good
    ones kept; running it again adds only what is missing. Exits non-zero when a file could
    not be imported (2 when none could)."""
    settings = state(ctx).settings
    done: list[ImportSummary] = []
    failed: list[str] = []
    with unit(ctx) as session:
        options = ReadOptions(
            timezone=timezone or settings.chats_timezone,
            format=fmt,
            platform=platform,
            date_order=date_order,
            encoding=encoding,
        )
        caller = acting(session, agency, as_user)
        case_id = case_id_of(session, caller, case)
        session.commit()  # nothing held while files are read
        for path in files:
            display = str(path)
            try:
                done.append(_import_one(session, caller, settings, case_id, path, options))
            except Invalid as exc:
                session.commit()  # the refused import's record stays, "stopped"
                err.print(f"error: {display}: {exc.message}", markup=False, soft_wrap=True)
                failed.append(display)
    for line in summary_lines(done) if done else []:
        out.print(line, markup=False, soft_wrap=True)
    for s in done:
        for problem in s.problems[:PROBLEMS_SHOWN]:
            out.print(f"  {importing.problem_text(problem)}", markup=False, soft_wrap=True)
        if s.problems_count > PROBLEMS_SHOWN:
            more = s.problems_count - PROBLEMS_SHOWN
            out.print(
                f"  … and {more:,} more problems in {s.file_name} (its import record keeps 100)"
            )
        if s.stopped:
            shown = {importing.problem_text(p) for p in s.problems[:PROBLEMS_SHOWN]}
            said = "at the problem above" if s.stopped in shown else s.stopped
            out.print(f"  {s.file_name} stopped early: {said}", markup=False, soft_wrap=True)
    if failed:
        if done:
            err.print(f"{len(failed)} of {len(files)} files could not be imported")
        else:
            err.print("nothing was imported" if len(files) == 1 else "no file could be imported")
        raise typer.Exit(2 if not done else 1)


def _import_one(
    session: Session,
    caller: Caller,
    settings: Settings,
    case_id: uuid.UUID,
    path: Path,
    options: ReadOptions,
) -> ImportSummary:
    display = str(path)
    size = importing.check_file(path, display)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # a log gets lines (below), not a bar's blank lines
    ) as bar:
        task = bar.add_task(path.name, total=max(size, 1), info="")
        logged = [0]

        def advance(p: importing.Progress) -> None:
            elapsed = bar.tasks[0].elapsed or 0
            rate = f", {p.messages_read / elapsed:,.0f}/s" if elapsed > 1 else ""
            info = f"{p.messages_read:,} messages read{rate}, {p.problems:,} problems"
            bar.update(task, completed=p.bytes_read, info=info)
            if not err.is_terminal and p.messages_read >= logged[0] + PROGRESS_LINE_EVERY:
                logged[0] = p.messages_read
                share = min(p.bytes_read / max(size, 1), 1.0)
                err.print(f"{path.name}: {info} (about {share:.0%} of the file)", markup=False)

        return importing.import_file(
            session,
            caller,
            settings,
            case_id=case_id,
            path=path,
            display=display,
            options=options,
            progress=advance,
            checkpoint=session.commit,
        )


# --- participants and identifiers (participants.py) ------------------------------------------

PARTICIPANTS_AGENCY = typer.Option(..., "--agency", help="The case's agency code, e.g. GB-NCA")


def _mention_line(m: MentionRow) -> str:
    platform = f" on {m.platform}" if m.platform else ""
    where = m.conversation_title or "-"
    if m.message_seq is not None:
        where += f" #{m.message_seq + 1}"
    return (
        f"{m.id}\t{m.kind}\t{m.value}{platform}\t{m.origin}\t{m.occurrences}x\t{m.status}\t{where}"
    )


@app.command("participants")
def participants_command(
    ctx: typer.Context,
    case: str = typer.Option(..., "--case", help="The case's reference"),
    agency: str = PARTICIPANTS_AGENCY,
    status: str = typer.Option(
        "all", "--status", help="Identifiers listed: proposed, confirmed, dismissed or all"
    ),
) -> None:
    """Who wrote in the case's chats (handle, platform, messages, conversations, their own
    account's status), then the identifiers found (id, type, value, author or text,
    occurrences, status, where first seen): confirm them with `taskforce chats confirm`.
    Exit 1 when the case's chats hold nobody."""
    wanted = None if status.strip().lower() == "all" else status.strip().lower()
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        case_id = case_id_of(session, caller, case)
        people = participants.list_participants(session, caller, case_id)
        found = participants.list_mentions(session, caller, case_id, status=wanted)
    if people.participants:
        err.print(
            "who wrote: handle, platform, messages, names, own account, conversations",
            markup=False,
            soft_wrap=True,
        )
    for p in people.participants:
        account = f"{p.mention.status} {p.mention.kind}" if p.mention else "no account"
        names = ", ".join(p.names) or "-"
        chats = ", ".join(c.title for c in p.conversations) or "-"
        out.print(
            f"{p.handle}\t{p.platform}\t{plural(p.message_count, 'message')}\t"
            f"{names}\t{account}\t{chats}",
            markup=False,
            soft_wrap=True,
        )
    if found.mentions:
        out.print("", markup=False)
        err.print(
            "identifiers found: id, type, value, from (author or text), seen, status, "
            "first seen (conversation #message)",
            markup=False,
            soft_wrap=True,
        )
    for m in found.mentions:
        out.print(_mention_line(m), markup=False, soft_wrap=True)
    counts = ", ".join(f"{n} {name}" for name, n in found.counts.items())
    err.print(
        f"{people.case_reference}: {people.total} participants; identifiers {counts}",
        markup=False,
        soft_wrap=True,
    )
    if not people.participants and not found.mentions:
        err.print("no chats imported into this case yet", markup=False)
        raise typer.Exit(1)


@app.command("confirm")
def confirm_command(
    ctx: typer.Context,
    mentions: list[str] = typer.Argument(
        ..., help="Identifiers to decide: their ids (from chats participants) or values"
    ),
    agency: str = PARTICIPANTS_AGENCY,
    case: str | None = typer.Option(
        None, "--case", help="The case's reference (needed when giving values)"
    ),
    dismiss: bool = typer.Option(
        False, "--dismiss", help="Dismiss them instead (a re-import will not propose them)"
    ),
    note: str = typer.Option("", "--note", help="Why (kept as the selectors' note)"),
    as_user: str | None = typer.Option(
        None,
        "--as",
        help="E-mail of the agency's investigator who decides (recorded on the selectors and "
        "in the audit log; default: the operator)",
    ),
) -> None:
    """Make identifiers found in the case's chats selectors of the case, deconflicted at once
    (the new hits are counted: read them in the hits inbox), or dismiss them. Exit 1 when
    nothing changed."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        caller = acting(session, agency, as_user)
        case_id = case_id_of(session, caller, case) if case else None
        ids: list[uuid.UUID] = []
        for raw in mentions:
            try:
                ids.append(uuid.UUID(raw.strip()))
                continue
            except ValueError:
                pass
            if case_id is None:
                raise Invalid("case", f"give --case to name identifiers by value ({raw.strip()})")
            named = participants.find_mentions(session, caller, case_id, raw)
            if not named:
                raise NotFound(f"identifier {raw.strip()} in the case's chats")
            ids.extend(named)
        if dismiss:
            changed = participants.dismiss(session, caller, ids, note=note, case_id=case_id)
            said = f"{changed} identifier(s) dismissed"
        else:
            done = participants.confirm(session, caller, settings, ids, note=note, case_id=case_id)
            changed = done.confirmed
            said = (
                f"{done.case_reference}: {done.confirmed} confirmed, {done.added} selector(s) "
                f"added, {done.already_there} already there, {done.hits} new hit(s)"
            )
    out.print(said, markup=False, soft_wrap=True)
    if not changed:
        raise typer.Exit(1)


# --- the review queue (review.py) ------------------------------------------------------------

REVIEW_AGENCY = typer.Option(..., "--agency", help="Your agency's code, e.g. GB-NCA")


def _risk(risk: float | None) -> str:
    return "unscored" if risk is None else f"{risk:.2f}"


@app.command("queue")
def queue_command(
    ctx: typer.Context,
    agency: str = REVIEW_AGENCY,
    case: str | None = typer.Option(None, "--case", help="Only this case (its reference)"),
    everything: bool = typer.Option(
        False, "--all", help="Every conversation, reviewed or not (default: those to review)"
    ),
    limit: int = typer.Option(50, "--limit", min=1, max=500, help="Conversations listed"),
) -> None:
    """The agency's conversations to review, riskiest first (flagged ones first, unscored
    last): id, risk, flagged, decision, case, messages, tactics, title. A score is a lead for a
    reviewer, never evidence by itself. Exit 1 when there is nothing to list."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        caller = agency_service.operator(session, agency)
        case_id = case_id_of(session, caller, case) if case else None
        page = review.queue(
            session,
            caller,
            threshold=settings.chats_review_threshold,
            case_id=case_id,
            decision="all" if everything else "unreviewed",
            limit=limit,
        )
    if page.items:
        err.print(
            "id, risk, flagged, decision, case, messages, tactics, title",
            markup=False,
            soft_wrap=True,
        )
    for item in page.items:
        tactics = ", ".join(f"{t.label} ×{t.count}" for t in item.tactics) or "-"
        out.print(
            f"{item.id}\t{_risk(item.risk)}\t{'FLAGGED' if item.flagged else '-'}\t"
            f"{item.decision}\t{item.case_reference}\t{plural(item.message_count, 'message')}\t"
            f"{tactics}\t{item.title}",
            markup=False,
            soft_wrap=True,
        )
    counts = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in page.counts.items())
    err.print(f"threshold {page.threshold:.2f}; {counts}", markup=False)
    if not page.items:
        err.print(
            "nothing to review" + ("" if everything else " (--all lists reviewed ones too)"),
            markup=False,
        )
        raise typer.Exit(1)


@app.command("review")
def review_command(
    ctx: typer.Context,
    conversation_id: str = typer.Argument(..., help="The conversation's id (from chats queue)"),
    decision: str = typer.Option(..., "--decision", help="concern, no_concern or unclear"),
    note: str = typer.Option(
        "",
        "--note",
        help="What you saw (required for concern, unclear, and no_concern on a "
        "flagged conversation)",
    ),
    agency: str = REVIEW_AGENCY,
    reviewer: str = typer.Option(
        ..., "--reviewer", help="Your e-mail: the decision is recorded as yours"
    ),
) -> None:
    """Record a reviewer's decision on a conversation (kept with the earlier ones, audited)."""
    settings = state(ctx).settings
    with unit(ctx) as session:
        try:
            chat_id = uuid.UUID(conversation_id.strip())
        except ValueError:
            raise Invalid(
                "conversation",
                f"{conversation_id.strip()!r} is not a conversation id: give the whole id "
                "`taskforce chats queue` prints (36 characters)",
            ) from None
        caller = acting(session, agency, reviewer)
        done = review.decide(
            session,
            caller,
            chat_id,
            decision=decision.strip().lower().replace(" ", "_"),
            note=note,
            threshold=settings.chats_review_threshold,
        )
        said = f"{chat_id}: {done.decision} recorded for {caller.email} (risk {_risk(done.risk)})"
    out.print(said, markup=False)


# --- evaluation (evaluation.py) --------------------------------------------------------------


@app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        ...,
        help="A folder of chat exports (any format `chats import` reads) with labels.csv "
        "(conversation,label: 1/0 or grooming/benign) or PAN-12's *predators*.txt",
    ),
    threshold: float | None = typer.Option(
        None,
        "--threshold",
        help="Risk at which a conversation is flagged (default: chats_review_threshold)",
    ),
    folds: int | None = typer.Option(
        None,
        "--folds",
        help="K-fold cross-validation: each fold scored by models trained on the others "
        "(the message models too when messages.csv carries a tactics column)",
    ),
    timezone: str | None = typer.Option(
        None, "--timezone", help="IANA zone of times written without one (default: chats_timezone)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON"),
    model: Path | None = typer.Option(
        None,
        "--model",
        help="An agency's own tagger saved with skops (tagging.save); default: the shipped one",
    ),
) -> None:
    """Measure the tagger on a labelled corpus, on this machine (no database, nothing sent or
    kept): F0.5, precision and recall at the threshold, precision at 10/50/100, messages read
    before a grooming conversation is flagged, the confusion and reliability tables. Exit 2
    when the folder holds no labels or no labelled conversation, or the model is refused."""
    settings = state(ctx).settings
    try:
        try:
            tagger = tagging.shipped() if model is None else tagging.load(model)
        except (OSError, ValueError) as exc:  # model.ModelFileError is a ValueError
            raise Invalid("model", str(exc)) from None
        with err.status("reading the labelled folder …") as status:
            report = evaluation.evaluate(
                directory,
                tagger=tagger,
                threshold=settings.chats_review_threshold if threshold is None else threshold,
                options=ReadOptions(timezone=timezone or settings.chats_timezone),
                folds=folds,
                progress=status.update,
            )
    except TaskforceError as exc:
        err.print(f"error: {exc.message}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    if as_json:
        out.print_json(json.dumps(scorecard.as_json(report)))
    else:
        out.print(scorecard.render(report), markup=False)


def install(cli: typer.Typer) -> None:
    """Adds this domain's commands to the `taskforce` command (`taskforce.cli`)."""
    cli.add_typer(app, name="chats")
