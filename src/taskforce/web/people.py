"""The admins' pages for people: users of an agency (agency admins: their own agency's; the
network admin: everyone's), created, edited, disabled, and their API tokens created (the secret
shown once, in the answer to the form) and revoked. Every decision and every audit record is
`core.auth.service`'s; these routes turn forms into its calls."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import Field, ValidationError
from sqlalchemy.orm import Session

from taskforce.core.auth import service as auth_service
from taskforce.core.auth.models import User
from taskforce.core.auth.schemas import TokenCreate, UserCreate
from taskforce.core.caller import Caller, Permission, Role
from taskforce.core.errors import Conflict, Invalid, NotFound
from taskforce.core.http import SessionDep, SettingsDep
from taskforce.web.forms import CheckedWebDep, PageForm, attempt, field_error
from taskforce.web.session import WebCallerDep, render

router = APIRouter(prefix="/ui/users", include_in_schema=False)

_AGENCY_ROLES = (Role.AGENCY_ADMIN, Role.INVESTIGATOR, Role.ANALYST, Role.READ_ONLY)


def _roles(caller: Caller) -> list[Role]:
    """The roles the caller may give: only the network admin makes admins of the network and
    internet providers (the same rule `create_user` and `update_user` hold)."""
    return list(Role) if caller.role == Role.NETWORK_ADMIN else list(_AGENCY_ROLES)


@router.get("", response_class=HTMLResponse)
def users_page(
    request: Request,
    session: SessionDep,
    web: WebCallerDep,
    agency: str = Query(default="", max_length=32),
) -> HTMLResponse:
    """The people the caller manages (403 for anyone without MANAGE_USERS)."""
    agencies = auth_service.agency_choices(session, web.caller)
    chosen = agency.strip().upper()
    agency_id = None
    if chosen and web.caller.role == Role.NETWORK_ADMIN:
        row = auth_service.agency_row(session, code=chosen)
        agency_id = row.id if row else None
    users = auth_service.list_users(session, web.caller, agency_id=agency_id)
    if chosen and agency_id is None:
        users = []
    codes = auth_service.agency_codes(session, {u.agency_id for u in users})
    return render(
        request,
        "users.html",
        {
            "users": users,
            "codes": codes,
            "agencies": agencies,
            "agency": chosen,
        },
    )


class UserForm(PageForm):
    email: str = Field(default="", max_length=320)
    display_name: str = Field(default="", max_length=200)
    agency: str = Field(default="", max_length=32)
    role: str = Field(default=Role.INVESTIGATOR.value, max_length=32)
    password: str = Field(default="", max_length=256)
    is_active: bool = False

    def chosen_role(self) -> Role:
        try:
            return Role(self.role)
        except ValueError:
            raise Invalid("role", "choose one of the roles offered") from None


def _new_form(
    request: Request,
    session: Session,
    caller: Caller,
    *,
    values: dict[str, Any],
    error: Invalid | None = None,
) -> HTMLResponse:
    return render(
        request,
        "user_new.html",
        {
            "values": values,
            "error": error,
            "roles": _roles(caller),
            "agencies": auth_service.agency_choices(session, caller),
        },
        status_code=422 if error else 200,
    )


@router.get("/new", response_class=HTMLResponse)
def new_user_form(request: Request, session: SessionDep, web: WebCallerDep) -> HTMLResponse:
    web.caller.require(Permission.MANAGE_USERS)
    values = UserForm(agency=web.caller.agency_code or "").model_dump()
    return _new_form(request, session, web.caller, values=values)


@router.post("/new", response_class=HTMLResponse)
def create_user(
    request: Request,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[UserForm, Form()],
) -> Response:
    web.caller.require(Permission.MANAGE_USERS)
    values = {**form.model_dump(), "password": ""}  # a refused password is not sent back
    try:
        data = UserCreate(
            email=form.email.strip(),
            display_name=form.display_name.strip() or None,
            agency=form.agency.strip(),
            role=form.chosen_role(),
            password=form.password or None,
        )
        user = attempt(
            session,
            lambda: auth_service.create_user(
                session,
                web.caller,
                email=data.email,
                agency_code=data.agency,
                role=data.role,
                password=data.password,
                display_name=data.display_name,
            ),
        )
    except ValidationError as exc:
        return _new_form(request, session, web.caller, values=values, error=field_error(exc))
    except Invalid as exc:
        return _new_form(request, session, web.caller, values=values, error=exc)
    except Conflict as exc:
        error = Invalid("email", exc.message)
        return _new_form(request, session, web.caller, values=values, error=error)
    return RedirectResponse(f"/ui/users/{user.id}?created=1", status_code=303)


def _user_page(
    request: Request,
    session: Session,
    caller: Caller,
    user: User,
    *,
    values: dict[str, Any] | None = None,
    error: Invalid | None = None,
    issued: auth_service.IssuedToken | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    codes = auth_service.agency_codes(session, {user.agency_id})
    response = render(
        request,
        "user.html",
        {
            "user": user,
            "agency_code": codes.get(user.agency_id, ""),
            "values": values
            or {"display_name": user.display_name, "role": user.role, "is_active": user.is_active},
            "roles": _roles(caller),
            "tokens": auth_service.tokens_of(session, caller, user),
            "error": error,
            "issued": issued,
        },
        status_code=422 if error else status_code,
    )
    return response


@router.get("/{user_id}", response_class=HTMLResponse)
def user_page(
    request: Request, user_id: uuid.UUID, session: SessionDep, web: WebCallerDep
) -> HTMLResponse:
    user = auth_service.managed_user(session, web.caller, user_id)
    return _user_page(request, session, web.caller, user)


@router.post("/{user_id}", response_class=HTMLResponse)
def update_user(
    request: Request,
    user_id: uuid.UUID,
    session: SessionDep,
    web: CheckedWebDep,
    form: Annotated[UserForm, Form()],
) -> Response:
    """Rename, change the role, disable (untick "active") or enable a user."""
    user = auth_service.managed_user(session, web.caller, user_id)
    try:
        role = form.chosen_role()
        attempt(
            session,
            lambda: auth_service.update_user(
                session,
                web.caller,
                user_id=user.id,
                display_name=form.display_name,
                role=role,
                is_active=form.is_active,
            ),
        )
    except Invalid as exc:
        session.refresh(user)
        values = {"display_name": form.display_name, "role": form.role, "is_active": form.is_active}
        return _user_page(request, session, web.caller, user, values=values, error=exc)
    return RedirectResponse(f"/ui/users/{user.id}?saved=1", status_code=303)


class TokenForm(PageForm):
    name: str = Field(default="api", max_length=100)
    days: str = Field(default="", max_length=5)


@router.post("/{user_id}/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    user_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    web: CheckedWebDep,
    form: Annotated[TokenForm, Form()],
) -> Response:
    """A token for the user. The secret is in this answer only (it is stored hashed), so this
    one form answers with the page instead of redirecting; the page is never cached."""
    user = auth_service.managed_user(session, web.caller, user_id)
    try:
        data = TokenCreate(name=form.name.strip() or "api", days=form.days.strip() or None)
        issued = attempt(
            session,
            lambda: auth_service.create_token(
                session, web.caller, settings, user=user, name=data.name, days=data.days
            ),
        )
    except ValidationError as exc:
        return _user_page(request, session, web.caller, user, error=field_error(exc, "token."))
    return _user_page(request, session, web.caller, user, issued=issued, status_code=201)


@router.post("/{user_id}/tokens/{token_id}/revoke")
def revoke_token(
    user_id: uuid.UUID, token_id: uuid.UUID, session: SessionDep, web: CheckedWebDep
) -> Response:
    user = auth_service.managed_user(session, web.caller, user_id)
    if token_id not in {t.id for t in auth_service.tokens_of(session, web.caller, user)}:
        raise NotFound("token")
    auth_service.revoke_token(session, web.caller, token_id=token_id)
    return RedirectResponse(f"/ui/users/{user.id}?revoked=1#tokens", status_code=303)
