"""What the rota's interfaces take and give, and the rules of its input.

Every rule that can be checked on one value alone (a real IANA zone, an "HH:MM" clock, an ISO
639-1 language, weekdays 0..6, an aware datetime) is a validator here, so the API, the pages
and the CLI refuse it the same way: the field and the rule. Rules that need the database (the
desk exists, a subdivision of the desk's country, an override whose removed desk is on duty)
are the service's, raised as `core.errors.Invalid` with the field named the same way.

Desks, rotations and shifts are named in input by the agency's code ("GB-NCA") and the
rotation's name: what the coordinator types and reads.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

ANY_DESK = "Any desk on duty"  # the requirement that always exists (power and language None)
GAPS_LINK = "/ui/rota/gaps"
MAX_DAYS = 92  # the longest window shifts or gaps are computed for at once
MAX_WINDOW_DAYS = 366  # the longest override, temporary schedule or unavailability
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # instants the rota takes, from …
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # … to


class Power(StrEnum):
    """A legal power a desk can use at once, for the network (Budapest Convention)."""

    PRESERVATION = "preservation"
    EMERGENCY_DISCLOSURE = "emergency_disclosure"
    SUBSCRIBER_DATA = "subscriber_data"
    TRAFFIC_DATA = "traffic_data"
    CONTENT_DATA = "content_data"
    LOCATE_SUSPECT = "locate_suspect"
    TECHNICAL_ADVICE = "technical_advice"

    @property
    def label(self) -> str:
        return POWER_LABELS[self]


POWER_LABELS: dict[Power, str] = {
    Power.PRESERVATION: "Expedited preservation of stored data",
    Power.EMERGENCY_DISCLOSURE: "Emergency disclosure by a provider",
    Power.SUBSCRIBER_DATA: "Subscriber information",
    Power.TRAFFIC_DATA: "Traffic data",
    Power.CONTENT_DATA: "Content data",
    Power.LOCATE_SUSPECT: "Locating a suspect",
    Power.TECHNICAL_ADVICE: "Technical advice",
}


class RotationKind(StrEnum):
    """The unit of a rotation's shift: hours are absolute, the others local calendar steps."""

    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class Source(StrEnum):
    """Where a computed shift comes from."""

    RULE = "rule"
    ROTATION = "rotation"
    TEMPORARY = "temporary"
    OVERRIDE = "override"


# --- rules of single values -------------------------------------------------------------------


def _refuse(rule: str) -> PydanticCustomError:
    return PydanticCustomError("rota", rule)


@cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_zone(value: str) -> bool:
    return value in _zones()


def _zone(value: str) -> str:
    if not is_zone(value):
        raise _refuse("must be an IANA time zone like Europe/Amsterdam")
    return value


_CLOCK = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _clock(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise _refuse('must be a clock time "HH:MM" from 00:00 to 23:59')
    return value


def _end_clock(value: str) -> str:
    if value != "24:00" and not _CLOCK.fullmatch(value):
        raise _refuse('must be a clock time "HH:MM" from 00:01 to 24:00 (end of day)')
    return value


def parse_clock(value: str) -> time | None:
    """ "HH:MM" as a time; "24:00" (the end of the day) as None, as the engine takes it."""
    if value == "24:00":
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def is_language(code: str) -> bool:
    return len(code) == 2 and pycountry.languages.get(alpha_2=code) is not None


def _language(value: str) -> str:
    code = value.strip().lower()
    if not is_language(code):
        raise _refuse("must be an ISO 639-1 language code like en or es")
    return code


def _weekdays(value: list[int]) -> list[int]:
    if not value:
        raise _refuse("at least one weekday (0 Monday … 6 Sunday): without, it never matches")
    if any(d < 0 or d > 6 for d in value):
        raise _refuse("weekdays are 0 (Monday) to 6 (Sunday)")
    return sorted(set(value))


def instant_problem(value: datetime) -> str | None:
    """What is wrong with an instant given to the rota, if anything."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "must carry its UTC offset, e.g. 2026-12-03T02:00:00Z"
    if not EARLIEST <= value < LATEST:
        return "must lie in the years 2000 to 2099"
    return None


def _aware(value: datetime) -> datetime:
    problem = instant_problem(value)
    if problem:
        raise _refuse(problem)
    return value.astimezone(UTC)


Zone = Annotated[str, Field(max_length=64), AfterValidator(_zone)]
Clock = Annotated[str, Field(max_length=5), AfterValidator(_clock)]
EndClock = Annotated[str, Field(max_length=5), AfterValidator(_end_clock)]
Language = Annotated[str, Field(max_length=8), AfterValidator(_language)]
Weekdays = Annotated[list[int], Field(max_length=7), AfterValidator(_weekdays)]
Instant = Annotated[datetime, AfterValidator(_aware)]
DeskCode = Annotated[str, Field(min_length=1, max_length=32, description="agency code, GB-NCA")]


def _ends_after_start(ends_at: datetime, info: ValidationInfo) -> datetime:
    """`ends_at` against the `starts_at` before it (absent if that one was refused)."""
    starts_at = info.data.get("starts_at")
    if starts_at is None:
        return ends_at
    if ends_at <= starts_at:
        raise _refuse("must be after starts_at")
    if ends_at - starts_at > timedelta(days=MAX_WINDOW_DAYS):
        raise _refuse(f"at most {MAX_WINDOW_DAYS} days after starts_at")
    return ends_at


def _end_differs(end: str, info: ValidationInfo) -> str:
    if end == info.data.get("start"):
        raise _refuse("must differ from start (a zero-length window never matches)")
    return end


# --- desks ------------------------------------------------------------------------------------


class ReliableHours(BaseModel):
    """A window of reliable cover in the desk's own zone (a rule outside it is a warning)."""

    model_config = ConfigDict(extra="forbid")

    weekdays: Weekdays
    start: Clock
    end: EndClock

    _end = field_validator("end")(_end_differs)


class DeskSet(BaseModel):
    """A desk's settings; a field left out keeps its value (or its default, for a new desk).

    Languages, powers and reliable hours are the desk's own to declare (KEEP_WATCH); the rest
    is the coordinator's (MANAGE_ROTA)."""

    model_config = ConfigDict(extra="forbid")

    languages: list[Language] | None = Field(default=None, max_length=30)
    powers: list[Power] | None = Field(default=None, max_length=len(Power))
    reliable_hours: list[ReliableHours] | None = Field(default=None, max_length=30)
    time_zone: Zone | None = None
    subdivision: str | None = Field(default=None, max_length=8)
    observes_holidays: bool | None = None
    is_active: bool | None = None


DESK_OWN_FIELDS = frozenset({"languages", "powers", "reliable_hours"})  # KEEP_WATCH may set


class DeskRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    agency_id: uuid.UUID
    agency: str  # code
    name: str
    country: str
    time_zone: str
    subdivision: str | None
    languages: list[str]
    powers: list[Power]
    reliable_hours: list[dict[str, Any]]
    observes_holidays: bool
    is_active: bool
    has_feed: bool


# --- rotations --------------------------------------------------------------------------------


class RotationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=500)
    kind: RotationKind
    shift_length: int = Field(default=1, ge=1, le=1000)
    time_zone: Zone
    starts_at: Instant = Field(description="the first handoff")
    members: list[DeskCode] = Field(
        min_length=1, max_length=200, description="desks in turn, by agency code"
    )


class RotationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    kind: RotationKind | None = None
    shift_length: int | None = Field(default=None, ge=1, le=1000)
    time_zone: Zone | None = None
    starts_at: Instant | None = None
    members: list[DeskCode] | None = Field(default=None, min_length=1, max_length=200)


class RotationRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: str
    description: str
    kind: RotationKind
    shift_length: int
    time_zone: str
    starts_at: datetime
    members: list[str]  # agency codes in turn


# --- rules ------------------------------------------------------------------------------------


class RuleCreate(BaseModel):
    """Either `desk` or `rotation` holds the duty on `weekdays` from `start` to `end`."""

    model_config = ConfigDict(extra="forbid")

    desk: DeskCode | None = None
    rotation: str | None = Field(
        default=None, min_length=1, max_length=100, description="name", validate_default=True
    )
    weekdays: Weekdays = Field(description="0 Monday … 6 Sunday: the day the window starts")
    start: Clock
    end: EndClock = Field(description='"24:00" is the end of the day; before start: overnight')
    time_zone: Zone | None = Field(default=None, description="default: the desk's or rotation's")
    label: str = Field(default="", max_length=100)

    _end = field_validator("end")(_end_differs)

    @field_validator("rotation")
    @classmethod
    def _one_target(cls, rotation: str | None, info: ValidationInfo) -> str | None:
        if (info.data.get("desk") is None) == (rotation is None):
            raise _refuse("name either a desk or a rotation, not both or neither")
        return rotation


class RuleUpdate(BaseModel):
    """A rule's days, hours, clock or label; a field left out keeps its value (its desk or
    rotation stays: a rule for another is a new rule)."""

    model_config = ConfigDict(extra="forbid")

    weekdays: Weekdays | None = None
    start: Clock | None = None
    end: EndClock | None = None
    time_zone: Zone | None = None
    label: str | None = Field(default=None, max_length=100)

    _end = field_validator("end")(_end_differs)


class RuleRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    desk: str | None
    rotation: str | None
    weekdays: list[int]
    start: str
    end: str
    time_zone: str
    label: str
    warnings: list[str] = []  # e.g. the desk on duty outside the reliable hours it declared


# --- overrides and temporary schedules --------------------------------------------------------


class OverrideCreate(BaseModel):
    """Add a desk, remove one, or both (replace the removed desk with the added one)."""

    model_config = ConfigDict(extra="forbid")

    starts_at: Instant
    ends_at: Instant
    add: DeskCode | None = None
    remove: DeskCode | None = Field(default=None, validate_default=True)
    reason: str = Field(default="", max_length=200)

    _ends = field_validator("ends_at")(_ends_after_start)

    @field_validator("remove")
    @classmethod
    def _adds_or_removes(cls, remove: str | None, info: ValidationInfo) -> str | None:
        add = info.data.get("add")
        if add is None and remove is None:
            raise _refuse("name a desk to add, to remove, or both")
        if add is not None and add == remove:
            raise _refuse("a desk cannot replace itself")
        return remove


class OverrideRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    add: str | None
    remove: str | None
    reason: str
    created_by: str
    created_at: datetime


class FixedShiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    desk: DeskCode
    starts_at: Instant
    ends_at: Instant

    _ends = field_validator("ends_at")(_ends_after_start)


class TemporaryCreate(BaseModel):
    """For [starts_at, ends_at) these shifts replace every rule."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    starts_at: Instant
    ends_at: Instant
    shifts: list[FixedShiftIn] = Field(default_factory=list, max_length=500)

    _ends = field_validator("ends_at")(_ends_after_start)


class FixedShiftRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    desk: str
    starts_at: datetime
    ends_at: datetime


class TemporaryRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: str
    starts_at: datetime
    ends_at: datetime
    shifts: list[FixedShiftRead]
    created_by: str


# --- unavailability and requirements ----------------------------------------------------------


class UnavailabilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_at: Instant
    ends_at: Instant
    reason: str = Field(default="", max_length=200)

    _ends = field_validator("ends_at")(_ends_after_start)


class UnavailabilityRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    desk: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    source: str
    created_by: str


class RequirementCreate(BaseModel):
    """What must be covered at every instant: a desk with `power` in `language` (any, if
    left out)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    power: Power | None = None
    language: Language | None = None


class RequirementRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    name: str
    power: Power | None
    language: str | None


# --- computed ---------------------------------------------------------------------------------


class DutyShiftRead(BaseModel):
    """A desk on duty, with how to reach it."""

    model_config = ConfigDict(extra="forbid")

    desk_id: uuid.UUID
    agency: str
    name: str
    country: str
    time_zone: str
    starts_at: datetime
    ends_at: datetime
    source: Source
    source_id: uuid.UUID | None
    languages: list[str]
    powers: list[Power]
    contact_desk: str
    contact_phone: str
    contact_email: str


class GapRead(BaseModel):
    """A maximal interval in which a requirement is not met."""

    model_config = ConfigDict(extra="forbid")

    requirement_id: uuid.UUID
    requirement: str
    power: Power | None
    language: str | None
    starts_at: datetime
    ends_at: datetime
