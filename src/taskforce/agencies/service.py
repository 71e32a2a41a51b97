"""Member agencies: who is in the network, where, in which time zone, and how to reach their
24/7 desk. The directory is visible to every member (that is its purpose); only network admins
change it. Partnerships are standing relations that pre-fill the partner list of AMBER cases.
"""

from __future__ import annotations

import re
import uuid
import zoneinfo
from collections.abc import Sequence
from functools import lru_cache

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from taskforce.agencies.models import Agency, Partnership
from taskforce.agencies.schemas import AgencyCreate, AgencyKind, AgencyUpdate
from taskforce.core.audit import service as audit
from taskforce.core.audit.service import Operation
from taskforce.core.caller import Caller, Permission, Role, agency_operator
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.outbound import configured_url_problem, parse_networks

CODE_RE = re.compile(r"^[A-Z0-9]{2,8}(-[A-Z0-9]{1,12}){0,3}$")


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def normalise_code(code: str) -> str:
    code = code.strip().upper()
    if not CODE_RE.match(code):
        raise Invalid("code", "letters, digits and hyphens like GB-NCA (at most 32 characters)")
    return code


def normalise_country(country: str) -> str:
    value = country.strip().upper()
    if len(value) != 2 or pycountry.countries.get(alpha_2=value) is None:
        raise Invalid("country", "must be an ISO 3166-1 alpha-2 code like GB or NL")
    return value


def normalise_timezone(tz: str) -> str:
    tz = tz.strip()
    if tz not in _timezones():
        raise Invalid("timezone", "must be an IANA time zone like Europe/London")
    return tz


def normalise_phone(phone: str, country: str | None) -> str:
    try:
        parsed = phonenumbers.parse(phone, country)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(
            "contact_phone", "must be a phone number in E.164 like +442079460000"
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid("contact_phone", "is not a valid phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(email: str, field: str = "contact_email") -> str:
    try:
        result = validate_email(email.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise Invalid(field, "must be an e-mail address like desk@example.com") from exc
    return result.normalized.lower()


def normalise_webhook(url: str | None, allow_networks: Sequence[str] = ()) -> str | None:
    """An http(s) URL taskforce may post to: judged now, without DNS (an internal address in
    any spelling, a local-only name, credentials in the URL are refused with the reason), and
    again with DNS at every delivery (`core.outbox`). `allow_networks`: the
    `webhook_allow_networks` setting."""
    if not url or not url.strip():
        return None
    url = url.strip()
    problem = configured_url_problem(url, parse_networks(allow_networks))
    if problem is not None:
        raise Invalid("webhook_url", problem)
    return url


def register_agency(
    session: Session,
    caller: Caller,
    data: AgencyCreate,
    *,
    webhook_allow_networks: Sequence[str] = (),
) -> Agency:
    caller.require(Permission.MANAGE_AGENCIES)
    code = normalise_code(data.code)
    country = normalise_country(data.country)
    agency = Agency(
        code=code,
        name=data.name.strip(),
        country=country,
        timezone=normalise_timezone(data.timezone),
        contact_desk=data.contact_desk.strip(),
        contact_phone=normalise_phone(data.contact_phone, country),
        contact_email=normalise_email(data.contact_email),
        webhook_url=normalise_webhook(data.webhook_url, webhook_allow_networks),
        kind=data.kind.value,
        notice_copy_to_police=data.notice_copy_to_police,
        takedown_deadline_hours=data.takedown_deadline_hours,
    )
    if session.scalar(select(Agency.id).where(Agency.code == code)) is not None:
        raise Conflict(f"an agency with code {code} already exists")
    session.add(agency)
    session.flush()
    audit.record(
        session,
        caller,
        action="agency.register",
        operation=Operation.COLLECTION,
        subject_type="agency",
        subject_id=agency.id,
        subject_agency_id=agency.id,
        detail={"code": code},
    )
    return agency


def update_agency(
    session: Session,
    caller: Caller,
    *,
    code: str,
    data: AgencyUpdate,
    webhook_allow_networks: Sequence[str] = (),
) -> Agency:
    caller.require(Permission.MANAGE_AGENCIES)
    agency = get_by_code(session, code)
    changes: dict[str, object] = {}
    fields = data.model_dump(exclude_unset=True)
    if "timezone" in fields and fields["timezone"] is not None:
        fields["timezone"] = normalise_timezone(fields["timezone"])
    if "contact_phone" in fields and fields["contact_phone"] is not None:
        fields["contact_phone"] = normalise_phone(fields["contact_phone"], agency.country)
    if "contact_email" in fields and fields["contact_email"] is not None:
        fields["contact_email"] = normalise_email(fields["contact_email"])
    if "webhook_url" in fields:
        fields["webhook_url"] = normalise_webhook(fields["webhook_url"], webhook_allow_networks)
    if fields.get("kind") is not None:
        fields["kind"] = AgencyKind(fields["kind"]).value
    for name, value in fields.items():
        if value is None and name not in ("webhook_url", "takedown_deadline_hours"):
            continue
        if getattr(agency, name) != value:
            changes[name] = [getattr(agency, name), value]
            setattr(agency, name, value)
    session.flush()
    audit.record(
        session,
        caller,
        action="agency.update",
        operation=Operation.ALTERATION,
        subject_type="agency",
        subject_id=agency.id,
        subject_agency_id=agency.id,
        detail={"changes": sorted(changes)},
    )
    return agency


def get_by_code(session: Session, code: str) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code.strip().upper()))
    if agency is None:
        raise NotFound("agency")
    return agency


def operator(session: Session, code: str) -> Caller:
    """The operator at the console acting for the agency `code` (404 when there is none,
    naming the code typed: "agency XX-NONE not found")."""
    try:
        agency = get_by_code(session, code)
    except NotFound:
        raise NotFound(f"agency {code.strip().upper()}") from None
    return agency_operator(agency.id, agency.code, agency.country)


def job_caller(agency: Agency, actor: str) -> Caller:
    """The hub acting for the agency in the background (a scheduled or queued step); `actor`
    names the job in the agency's audit entries ("recrawl schedule")."""
    return Caller(
        role=Role.AGENCY_ADMIN,
        channel="job",
        agency_id=agency.id,
        agency_code=agency.code,
        country=agency.country,
        email=actor,
    )


def get(session: Session, agency_id: uuid.UUID) -> Agency | None:
    return session.get(Agency, agency_id)


def list_agencies(session: Session, *, include_inactive: bool = False) -> Sequence[Agency]:
    stmt = select(Agency).order_by(Agency.country, Agency.code)
    if not include_inactive:
        stmt = stmt.where(Agency.is_active)
    return session.scalars(stmt).all()


def resolve_codes(
    session: Session, codes: Sequence[str], *, field: str = "partners"
) -> list[Agency]:
    """Agencies for a list of codes; an unknown code is a client error naming it."""
    wanted = [c.strip().upper() for c in codes if c.strip()]
    found = {a.code: a for a in session.scalars(select(Agency).where(Agency.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise Invalid(field, f"unknown agency code(s): {', '.join(missing)}")
    return [found[c] for c in dict.fromkeys(wanted)]


def add_partnership(session: Session, caller: Caller, *, code: str, partner_code: str) -> None:
    caller.require(Permission.MANAGE_AGENCIES)
    a, b = get_by_code(session, code), get_by_code(session, partner_code)
    if a.id == b.id:
        raise Invalid("partner", "an agency cannot partner with itself")
    first, second = sorted([a.id, b.id])
    if session.get(Partnership, (first, second)) is None:
        session.add(Partnership(agency_a_id=first, agency_b_id=second))
        session.flush()
        audit.record(
            session,
            caller,
            action="agency.partnership.add",
            operation=Operation.ALTERATION,
            subject_type="agency",
            subject_id=a.id,
            subject_agency_id=a.id,
            detail={"partner": b.code},
        )


def remove_partnership(session: Session, caller: Caller, *, code: str, partner_code: str) -> None:
    caller.require(Permission.MANAGE_AGENCIES)
    a, b = get_by_code(session, code), get_by_code(session, partner_code)
    first, second = sorted([a.id, b.id])
    row = session.get(Partnership, (first, second))
    if row is not None:
        session.delete(row)
        session.flush()
        audit.record(
            session,
            caller,
            action="agency.partnership.remove",
            operation=Operation.ALTERATION,
            subject_type="agency",
            subject_id=a.id,
            subject_agency_id=a.id,
            detail={"partner": b.code},
        )


def partners_of(session: Session, agency_id: uuid.UUID) -> list[Agency]:
    rows = session.execute(
        select(Partnership.agency_a_id, Partnership.agency_b_id).where(
            or_(Partnership.agency_a_id == agency_id, Partnership.agency_b_id == agency_id)
        )
    ).all()
    ids = {b if a == agency_id else a for a, b in rows}
    if not ids:
        return []
    return list(session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.code)))


def agencies_by_id(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Agency]:
    if not ids:
        return {}
    return {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(ids)))}


def of_kind_in(session: Session, kind: AgencyKind, country: str) -> list[Agency]:
    """Active agencies of one kind in one country, by code (the first is the one routed to)."""
    return list(
        session.scalars(
            select(Agency)
            .where(Agency.kind == kind.value, Agency.country == country, Agency.is_active)
            .order_by(Agency.code)
        )
    )


def coordinator(session: Session) -> Agency | None:
    """The network coordinator: takes what no member country takes, and unacknowledged leads.
    With several (there should be one), the first by code."""
    return session.scalar(
        select(Agency)
        .where(Agency.kind == AgencyKind.COORDINATOR.value, Agency.is_active)
        .order_by(Agency.code)
        .limit(1)
    )
