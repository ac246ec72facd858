"""The queries of the accounts admin: accounts whose every scope unit lies inside a manager's scope."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.admin.rules import within
from gateway.identity.models import User, UserScope
from shared.db import scope_clause
from shared.principal import Principal


def managed_users(principal: Principal, role: str | None, active: bool | None, q: str | None) -> Select[Any]:
    """Accounts inside the manager's scope (no scope row outside it), by username."""
    inside = scope_clause(UserScope.path, principal.scope_paths)
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
    return query.order_by(User.username)


async def managed_user(session: AsyncSession, principal: Principal, user_id: uuid.UUID) -> User | None:
    """The account, if the manager may see it."""
    user = await session.get(User, user_id)
    return user if user is not None and within(principal, [s.path for s in user.scopes]) else None


async def username_taken(session: AsyncSession, username: str) -> bool:
    return await session.scalar(select(User.id).where(User.username == username)) is not None
