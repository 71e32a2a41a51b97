"""The worker's gap watch: gaps that time, not a change, brings within the next 30 days.

Every change to the rota tells the coordinator of the gaps it opens (`service.watching_gaps`).
A gap can also arrive with no change at all: a public holiday or an unavailability 31 days
ahead, a rotation's turn that falls to a desk since deactivated, simply come within 30 days
as the days pass. So the worker looks again at most once every `rota_gap_check_minutes`,
with the same compare-store-tell step as a change (`service.tell_new_gaps`), under the
rota's lock: a change or another worker at the same moment tells a gap once.

How often is remembered per worker process (and per database), not in the database: several
workers each look once per interval, which costs a gap computation each and tells nothing
twice. A worker's first round looks at once, which also warms the engine's holiday tables and
time zones for the desks of the rota before the first page asks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy.orm import Session, sessionmaker

from taskforce.core.caller import Caller, Role
from taskforce.core.db import unit_of_work, utcnow
from taskforce.core.settings import Settings
from taskforce.rota import service

# The gap watch acts for nobody in particular: its audit entries say "24/7 watch", channel
# "job", as the watch's own jobs do.
WATCH = Caller(role=Role.NETWORK_ADMIN, channel="job", email="24/7 watch")

_LAST: WeakKeyDictionary[sessionmaker[Session], datetime] = WeakKeyDictionary()


def due(factory: sessionmaker[Session], settings: Settings, now: datetime) -> bool:
    """Whether this worker has not looked within the last `rota_gap_check_minutes` (a clock
    that went back, as in a test, counts as not having looked)."""
    last = _LAST.get(factory)
    every = timedelta(minutes=settings.rota_gap_check_minutes)
    return last is None or not last <= now < last + every


def check_due(
    factory: sessionmaker[Session], settings: Settings, *, now: datetime | None = None
) -> int:
    """The worker's task: when due, tell the coordinator of the gaps time brought within the
    next 30 days; how many were new."""
    now = now or utcnow()
    if not due(factory, settings, now):
        return 0
    with unit_of_work(factory) as session:
        new = service.watch_gaps(session, WATCH, now)
    _LAST[factory] = now  # only once looked: a failed look is tried again next round
    return new
