"""Admin API for people's accounts, limited by scope: a province administrator sees and manages only
accounts whose every scope unit lies inside the province, and grants only what it holds itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.accounts import (
    Manager,
    ScopeIn,
    ScopeOut,
    audit,
    require_grantable,
    require_within,
    resolve_scopes,
    within,
)
from gateway.identity import role_permissions
from gateway.models import Role, User, UserScope
from shared.db import scope_clause
from shared.errors import Problem, conflict, not_found
from shared.principal import Principal

router = APIRouter(prefix="/admin/users", tags=["admin: users"])
USERNAME = r"^[a-z0-9][a-z0-9._-]{2,63}$"


class UserCreate(BaseModel):
    username: str = Field(pattern=USERNAME, description="Lower-case letters, digits, '.', '_' or '-'")
    display_name: str = Field(default="", max_length=200)
    role: str
    scopes: list[ScopeIn] = Field(min_length=1, max_length=50)
    password: str = Field(max_length=200)
    active: bool = True


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, max_length=200)
    role: str | None = None
    scopes: list[ScopeIn] | None = Field(default=None, min_length=1, max_length=50)
    active: bool | None = None
    password: str | None = Field(default=None, max_length=200)


class UserOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: str
    active: bool
    scopes: list[ScopeOut]
    failed_logins: int
    locked_until: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int


def _out(user: User) -> UserOut:
    return UserOut(
        id=user.id, username=user.username, display_name=user.display_name, role=user.role, active=user.active,
        scopes=[ScopeOut(hierarchy=s.hierarchy, code=s.code, path=s.path, level=s.level) for s in user.scopes],
        failed_logins=user.failed_logins, locked_until=user.locked_until, created_by=user.created_by,
        created_at=user.created_at, updated_at=user.updated_at,
    )


async def _check_role(session: AsyncSession, principal: Principal, role: str) -> None:
    if await session.get(Role, role) is None:
        raise Problem(422, "unknown_role", "Unknown role", f"No role named '{role}'.", field="role")
    require_grantable(principal, await role_permissions(session, role))


def _check_password(request: Request, password: str) -> None:
    minimum = request.app.state.gateway.settings.password_min_length
    if len(password) < minimum:
        raise Problem(422, "weak_password", "Password too short",
                      f"A password needs at least {minimum} characters.", field="password")


async def _managed_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    """The user, if the manager may see it; 404 otherwise (a foreign account is not revealed)."""
    user = await session.get(User, user_id)
    if user is None or not within(principal, [s.path for s in user.scopes]):
        raise not_found("user", user_id)
    return user


@router.get("", response_model=UserPage, summary="Accounts inside your scope")
async def list_users(
    request: Request, principal: Manager,
    role: str | None = None, active: bool | None = None,
    q: Annotated[str | None, Query(description="Part of the username or display name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
) -> UserPage:
    inside = scope_clause(UserScope.path, principal.scope_paths)
    # Every scope unit of the account inside the manager's scope: no scope row outside it.
    query = select(User).where(
        exists().where(UserScope.user_id == User.id),
        ~exists().where(UserScope.user_id == User.id, ~inside),
    )
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active == active)
    if q:
        like = f"%{q.lower()}%"
        query = query.where(func.lower(User.username).like(like) | func.lower(User.display_name).like(like))
    async with request.app.state.gateway.db.session(principal) as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        users = (await session.scalars(query.order_by(User.username).limit(limit).offset(offset))).all()
        return UserPage(items=[_out(u) for u in users], total=int(total or 0), limit=limit, offset=offset)


@router.post("", response_model=UserOut, status_code=201, summary="Create an account inside your scope")
async def create_user(request: Request, principal: Manager, body: UserCreate) -> UserOut:
    gw = request.app.state.gateway
    scopes = resolve_scopes(request, body.scopes)
    require_within(principal, [s.path for s in scopes], "account")
    _check_password(request, body.password)
    password_hash = await gw.passwords.hash(body.password)
    async with gw.db.session(principal) as session:
        await _check_role(session, principal, body.role)
        if await session.scalar(select(User.id).where(User.username == body.username)) is not None:
            raise conflict("username_taken", f"The username '{body.username}' is taken.")
        user = User(id=uuid.uuid4(), username=body.username, display_name=body.display_name, role=body.role,
                    active=body.active, password_hash=password_hash, created_by=principal.name or principal.id,
                    failed_logins=0, lockouts=0, demo=False,
                    scopes=[UserScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level)
                            for s in scopes])
        session.add(user)
        audit(session, principal, "user.created", "user", str(user.id), [s.path for s in scopes],
              username=user.username, role=user.role)
        await session.flush()
        await session.refresh(user, ["created_at", "updated_at"])
        return _out(user)


@router.get("/{user_id}", response_model=UserOut, summary="One account")
async def get_user(request: Request, principal: Manager, user_id: uuid.UUID) -> UserOut:
    async with request.app.state.gateway.db.session(principal) as session:
        return _out(await _managed_user(session, principal, user_id))


@router.patch("/{user_id}", response_model=UserOut,
              summary="Change an account (role, scopes, status or password end its sessions)")
async def update_user(request: Request, principal: Manager, user_id: uuid.UUID, body: UserUpdate) -> UserOut:
    gw = request.app.state.gateway
    scopes = resolve_scopes(request, body.scopes) if body.scopes is not None else None
    if scopes is not None:
        require_within(principal, [s.path for s in scopes], "account")
    password_hash = None
    if body.password is not None:
        _check_password(request, body.password)
        password_hash = await gw.passwords.hash(body.password)
    async with gw.db.session(principal) as session:
        user = await _managed_user(session, principal, user_id)
        changes: dict[str, object] = {}
        if body.display_name is not None:
            user.display_name = body.display_name
            changes["display_name"] = body.display_name
        if body.role is not None and body.role != user.role:
            await _check_role(session, principal, body.role)
            changes["role"] = [user.role, body.role]
            user.role = body.role
        if scopes is not None:
            changes["scope_change"] = [[s.path for s in user.scopes], [s.path for s in scopes]]
            user.scopes = [UserScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level) for s in scopes]
        if body.active is not None and body.active != user.active:
            user.active = body.active
            changes["active"] = body.active
        if password_hash is not None:
            user.password_hash = password_hash
            user.failed_logins, user.locked_until = 0, None
            changes["password"] = "changed"
        user.updated_at = datetime.now(UTC)
        if set(changes) - {"display_name"}:
            await gw.identities.revoke_user_sessions(session, user.id, "account_changed")
        audit(session, principal, "user.updated", "user", str(user.id), [s.path for s in user.scopes], **changes)
        return _out(user)


@router.post("/{user_id}/unlock", response_model=UserOut, summary="Lift a failed-login lockout")
async def unlock_user(request: Request, principal: Manager, user_id: uuid.UUID) -> UserOut:
    async with request.app.state.gateway.db.session(principal) as session:
        user = await _managed_user(session, principal, user_id)
        user.failed_logins, user.lockouts, user.locked_until = 0, 0, None
        audit(session, principal, "user.unlocked", "user", str(user.id), [s.path for s in user.scopes])
        return _out(user)


@router.post("/{user_id}/logout", status_code=204, summary="End every session of the account now")
async def logout_user(request: Request, principal: Manager, user_id: uuid.UUID) -> None:
    gw = request.app.state.gateway
    async with gw.db.session(principal) as session:
        user = await _managed_user(session, principal, user_id)
        await gw.identities.revoke_user_sessions(session, user.id, "admin_logout")
        audit(session, principal, "user.logged_out", "user", str(user.id), [s.path for s in user.scopes])
