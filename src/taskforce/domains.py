"""The domains, named once, lowest first.

A domain may import the domains before it in `DOMAINS`, never one after it (the acyclic and
layered contracts in `pyproject.toml` hold the code to this order; `tests/test_domains.py`
holds those contracts to this list). The app's API and pages, the CLI's groups and the mapper
registry (`taskforce.models`) take their domains from here: a new domain is added in this one
place, at the height of what it imports.
"""

from __future__ import annotations

import importlib
from importlib.util import find_spec
from types import ModuleType

from taskforce.core import crossnode, dependents, identification
from taskforce.federation import hits as federation_hits
from taskforce.series import service as series_service
from taskforce.series import status as series_status
from taskforce.triage import service as triage_service

DOMAINS: tuple[str, ...] = (
    "agencies",  # member agencies, contact points, partnerships
    "media",  # hashing files (no tables)
    "cases",  # cases, selectors, deconfliction hits
    "hosting",  # hosting providers and where an address is hosted
    "hashsets",  # hash sets and matching
    "triage",  # triage runs of evidence against the known media
    "series",  # victim identification: series, victims, the identification status
    "notices",  # clue notices to member countries
    "blocklist",  # URL block list for internet providers
    "takedown",  # notices to hosting providers, re-checks
    "rota",  # the network's 24/7 duty rota: desks, rotations, overrides, gaps
    "preservation",  # preservation requests at providers (Budapest Convention Art. 29, 30)
    "watch",  # the 24/7 watch: urgent leads to the desks
    "reports",  # public reports and the hotline queue (opens leads, notices, list entries)
    "commerce",  # commercial sites: text-only crawls, payment indicators, brands and groups
    "chats",  # chat logs: imports, participants to selectors, the tactic tagger, the review queue
    "federation",  # sovereign nodes: identity, peers, signed requests, blinded selector tokens
    "interop",  # STIX 2.1 + TLP 2.0, TAXII 2.1, MISP: what a member may pass on, out and in
    "observatory",  # public and member statistics: world map, removal times, snapshots
)


def provide() -> None:
    """Hands core's ports the functions of the domains that answer them: a domain below asks
    through the port, the domain above answers (`core.identification`: hash sets and triage
    ask, series answers; `core.dependents`: hash sets ask, triage and series answer;
    `core.crossnode`: the hits inbox asks, the federation answers)."""
    identification.provide(series_status.status_for_hashes)
    crossnode.provide(
        federation_hits.unacknowledged_counts,
        federation_hits.crossnode_hits,
        federation_hits.unacknowledged_per_case,
    )
    dependents.provide(
        "hash_set", triage_service.runs_matching_hash_set, series_service.series_from_hash_set
    )


def modules(part: str) -> list[ModuleType]:
    """Each domain's module `part` (`api`, `web`, `cli`, `models`), in `DOMAINS` order, for
    the domains that have one."""
    found = []
    for domain in DOMAINS:
        name = f"taskforce.{domain}.{part}"
        if find_spec(name) is not None:
            found.append(importlib.import_module(name))
    return found


provide()
