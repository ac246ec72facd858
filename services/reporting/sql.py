"""Reads on the hot path go straight to the asyncpg connection of the request's session.

Same connection, same transaction as the session; asyncpg prepares each statement once per
connection. It skips SQLAlchemy's per-statement work, which costs more than these small queries.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession


async def driver(session: AsyncSession) -> asyncpg.Connection:
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


async def fetch(session: AsyncSession, sql: str, *args: Any) -> list[asyncpg.Record]:
    return list(await (await driver(session)).fetch(sql, *args))


async def fetchval(session: AsyncSession, sql: str, *args: Any) -> Any:
    return await (await driver(session)).fetchval(sql, *args)
