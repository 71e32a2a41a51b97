"""The identification status that travels with the hashes: what hash sets and triage ask for,
and the one function that answers them.

Every match, hash-set export and triage result says whether its file belongs to a series whose
children are identified, and which agency to contact. The series domain composes that status
(`series.status`, from its series, media and victims); it sits above hash sets and triage,
since it reads their entries and results, so they cannot import it. They ask here instead, and
the composition root (`taskforce.domains`) hands this module the series' function at start.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller


class IdentificationStatus(BaseModel):
    """What every member may know of a series: whether its victims are identified, by whom."""

    series_id: uuid.UUID | None = Field(description="when the series is visible to the caller")
    series: str | None = Field(description="the name, when the series is visible to the caller")
    owner_agency: str
    victims: int
    identified: int
    identified_by: list[str] = Field(description="identifying agencies' codes")
    contact: str | None = Field(description="24/7 contact of the (first) identifying agency")

    @property
    def all_identified(self) -> bool:
        return self.victims > 0 and self.identified == self.victims


@dataclass(frozen=True)
class Lookup:
    """Hashes of one file (a triage result, a match query or a hash-set entry)."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None


StatusSource = Callable[[Session, Caller, Sequence[Lookup]], list[list[IdentificationStatus]]]

_sources: list[StatusSource] = []


def provide(source: StatusSource) -> None:
    """Named once by the composition root (`taskforce.domains`): `series.status`."""
    _sources[:] = [source]


def status_for_hashes(
    session: Session, caller: Caller, files: Sequence[Lookup]
) -> list[list[IdentificationStatus]]:
    """For each file, the statuses of the series it belongs to, as the caller may know them.

    Refuses to answer rather than answer "nothing known" when no source was provided: a child
    shown as not identified when it is would be the false assumption this status prevents."""
    if not _sources:
        raise RuntimeError("no identification status source: import taskforce.domains first")
    return _sources[0](session, caller, files)
