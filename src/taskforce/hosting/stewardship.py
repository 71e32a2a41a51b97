"""Who changes a hosting provider's record, and the proposals of those who may not.

A provider's abuse e-mail is where every member's takedown notices about its networks go, and
its networks decide which provider (and country) an address belongs to: one analyst editing
them silently would redirect everyone's notices. So a provider record is KEPT by the agency that
registered it (`HostingProvider.owner_agency_id`; created by an analyst of GB-NCA: GB-NCA keeps
it) or, when no agency registered it (the operator's imports, records older than this rule), by
the network. Its keeper's people and the network's stewards (network admins, the network
coordinator: `core.proposals`) change it directly; any other member with MANAGE_HOSTING gets a
proposal, which the keeper or a steward approves or rejects.

Three kinds, applied by calling the service again as the decider:

- `hosting.provider.update`: new values of name, ASN, country, abuse e-mail, notes;
- `hosting.network.add`: a block to record for the provider;
- `hosting.network.remove`: one of its blocks to remove.

(`service` imports this module for the kinds; the apply functions import `service` when they
run, so the two do not import each other at load time.)
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller, Permission
from taskforce.core.errors import Conflict
from taskforce.core.proposals import service as proposals
from taskforce.core.proposals.models import ChangeProposal
from taskforce.hosting.models import HostingNetwork, HostingProvider

FIELD_LABELS = {
    "name": "name",
    "asn": "AS number",
    "country": "country",
    "abuse_email": "abuse e-mail",
    "notes": "notes",
}


def may_change(session: Session, caller: Caller, provider: HostingProvider) -> bool:
    """Its keeper's people and the stewards change it; anyone else proposes."""
    return proposals.may_change(
        session,
        caller,
        owner_agency_id=provider.owner_agency_id,
        permission=Permission.MANAGE_HOSTING,
    )


def _shown(field: str, value: Any) -> str:
    if value is None or value == "":
        return "none"
    if field == "asn":
        return f"AS{value}"
    if field == "notes":
        text = " ".join(str(value).split())
        return repr(text if len(text) <= 80 else text[:79] + "…")
    return str(value)


def changes_in_words(provider: HostingProvider, values: dict[str, Any]) -> str:
    """`abuse e-mail: abuse@a.example → abuse@b.example; AS number: none → AS64500`."""
    return "; ".join(
        f"{FIELD_LABELS[k]}: {_shown(k, getattr(provider, k))} → {_shown(k, v)}"
        for k, v in values.items()
    )


def propose(
    session: Session,
    caller: Caller,
    kind: proposals.Kind,
    provider: HostingProvider,
    *,
    payload: dict[str, Any],
    summary: str,
    reason: str,
) -> ChangeProposal:
    return proposals.propose(
        session,
        caller,
        kind,
        target_type="hosting_provider",
        target_id=provider.id,
        target_label=provider.name,
        owner_agency_id=provider.owner_agency_id,
        payload=payload,
        summary=summary,
        reason=reason,
    )


def _provider(session: Session, proposal: ChangeProposal) -> HostingProvider:
    provider = session.get(HostingProvider, proposal.target_id)
    if provider is None:
        raise Conflict(f"the hosting provider {proposal.target_label} no longer exists")
    return provider


def _applied(result: object) -> None:
    if isinstance(result, ChangeProposal):  # the decider may change it: never happens
        raise Conflict("the change could not be applied by this decider")


def _apply_update(session: Session, caller: Caller, proposal: ChangeProposal) -> str:
    from taskforce.hosting import service
    from taskforce.hosting.schemas import ProviderUpdate

    provider = _provider(session, proposal)
    words = changes_in_words(provider, proposal.payload)
    _applied(
        service.update_provider(
            session, caller, provider.id, ProviderUpdate.model_validate(proposal.payload)
        )
    )
    return f"changed {words}"


def _now_update(session: Session, proposal: ChangeProposal) -> str | None:
    provider = session.get(HostingProvider, proposal.target_id)
    if provider is None:
        return None
    return "; ".join(
        f"{FIELD_LABELS[k]}: {_shown(k, getattr(provider, k))}" for k in proposal.payload
    )


def _apply_network_add(session: Session, caller: Caller, proposal: ChangeProposal) -> str:
    from taskforce.hosting import service

    provider = _provider(session, proposal)
    cidr, country = proposal.payload["network"], proposal.payload.get("country")
    _applied(service.add_network(session, caller, provider.id, cidr=cidr, country=country))
    return f"network {cidr} added to {provider.name}"


def _network(session: Session, proposal: ChangeProposal) -> HostingNetwork | None:
    network = session.get(HostingNetwork, uuid.UUID(proposal.payload["network_id"]))
    if network is None or network.provider_id != proposal.target_id:
        return None
    return network


def _apply_network_remove(session: Session, caller: Caller, proposal: ChangeProposal) -> str:
    from taskforce.hosting import service

    provider = _provider(session, proposal)
    cidr = proposal.payload["network"]
    network = _network(session, proposal)
    if network is None:
        raise Conflict(f"{cidr} is no longer recorded for {provider.name}")
    _applied(service.remove_network(session, caller, network.id))
    return f"network {cidr} removed from {provider.name}"


def _now_networks(session: Session, proposal: ChangeProposal) -> str | None:
    provider = session.get(HostingProvider, proposal.target_id)
    if provider is None:
        return None
    cidr = proposal.payload["network"]
    if proposal.kind == NETWORK_REMOVE.name:
        held = _network(session, proposal) is not None
        return f"{cidr} is {'recorded' if held else 'no longer recorded'} for {provider.name}"
    holder = session.scalar(
        select(HostingProvider.name)
        .join(HostingNetwork, HostingNetwork.provider_id == HostingProvider.id)
        .where(HostingNetwork.cidr == cidr)
    )
    return f"{cidr} is recorded for {holder}" if holder else f"{cidr} is not recorded yet"


PROVIDER_UPDATE = proposals.register(
    proposals.Kind(
        name="hosting.provider.update",
        title="Change a hosting provider's details",
        permission=Permission.MANAGE_HOSTING,
        apply=_apply_update,
        now=_now_update,
    )
)
NETWORK_ADD = proposals.register(
    proposals.Kind(
        name="hosting.network.add",
        title="Add a network block to a hosting provider",
        permission=Permission.MANAGE_HOSTING,
        apply=_apply_network_add,
        now=_now_networks,
    )
)
NETWORK_REMOVE = proposals.register(
    proposals.Kind(
        name="hosting.network.remove",
        title="Remove a network block from a hosting provider",
        permission=Permission.MANAGE_HOSTING,
        apply=_apply_network_remove,
        now=_now_networks,
    )
)
