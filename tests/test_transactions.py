"""Services only flush: a transaction is begun and committed by an interface (`cli.py`,
`api.py`, `web.py`, `worker.py`, `app.py`) or by core (`unit_of_work`, the job runner), never by
a domain's service. Read from the syntax tree, so no formatting hides a call."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import taskforce

ROOT = Path(taskforce.__file__).parent
INTERFACES = {"cli.py", "api.py", "web.py", "worker.py", "app.py"}
# the schema's own upgrade runs DDL on the engine, outside any request or job
SCHEMA = {Path("migrate.py")}
OWNING = {"begin", "commit"}


def _owning_calls(source: str) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in OWNING
        ):
            yield node.lineno, node.func.attr


def _bound(path: Path) -> bool:
    """Whether the rule applies to this module."""
    relative = path.relative_to(ROOT)
    return not (
        relative.parts[0] in {"core", "migrations"}
        or relative.name in INTERFACES
        or relative in SCHEMA
    )


def test_the_check_sees_every_way_of_writing_the_call() -> None:
    source = (
        "with factory.begin() as s:\n    pass\n"
        "session .commit ( )\n"
        "(make())\\\n    .begin()\n"
        "session.begin_nested()\n"  # a savepoint: the caller's transaction goes on
        "flush()\n"
    )
    assert sorted(_owning_calls(source)) == [(1, "begin"), (3, "commit"), (4, "begin")]


def test_no_module_outside_core_and_the_interfaces_begins_or_commits() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: .{name}()"
        for path in sorted(ROOT.rglob("*.py"))
        if _bound(path)
        for line, name in _owning_calls(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "services flush; the caller or core.jobs owns the transaction"
