"""When the database cannot serve a request: run it again where that helps, else 503.

PostgreSQL aborts a transaction it cannot serialise (SQLSTATE 40001) or that is caught in a
deadlock (40P01); run again from the start, it succeeds, so the request is replayed (its body
is kept while it arrives, up to `REPLAY_LIMIT`) up to `MAX_ATTEMPTS` times. SQLite answers
"database is locked" once a request has waited `database_lock_wait_seconds` for the write lock;
a pool with no free connection times out; a database that cannot be reached (server down,
database dropped, file removed) fails every request. None of these is the client's mistake or a
bug of the route: the client is told to come back (503 with `Retry-After`: a page where the
app's renderer has one, under /ui and on the public pages, JSON elsewhere, as every other
error is answered), never given a plain-text 500.

Anything else the database raises is a bug and stays a 500.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Literal

import anyio
from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("taskforce.database")

Trouble = Literal["retry", "busy", "down"]
PageRenderer = Callable[[Request, int, str, str], Response | None]

MAX_ATTEMPTS = 4  # the first run and up to three replays
REPLAY_LIMIT = 4 << 20  # a body larger than this (an upload) is not kept: no replay, a 503
RETRY_AFTER_BUSY = 5  # seconds: locks and full pools clear quickly
RETRY_AFTER_DOWN = 30  # seconds: a database coming back takes longer

_RETRY_STATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
# lock_not_available, query_canceled (statement timeout), too_many_connections
_BUSY_STATES = {"55P03", "57014", "53300"}
# connection exception, insufficient resources, operator intervention, system error
_DOWN_CLASSES = ("08", "53", "57", "58", "3D")
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_SQLITE_DOWN = (
    "no such table",  # the file was replaced by an empty one
    "unable to open database file",
    "disk i/o error",
    "database disk image is malformed",
    "file is not a database",
    "readonly database",
    "database file is missing",  # core.db: a file that vanished is not created again
)


def trouble(error: BaseException) -> Trouble | None:
    """What a database error means for the request: replay it, tell the client to come back
    soon (busy) or later (down); None for anything else (a bug: a 500)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, sa_exc.TimeoutError):
        return "busy"  # no free connection in the pool
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    state = getattr(error.orig, "sqlstate", None)
    if state in _RETRY_STATES:
        return "retry"
    if state in _BUSY_STATES:
        return "busy"
    text = str(error.orig).lower()
    if any(s in text for s in _SQLITE_BUSY):
        return "busy"
    if error.connection_invalidated or any(s in text for s in _SQLITE_DOWN):
        return "down"
    if isinstance(error, sa_exc.OperationalError) and type(error.orig).__module__.startswith(
        "psycopg"
    ):
        # PostgreSQL: a failed connection carries no SQLSTATE; the classes above are outages.
        return "down" if state is None or state.startswith(_DOWN_CLASSES) else None
    return None


def describe(error: BaseException) -> str:
    """The error's kind and SQLSTATE, never its statement or parameters (case data)."""
    orig = getattr(error, "orig", None) or error
    state = getattr(orig, "sqlstate", None)
    return f"{type(orig).__name__}{f' ({state})' if state else ''}"


class _Replay:
    """The request body as it arrives, kept (up to `REPLAY_LIMIT`) so the request can run
    again; past the body it passes `receive` through (a disconnect is still seen)."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.messages: list[Message] = []
        self.size = 0
        self.overflowed = False

    def reader(self) -> Receive:
        position = 0

        async def receive() -> Message:
            nonlocal position
            if position < len(self.messages):
                position += 1
                return self.messages[position - 1]
            message = await self._receive()
            if message["type"] == "http.request" and not self.overflowed:
                self.size += len(message.get("body", b""))
                if self.size > REPLAY_LIMIT:
                    self.overflowed = True
                    self.messages.clear()
                else:
                    self.messages.append(message)
                    position += 1
            return message

        return receive


class DatabaseTrouble:
    """ASGI middleware: replays a request PostgreSQL aborted for a serialization failure or a
    deadlock, and answers 503 with `Retry-After` where the database is busy or unreachable
    (or a replay is impossible: the answer has started, the body was too large to keep)."""

    def __init__(self, app: ASGIApp, page: PageRenderer | None = None) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replay = _Replay(receive)
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        attempt = 0
        while True:
            attempt += 1
            # Each run gets the scope as it came in: routing and FastAPI write into it.
            run_scope = {**scope, "state": dict(scope.get("state") or {})}
            try:
                await self.app(run_scope, replay.reader(), watched)
                return
            except Exception as error:
                kind = trouble(error)
                if kind is None or started:
                    raise
                if kind == "retry" and attempt < MAX_ATTEMPTS and not replay.overflowed:
                    log.info(
                        "%s %s: %s, run again", scope["method"], scope["path"], describe(error)
                    )
                    await anyio.sleep(0.05 * 2 ** (attempt - 1) * (1 + random.random()))  # noqa: S311 - jitter
                    continue
                log.warning(
                    "%s %s: %s after %d run(s), answered 503",
                    scope["method"],
                    scope["path"],
                    describe(error),
                    attempt,
                )
                await self._refusal(scope, kind)(scope, receive, send)
                return

    def _refusal(self, scope: Scope, kind: Trouble) -> Response:
        wait = RETRY_AFTER_DOWN if kind == "down" else RETRY_AFTER_BUSY
        if kind == "down":
            message = f"the database cannot be reached; try again in {wait} seconds"
        else:
            message = f"the database is busy; try again in {wait} seconds"
        headers = {"Retry-After": str(wait)}
        text = message[:1].upper() + message[1:] + "."
        response = (
            None if self.page is None else self.page(Request(scope), 503, "Try again shortly", text)
        )
        if response is not None:
            response.headers.update(headers)
            return response
        return JSONResponse(
            {"error": "unavailable", "message": message}, status_code=503, headers=headers
        )
