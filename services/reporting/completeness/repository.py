"""The units that must report under a unit for a period, each with its report's state: one statement
on the units read model and the reports, on the request's asyncpg connection (services.reporting.sql)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.sql import fetch
from services.reporting.units import subtree
from shared.clock import VIETNAM

# $1..$4 the subtree (below the unit only), $5 the type, $6 the period, $7 its due date, $8 Vietnam's time zone
_EXPECTED = """
SELECT u.path, u.code, u.name, u.level, split_part(substr(u.path, $4), '.', 1) AS child, r.id AS report_id,
       r.state, (r.first_submitted_at AT TIME ZONE $8)::date AS first_submitted_on
FROM rp_units u
LEFT JOIN rp_reports r ON r.unit_path = u.path AND r.report_type = $5 AND r.period = $6
WHERE u.path > $2 AND u.path < $3 AND $1::text IS NOT NULL
  AND u.level IN ('province', 'district', 'commune')
  AND (u.valid_from IS NULL OR u.valid_from <= $7) AND (u.valid_to IS NULL OR u.valid_to >= $7)
"""


async def expected_units(session: AsyncSession, path: str, report_type: str, period: str,
                         due_on: date) -> list[Any]:
    return await fetch(session, _EXPECTED, *subtree.params(path), report_type, period, due_on, VIETNAM.key)
