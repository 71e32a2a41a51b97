"""What depends on a record that is about to be deleted: a port, like `core.identification`.

A domain deletes its own records, but what depends on them lives in the domains above it,
which it may not import (a hash set is matched by triage runs and copied into series). It
asks here; the composition root (`taskforce.domains`) hands this module, per kind of record,
the functions of the domains above that answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

# (session, record id) -> what depends on it, in words ("2 triage runs matched it"), or None
Dependents = Callable[[Session, uuid.UUID], str | None]

_answers: dict[str, list[Dependents]] = {}


def provide(subject_type: str, *answers: Dependents) -> None:
    """Named once per kind by the composition root: e.g. "hash_set", triage's and series'."""
    _answers[subject_type] = list(answers)


def of(session: Session, subject_type: str, record_id: uuid.UUID) -> list[str]:
    """Every dependent of the record, in words; empty when nothing depends on it."""
    found = (answer(session, record_id) for answer in _answers.get(subject_type, []))
    return [words for words in found if words]
