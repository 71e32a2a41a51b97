"""A read-only TAXII 2.1 server under /taxii2/: what a member agency may pass on, served to the
threat-intelligence tools it already runs (MISP, OpenCTI, any `taxii2-client`).

Discovery (`/taxii2/`), one API root (`/taxii2/api/`), its collections, and each collection's
objects, manifest and objects by id (OASIS TAXII 2.1, sections 4 and 5). Nothing can be written:
there is no POST route, and a collection says `can_write: false`.

The same API tokens as /api/v1 (`Authorization: Bearer <token>`; `Token <token>` as
taxii2-client's `TokenAuth` sends it; HTTP Basic with the token as the password, for clients
that only speak Basic), member callers only, and the permission
to export indicators. Errors are TAXII error messages (`title`, `description`, `http_status`)
in TAXII's media type, never the API's JSON shape, because a TAXII client parses them. The
routes are outside the OpenAPI document: TAXII's own specification describes them.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from taskforce.core.auth import service as auth_service
from taskforce.core.caller import Caller
from taskforce.core.errors import AuthFailed, Invalid, NotFound, TaskforceError
from taskforce.core.http import SessionDep, SettingsDep, client_ip, member_caller
from taskforce.core.settings import Settings
from taskforce.interop import collections, taxii_query
from taskforce.interop.collections import Page
from taskforce.interop.taxii_query import Filters

TAXII_MEDIA_TYPE: Final = "application/taxii+json;version=2.1"
_TITLES: Final = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    422: "Unprocessable request",
}


class NotAcceptable(TaskforceError):
    """The client asked for a media type this server does not speak (TAXII 2.1 only)."""

    http_status = 406
    code = "not_acceptable"


def taxii_error(status: int, description: str, details: dict[str, Any] | None = None) -> Response:
    """A TAXII error message (section 3.6.1): `http_status` is a string there."""
    body: dict[str, Any] = {
        "title": _TITLES.get(status, "Error"),
        "description": description,
        "http_status": str(status),
    }
    if details:
        body["details"] = details
    headers = {"WWW-Authenticate": 'Bearer, Basic realm="taxii"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=TAXII_MEDIA_TYPE, headers=headers)


def _error_of(exc: TaskforceError) -> Response:
    if isinstance(exc, Invalid):  # a bad filter or page token: TAXII says 400
        return taxii_error(400, exc.message, {"field": exc.field, "rule": exc.rule})
    return taxii_error(exc.http_status, exc.message)


class TaxiiRoute(APIRoute):
    """Every refusal of a TAXII route, its dependencies' included (the token, the Accept
    header, a parameter no database can store), answered as a TAXII error message."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def taxii_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except TaskforceError as exc:
                return _error_of(exc)
            except RequestValidationError:
                return taxii_error(400, "the request's parameters are malformed")
            except StarletteHTTPException as exc:
                return taxii_error(exc.status_code, str(exc.detail))

        return taxii_handler


router = APIRouter(prefix="/taxii2", route_class=TaxiiRoute, include_in_schema=False)


# --- who asks, in which media type -------------------------------------------------------------


def _acceptable(header: str) -> bool:
    """TAXII 2.1's media type, with or without its version, or a wildcard; no Accept at all
    is taken as TAXII too (curl sends */*)."""
    if not header.strip():
        return True
    for part in header.split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        values = dict(p.partition("=")[::2] for p in params)
        if values.get("q", "1").strip() in ("0", "0.0", "0.00", "0.000"):
            continue
        if media in ("*/*", "application/*"):
            return True
        if media == "application/taxii+json" and values.get("version", "2.1").strip() == "2.1":
            return True
    return False


def _token(request: Request) -> str:
    """The API token: a bearer token, or the password of HTTP Basic (the user name is not
    looked at), since some TAXII clients only send Basic; `Token <token>` too, as
    taxii2-client's own `TokenAuth` sends it."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() in ("bearer", "token") and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        password = decoded.partition(":")[2].strip()
        if password:
            return password
    raise AuthFailed(
        "send an API token as 'Authorization: Bearer <token>' (or as the password of HTTP Basic)"
    )


def _caller(request: Request, session: Session) -> Caller:
    """Media type first (a 406 says nothing about the data), then the token: members only."""
    if not _acceptable(request.headers.get("accept", "")):
        raise NotAcceptable(f"this server speaks {TAXII_MEDIA_TYPE} only")
    found = auth_service.caller_from_token(session, _token(request), ip=client_ip(request))
    caller = member_caller(found)
    collections.require_reader(caller)
    return caller


def _taxii(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, media_type=TAXII_MEDIA_TYPE, headers=headers)


def _root_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + router.prefix + "/api/"


# --- discovery, the API root, collections --------------------------------------------------------


@router.get("/")
def discovery(request: Request, session: SessionDep) -> Response:
    """Server discovery (TAXII 2.1, 4.1): the one API root this hub offers."""
    _caller(request, session)
    root = _root_url(request)
    return _taxii(
        {
            "title": "taskforce TAXII 2.1",
            "description": "Indicators the network's member agencies may pass on: GREEN "
            "material not marked 'not for export', as STIX 2.1 with TLP 2.0 markings.",
            "default": root,
            "api_roots": [root],
        }
    )


@router.get("/api/")
def api_root(request: Request, session: SessionDep) -> Response:
    """The API root (4.2): TAXII 2.1, read-only (so it takes no content)."""
    _caller(request, session)
    return _taxii(
        {
            "title": "taskforce",
            "description": "The hub's releasable indicators: the network's, and each agency's.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": 0,
        }
    )


@router.get("/api/collections/")
def list_collections(request: Request, session: SessionDep) -> Response:
    """The collections the caller may read (5.1): the network's, and one per agency that has
    material to pass on."""
    caller = _caller(request, session)
    found = collections.readable(session, caller)
    return _taxii({"collections": [c.resource() for c in found]})


@router.get("/api/collections/{collection_id}/")
def get_collection(collection_id: str, request: Request, session: SessionDep) -> Response:
    caller = _caller(request, session)
    return _taxii(collections.find(session, caller, collection_id).resource())


# --- objects, manifests -------------------------------------------------------------------------


def _filters(request: Request, settings_limit: int) -> Filters:
    params = request.query_params
    unknown = sorted(name for name in params if name not in taxii_query.QUERY_PARAMETERS)
    if unknown:
        raise Invalid(unknown[0], "is not a TAXII 2.1 filter of this endpoint")
    return taxii_query.parse_filters(
        added_after=params.get("added_after"),
        limit=params.get("limit"),
        next_token=params.get("next"),
        match={
            name: params.getlist(f"match[{name}]")
            for name in ("id", "type", "version", "spec_version")
        },
        page_limit=settings_limit,
    )


def _headers(page: Page) -> dict[str, str]:
    if not page.items:
        return {}
    return {
        "X-TAXII-Date-Added-First": taxii_query.timestamp(page.items[0].date_added),
        "X-TAXII-Date-Added-Last": taxii_query.timestamp(page.items[-1].date_added),
    }


def _envelope(page: Page) -> dict[str, Any]:
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    if page.items:
        body["objects"] = [item.object for item in page.items]
    return body


@router.get("/api/collections/{collection_id}/objects/")
def get_objects(
    collection_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """Objects (5.3): an envelope of at most `limit` objects, oldest first, `more` and an opaque
    `next` while there are more; the first and last `date_added` in the headers."""
    caller = _caller(request, session)
    found = collections.find(session, caller, collection_id)
    page = collections.objects(session, caller, found, _filters(request, settings.taxii_page_limit))
    return _taxii(_envelope(page), _headers(page))


@router.get("/api/collections/{collection_id}/manifest/")
def get_manifest(
    collection_id: str, request: Request, session: SessionDep, settings: SettingsDep
) -> Response:
    """The manifest (5.2): the same page as `objects/`, each object only as its id, date
    added, version and media type."""
    caller = _caller(request, session)
    found = collections.find(session, caller, collection_id)
    page = collections.objects(
        session, caller, found, _filters(request, settings.taxii_page_limit), manifest=True
    )
    body: dict[str, Any] = {"more": page.more}
    if page.next is not None:
        body["next"] = page.next
    if page.items:
        body["objects"] = [collections.manifest_record(item) for item in page.items]
    return _taxii(body, _headers(page))


def _object_id(object_id: str) -> str:
    kind, sep, rest = object_id.partition("--")
    try:
        uuid.UUID(rest)
    except ValueError:
        sep = ""
    if not sep or not kind:
        raise NotFound("object")  # not a STIX id: no such object, as TAXII says
    return object_id


def _one_object(
    request: Request, session: Session, settings: Settings, collection_id: str, object_id: str
) -> Page:
    """The page of one object by its id, as both `objects/{id}/` and its `versions/` read it."""
    caller = _caller(request, session)
    found = collections.find(session, caller, collection_id)
    return collections.one_object(
        session, caller, found, _object_id(object_id), _filters(request, settings.taxii_page_limit)
    )


@router.get("/api/collections/{collection_id}/objects/{object_id}/")
def get_object(
    collection_id: str,
    object_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """One object by its id (5.5), in an envelope."""
    page = _one_object(request, session, settings, collection_id, object_id)
    return _taxii(_envelope(page), _headers(page))


@router.get("/api/collections/{collection_id}/objects/{object_id}/versions/")
def get_versions(
    collection_id: str,
    object_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """An object's versions (5.7): each object here has one."""
    page = _one_object(request, session, settings, collection_id, object_id)
    return _taxii(
        {"more": False, "versions": [taxii_query.version(item.object) for item in page.items]},
        _headers(page),
    )
