from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from taskforce.core.auth import service
from taskforce.core.auth.models import User
from taskforce.core.auth.schemas import TokenCreate, TokenCreated, TokenRead, UserCreate, UserRead
from taskforce.core.caller import Role
from taskforce.core.errors import NotFound
from taskforce.core.http import CallerDep, SessionDep, SettingsDep

router = APIRouter(tags=["people"])


def _read(session: SessionDep, user: User) -> UserRead:
    agency = service.agency_row(session, agency_id=user.agency_id)
    return UserRead(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        role=Role(user.role),
        agency_code=agency.code if agency else "",
        is_active=user.is_active,
    )


@router.get("/me", response_model=UserRead)
def me(session: SessionDep, caller: CallerDep) -> UserRead:
    user = service.user_by_id(session, caller.user_id) if caller.user_id else None
    if user is None:
        raise NotFound("user")
    return _read(session, user)


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(data: UserCreate, session: SessionDep, caller: CallerDep) -> UserRead:
    user = service.create_user(
        session,
        caller,
        email=data.email,
        agency_code=data.agency,
        role=data.role,
        password=data.password,
        display_name=data.display_name,
    )
    return _read(session, user)


@router.get("/users", response_model=list[UserRead])
def list_users(session: SessionDep, caller: CallerDep) -> list[UserRead]:
    return [_read(session, u) for u in service.list_users(session, caller)]


@router.get("/tokens", response_model=list[TokenRead])
def list_tokens(session: SessionDep, caller: CallerDep) -> list[TokenRead]:
    return [TokenRead.model_validate(t) for t in service.list_tokens(session, caller)]


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(
    data: TokenCreate, session: SessionDep, settings: SettingsDep, caller: CallerDep
) -> TokenCreated:
    user = service.user_by_id(session, caller.user_id) if caller.user_id else None
    if user is None:
        raise NotFound("user")
    issued = service.create_token(
        session, caller, settings, user=user, name=data.name, days=data.days
    )
    return TokenCreated(**TokenRead.model_validate(issued.record).model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: uuid.UUID, session: SessionDep, caller: CallerDep) -> None:
    service.revoke_token(session, caller, token_id=token_id)
