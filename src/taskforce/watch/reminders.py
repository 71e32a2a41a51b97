"""A reminder to the outgoing desk, `REMIND_BEFORE` its shift ends, while it has written no
handover for that shift: inbox and e-mail, once per shift, audited.

Shifts are computed, not stored, so this is no queue of rows: each worker round asks the rota
which desks are on duty now and whose shift ends soon. The notice itself is the record that a
desk was reminded (its title names the shift's end); on PostgreSQL one worker at a time looks
(a transaction-scoped advisory lock the others skip).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from taskforce.agencies.models import Agency
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.db import is_postgres, unit_of_work, utcnow
from taskforce.core.inbox.models import InboxNotice
from taskforce.core.settings import Settings
from taskforce.rota import engine
from taskforce.rota import service as rota_service
from taskforce.rota.models import DutyDesk
from taskforce.watch.messages import REMINDER_KIND, remind_outgoing, reminder_title
from taskforce.watch.models import Handover
from taskforce.watch.service import WATCH
from taskforce.watch.status import shift_span

REMIND_BEFORE = timedelta(minutes=15)
_LOCK_KEY = 0x48_414E_44  # "HAND": one reminding worker at a time on PostgreSQL


def _remind(session: Session, settings: Settings, now: datetime) -> int:
    found = engine.shifts(
        rota_service.load(session), now - timedelta(days=1), now + timedelta(days=1)
    )
    sent = 0
    for desk_id in sorted({s.desk_id for s in found if s.starts_at <= now < s.ends_at}):
        span = shift_span(found, desk_id, now, grace=timedelta(0))
        if span is None or span[1] - now > REMIND_BEFORE:
            continue
        ends_at = span[1]
        written = session.scalar(
            select(
                exists().where(Handover.from_desk_id == desk_id, Handover.shift_ends_at == ends_at)
            )
        )
        row = session.execute(
            select(DutyDesk, Agency)
            .join(Agency, Agency.id == DutyDesk.agency_id)
            .where(DutyDesk.id == desk_id)
        ).one()
        agency = row[1]
        title = reminder_title(ends_at)
        told = session.scalar(
            select(
                exists().where(
                    InboxNotice.agency_id == agency.id,
                    InboxNotice.kind == REMINDER_KIND,
                    InboxNotice.title == title,
                )
            )
        )
        if written or told:
            continue
        remind_outgoing(session, settings, agency, ends_at, now=now)
        audit.record(
            session,
            WATCH,
            action="watch.handover.remind",
            operation=Operation.DISCLOSURE,
            subject_type="duty_desk",
            subject_id=desk_id,
            recipients=[agency.code],
            detail={"shift_ends_at": ends_at.isoformat(timespec="seconds")},
        )
        sent += 1
    session.flush()
    return sent


def remind_due(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    """The worker's task: remind every desk whose shift ends within `REMIND_BEFORE` and that
    has not handed it over yet; how many were reminded."""
    now = now or utcnow()
    with unit_of_work(factory) as session:
        if is_postgres(session) and not session.scalar(
            select(func.pg_try_advisory_xact_lock(_LOCK_KEY))
        ):
            return 0
        return _remind(session, settings, now)
