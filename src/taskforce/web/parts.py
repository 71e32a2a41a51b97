"""What a page shows from a domain it may not import, handed in by the composition root.

`web/` sits under every domain and a domain's pages under the domains above it, so the header's
counters (unread notifications: cases; unacknowledged leads: the watch) and a page's section
from a higher domain (a case's triage runs; the report of an urgent lead) cannot be imported
where they are shown. `taskforce.pages` builds one `PageParts` for the app, naming the
functions; the page asks for them by name and shows nothing for a part no one provides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from taskforce.core.caller import Caller

Counter = Callable[[Session, Caller], int]
Section = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class PageParts:
    counters: dict[str, Counter] = field(default_factory=dict)
    """Numbers every page's header shows, counted for the caller on each page."""
    sections: dict[str, tuple[Section, ...]] = field(default_factory=dict)
    """Per page ("case", "lead"): functions adding to its context from a domain above it."""


def page_parts(request: Request) -> PageParts:
    parts = getattr(request.app.state, "page_parts", None)
    return parts if isinstance(parts, PageParts) else PageParts()


def count(request: Request, session: Session, caller: Caller) -> dict[str, int]:
    """The header's counters for this caller."""
    counters = page_parts(request).counters
    return {name: counter(session, caller) for name, counter in counters.items()}


def section(request: Request, page: str, *args: Any) -> dict[str, Any]:
    """The context the domains above add to `page`, each section given the same arguments."""
    context: dict[str, Any] = {}
    for part in page_parts(request).sections.get(page, ()):
        context.update(part(*args))
    return context
