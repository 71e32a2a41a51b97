"""Bounded before authenticated (issue 11, finding 1): a request body is refused before a byte
of it is read when the caller is not known or may not send it, and counted as it streams
whatever its framing (chunked, a Content-Length that lies), so no anonymous request can make
the server hold or spool what it sends.

These tests drive the ASGI app directly with a `receive` that hands out the body a chunk at a
time and counts what the app took: "refused unread" is `consumed == 0`, not a guess from the
status code."""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from collections.abc import Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from builders import Network, provider_headers, token_for, web_login
from fastapi import FastAPI
from fastapi.routing import APIRoute, _IncludedRouter
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from taskforce.core import limits, spool
from taskforce.core.settings import Settings
from taskforce.web.session import SESSION_COOKIE

CHUNK = b"x" * (1 << 20)  # 1 MiB, handed out again and again (never allocated 64 times)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    consumed: int  # body bytes the app took from the server
    seen_during: list[Path] = field(default_factory=list)  # spool files mid-upload


def post_streaming(
    app: FastAPI,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    chunks: int = 64,
    first: bytes = b"",
    chunk: bytes = CHUNK,
    last: bytes = b"",
    data_dir: Path | None = None,
) -> Answer:
    """POST a body of `first` + `chunks` x `chunk` + `last`, a message at a time; with
    `data_dir`, the spool folder is listed when half the body has been taken."""
    pieces = [first, *([chunk] * chunks), last]
    pieces = [p for p in pieces if p]
    raw_headers = [(b"host", b"testserver")]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    if not any(name == b"content-length" for name, _ in raw_headers):
        raw_headers.append((b"transfer-encoding", b"chunked"))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("203.0.113.7", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    answer = Answer(status=0, headers={}, body=b"", consumed=0)

    async def run() -> None:
        done = asyncio.Event()
        handed = 0

        async def receive() -> dict[str, Any]:
            nonlocal handed
            if handed >= len(pieces):
                await done.wait()  # the body is over: wait for the answer, then hang up
                return {"type": "http.disconnect"}
            piece = pieces[handed]
            handed += 1
            answer.consumed += len(piece)
            if data_dir is not None and handed == len(pieces) // 2:
                answer.seen_during.extend(
                    p for p in spool.spool_root(data_dir).rglob("*") if p.is_file()
                )
            return {"type": "http.request", "body": piece, "more_body": handed < len(pieces)}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer.status = message["status"]
                answer.headers = {k.decode(): v.decode() for k, v in message["headers"]}
            elif message["type"] == "http.response.body":
                answer.body += message.get("body", b"")
                if not message.get("more_body", False):
                    done.set()

        await app(scope, receive, send)

    # A thread of its own: the browser tests' Playwright keeps an event loop in the main one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result(timeout=120)
    return answer


def _multipart(field_name: str, filename: str | None) -> tuple[bytes, bytes, str]:
    """The head and tail of a multipart form around a file (or field) of streamed bytes."""
    boundary = "tfboundary" + uuid.uuid4().hex
    disposition = f'form-data; name="{field_name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\nx\r\n'
        f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head, tail, f"multipart/form-data; boundary={boundary}"


# --- the API -------------------------------------------------------------------------------


def test_an_unauthenticated_chunked_body_is_refused_before_a_byte_is_read(app: FastAPI) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = post_streaming(
            app, "/api/v1/cases", headers={**headers, "content-type": "application/json"}
        )
        assert r.status == 401, r.body[:200]
        assert r.consumed == 0
        assert r.headers["connection"] == "close"  # the server does not go on reading
        assert r.headers["www-authenticate"] == "Bearer"


def test_a_lying_content_length_does_not_let_a_body_past_the_token_check(app: FastAPI) -> None:
    r = post_streaming(app, "/api/v1/cases", headers={"content-length": "2"})
    assert (r.status, r.consumed) == (401, 0)


@pytest.mark.usefixtures("network")
def test_a_provider_token_sends_no_body(app: FastAPI, session: Session, settings: Settings) -> None:
    r = post_streaming(app, "/api/v1/cases", headers=provider_headers(session, settings))
    assert (r.status, r.consumed) == (403, 0)


def test_a_valid_token_s_chunked_body_stops_at_the_limit(
    app: FastAPI, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    limit = settings.max_body_bytes
    for extra in ({}, {"content-length": "10"}):  # chunked, and a Content-Length that lies
        r = post_streaming(app, "/api/v1/cases", headers={**gb, **extra})
        assert r.status == 413, r.body[:200]
        assert limit < r.consumed <= limit + len(CHUNK)  # read up to the limit, no further
        assert r.headers["connection"] == "close"
        error = json.loads(r.body)
        assert error["error"] == "too_large"
        assert error["field"] == "body"
        assert f"{limit:,} bytes" in error["rule"]


def test_a_body_announced_too_large_is_refused_unread(
    app: FastAPI, session: Session, settings: Settings, network: Network
) -> None:
    gb = token_for(session, settings, network.gb)
    big = str(settings.max_body_bytes + 1)
    r = post_streaming(app, "/api/v1/cases", headers={**gb, "content-length": big})
    assert (r.status, r.consumed) == (413, 0)


# --- hash-set uploads: the target is checked before the upload is spooled -------------------


def _hash_set(client: TestClient, headers: dict[str, str], sharing: str = "red") -> str:
    r = client.post("/api/v1/hashsets", json={"name": "Known", "sharing": sharing}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_an_upload_to_a_set_the_caller_may_not_import_into_is_refused_unread(
    app: FastAPI, client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    gb, nl = token_for(session, settings, network.gb), token_for(session, settings, network.nl)
    reader = token_for(session, settings, network.gb_reader)
    green = _hash_set(client, gb, sharing="green")
    for headers, set_id, status in [
        (reader, str(uuid.uuid4()), 403),  # a read-only token, to a random id
        (reader, green, 403),  # ... and to its own agency's set
        (nl, str(uuid.uuid4()), 404),  # a member, to a set that does not exist
        (nl, green, 404),  # ... and to another agency's set it may see but not change
    ]:
        r = post_streaming(app, f"/api/v1/hashsets/{set_id}/import", headers=headers)
        assert r.status == status, r.body[:200]
        assert r.consumed == 0
        assert r.headers["connection"] == "close"


def test_an_upload_is_spooled_in_the_data_folder_and_removed_after_use(
    app: FastAPI,
    client: TestClient,
    session: Session,
    settings: Settings,
    network: Network,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    gb = token_for(session, settings, network.gb)
    set_id = _hash_set(client, gb)
    line = b"0123456789abcdef0123456789abcdef\n"
    r = post_streaming(
        app,
        f"/api/v1/hashsets/{set_id}/import",
        headers=gb,
        chunks=8,
        chunk=line,
        data_dir=settings.data_dir,
    )
    assert r.status == 200, r.body[:300]
    assert r.consumed == 8 * len(line)
    spooled = [p for p in r.seen_during if p.name.startswith("hash-list-")]
    assert len(spooled) == 1
    assert spooled[0].parent.parent == spool.spool_root(settings.data_dir)
    assert not spooled[0].exists()  # removed after use
    assert list(system_tmp.iterdir()) == []  # nothing went through /tmp


# --- pages ---------------------------------------------------------------------------------


def test_a_page_form_without_a_login_is_refused_before_it_is_parsed(app: FastAPI) -> None:
    head, tail, content_type = _multipart("image", "clue.jpg")
    for path in ("/ui/notices/new", "/ui/cases/new", f"/ui/hashsets/{uuid.uuid4()}/import"):
        r = post_streaming(app, path, headers={"content-type": content_type}, first=head, last=tail)
        assert r.status == 303
        assert r.headers["location"].startswith("/ui/login")
        assert r.consumed == 0
        assert r.headers["connection"] == "close"


def test_a_logged_in_reader_cannot_spool_a_hash_list(
    app: FastAPI, client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb_reader)
    cookie = f"{SESSION_COOKIE}={client.cookies.get(SESSION_COOKIE)}"
    head, tail, content_type = _multipart("file", "list.txt")
    r = post_streaming(
        app,
        f"/ui/hashsets/{uuid.uuid4()}/import",
        headers={"content-type": content_type, "cookie": cookie},
        first=head,
        last=tail,
    )
    assert r.status == 403
    assert b"<html" in r.body.lower()
    assert r.consumed == 0


def test_a_page_upload_over_the_limit_answers_a_page(
    app: FastAPI, client: TestClient, session: Session, network: Network
) -> None:
    web_login(client, session, network.gb)
    cookie = f"{SESSION_COOKIE}={client.cookies.get(SESSION_COOKIE)}"
    head, tail, content_type = _multipart("image", "clue.jpg")
    r = post_streaming(
        app,
        "/ui/notices/new",
        headers={"content-type": content_type, "cookie": cookie},
        chunks=32,
        first=head,
        last=tail,
    )
    assert r.status == 413
    assert b"Too large to upload" in r.body
    assert r.consumed <= limits.CLUE_IMAGES_PAGE.limit(0) + len(CHUNK)
    assert r.headers["connection"] == "close"


# --- the public forms ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/report", "/report/receipt", "/trace/abc", "/ui/login"])
def test_a_public_form_never_takes_a_file_part(app: FastAPI, path: str) -> None:
    head, tail, content_type = _multipart("url", "payload.bin")
    r = post_streaming(app, path, headers={"content-type": content_type}, first=head, last=tail)
    assert r.status == 415, r.body[:200]
    assert r.consumed == 0


def test_a_public_form_is_small(app: FastAPI) -> None:
    r = post_streaming(
        app,
        "/report",
        headers={"content-type": "application/x-www-form-urlencoded"},
        first=b"kind=url&url=",
    )
    assert r.status == 413
    assert r.consumed <= limits.PUBLIC_FORM.limit(0) + len(CHUNK)


# --- the table covers every route ------------------------------------------------------------


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in routes:
        if isinstance(route, _IncludedRouter):
            yield from _routes(route.original_router.routes, prefix + route.include_context.prefix)
        elif isinstance(route, APIRoute):
            yield prefix + route.path, route


def _dependencies(dependant: Any) -> set[str]:
    found: set[str] = set()
    for sub in dependant.dependencies:
        found.add(getattr(sub.call, "__name__", ""))
        found |= _dependencies(sub)
    return found


def test_every_route_that_takes_a_body_is_in_the_class_of_its_caller(app: FastAPI) -> None:
    """Deny by default: a route that needs a token or a login must not sit in a class that
    reads its body before checking them (a new route under a new prefix would)."""
    seen = 0
    for path, route in _routes(app.router.routes):
        if not (route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}:
            continue
        seen += 1
        sample = path.replace("{", "").replace("}", "")  # /cases/{case_id} -> /cases/case_id
        needs = _dependencies(route.dependant)
        cls = limits.body_class(sample)
        if needs & {"get_api_caller", "get_token_caller"}:
            assert cls.caller == "token", path
        elif "get_web_caller" in needs:
            assert cls.caller == "session", path
        elif "signed_peer" in needs:  # another node: its signature is checked over the body
            assert cls is limits.FEDERATION, path
        else:
            assert cls is limits.PUBLIC_FORM, path  # a public route that reads a form
    assert seen > 80
