"""Docs kept true by tests: every setting, every command, every selector type and every hash-list
format the code knows is documented, and nothing documented is missing from the code."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from taskforce import cli_docs
from taskforce.cases.noise import BUILTIN_NOISE
from taskforce.cases.selectors import SelectorKind, normalise, parse_kind
from taskforce.core.budgets import Budget
from taskforce.core.errors import Invalid
from taskforce.core.settings import Settings
from taskforce.hashsets import formats
from taskforce.hashsets.categories import SCHEMES

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next heading of that level or above."""
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    end = re.search(rf"^#{{1,{heading.count('#')}}} ", text[start:], re.MULTILINE)
    return text[start : start + end.start()] if end else text[start:]


def _rows(table: str) -> list[list[str]]:
    """The cells of a Markdown table's body rows (header and rule left out)."""
    lines = [line for line in table.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def _code(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    missing = [n for n in Settings.model_fields if f"TASKFORCE_{n.upper()}" not in text]
    assert missing == []


# --- docs/cli.md: generated from the Typer app ---------------------------------------------------


def test_the_command_reference_is_the_one_the_code_generates() -> None:
    documented = (DOCS / "cli.md").read_text()
    assert documented == cli_docs.render(), (
        f"docs/cli.md is out of date with the commands: run `{cli_docs.REGENERATE}`"
    )


def test_the_command_reference_names_every_command() -> None:
    text = cli_docs.render()
    for command in ["taskforce serve", "taskforce hashset import", "taskforce db upgrade"]:
        assert f"`{command}`" in text
    assert "| `--format` |" in text  # options with their help


# --- docs/selectors.md: the selector types and their normalisation -------------------------------

SELECTORS = (DOCS / "selectors.md").read_text()
TYPES = {row[0].strip("`"): row for row in _rows(_section(SELECTORS, "## Selector types"))}


def test_every_selector_type_is_documented_with_its_normalisation_and_no_other() -> None:
    assert set(TYPES) == {kind.value for kind in SelectorKind}
    assert [kind for kind, row in TYPES.items() if len(row) != 5 or not all(row[1:4])] == []


def test_the_documented_type_rule_lists_the_types_the_code_accepts() -> None:
    with pytest.raises(Invalid) as refused:
        parse_kind("no such type")
    assert f"`{refused.value}`" in SELECTORS


def _examples() -> list[tuple[str, str, str]]:
    """Plain `in` → `out` examples of the types table (those naming an agency or platform, or
    shortened with …, are read by people only)."""
    found = []
    for kind, row in TYPES.items():
        for example in row[3].split("<br>"):
            match = re.fullmatch(r"`([^`…]*)` → (`([^`…]*)`|unchanged)", example.strip())
            if match:
                before = match.group(1)
                found.append((kind, before, before if match.group(2) == "unchanged" else match[3]))
    return found


@pytest.mark.parametrize(("kind", "typed", "stored"), _examples())
def test_the_documented_examples_normalise_as_shown(kind: str, typed: str, stored: str) -> None:
    assert normalise(kind, typed).value == stored


def test_the_documented_examples_cover_most_types() -> None:
    assert len({kind for kind, _, _ in _examples()}) >= 9


def test_the_documented_noise_list_is_the_built_in_one() -> None:
    table = _section(SELECTORS, "## The noise list").split("\n\n")[1]
    documented = {(row[0].strip("`"), entry) for row in _rows(table) for entry in _code(row[1])}
    assert documented == {(rule.kind.value, rule.pattern) for rule in BUILTIN_NOISE}


# --- docs/formats.md: the hash-list formats ------------------------------------------------------

FORMATS_MD = (DOCS / "formats.md").read_text()
HEADINGS = re.findall(r"^## .*\(`([\w-]+)`\) — (read and written|read)$", FORMATS_MD, re.MULTILINE)


def test_every_import_format_is_documented_and_no_other() -> None:
    assert sorted(name for name, _ in HEADINGS) == sorted(formats.FORMATS)
    assert set(formats.FORMATS) == set(formats.READERS)


def test_every_export_format_is_documented_as_written_and_no_other() -> None:
    written = sorted(name for name, how in HEADINGS if how == "read and written")
    assert written == sorted(formats.EXPORT_FORMATS) == sorted(formats.WRITERS)


def test_the_documented_csv_columns_are_the_code_s() -> None:
    csv = _section(FORMATS_MD, "## CSV with a header (`csv`) — read and written")
    read, written = csv.split("Written", 1)
    assert set(_code(read)) <= set(formats.CSV_COLUMNS)
    assert _code(written.split("in this order")[0]) == list(formats.CSV_COLUMNS)


def test_the_documented_category_schemes_are_the_code_s() -> None:
    table = FORMATS_MD[FORMATS_MD.index("| scheme | codes | source |") :]
    rows = _rows(table.split("\n\n")[0].replace("\n  ", "\n"))
    documented = {_code(row[0])[0]: [c.split()[0] for c in _code(row[1])] for row in rows}
    assert documented == {scheme: list(codes) for scheme, codes in SCHEMES.items()}


def test_every_budget_is_documented() -> None:
    budgets = _rows(_section(FORMATS_MD, "## Budgets"))
    documented = [_code(row[0])[0] for row in budgets]
    assert sorted(documented) == sorted(f.name for f in dataclasses.fields(Budget))
