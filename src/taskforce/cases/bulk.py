"""Bulk import of selectors: the CSV's lines checked and normalised into typed selectors.

Deconfliction is not here: the typed selectors go to `cases.deconfliction`, the engine a single
addition goes through too, so an import makes the same selectors, hits and notifications as
adding its lines one by one (the case history gets one "selectors_imported" entry per
transaction instead of one per line).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from taskforce.cases.deconfliction import NewSelector
from taskforce.cases.schemas import LineError, SelectorCreate
from taskforce.cases.selectors import NormalisedSelector
from taskforce.core.budgets import Breach
from taskforce.core.caller import Caller
from taskforce.core.errors import TaskforceError
from taskforce.core.text import RULE as UNSTORABLE
from taskforce.core.text import unstorable


def parse_lines(
    caller: Caller,
    rows: Iterable[tuple[int, dict[str, str] | Breach]],
    normalise_input: Callable[[Caller, SelectorCreate], NormalisedSelector],
    parse_time: Callable[[str], datetime | None],
) -> tuple[list[NewSelector], list[LineError]]:
    """Validate and normalise every line; bad ones (and rows past the parser budget, given
    as a `Breach`) become `LineError`s, in input order."""
    good: list[NewSelector] = []
    rejected: list[LineError] = []
    for line, row in rows:
        if isinstance(row, Breach):
            rejected.append(LineError(line=line, field=row.field, rule=row.rule, value=""))
            continue
        column = next((k for k, v in row.items() if v and unstorable(v)), None)
        if column is not None:
            rejected.append(LineError(line=line, field=column, rule=UNSTORABLE, value=""))
            continue
        try:
            data = SelectorCreate(
                type=row.get("type", "").strip() or "?",
                value=row.get("value", "") or " ",
                platform=(row.get("platform") or "").strip() or None,
                note=(row.get("note") or "")[:500],
            )
            observed_at = parse_time(row.get("observed_at", "") or "")
            normalised = normalise_input(caller, data)
        except TaskforceError as exc:
            field = getattr(exc, "field", "value")
            rule = getattr(exc, "rule", exc.message)
            rejected.append(
                LineError(line=line, field=field, rule=rule, value=str(row.get("value", ""))[:100])
            )
            continue
        except ValueError as exc:  # pydantic validation of the row
            rejected.append(
                LineError(
                    line=line,
                    field="value",
                    rule=str(exc).splitlines()[0][:200],
                    value=str(row.get("value", ""))[:100],
                )
            )
            continue
        if observed_at is not None:
            observed_at = observed_at.astimezone(UTC)
        good.append(NewSelector(normalised, data.value, observed_at, data.note.strip()))
    return good, rejected
