"""`docs/cli.md`, rendered from the `taskforce` command itself so that it cannot drift from it.

`python -m taskforce.cli_docs > docs/cli.md` rewrites the page; `tests/test_docs.py` fails when the
page and the code disagree. The page is built from click's view of the Typer app (names, help,
arguments, options, defaults), never from a terminal rendering, so it is the same on every machine.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

from taskforce.cli import app

REGENERATE = "python -m taskforce.cli_docs > docs/cli.md"

_INTRO = f"""\
# Command line reference

Every command of `taskforce`, with its arguments and options. Every command also reads the
`TASKFORCE_*` settings ([settings.md](settings.md)) and answers `--help`. After `make setup`,
`source .venv/bin/activate` puts `taskforce` on your PATH (or run `.venv/bin/taskforce`); after
`make demo`, `export TASKFORCE_DATA_DIR=<data folder>/demo` (the line it prints) points every
command at the demo's database. A command on a database without a schema stops with "this
database is not initialised: run `taskforce db upgrade`".

This page is generated from the code; after changing a command, run

    {REGENERATE}

(`tests/test_docs.py` fails until the page matches).
"""


def render() -> str:
    """The whole page, commands in the order a reader meets them: groups depth first."""
    lines = [_INTRO]
    for path, command in _walk("taskforce", typer.main.get_command(app)):
        lines.extend(_section(path, command))
    return "\n".join(lines).rstrip("\n") + "\n"


# Typer builds click commands (its own copy of click since 0.20): read by duck typing, as `Any`


def _subcommands(command: Any) -> list[tuple[str, Any]]:
    found: dict[str, Any] = getattr(command, "commands", None) or {}
    return [(name, found[name]) for name in sorted(found) if not found[name].hidden]


def _walk(path: str, command: Any) -> list[tuple[str, Any]]:
    found = [(path, command)]
    for name, sub in _subcommands(command):
        found.extend(_walk(f"{path} {name}", sub))
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _section(path: str, command: Any) -> list[str]:
    lines = [f"{'#' * min(path.count(' ') + 2, 4)} `{path}`", ""]
    if text := inspect.cleandoc(command.help or "").replace("\b\n", "").strip():
        lines += [text, ""]
    if isinstance(command, TyperGroup):
        lines += ["| Command | What it does |", "|---|---|"]
        lines += [
            f"| `{path} {name}` | {_cell(sub.get_short_help_str(limit=300))} |"
            for name, sub in _subcommands(command)
        ]
        return [*lines, ""]
    params = [p for p in command.params if not getattr(p, "hidden", False)]
    arguments = [p for p in params if isinstance(p, TyperArgument)]
    options = [p for p in params if isinstance(p, TyperOption)]
    usage = [path, *(["[OPTIONS]"] if options else []), *map(_argument_usage, arguments)]
    lines += [f"Usage: `{' '.join(usage)}`", ""]
    if arguments:
        lines += ["| Argument | Required | Help |", "|---|---|---|"]
        lines += [
            f"| `{_name(p)}` | {'yes' if p.required else 'no'} | {_cell(_param_help(p))} |"
            for p in arguments
        ]
        lines.append("")
    if options:
        lines += ["| Option | Default | Help |", "|---|---|---|"]
        lines += [
            f"| {_option_names(p)} | {_default(p)} | {_cell(_param_help(p))} |" for p in options
        ]
        lines.append("")
    return lines


def _name(argument: TyperArgument) -> str:
    return (argument.name or "").upper()


def _argument_usage(argument: TyperArgument) -> str:
    name = _name(argument) + ("..." if argument.nargs == -1 else "")
    return name if argument.required else f"[{name}]"


def _option_names(option: TyperOption) -> str:
    return " / ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])


def _param_help(param: TyperArgument | TyperOption) -> str:
    text = param.help or ""
    choices = getattr(getattr(param, "type", None), "choices", None)
    if choices:
        text = f"{text} (one of: {', '.join(map(str, choices))})".strip()
    return text


def _default(option: TyperOption) -> str:
    default: object = option.default
    if option.required:
        return "required"
    if option.is_flag:
        if option.secondary_opts:
            return f"`{(option.opts if default else option.secondary_opts)[0]}`"
        return "on" if default else "off"
    if default is None or default in ("", (), []):
        return ""
    if isinstance(default, list | tuple):
        return ", ".join(f"`{item}`" for item in default)
    return f"`{default}`"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
