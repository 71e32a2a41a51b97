"""The one list of domains (`taskforce.domains.DOMAINS`) is the list everything else uses: the
packages on disk and the import contracts in pyproject.toml name exactly those domains, in
that order, so a new domain cannot be added in one place and forgotten in another."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from taskforce import domains

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "taskforce"
SHARED = ("core", "web", "migrations")  # packages under the domains, or beside them


def _contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["id"]: c for c in config["tool"]["importlinter"]["contracts"] if "id" in c}


def _named(domain_list: list[str]) -> list[str]:
    return [f"taskforce.{name}" for name in domain_list]


def test_every_domain_package_is_listed_once() -> None:
    on_disk = {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file() and p.name not in SHARED
    }
    assert len(set(domains.DOMAINS)) == len(domains.DOMAINS)
    assert set(domains.DOMAINS) == on_disk


def test_the_contracts_name_the_domains_in_their_order() -> None:
    contracts = _contracts()
    listed = list(domains.DOMAINS)
    # the spine, top first: the domains from the highest down, then web, then core
    assert contracts["domain-order"]["layers"] == [
        *_named(listed[::-1]),
        "taskforce.web",
        "taskforce.core",
    ]
    # every domain's modules are placed: hash sets in a contract of their own (a module name
    # can sit in one layer only, and hashsets.matching is a workflow, triage.matching a leaf)
    own = (  # each in a contract of its own
        "taskforce.hashsets",
        "taskforce.federation",
        "taskforce.commerce",
        "taskforce.chats",
        "taskforce.interop",
        "taskforce.observatory",
    )
    layered = [*contracts["domain-layers"]["containers"], *own]
    assert sorted(layered) == sorted(_named(listed))
    assert contracts["domain-layers"]["containers"] == [c for c in _named(listed) if c not in own]
    assert contracts["domain-layers-hashsets"]["containers"] == ["taskforce.hashsets"]
    assert contracts["domain-layers-federation"]["containers"] == ["taskforce.federation"]
    assert contracts["domain-layers-federation"]["exhaustive"] is True
    for domain in ("commerce", "chats", "interop", "observatory"):
        assert contracts[f"domain-layers-{domain}"]["containers"] == [f"taskforce.{domain}"]
        assert contracts[f"domain-layers-{domain}"]["exhaustive"] is True
    assert contracts["domain-layers"]["exhaustive"] is True
    assert contracts["domain-layers-hashsets"]["exhaustive"] is True
    assert contracts["composition-roots"]["source_modules"] == [
        "taskforce.core",
        "taskforce.web",
        *_named(listed),
    ]
    assert contracts["acyclic"]["type"] == "acyclic_siblings"


def test_the_app_and_the_command_take_their_domains_from_the_list() -> None:
    """Each domain with a command-line part adds it through `install` (taskforce.cli), and
    every module part is found in the list's order."""
    for module in domains.modules("cli"):
        assert callable(module.install), module.__name__
    names = [m.__name__.split(".")[1] for m in domains.modules("models")]
    assert names == [d for d in domains.DOMAINS if d in names]
