"""Request bodies: bounded as they stream and read only once the caller is known.

Every address belongs to one *route class* (the table `ROUTE_CLASSES` below, the one place
that decides it): how many bytes its body may have, who must be known before a byte of it is
read (an API token, a logged-in page session, or nobody for the public forms), and which
content types the public forms take. `BodyGate`, an ASGI middleware in front of every route,
applies the class to each request that carries a body:

1. a `Content-Length` over the limit is refused at once (413);
2. the caller is checked before the application is called (FastAPI parses a body before it
   resolves a route's dependencies, so a dependency alone would come too late): an API request
   with no valid token gets 401, a page form without a login goes to the login page, and the
   application never sees a byte;
3. the body is counted as it streams, whatever its framing (chunked, or a `Content-Length`
   that lies): past the limit, reading stops and the answer is 413 (Starlette's
   `RequestBodyLimitMiddleware` counts; its 413 is rendered by the app's handlers);
4. an answer given before the body was read to its end closes the connection, so the server
   does not go on reading (and discarding) what the client still sends.

Routes that take large uploads check the caller's permission on the target (the hash set,
the network table) before they stream, and stream to a spool file (`core.spool`), never to
memory.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, TypedDict

from starlette.datastructures import MutableHeaders
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY, RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from taskforce.core.errors import Invalid, TaskforceError

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

CallerKind = Literal["token", "session"]


class FormLimits(TypedDict, total=False):
    """Limits of `request.form(...)` (Starlette) and FastAPI's `form_limits`."""

    max_files: int
    max_fields: int
    max_part_size: int


@dataclass(frozen=True)
class BodyClass:
    """What a request body may be at a class of addresses."""

    name: str
    max_bytes: int | None  # None: the `max_body_bytes` setting (or `setting`'s)
    caller: CallerKind | None  # who must be known before a byte is read; None: public
    content_types: tuple[str, ...] = ()  # empty: any
    form: FormLimits = field(default_factory=lambda: FormLimits())
    setting: str | None = None  # the setting that sizes the class (an operator's choice)

    def limit(self, default: int, sized: Mapping[str, int] | None = None) -> int:
        if self.setting is not None and sized is not None and self.setting in sized:
            return sized[self.setting]
        return default if self.max_bytes is None else self.max_bytes


API = BodyClass("API request", None, "token")
PAGE_FORM = BodyClass("page form", None, "session")
# The public forms (a report, a tip, the login) are url-encoded: a file part is refused before
# it is parsed, and nothing of theirs is ever spooled. 256 KiB holds every field at its
# longest, in any script, percent-encoded.
PUBLIC_FORM = BodyClass(
    "public form",
    256 * KiB,
    None,
    content_types=("application/x-www-form-urlencoded",),
    form=FormLimits(max_files=0, max_fields=50, max_part_size=256 * KiB),
)
HASH_LIST_API = BodyClass("hash list upload", 2 * GiB, "token")
HASH_LIST_PAGE = BodyClass("hash list upload", 2 * GiB, "session")
# A full IP-to-network table is about 100 MB of CSV.
NETWORK_TABLE_API = BodyClass("network table upload", 256 * MiB, "token")
NETWORK_TABLE_PAGE = BodyClass("network table upload", 256 * MiB, "session")
# Clue images are checked before decoding (notices.images); a notice form may carry several.
CLUE_IMAGES_API = BodyClass("clue image upload", 12 * MiB, "token")
CLUE_IMAGES_PAGE = BodyClass("clue image upload", 12 * MiB, "session")
# A MISP event file to import into a case (interop.misp_import reads it whole, in memory).
MISP_EVENT_API = BodyClass("MISP event import", 32 * MiB, "token")
# The same file from the interop page: a multipart form (the file, the case, the token).
MISP_EVENT_PAGE = BodyClass("MISP event import", 33 * MiB, "session")
# A chat export (a zip with its photos): as large as the operator allows (`chats_upload_bytes`).
CHAT_EXPORT_API = BodyClass("chat export upload", None, "token", setting="chats_upload_bytes")
CHAT_EXPORT_PAGE = BodyClass("chat export upload", None, "session", setting="chats_upload_bytes")
# Between nodes: no token or login; the route's signature check (federation.guard) reads the
# body, bounded here, and checks its Content-Digest before anything else looks at it.
FEDERATION = BodyClass("signed node request", None, None)
NO_BODY = BodyClass("no body expected", 64 * KiB, None)

# First match wins; an address no pattern names takes `NO_BODY` (its routes read no body).
ROUTE_CLASSES: tuple[tuple[re.Pattern[str], BodyClass], ...] = (
    (re.compile(r"^/api/v1/hashsets/[^/]+/import$"), HASH_LIST_API),
    (re.compile(r"^/api/v1/hosting/networks/import$"), NETWORK_TABLE_API),
    (re.compile(r"^/api/v1/notices/[^/]+/clues/[^/]+/images$"), CLUE_IMAGES_API),
    (re.compile(r"^/api/v1/interop/misp/import$"), MISP_EVENT_API),
    (re.compile(r"^/api/v1/chats/cases/[^/]+/imports$"), CHAT_EXPORT_API),
    (re.compile(r"^/api/v1/"), API),
    (re.compile(r"^/ui/login$"), PUBLIC_FORM),
    (re.compile(r"^/ui/hashsets/[^/]+/import$"), HASH_LIST_PAGE),
    (re.compile(r"^/ui/hosting/import$"), NETWORK_TABLE_PAGE),
    (re.compile(r"^/ui/interop/misp-import$"), MISP_EVENT_PAGE),
    (re.compile(r"^/ui/chats/cases/[^/]+/import$"), CHAT_EXPORT_PAGE),
    (re.compile(r"^/ui/notices/(new|[^/]+/clues(/[^/]+/images)?)$"), CLUE_IMAGES_PAGE),
    (re.compile(r"^/ui(/|$)"), PAGE_FORM),
    # no login: a public report, a trace-an-object tip, a drill's acknowledgement (its secret)
    (re.compile(r"^/(report|trace|drills)(/|$)"), PUBLIC_FORM),
    (re.compile(r"^/federation/v1/"), FEDERATION),
    # the TAXII 2.1 server is read-only: nothing is posted to it (interop/taxii.py)
    (re.compile(r"^/taxii2(/|$)"), NO_BODY),
)


def body_class(path: str) -> BodyClass:
    """The route class of an address (the path as the router sees it)."""
    for pattern, found in ROUTE_CLASSES:
        if pattern.match(path):
            return found
    return NO_BODY


class BodyTooLarge(Invalid):
    http_status = 413
    code = "too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            "body",
            f"at most {limit:,} bytes at this address",
            f"the request body is over {limit:,} bytes, the most this address accepts",
        )
        self.limit = limit


def too_large(scope: Scope) -> BodyTooLarge | None:
    """The refusal of a body that went over its limit while it streamed (Starlette raised
    its 413 inside the app), for the error handlers to render; None for another 413."""
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    return BodyTooLarge(limit) if isinstance(limit, int) else None


class BodyTypeRefused(Invalid):
    http_status = 415
    code = "unsupported_media_type"

    def __init__(self, allowed: tuple[str, ...]) -> None:
        super().__init__("content-type", f"must be {' or '.join(allowed)}")


# A check resolves the caller before the body is read (stashing it on the request's state for
# the route's own dependency) and answers the refusal itself, or None to go on.
Check = Callable[[Request], Awaitable[Response | None]]
# Renders a refusal of the gate's own: JSON for the API, a page for the pages.
Refuse = Callable[[Request, TaskforceError], Response]


def route_path(scope: Scope) -> str:
    """The path as Starlette's router matches it (without the mount's `root_path`)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


def _announced(scope: Scope) -> tuple[bool, int | None]:
    """Whether the request carries a body, and its declared length if it declares one."""
    length: int | None = None
    body = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            if value.strip().isdigit():
                length = int(value)
                body = body or length > 0
            else:
                body = True  # not a length: treat as a body of unknown size
        elif name == b"transfer-encoding":
            body = True
    return body, length


def _content_type(scope: Scope) -> str:
    value: bytes = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    return value.decode("latin-1").split(";", 1)[0].strip().lower()


class BodyGate:
    """Applies `ROUTE_CLASSES` to every HTTP request (see the module's docstring).

    Plain ASGI rather than `@app.middleware("http")`: Starlette's BaseHTTPMiddleware runs each
    request in a task group and passes the answer through memory streams (benchmarks/
    public_form.py measured it at the cost of a whole trivial route).
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        default_limit: int,
        checks: Mapping[CallerKind, Check],
        refuse: Refuse,
        sized: Mapping[str, int] | None = None,
    ) -> None:
        missing = {"token", "session"} - set(checks)
        if missing:  # deny by default: a class whose caller nobody checks would pass unchecked
            raise ValueError(f"no check for callers of kind {', '.join(sorted(missing))}")
        unsized = {c.setting for _, c in ROUTE_CLASSES if c.setting} - set(sized or {})
        if unsized:  # a class sized by a setting nobody passed would fall back silently
            raise ValueError(f"no size for the setting {', '.join(sorted(unsized))}")
        self.app = app
        self.default_limit = default_limit
        self.sized = dict(sized or {})
        self.checks = dict(checks)
        self.refuse = refuse
        self._limited: dict[int, ASGIApp] = {}

    def _counting(self, limit: int) -> ASGIApp:
        """The app behind Starlette's streaming counter for `limit` bytes (one per limit)."""
        app = self._limited.get(limit)
        if app is None:
            app = self._limited[limit] = RequestBodyLimitMiddleware(self.app, max_body_size=limit)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body, length = _announced(scope)
        if not has_body:
            await self.app(scope, receive, send)
            return
        rule = body_class(route_path(scope))
        limit = rule.limit(self.default_limit, self.sized)
        finished = False

        async def closing_send(message: Message) -> None:
            # An answer before the whole body arrived: the server must not read on.
            if message["type"] == "http.response.start" and not finished:
                MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        request = Request(scope)
        if length is not None and length > limit:
            await self.refuse(request, BodyTooLarge(limit))(scope, receive, closing_send)
            return
        if rule.content_types and _content_type(scope) not in rule.content_types:
            refusal = self.refuse(request, BodyTypeRefused(rule.content_types))
            await refusal(scope, receive, closing_send)
            return
        if rule.caller is not None:
            refused = await self.checks[rule.caller](request)
            if refused is not None:
                await refused(scope, receive, closing_send)
                return

        async def tracking_receive() -> Message:
            nonlocal finished
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                finished = True
            return message

        await self._counting(limit)(scope, tracking_receive, closing_send)
