"""/api/docs works offline: Swagger UI's files are the hub's own (vendored under web/static),
the page names no other host, and its policy lets exactly those files and its starter run."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

from fastapi.testclient import TestClient


class _Refs(HTMLParser):
    """Every address the page loads: scripts, stylesheets, icons."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if tag in ("script", "link", "img") and name in ("src", "href") and value:
                self.refs.append(value)


def test_api_docs_load_only_the_hubs_own_files(client: TestClient) -> None:
    r = client.get("/api/docs")
    assert r.status_code == 200
    parser = _Refs()
    parser.feed(r.text)
    assert len(parser.refs) >= 3  # the bundle, its stylesheet, the icon
    for ref in parser.refs:
        assert not urlsplit(ref).netloc, f"{ref} is on another host"
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    assert not re.search(r"https?://", r.text), "the page names another host"
    bundle = client.get(next(ref for ref in parser.refs if ref.endswith(".js")))
    assert "SwaggerUIBundle" in bundle.text
    assert "javascript" in bundle.headers["content-type"]
    # the starter script loads the OpenAPI description from here
    assert client.get("/api/openapi.json").status_code == 200


def test_api_docs_policy_allows_only_this_host(client: TestClient) -> None:
    header = client.get("/api/docs").headers["content-security-policy"]
    assert "http" not in header  # no CDN, no outside image host
    directives = {part.split()[0]: part.split()[1:] for part in header.split(";") if part.split()}
    assert "'self'" in directives["script-src"]
    assert directives["style-src"] == ["'self'"]
