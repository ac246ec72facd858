"""Queries on the units read model, on the request's asyncpg connection (services.reporting.sql).

The unit asked for, its children and the freshness come back in one round trip.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.progress.repository import PROGRESS_COLUMNS
from services.reporting.sql import fetch

_COLUMNS = "path, hierarchy, code, name, level, type, parent_path"
# The unit (by code in a hierarchy, or by path), its children, and the freshness (progress columns on
# every row; a row of NULL units when the unit is unknown).
_UNIT_AND_CHILDREN = f"""
WITH u AS (SELECT path FROM rp_units WHERE (hierarchy = $1 AND code = $2) OR path = $3 LIMIT 1),
units AS (
    SELECT {_COLUMNS}, true AS is_unit FROM rp_units WHERE path = (SELECT path FROM u)
    UNION ALL
    SELECT {_COLUMNS}, false FROM rp_units WHERE parent_path = (SELECT path FROM u)
),
p AS (SELECT {PROGRESS_COLUMNS} FROM rp_progress WHERE consumer = $4)
SELECT * FROM (SELECT 1) one LEFT JOIN units ON true LEFT JOIN p ON true
"""
# The provinces of a hierarchy (the country's children) and the freshness.
_TOP = f"""
SELECT u.*, p.* FROM (SELECT 1) one
LEFT JOIN (SELECT {_COLUMNS} FROM rp_units WHERE hierarchy = $1 AND parent_path IS NULL) u ON true
LEFT JOIN (SELECT {PROGRESS_COLUMNS} FROM rp_progress WHERE consumer = $2) p ON true
"""


async def unit_and_children(session: AsyncSession, hierarchy: str, code: str, path: str,
                            consumer: str) -> list[Any]:
    """Rows of the unit (`is_unit`) and of its children (`is_unit` false), each with the progress columns."""
    return await fetch(session, _UNIT_AND_CHILDREN, hierarchy, code, path, consumer)


async def provinces(session: AsyncSession, hierarchy: str, consumer: str) -> list[Any]:
    """Rows of the provinces of a hierarchy (`path` NULL when there are none), each with the progress columns."""
    return await fetch(session, _TOP, hierarchy, consumer)
