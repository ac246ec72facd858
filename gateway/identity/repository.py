"""The queries of signing in: accounts, roles, clients, login sessions and refresh tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.identity.models import LoginSession, RefreshToken, Role, SystemClient, User

# One statement counts a failure and, at the limit, locks the account for a time that doubles with
# every further lockout (up to the cap); concurrent failures cannot both read a stale count.
_RECORD_FAILURE = text("""
UPDATE users SET
    failed_logins = CASE WHEN failed_logins + 1 >= :max THEN 0 ELSE failed_logins + 1 END,
    lockouts = CASE WHEN failed_logins + 1 >= :max THEN lockouts + 1 ELSE lockouts END,
    locked_until = CASE WHEN failed_logins + 1 >= :max
        THEN now() + make_interval(secs => LEAST(:base * power(2, LEAST(lockouts, 20)), :cap))
        ELSE locked_until END
WHERE id = :id
RETURNING locked_until
""")


async def user_named(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def record_failure(session: AsyncSession, user_id: uuid.UUID, max_failures: int, lockout_seconds: float,
                         lockout_max_seconds: float) -> datetime | None:
    """Counts a failed login; returns the account's `locked_until`."""
    return await session.scalar(_RECORD_FAILURE, {
        "id": user_id, "max": max_failures, "base": lockout_seconds, "cap": lockout_max_seconds})


async def clear_failures(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(update(User).where(User.id == user_id).values(
        failed_logins=0, lockouts=0, locked_until=None))


async def role_permissions(session: AsyncSession, role: str) -> frozenset[str]:
    permissions = await session.scalar(select(Role.permissions).where(Role.name == role))
    return frozenset(permissions or ())


async def refresh_token(session: AsyncSession, token_hash: bytes, *, for_update: bool) -> RefreshToken | None:
    query = select(RefreshToken).where(RefreshToken.token_hash == token_hash)
    return await session.scalar(query.with_for_update() if for_update else query)


async def client_named(session: AsyncSession, client_id: str) -> SystemClient | None:
    return await session.scalar(select(SystemClient).where(SystemClient.client_id == client_id))


async def end_sessions_of(session: AsyncSession, user_id: uuid.UUID, reason: str, now: datetime) -> None:
    await session.execute(update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None)
    ).values(revoked_at=now, revoked_reason=reason))
