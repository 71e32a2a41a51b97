"""The hosting directory over the API: providers, their networks, the network-table import and
"where is this address hosted"."""

from __future__ import annotations

import dataclasses
import uuid

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from taskforce.core import spool, uploads
from taskforce.core.caller import Permission
from taskforce.core.errors import Invalid
from taskforce.core.http import CallerDep, SessionDep, SettingsDep
from taskforce.core.pagination import limit_query, offset_query
from taskforce.core.proposals.api import ACCEPTED, accepted
from taskforce.core.proposals.models import ChangeProposal
from taskforce.hosting import addresses, networks, service
from taskforce.hosting.schemas import (
    ImportReport,
    LocationRead,
    NetworkCreate,
    NetworkRead,
    ProviderCreate,
    ProviderPage,
    ProviderRead,
    ProviderUpdate,
)

router = APIRouter(prefix="/hosting", tags=["hosting"])


@router.get("/providers", response_model=ProviderPage)
def list_providers(
    session: SessionDep,
    caller: CallerDep,
    q: str = Query(default="", max_length=200, description="name, e-mail, AS number, address"),
    without_contact: bool = Query(default=False, description="only those without abuse e-mail"),
    limit: int = limit_query(50, 500),
    offset: int = offset_query(),
) -> ProviderPage:
    return service.list_providers(
        session, caller, query=q, without_contact=without_contact, limit=limit, offset=offset
    )


@router.post("/providers", response_model=ProviderRead, status_code=status.HTTP_201_CREATED)
def create_provider(data: ProviderCreate, session: SessionDep, caller: CallerDep) -> ProviderRead:
    return service.describe(session, service.create_provider(session, caller, data))


@router.get("/providers/{provider_id}", response_model=ProviderRead)
def get_provider(provider_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> ProviderRead:
    return service.get_provider(session, caller, provider_id)


@router.patch("/providers/{provider_id}", response_model=ProviderRead, responses=ACCEPTED)
def update_provider(
    provider_id: uuid.UUID, data: ProviderUpdate, session: SessionDep, caller: CallerDep
) -> ProviderRead | JSONResponse:
    """Change the fields sent. The record's keeper (the agency that registered it) and the
    network's stewards change it at once; anyone else's change is proposed (202)."""
    changed = service.update_provider(session, caller, provider_id, data)
    if isinstance(changed, ChangeProposal):
        return accepted(session, caller, changed)
    return service.describe(session, changed)


@router.post(
    "/providers/{provider_id}/networks",
    response_model=NetworkRead,
    status_code=status.HTTP_201_CREATED,
    responses=ACCEPTED,
)
def add_network(
    provider_id: uuid.UUID, data: NetworkCreate, session: SessionDep, caller: CallerDep
) -> NetworkRead | JSONResponse:
    """Record a block; blocks may nest (the longest prefix wins), the same block twice is 409.
    From someone who does not keep the provider's record: proposed (202)."""
    row = service.add_network(
        session, caller, provider_id, cidr=data.network, country=data.country, reason=data.reason
    )
    if isinstance(row, ChangeProposal):
        return accepted(session, caller, row)
    return NetworkRead.model_validate(row)


@router.delete("/networks/{network_id}", status_code=status.HTTP_204_NO_CONTENT, responses=ACCEPTED)
def remove_network(
    network_id: uuid.UUID,
    session: SessionDep,
    caller: CallerDep,
    reason: str = Query(default="", max_length=1000, description="why, if it is proposed"),
) -> Response:
    """Remove a block. From someone who does not keep the provider's record: proposed (202)."""
    proposal = service.remove_network(session, caller, network_id, reason=reason)
    if proposal is not None:
        return accepted(session, caller, proposal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/networks/import", response_model=ImportReport)
async def import_networks(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: CallerDep,
    source: str = Query(default="", max_length=200, description="default: the file's name"),
) -> ImportReport:
    """Upload a network table, as the body (`text/csv`) or as the `file` field of a form
    (`multipart/form-data`): CSV with a header naming `network` and `provider`, optionally
    `asn`, `country`, `abuse_email` (the provider's) and `network_country`; at most 256 MiB.
    Bad lines are reported with their number, field and rule, the good ones kept;
    re-importing changes nothing."""
    caller.require(Permission.MANAGE_HOSTING)  # before a byte of a large upload is read
    # The token check opened the transaction; end it, so that no lock (SQLite's write lock)
    # is held while the upload arrives. The import runs in a transaction of its own.
    session.commit()
    with spool.spool_file(settings.data_dir, "networks") as path:
        if uploads.is_multipart(request):
            form = await uploads.form_to_file(request, path)
            if not form.filename:
                raise Invalid("file", "send the CSV as the form's 'file' field")
            source = source or form.filename or ""
        else:
            await uploads.body_to_file(request, path)

        def run() -> ImportReport:
            with path.open("rb") as stream:
                return networks.import_networks(
                    session, caller, networks.read_lines(stream), source=source or "upload"
                )

        return await run_in_threadpool(run)


@router.get("/locate", response_model=LocationRead)
def locate(
    session: SessionDep,
    caller: CallerDep,
    ip: str = Query(max_length=100, description="IPv4 or IPv6 address"),
) -> LocationRead:
    """Where an address is hosted: registry country, network block, provider and abuse
    contact, the hosting country routing would use, and the steps that led there."""
    location = addresses.locate_address(session, caller, ip)
    return LocationRead(**dataclasses.asdict(location), data_source=addresses.DATA_SOURCE)
