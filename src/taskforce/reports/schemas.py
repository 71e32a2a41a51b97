"""What each kind of report asks for, with the length of every field, and the checks on it.

Errors carry a message key of the report catalogue (`web/catalogue.py`, with its parameters)
so the page can say what is wrong in the reporter's language and name the field.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import pycountry
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydanticField

from taskforce.blocklist.normalise import normalise as normalise_url
from taskforce.core.errors import Invalid, RateLimited
from taskforce.core.text import unstorable


class Kind(StrEnum):
    URL = "url"
    GROOMING = "grooming"
    DANGER = "danger"
    # a visitor of /blocked says the block is wrong: routed to the entry's keeper (routing.py)
    BLOCK_MISTAKE = "block_mistake"


# what the report form offers to choose from; "blocked by mistake" is reached from /blocked
CHOOSABLE = (Kind.URL, Kind.GROOMING, Kind.DANGER)


@dataclass(frozen=True)
class Field:
    name: str
    max_length: int
    required: bool = False
    multiline: bool = False
    hint: bool = False  # the catalogue has a "<name>_hint"


FIELDS: dict[Kind, tuple[Field, ...]] = {
    Kind.URL: (
        Field("url", 2000, required=True, hint=True),
        Field("where_found", 500),
        Field("description", 2000, multiline=True, hint=True),
    ),
    Kind.GROOMING: (
        Field("platform", 100, required=True, hint=True),
        Field("adult_username", 100),
        Field("child_username", 100),
        Field("excerpt", 8000, required=True, multiline=True),
        Field("when", 100),
    ),
    Kind.DANGER: (
        Field("what", 4000, required=True, multiline=True),
        Field("where", 500, hint=True),
    ),
    # the address and why the block is wrong: nothing of the page's content is asked for
    Kind.BLOCK_MISTAKE: (
        Field("url", 2000, required=True, hint=True),
        Field("why", 2000, required=True, multiline=True, hint=True),
        Field("contact", 200, hint=True),
    ),
}
ADDITION_MAX = 8000


class ReportInvalid(Invalid):
    """A field broke a rule; `key` and `params` let the page say so in any language."""

    def __init__(self, field: str, key: str, **params: Any) -> None:
        super().__init__(field, key)
        self.key = key
        self.params = params


class ReportRateLimited(RateLimited):
    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class ReportCreate:
    kind: Kind
    details: dict[str, str]
    country: str | None
    language: str
    meeting: bool = False
    suspect_country: str | None = None  # grooming: where the adult seems to be, if known


def parse_kind(value: str) -> Kind | None:
    try:
        return Kind(value)
    except ValueError:
        return None


def parse_country(value: str | None, *, field: str = "country") -> str | None:
    if not value or not value.strip():
        return None
    found = pycountry.countries.get(alpha_2=value.strip().upper())
    if found is None:
        raise ReportInvalid(field, "err_country")
    return str(found.alpha_2)


def clean(kind: Kind, form: dict[str, str]) -> dict[str, str]:
    """The kind's fields, trimmed and checked; other form fields are ignored."""
    details: dict[str, str] = {}
    for field in FIELDS[kind]:
        value = (form.get(field.name) or "").strip()
        if unstorable(value):
            raise ReportInvalid(field.name, "err_characters")
        if field.required and not value:
            raise ReportInvalid(field.name, "err_required")
        if len(value) > field.max_length:
            raise ReportInvalid(field.name, "err_too_long", max=field.max_length)
        if value:
            details[field.name] = value
    url = details.get("url")
    if url is not None and not url.lower().startswith(("http://", "https://")):
        # stored as given; normalisation is the block list's (blocklist/normalise.py)
        if "://" in url or " " in url or "." not in url:
            raise ReportInvalid("url", "err_url")
        details["url"] = url
    if url is not None:
        # kept as given for the analyst; the block list's form beside it, for matching later
        # an odd URL is still worth a report: the analyst sees it as given
        with contextlib.suppress(Invalid):
            details["url_normalised"] = normalise_url(url if "://" in url else f"http://{url}")
    return details


class Assessment(StrEnum):
    ILLEGAL_MATERIAL = "illegal_material"
    ILLEGAL_ELSEWHERE = "illegal_elsewhere"
    HARMFUL_LEGAL = "harmful_legal"
    NOT_ILLEGAL = "not_illegal"
    DUPLICATE = "duplicate"


ASSESSMENT_LABELS: dict[Assessment, str] = {
    Assessment.ILLEGAL_MATERIAL: "Illegal abuse material",
    Assessment.ILLEGAL_ELSEWHERE: "Illegal elsewhere only",
    Assessment.HARMFUL_LEGAL: "Harmful but legal",
    Assessment.NOT_ILLEGAL: "Not illegal",
    Assessment.DUPLICATE: "Duplicate",
}


@dataclass(frozen=True)
class AssessmentCreate:
    assessment: Assessment
    category: str | None = None  # a code of the taskforce scheme; only for illegal material
    note: str = ""
    duplicate_of: uuid.UUID | None = None  # the report a duplicate repeats, when known


# --- the hotline API ------------------------------------------------------------------------


class AssessBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assessment: Assessment
    category: str | None = PydanticField(default=None, max_length=40)
    note: str = PydanticField(default="", max_length=2000)
    duplicate_of: uuid.UUID | None = None


class RerouteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agency: str = PydanticField(min_length=2, max_length=32, description="the member's code")
    reason: str = PydanticField(min_length=1, max_length=500)


class ReportSummary(BaseModel):
    id: uuid.UUID
    short_id: str
    kind: Kind
    urgent: bool
    status: str
    created_at: datetime
    country: str | None
    language: str
    host: str | None
    domain: str | None
    hosting_country: str | None
    duplicate_of: uuid.UUID | None
    same_url: int
    same_domain: int


class RoutingStepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    step: str
    outcome: str


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    assessment: str
    category: str | None
    note: str
    created_at: datetime
    agency: str | None  # None: the hub closed it (a duplicate)


class AdditionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    text: str
    created_at: datetime


class ReportDetail(ReportSummary):
    details: dict[str, str]
    receiving_agency: str | None
    hosting_ip: str | None
    hosting_provider: str | None
    additions: list[AdditionRead]
    assessments: list[AssessmentRead]
    routing: list[RoutingStepRead]
    takedown_notices: list[uuid.UUID]
    blocklist_keys: list[str]
