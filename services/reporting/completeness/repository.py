"""The units that must report under a unit for a period and the state of their reports, counted in the
database per child unit and level (a country is ~12,000 units: the rows never travel), and the overdue
units one page at a time; on the request's asyncpg connection (services.reporting.sql)."""

from __future__ import annotations

from datetime import date
from typing import Any

import orjson
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
# $9 today (a unit is overdue when its report was never submitted and the due date has passed), $10 the
# overdue page's size, $11 its offset. One scan of the expected units (a CTE used twice is computed once):
# the counts per (child, level), and one page of the overdue units.
_COUNTS_AND_OVERDUE = f"""
WITH e AS MATERIALIZED ({_EXPECTED}),
counts AS (
    SELECT child, level, count(*)::int AS expected, count(first_submitted_on)::int AS submitted,
           count(*) FILTER (WHERE first_submitted_on <= $7)::int AS on_time,
           count(*) FILTER (WHERE state = 'accepted')::int AS accepted,
           count(*) FILTER (WHERE state = 'returned')::int AS returned,
           count(*) FILTER (WHERE state = 'submitted')::int AS awaiting,
           count(*) FILTER (WHERE state IS NOT NULL AND first_submitted_on IS NULL)::int AS drafts,
           count(*) FILTER (WHERE first_submitted_on IS NULL AND $7 < $9)::int AS overdue
    FROM e GROUP BY child, level
),
late AS (
    SELECT path, code, name, level, state, report_id FROM e
    WHERE first_submitted_on IS NULL AND $7 < $9 ORDER BY path LIMIT $10 OFFSET $11
)
SELECT (SELECT COALESCE(json_agg(counts), '[]') FROM counts)::text AS counts,
       (SELECT COALESCE(json_agg(late ORDER BY path), '[]') FROM late)::text AS overdue
"""


def _params(path: str, report_type: str, period: str, due_on: date) -> tuple[object, ...]:
    return *subtree.params(path), report_type, period, due_on, VIETNAM.key


async def counts_and_overdue(session: AsyncSession, path: str, report_type: str, period: str, due_on: date,
                             today: date, limit: int, offset: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per (child unit, level): expected, submitted, on time, accepted, returned, awaiting, drafts, overdue;
    and a page of the overdue units."""
    rows = await fetch(session, _COUNTS_AND_OVERDUE, *_params(path, report_type, period, due_on), today, limit,
                       offset)
    return orjson.loads(rows[0]["counts"]), orjson.loads(rows[0]["overdue"])


async def counts(session: AsyncSession, path: str, report_type: str, period: str, due_on: date,
                 today: date) -> list[dict[str, Any]]:
    return (await counts_and_overdue(session, path, report_type, period, due_on, today, 0, 0))[0]
