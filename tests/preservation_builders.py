"""Builders of the preservation tests: GB-NCA's and NL-NP's desks (partners), US-HSI (neither),
the coordinator INT-WATCH with its network admin, and a fixed clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from builders import Network, Person, make_person
from sqlalchemy.orm import Session
from watch_builders import make_coordinator

from taskforce.core.caller import Role
from taskforce.core.settings import Settings
from taskforce.preservation import service
from taskforce.preservation.models import PreservationRequest
from taskforce.preservation.schemas import PreservationCreate

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Desks:
    gb: Person  # GB-NCA investigator: keeps the watch
    nl: Person
    us: Person
    gb_analyst: Person  # may not keep the watch
    hub: Person  # the coordinator's network admin (INT-WATCH)


def make_desks(session: Session, network: Network) -> Desks:
    hub = make_coordinator(session)
    return Desks(
        gb=network.gb,
        nl=network.nl,
        us=network.us,
        gb_analyst=network.gb_analyst,
        hub=make_person(session, hub, role=Role.NETWORK_ADMIN, email="admin@hub.example.org"),
    )


def request_data(**overrides: Any) -> PreservationCreate:
    fields: dict[str, Any] = {
        "provider": "Fictional Mail Ltd",
        "provider_country": "IE",
        "identifiers": [{"type": "email", "value": "Night.Fox@Example.COM"}],
        "legal_basis": "art29_preservation",
        "sent_at": datetime(2026, 3, 1, 14, 30, tzinfo=UTC),
        "provider_reference": "",
        "notes": "asked by phone first",
    }
    fields.update(overrides)
    return PreservationCreate.model_validate(fields)


def record(
    session: Session, settings: Settings, person: Person, **overrides: Any
) -> PreservationRequest:
    return service.record(session, person.caller, settings, request_data(**overrides), now=NOW)
