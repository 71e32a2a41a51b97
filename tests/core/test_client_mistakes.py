"""A client's mistake is a 4xx naming the field and the rule, never a 500: offsets past what a
database integer holds, and text no database can store (NUL, unpaired surrogates) in any
field of any route, API or page (issue 11, finding 5)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from builders import Network, make_case, make_triage_run, token_for, web_login
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from taskforce.cases.models import Selector
from taskforce.core.pagination import MAX_OFFSET
from taskforce.core.settings import Settings
from taskforce.core.text import RULE, first_unstorable
from taskforce.hashsets import service as hashset_service
from taskforce.hashsets.models import HashEntry
from taskforce.hashsets.schemas import HashSetCreate
from taskforce.reports.models import Report, ReportAddition

BAD = "a\x00b"
VICS_CONTEXT = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata"

# --- offset --------------------------------------------------------------------------------

PAGED = ["/api/v1/cases", "/api/v1/hosting/providers", "/api/v1/takedown/notices", "run"]


@pytest.mark.parametrize("route", PAGED)
def test_an_offset_past_any_database_integer_is_a_422_naming_offset(
    client: TestClient, session: Session, settings: Settings, network: Network, route: str
) -> None:
    headers = token_for(session, settings, network.gb_admin)
    if route == "run":
        row = {"path": "/evidence/a.jpg", "md5": "0" * 32, "media_type": "image/jpeg"}
        run = make_triage_run(session, network.gb, make_case(session, network.gb), [row])
        session.commit()
        route = f"/api/v1/triage-runs/{run.id}"
    for offset in (2**63, 2**64 + 1, MAX_OFFSET + 1):
        r = client.get(route, params={"offset": offset}, headers=headers)
        assert r.status_code == 422, (route, offset, r.text)
        assert r.json()["field"] == "offset"
        assert "less than or equal to 2147483647" in r.json()["rule"]
    assert client.get(route, params={"offset": MAX_OFFSET}, headers=headers).status_code == 200


# --- text no database can store: every field of every API operation --------------------------


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = doc["components"]["schemas"][name]
    return schema


def _text_paths(
    doc: dict[str, Any], schema: dict[str, Any], depth: int = 0
) -> Iterator[tuple[list[str], Any]]:
    """(path, body builder) for every string a JSON schema allows, at any depth."""
    schema = _resolve(doc, schema)
    if depth > 6:
        return
    for option in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        yield from _text_paths(doc, option, depth + 1)
    kind = schema.get("type")
    if kind == "string" and schema.get("format") != "binary":
        yield [], BAD
    elif kind == "array" and "items" in schema:
        for path, value in _text_paths(doc, schema["items"], depth + 1):
            yield ["0", *path], [value]
    elif kind == "object" or "properties" in schema:
        for name, sub in schema.get("properties", {}).items():
            for path, value in _text_paths(doc, sub, depth + 1):
                yield [name, *path], {name: value}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for path, value in _text_paths(doc, extra, depth + 1):
                yield ["key", *path], {"key": value}


def _unique(found: Iterator[tuple[list[str], Any]]) -> dict[str, Any]:
    return {".".join(path): value for path, value in found if path}


def test_no_text_field_of_any_operation_accepts_nul(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    """Walks the OpenAPI document: every string in a path, a query or a JSON body, nested
    included, is sent with a NUL and must come back 422 naming exactly that field."""
    headers = token_for(session, settings, network.gb_admin)
    doc = client.get("/api/openapi.json").json()
    checked = 0
    for route, operations in doc["paths"].items():
        for method, op in operations.items():
            params = op.get("parameters", [])
            for param in params:
                if not any(p[0] == [] for p in _text_paths(doc, param.get("schema", {}))):
                    continue
                url = route
                query: dict[str, str] = {}
                for p in params:
                    if p["in"] != "path":
                        continue
                    value = BAD if p is param else str(uuid.uuid4())
                    url = url.replace("{" + p["name"] + "}", quote(value, safe=""))
                if param["in"] == "query":
                    query[param["name"]] = BAD
                elif param["in"] != "path":
                    continue
                r = client.request(method, url, params=query, headers=headers)
                assert r.status_code == 422, (method, route, param["name"], r.text)
                assert (r.json()["field"], r.json()["rule"]) == (param["name"], RULE)
                checked += 1
            content = op.get("requestBody", {}).get("content", {})
            url = route
            for p in params:
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", str(uuid.uuid4()))
            for media, body in content.items():
                for field, value in _unique(_text_paths(doc, body.get("schema", {}))).items():
                    if media == "application/json":
                        r = client.request(method, url, json=value, headers=headers)
                    elif media in ("multipart/form-data", "application/x-www-form-urlencoded"):
                        if not isinstance(value, dict) or not isinstance(
                            next(iter(value.values())), str
                        ):
                            continue
                        r = client.request(method, url, data=value, headers=headers)
                    else:
                        continue
                    assert r.status_code == 422, (method, route, field, r.text)
                    assert (r.json()["field"], r.json()["rule"]) == (field, RULE)
                    checked += 1
    assert checked > 200  # the walk reached the API (213 text locations), not an empty document


def test_unpaired_surrogates_escaped_in_json_are_refused_like_nul(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    headers = {**token_for(session, settings, network.gb), "content-type": "application/json"}
    for raw in (b'{"title": "a\\udc00b"}', b'{"title": "a\\ud800"}', b'{"title": "\xed\xa0\x80"}'):
        r = client.post("/api/v1/cases", content=raw, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "title", r.text
    # a proper pair (an emoji) is text like any other
    ok = client.post(
        "/api/v1/cases",
        content=b'{"title": "Operation \\ud83d\\udd0d", "sharing": "red"}',
        headers=headers,
    )
    assert ok.status_code == 201
    assert ok.json()["title"] == "Operation \U0001f50d"


def test_first_unstorable_names_the_path_and_survives_deep_nesting() -> None:
    assert first_unstorable({"hashes": [{"md5": "ok"}, {"md5": BAD}]}) == "hashes.1.md5"
    assert first_unstorable({"detail": {"k\x00": 1}}) == "detail"
    assert first_unstorable(["\ud800"]) == "0"
    assert first_unstorable({"a": ["fine", {"b": "\U0001f50d"}]}) is None
    deep: Any = BAD
    for _ in range(100_000):
        deep = [deep]
    assert first_unstorable(deep) == ".".join(["0"] * 100_000)


# --- pages: every form field and query parameter --------------------------------------------


def _page_routes() -> Iterator[APIRoute]:
    from taskforce import domains
    from taskforce import pages as composed_pages
    from taskforce.web import pages

    modules = (*domains.modules("web"), pages, composed_pages)
    for module in modules:
        for router_name in ("router", "public_router"):
            router = getattr(module, router_name, None)
            if router is not None:
                yield from (r for r in router.routes if isinstance(r, APIRoute))


def test_no_page_form_field_or_query_parameter_accepts_nul(
    client: TestClient, session: Session, network: Network
) -> None:
    csrf = web_login(client, session, network.gb_admin)
    checked = 0
    for route in _page_routes():
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
        method = sorted(route.methods or ())[0]
        for param in route.dependant.query_params:
            r = client.request(method, path, params={param.alias: BAD})
            assert r.status_code == 422, (route.path, param.alias, r.status_code)
            assert "must not contain NUL" in r.text
            checked += 1
        for param in route.dependant.body_params:
            if "UploadFile" in repr(param.field_info.annotation):
                continue
            data = {"csrf_token": csrf, param.alias: BAD}
            r = client.request(method, path, data=data)
            assert r.status_code == 422, (route.path, param.alias, r.status_code)
            assert "must not contain NUL" in r.text
            checked += 1
    assert checked > 100


def test_a_page_path_parameter_with_nul_is_refused(client: TestClient) -> None:
    r = client.get(f"/trace/{quote(BAD)}")  # the public trace-an-object page's token
    assert r.status_code == 422
    assert "must not contain NUL" in r.text


def _report_token(client: TestClient) -> str:
    found = re.search(r'name="form_token" value="([^"]+)"', client.get("/report?kind=url").text)
    assert found is not None
    return found.group(1)


def test_the_public_report_form_refuses_nul_in_the_reporters_language(
    client: TestClient, session: Session
) -> None:
    for lang, expected in (("en", "cannot be stored"), ("es", "no se puede guardar")):
        data = {
            "form_token": _report_token(client),
            "kind": "url",
            "lang": lang,
            "url": "http://example.com/a\x00b",
            "description": "seen on a forum",
        }
        r = client.post("/report", data=data)
        assert r.status_code == 422
        assert expected in r.text
    assert session.scalars(select(Report)).all() == []


def test_an_addition_to_a_report_refuses_nul(client: TestClient, session: Session) -> None:
    data = {
        "form_token": _report_token(client),
        "kind": "url",
        "lang": "en",
        "url": "http://example.com/seen",
        "description": "seen on a forum",
    }
    sent = client.post("/report", data=data)
    code = re.search(r"<code>([A-Z0-9-]{19})</code>", sent.text)
    assert code is not None
    token = _report_token(client)
    r = client.post(
        "/report/receipt",
        data={"form_token": token, "lang": "en", "receipt": code.group(1), "more": BAD},
    )
    assert r.status_code == 422
    assert "cannot be stored" in r.text
    assert session.scalars(select(ReportAddition)).all() == []


def test_a_selector_import_line_with_nul_is_a_bad_line_and_the_good_lines_stay(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    headers = {**token_for(session, settings, network.gb), "content-type": "text/csv"}
    case = make_case(session, network.gb)
    session.commit()
    body = (
        "type,value,note\n"
        "email,first@example.com,ok\n"
        "email,second@example.com,bad\x00note\n"
        "email,third@example.com,ok\n"
    )
    r = client.post(f"/api/v1/cases/{case.id}/selectors/import", content=body, headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["accepted"] == 2
    assert [(e["line"], e["field"], e["rule"]) for e in report["rejected"]] == [(3, "note", RULE)]
    values = set(session.scalars(select(Selector.value).where(Selector.case_id == case.id)))
    assert values == {"first@example.com", "third@example.com"}


def test_hash_list_lines_with_nul_are_bad_lines_and_the_good_lines_stay(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    headers = token_for(session, settings, network.gb_admin)
    hash_set = hashset_service.create_hash_set(
        session, network.gb_admin.caller, HashSetCreate(name="Known")
    )
    session.commit()
    media = [
        {"MediaID": 1, "MD5": "1" * 32, "Series": "Bridge\x00", "Category": 1},
        {"MediaID": 2, "MD5": "2" * 32, "Series": "Bridge", "Category": 1},
    ]
    vics = json.dumps({"@odata.context": f"{VICS_CONTEXT}#Media", "value": media})
    csv = f"md5,series\n{'3' * 32},a\x00b\n{'4' * 32},ok\n"
    for fmt, body in (("vics", vics), ("csv", csv)):
        r = client.post(
            f"/api/v1/hashsets/{hash_set.id}/import",
            params={"format": fmt},
            content=body.encode(),
            headers=headers,
        )
        assert r.status_code == 200, (fmt, r.text)
        report = r.json()
        assert report["added"] == 1, (fmt, report)
        assert [(e["field"], e["rule"]) for e in report["rejected"]] == [("series", RULE)]
    md5s = set(session.scalars(select(HashEntry.md5).where(HashEntry.hash_set_id == hash_set.id)))
    assert md5s == {"2" * 32, "4" * 32}


def test_a_network_table_line_with_nul_is_a_bad_line_and_the_good_lines_stay(
    client: TestClient, session: Session, settings: Settings, network: Network
) -> None:
    headers = {**token_for(session, settings, network.gb_admin), "content-type": "text/csv"}
    table = (
        "network,provider,asn,country,abuse_email\n"
        "203.0.113.0/25,Bad\x00Hosting,64500,GB,abuse@bad.example.com\n"
        "203.0.113.128/25,Good Hosting,64501,GB,abuse@good.example.com\n"
    )
    r = client.post("/api/v1/hosting/networks/import", content=table, headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["added"], report["rejected"]) == (1, 1)
    assert [(e["line"], e["field"], e["rule"]) for e in report["bad_lines"]] == [
        (2, "provider", RULE)
    ]
