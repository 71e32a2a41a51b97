"""Access is decided once, in `core.sharing`: no module outside `core/` compares owner
agencies or builds a visibility clause of its own.

An AST walk, not a grep, so neither formatting nor aliases hide a copy: a comparison whose
either side reads an `.owner_agency_id` attribute, and any use of `SharingPartner` or of
`visible_clause`, are reported with their place.
"""

from __future__ import annotations

import ast
from pathlib import Path

import taskforce

ROOT = Path(taskforce.__file__).parent
# Names that build "who may see it" in SQL; outside core only `sharing.visible()` (a filter)
# and the helpers in core.sharing are called.
VISIBILITY_BUILDERS = {"SharingPartner", "visible_clause"}


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "core" not in p.relative_to(ROOT).parts[:1])


def _reads_owner(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Attribute) and n.attr == "owner_agency_id" for n in ast.walk(node))


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    where = path.relative_to(ROOT.parent)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(
            _reads_owner(side) for side in [node.left, *node.comparators]
        ):
            found.append(f"{where}:{node.lineno}: compares owner agencies")
        elif isinstance(node, ast.Name) and node.id in VISIBILITY_BUILDERS:
            found.append(f"{where}:{node.lineno}: builds visibility with {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in VISIBILITY_BUILDERS:
            found.append(f"{where}:{node.lineno}: builds visibility with {node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "taskforce.core.sharing":
            found.extend(
                f"{where}:{node.lineno}: imports {a.name}"
                for a in node.names
                if a.name in VISIBILITY_BUILDERS
            )
    return found


def test_the_walk_sees_the_domains() -> None:
    names = {p.relative_to(ROOT).parts[0] for p in _modules()}
    assert {"cases", "hashsets", "series", "notices", "triage"} <= names
    assert "core" not in names


def test_the_walk_catches_a_comparison_however_written() -> None:
    sample = (
        "ok = (\n  record.owner_agency_id\n  !=\n  caller.agency_id)\n"
        "x = a in (b.owner_agency_id,)\n"
    )
    tree = ast.parse(sample)
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    assert len(compares) == 2
    assert all(_reads_owner(n.left) or any(map(_reads_owner, n.comparators)) for n in compares)


def test_no_domain_decides_access_itself() -> None:
    offences = [o for path in _modules() for o in _offences(path)]
    assert offences == [], (
        "use core.sharing (is_owner, owned_by, visible_or_404, require_owner, sees) instead:\n"
        + "\n".join(offences)
    )
