"""Importing a chat export into a case: read it as a stream (`reading.read_file`), tag each
batch of messages (`batching.Tagging`: in a worker process while the batch before it is
written) and write it (`writing.Writer`), each batch handed to the caller's `checkpoint`
(the interfaces commit there: services only flush); the import's record, its audit entry,
and the checks before anything is kept.

Why batches, committed: an export of a seized phone holds hundreds of thousands of messages;
an import that is interrupted keeps what it wrote, and running it again adds only what is
missing, because every message has a digest unique within its conversation, and a batch
writes only the messages whose digest its conversation lacks. Memory is bounded whatever the
file's size (see `writing`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Case
from taskforce.chats import batching, reading, service, writing
from taskforce.chats.kinds import Message, Problem
from taskforce.chats.models import ChatImport
from taskforce.chats.schemas import ImportSummary
from taskforce.chats.writing import Prepared
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller
from taskforce.core.db import utcnow
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings

# messages tagged and written together: a file's last batch is tagged, then written, alone,
# so a small batch keeps that tail short (200,000 messages on the quiet VM: 5,000 a batch ran
# 17,900 msg/s, 2,000 19,300, 1,000 21,300; benchmarks/chats.py)
BATCH = 1_000
FIRST_BATCH = 250  # the first of a file: its tagging is waited for, nothing to write meanwhile

problem_text = writing.problem_text


@dataclass(frozen=True)
class Progress:
    """Where an import stands, after each batch it wrote. `bytes_read` is an estimate from the
    messages' text (the reader does not say how far into the file it is)."""

    display: str
    messages_read: int
    messages_added: int
    problems: int
    bytes_read: int
    file_bytes: int


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, display: str) -> int:
    """The file's size, or the reason it cannot be read, before anything is recorded."""
    try:
        if path.is_dir():
            raise Invalid("file", f"{display} is a folder: name the export files in it")
        if not path.is_file():
            raise Invalid("file", f"no such file: {display}")
        with path.open("rb"):
            pass
        return path.stat().st_size
    except OSError as exc:
        raise Invalid("file", f"cannot read {display}: {exc.strerror or exc}") from None


OPTIONS = ("timezone", "format", "platform", "date_order", "encoding")  # the forms' fields


def read_options(settings: Settings, given: dict[str, str | None]) -> reading.ReadOptions:
    """The reading options a request names (query or form fields; empty means not given; the
    zone defaults to the `chats_timezone` setting). A bad value is `Invalid`, named."""
    values = {k: (v or "").strip()[:64] or None for k, v in given.items() if k in OPTIONS}
    return reading.ReadOptions(
        timezone=values.get("timezone") or settings.chats_timezone,
        format=values.get("format"),
        platform=values.get("platform"),
        date_order=values.get("date_order"),
        encoding=values.get("encoding"),
    )


def check_case(session: Session, caller: Caller, case_id: uuid.UUID) -> Case:
    """The case an upload goes into, checked before a byte of it is kept: another agency's
    case (even a partner's) is missing, a closed one refused. The interface ends the check's
    transaction, so nothing is held while the bytes arrive."""
    service.own_case(session, caller, case_id)
    return service.case_for_import(session, caller, case_id)


def import_file(
    session: Session,
    caller: Caller,
    settings: Settings,
    *,
    case_id: uuid.UUID,
    path: Path,
    display: str,
    options: reading.ReadOptions,
    progress: Callable[[Progress], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    now: datetime | None = None,
) -> ImportSummary:
    """Import one export into a case of the caller's agency (any other case: 404).

    `checkpoint` runs once the import's record is made, after each batch is written and at
    the end: every interface passes `session.commit`, so no transaction holds SQLite's write
    lock for more than a batch, an interrupted import keeps its batches (its record says
    "stopped") and running it again adds only what is missing. Without it (a test's or the
    demo's transaction) nothing is committed and an interruption leaves the caller to roll
    back.
    An export of which no message could be read, and none was already there, is refused
    (`Invalid`, naming its first problems); its record stays, "stopped", with the reason."""
    now = now or utcnow()
    service.own_case(session, caller, case_id)  # another agency's case, even a partner's: 404
    case = service.case_for_import(session, caller, case_id)
    size = check_file(path, display)
    record = ChatImport(
        case_id=case.id,
        owner_agency_id=case.owner_agency_id,
        imported_by_user_id=caller.user_id,
        actor_label=caller.label[:320],
        file_name=display[:500],
        file_sha256=_file_sha256(path),
        file_bytes=size,
        timezone=options.timezone[:64],
        started_at=now,
        status="running",
    )
    session.add(record)
    session.flush()
    if checkpoint is not None:
        checkpoint()
    run = writing.Writer(session, caller, settings, case, record, checkpoint=checkpoint, now=now)
    try:
        with batching.Tagging() as tagger:
            batch: list[Message] = []
            pending: tuple[Prepared, Callable[[], list[batching.Tagged]]] | None = None
            size_now = min(FIRST_BATCH, BATCH)  # small: the writer starts sooner
            for event in _events(path, options, display, run):
                if event is not None:
                    batch.append(event)
                    if len(batch) < size_now:
                        continue
                if not batch:
                    continue
                # the batch is tagged in the worker while the one before it is written
                prepared = run.prepare(batch)
                texts = [
                    (m.text, m.author.platform if m.author else None) for *_, m in prepared.new
                ]
                started = tagger.submit(texts, caller.country)
                if pending is not None:
                    _store(run, pending, progress, size)
                pending, batch, size_now = (prepared, started), [], BATCH
            if pending is not None:
                _store(run, pending, progress, size)
        summary = run.finish()
    except BaseException as exc:
        if checkpoint is not None:
            why = f"{type(exc).__name__}: {exc}".strip(": ")
            _stopped(session, caller, case, record, why, checkpoint)
        raise
    s = summary
    record.finished_at = now
    record.status = "stopped" if s.stopped else "done"
    record.detail = (s.stopped or "")[:1000]
    record.conversations = s.conversations
    nothing = s.messages_added == 0 and s.messages_present == 0
    if nothing:
        first = "; ".join(problem_text(p) for p in s.problems[:3]) or "the file holds no message"
        record.status = "stopped"
        record.detail = f"nothing could be read: {first}"[:1000]
    _audit(
        session,
        caller,
        case,
        record,
        {
            "sha256": record.file_sha256,
            "read": s.messages_read,
            "added": s.messages_added,
            "present": s.messages_present,
            "problems": s.problems_count,
            "conversations": s.conversations,
            "attachments": s.attachments,
            "known": s.attachments_known,
        },
    )
    if checkpoint is not None:
        checkpoint()
    if nothing:
        raise Invalid("file", f"no message could be read: {first}")  # `first` names the file
    return summary


def _events(
    path: Path, options: reading.ReadOptions, display: str, run: writing.Writer
) -> Iterator[Message | None]:
    """The file's messages, then None (the last batch is due); problems and attachment files
    go to the run as they come."""
    for event in reading.read_file(path, options, display=display):
        if isinstance(event, Message):
            yield event
        elif isinstance(event, Problem):
            run.problem(event)
        else:
            run.attachment(event)
    yield None


def _store(
    run: writing.Writer,
    pending: tuple[Prepared, Callable[[], list[batching.Tagged]]],
    progress: Callable[[Progress], None] | None,
    size: int,
) -> None:
    prepared, tags = pending
    run.store(prepared, tags())
    if progress is not None:
        s = run.summary
        progress(
            Progress(
                display=run.record.file_name,
                messages_read=s.messages_read,
                messages_added=s.messages_added,
                problems=s.problems_count,
                bytes_read=min(run.bytes_read, size),
                file_bytes=size,
            )
        )


def _stopped(
    session: Session,
    caller: Caller,
    case: Case,
    record: ChatImport,
    why: str,
    checkpoint: Callable[[], None],
) -> None:
    """The record of an import cut short says so, and the collection so far is audited (its
    checkpointed batches stay; running the import again adds the rest)."""
    session.rollback()
    record.status = "stopped"
    record.finished_at = utcnow()
    record.detail = f"interrupted after {record.messages_read:,} messages ({why})"[:1000]
    _audit(
        session,
        caller,
        case,
        record,
        {"stopped": record.detail, "read": record.messages_read, "added": record.messages_added},
    )
    checkpoint()


def _audit(
    session: Session, caller: Caller, case: Case, record: ChatImport, counts: dict[str, object]
) -> None:
    """The import as a collection of case data (`chats.import`), finished or cut short."""
    audit.record(
        session,
        caller,
        action="chats.import",
        operation=Operation.COLLECTION,
        subject_type="case",
        subject_id=case.id,
        subject_agency_id=case.owner_agency_id,
        detail={"import": str(record.id), "file": record.file_name[:200], **counts},
    )


def list_imports(session: Session, caller: Caller, case_id: uuid.UUID) -> list[ChatImport]:
    """The imports into a case of the caller's agency, newest first."""
    case = service.own_case(session, caller, case_id)
    return list(
        session.scalars(
            select(ChatImport)
            .where(ChatImport.case_id == case.id)
            .order_by(ChatImport.started_at.desc(), ChatImport.id)
        )
    )


def get_import(session: Session, caller: Caller, import_id: uuid.UUID) -> ChatImport:
    """One import's record (its problems may quote the export's lines: the read is audited)."""
    record = service.own_import(session, caller, import_id)
    audit.record(
        session,
        caller,
        action="chats.import.read",
        operation=Operation.CONSULTATION,
        subject_type="chat_import",
        subject_id=record.id,
        subject_agency_id=record.owner_agency_id,
    )
    return record
