"""What the job runner remembers of a step that crashed: how often, why, and when it tries
again, or that it gave up.

A row exists only while an item's steps are failing (a success removes it), so it is also the
list an operator reads when something is stuck: `job` names the runner's job, `item_id` the row
it works on.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from taskforce.core.db import Base, UTCDateTime


class JobFailure(Base):
    """An item whose step raised: retried with backoff, given up after the job's attempts."""

    __tablename__ = "job_failure"

    job: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(String(500))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None once given up
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
