"""The accounts admin's use cases: create and change an account inside the manager's scope, lift a
lockout, end every session. Each runs in one transaction and leaves an audit entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.access import resolve_scopes
from gateway.admin.audit import repository as audit
from gateway.admin.rules import require_grantable, require_within
from gateway.admin.users import repository
from gateway.admin.users.schemas import UserCreate, UserUpdate
from gateway.directory.service import UnitDirectory
from gateway.identity import repository as identity_repository
from gateway.identity.models import Role, User, UserScope
from gateway.identity.passwords import Passwords
from gateway.identity.service import Identities
from shared.db import Database
from shared.errors import Problem, conflict, not_found
from shared.principal import Principal


async def _check_role(session: AsyncSession, principal: Principal, role: str) -> None:
    if await session.get(Role, role) is None:
        raise Problem(422, "unknown_role", "Unknown role", f"No role named '{role}'.", field="role")
    require_grantable(principal, await identity_repository.role_permissions(session, role))


def _check_password(password: str, minimum: int) -> None:
    if len(password) < minimum:
        raise Problem(422, "weak_password", "Password too short",
                      f"A password needs at least {minimum} characters.", field="password")


async def _managed(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User:
    """The user, if the manager may see it; 404 otherwise (a foreign account is not revealed)."""
    user = await repository.managed_user(session, principal, user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


async def get_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    async with db.session(principal) as session:
        return await _managed(session, principal, user_id)


async def create_user(db: Database, passwords: Passwords, directory: UnitDirectory, password_min_length: int,
                      principal: Principal, body: UserCreate) -> User:
    scopes = resolve_scopes(directory, body.scopes)
    require_within(principal, [s.path for s in scopes], "account")
    _check_password(body.password, password_min_length)
    password_hash = await passwords.hash(body.password)
    async with db.session(principal) as session:
        await _check_role(session, principal, body.role)
        if await repository.username_taken(session, body.username):
            raise conflict("username_taken", f"The username '{body.username}' is taken.")
        user = User(id=uuid.uuid4(), username=body.username, display_name=body.display_name, role=body.role,
                    active=body.active, password_hash=password_hash, created_by=principal.name or principal.id,
                    failed_logins=0, lockouts=0, demo=False,
                    scopes=[UserScope(path=s.path, hierarchy=s.hierarchy, code=s.code, level=s.level)
                            for s in scopes])
        session.add(user)
        audit.record(session, principal, "user.created", "user", str(user.id), [s.path for s in scopes],
                     username=user.username, role=user.role)
        await session.flush()
        await session.refresh(user, ["created_at", "updated_at"])
        return user


async def update_user(db: Database, passwords: Passwords, identities: Identities, directory: UnitDirectory,
                      password_min_length: int, principal: Principal, user_id: uuid.UUID, body: UserUpdate) -> User:
    """Role, scopes, status or password changes end the account's sessions."""
    scopes = resolve_scopes(directory, body.scopes) if body.scopes is not None else None
    if scopes is not None:
        require_within(principal, [s.path for s in scopes], "account")
    password_hash = None
    if body.password is not None:
        _check_password(body.password, password_min_length)
        password_hash = await passwords.hash(body.password)
    async with db.session(principal) as session:
        user = await _managed(session, principal, user_id)
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
            await identities.revoke_user_sessions(session, user.id, "account_changed")
        audit.record(session, principal, "user.updated", "user", str(user.id), [s.path for s in user.scopes],
                     **changes)
        return user


async def unlock_user(db: Database, principal: Principal, user_id: uuid.UUID) -> User:
    async with db.session(principal) as session:
        user = await _managed(session, principal, user_id)
        user.failed_logins, user.lockouts, user.locked_until = 0, 0, None
        audit.record(session, principal, "user.unlocked", "user", str(user.id), [s.path for s in user.scopes])
        return user


async def logout_user(db: Database, identities: Identities, principal: Principal, user_id: uuid.UUID) -> None:
    async with db.session(principal) as session:
        user = await _managed(session, principal, user_id)
        await identities.revoke_user_sessions(session, user.id, "admin_logout")
        audit.record(session, principal, "user.logged_out", "user", str(user.id), [s.path for s in user.scopes])
