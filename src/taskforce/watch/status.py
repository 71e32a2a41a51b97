"""Where a desk stands in its shift, read from the rota engine's shifts: the span of the shift
it is on (back-to-back pieces are one shift), and the desks that take over when it ends.
Pure functions: the handovers and their reminders share them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from taskforce.rota.engine import Shift


def shift_span(
    found: Sequence[Shift], desk_id: uuid.UUID, now: datetime, *, grace: timedelta
) -> tuple[datetime, datetime] | None:
    """The desk's shift on at `now`, or else the last one that ended at most `grace` before
    it, as (start, end); None when there is neither."""
    mine = sorted((s for s in found if s.desk_id == desk_id), key=lambda s: s.starts_at)
    current = next((s for s in mine if s.starts_at <= now < s.ends_at), None)
    if current is None:
        ended = [s for s in mine if now - grace <= s.ends_at <= now]
        if not ended:
            return None
        current = ended[-1]
    starts_at, ends_at = current.starts_at, current.ends_at
    for s in reversed(mine):
        if s.starts_at < starts_at <= s.ends_at:
            starts_at = s.starts_at
    for s in mine:
        if s.starts_at <= ends_at < s.ends_at:
            ends_at = s.ends_at
    return starts_at, ends_at


def successors(found: Sequence[Shift], desk_id: uuid.UUID, ends_at: datetime) -> set[uuid.UUID]:
    """The desks on duty when the desk's shift ends, or else the first to come on after it."""
    others = [s for s in found if s.desk_id != desk_id]
    taking = {s.desk_id for s in others if s.starts_at <= ends_at < s.ends_at}
    if taking:
        return taking
    later = [s for s in others if s.starts_at > ends_at]
    if not later:
        return set()
    first = min(s.starts_at for s in later)
    return {s.desk_id for s in later if s.starts_at == first}
