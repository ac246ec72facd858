"""Queries for the operations page: dead letters parked by a consumer."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_DEAD = text("SELECT count(*) FROM dead_letters WHERE consumer = :consumer")


async def dead_letters(session: AsyncSession, consumer: str) -> int:
    return int(await session.scalar(_DEAD, {"consumer": consumer}) or 0)
