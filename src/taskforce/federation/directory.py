"""Asking a peer over signed requests: who it is (`hello`) and its agency directory, which
this node keeps (`peering.store_directory`) so AMBER can name an agency on another node and a
hit can name its 24/7 desk. No database here: the interface reads the target in one
transaction, calls the peer outside any, and stores what came back in another."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from taskforce.core.settings import Settings
from taskforce.federation import transport
from taskforce.federation.peering import Target
from taskforce.federation.schemas import Directory, Hello


def _ask(settings: Settings, target: Target, path: str, options: dict[str, Any]) -> Any:
    with transport.client(settings, target.node_id, target.url, **options) as http:
        return transport.get_json(http, path, peer=target.name)


def hello(settings: Settings, target: Target, **options: Any) -> Hello:
    """A signed round trip: both sides' peering and keys agree."""
    data = _ask(settings, target, "/federation/v1/hello", options)
    try:
        return Hello.model_validate(data)
    except ValidationError:
        raise transport.PeerUnreachable(f"{target.name} answered a malformed hello") from None


def fetch_directory(settings: Settings, target: Target, **options: Any) -> Directory:
    data = _ask(settings, target, "/federation/v1/directory", options)
    try:
        return Directory.model_validate(data)
    except ValidationError as error:
        where = ".".join(str(p) for p in error.errors()[0]["loc"])
        raise transport.PeerUnreachable(
            f"{target.name} sent a malformed directory ({where})"
        ) from None
