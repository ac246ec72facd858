"""The dashboard's own queries over a unit's subtree (units/subtree.py `$1`..`$4`): the poverty counts per
child unit and year, fund balances per child unit, scores of the units one level below with their
movement's name; on the request's asyncpg connection."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.poverty.counters import STATUSES
from services.reporting.sql import fetch
from services.reporting.units import subtree
from services.reporting.units.subtree import uses_crosswalk
from shared.clock import VIETNAM

# $5..$6 the years. Only the three counts the dashboard draws, of the wide commune counters (the indicators
# sum every column: ~90 sums where three are needed).
_HOUSEHOLDS = " + ".join(f"t.h_{s}" for s in STATUSES)
_POVERTY = """WITH r AS ({rows}) SELECT {child} AS child, year, sum(households)::bigint AS households,
    sum(poor)::bigint AS poor, sum(near_poor)::bigint AS near_poor FROM r GROUP BY 1, 2"""
_POVERTY_STATEMENTS = {
    flag: _POVERTY.format(rows=subtree.rows("rp_commune_year", "t.year BETWEEN $5 AND $6", flag,
                                            columns=f"t.year, {_HOUSEHOLDS} AS households, t.h_poor AS poor, "
                                                    "t.h_near_poor AS near_poor"), child=subtree.CHILD)
    for flag in (False, True)}
# $5 the first day of the year, $6 its last day
_FUNDS = """WITH r AS ({rows}) SELECT {child} AS child,
    COALESCE(sum(amount_vnd), 0)::bigint AS balance_vnd,
    COALESCE(sum(amount_vnd) FILTER (WHERE kind = 'donation' AND occurred_on >= $5), 0)::bigint AS donations_vnd,
    COALESCE(-sum(amount_vnd) FILTER (WHERE kind = 'spend' AND occurred_on >= $5), 0)::bigint AS spent_vnd
FROM r WHERE occurred_on <= $6 GROUP BY 1"""
_FUND_STATEMENTS = {flag: _FUNDS.format(rows=subtree.rows("rp_fund_entries", "", flag,
                                                         columns="t.amount_vnd, t.kind, t.occurred_on"),
                                        child=subtree.CHILD)
                    for flag in (False, True)}
# $5 the year; the scores of the units one level below the unit (or of the unit itself, for a commune), per
# movement and criteria set (a province and a district may both score the same communes: one ranking each),
# the higher scoring unit first.
_SCORES = """SELECT s.movement_id, m.name AS movement, s.criteria_set_id, s.scored_by, b.name AS scored_by_name,
    s.unit_path, u.code, u.name, s.total
FROM rp_scores s LEFT JOIN rp_movements m USING (movement_id) LEFT JOIN rp_units u ON u.path = s.unit_path
    LEFT JOIN rp_units b ON b.path = s.scored_by
WHERE s.year = $5 AND $4::int IS NOT NULL AND (
    (s.unit_path > $2 AND s.unit_path < $3 AND position('.' IN substr(s.unit_path, $4)) = 0) OR s.unit_path = $1)
ORDER BY s.movement_id, length(s.scored_by) NULLS FIRST, s.scored_by, s.criteria_set_id NULLS FIRST,
    s.total DESC NULLS LAST, s.unit_path"""


async def poverty_counts(session: AsyncSession, path: str, year_from: int, year_to: int) -> list[Any]:
    """Per (child code, "" for the unit's own rows; year): households, poor, near-poor."""
    return await fetch(session, _POVERTY_STATEMENTS[uses_crosswalk(path)], *subtree.params(path), year_from, year_to)


async def fund_balances(session: AsyncSession, path: str, year: int) -> list[Any]:
    return await fetch(session, _FUND_STATEMENTS[uses_crosswalk(path)], *subtree.params(path),
                       date(year, 1, 1), date(year, 12, 31))


async def scores(session: AsyncSession, path: str, year: int) -> list[Any]:
    return await fetch(session, _SCORES, *subtree.params(path), year)


# The unit's own report of a type and period; $4 Vietnam's time zone (on time is judged by its calendar).
_OWN_REPORT = """SELECT id, state, (first_submitted_at AT TIME ZONE $4)::date AS first_submitted_on
FROM rp_reports WHERE unit_path = $1 AND report_type = $2 AND period = $3"""


async def own_report(session: AsyncSession, path: str, report_type: str, period: str) -> Any | None:
    rows = await fetch(session, _OWN_REPORT, path, report_type, period, VIETNAM.key)
    return rows[0] if rows else None


# The movements covering a unit (launched by the unit itself or a unit above it), oldest first, with their
# phases (the mid-term and final reviews' days).
_MOVEMENTS = """SELECT movement_id, name, starts_on, phases FROM rp_movements
WHERE unit_path = $1 OR starts_with($1, unit_path || '.') ORDER BY starts_on, movement_id"""


async def movements(session: AsyncSession, path: str) -> list[Any]:
    return await fetch(session, _MOVEMENTS, path)
