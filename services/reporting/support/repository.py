"""Queries on the support read models for one unit's subtree (units/subtree.py: `$1`..`$4`).

A calendar year reads the totals (`rp_support_totals`, `_funding`, `_quantities`), which each unit
holds for its whole subtree: the unit's own rows, and its children's for the split by child (for a
v2025 unit, plus the rows of the old communes the crosswalk rolls into it). Any other span of dates
(a month, a movement's phase), and a unit's own deliveries alone, sum the delivery rows. Both give the
same rows: per programme and body the counts and amount, per programme, body and source the money,
per programme, body and measure the quantities, per child unit the counts and amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.sql import fetch
from services.reporting.units import subtree
from services.reporting.units.subtree import uses_crosswalk

_COUNTS = ("sum(deliveries)::bigint AS deliveries, sum(households)::bigint AS households, "
           "sum(persons)::bigint AS persons, sum(turns)::bigint AS turns, sum(amount_vnd)::bigint AS amount_vnd")
_ROW_COUNTS = ("count(*)::bigint AS deliveries, sum(households)::bigint AS households, "
               "sum(COALESCE(persons, 0))::bigint AS persons, sum(COALESCE(turns, 0))::bigint AS turns, "
               "sum(amount_vnd)::bigint AS amount_vnd")
_YEAR = "t.year = $5"
_DATES = "t.status = 'recorded' AND t.delivered_on BETWEEN $5 AND $6"


_AT_SELF = "t.unit_path = $1 AND $2::text IS NOT NULL AND $3::text IS NOT NULL"
_AT_CHILDREN = ("t.unit_path > $2 AND t.unit_path < $3 AND position('.' IN substr(t.unit_path, $4)) = 0 "
                "AND $1::text IS NOT NULL")
_ROLLED = ("SELECT x.new_path AS at_path, $4::int AS child_from, t.* FROM rp_crosswalk x "
           "JOIN {table} t ON t.unit_path = x.old_path "
           "WHERE (x.new_path = $1 OR (x.new_path > $2 AND x.new_path < $3)) AND t.year = $5")


def _totals(table: str, at: str, crosswalk: bool) -> str:
    """The rows of a totals table at the unit itself (or at its children), and the crosswalked old communes."""
    rows = f"SELECT t.unit_path AS at_path, $4::int AS child_from, t.* FROM {table} t WHERE {at} AND t.year = $5"
    return f"{rows} UNION ALL {_ROLLED.format(table=table)}" if crosswalk else rows


def _by_year(crosswalk: bool) -> dict[str, str]:
    return {
        "lines": f"WITH r AS ({_totals('rp_support_totals', _AT_SELF, crosswalk)}) "
                 f"SELECT programme, body, {_COUNTS} FROM r GROUP BY 1, 2",
        "funding": f"WITH r AS ({_totals('rp_support_funding', _AT_SELF, crosswalk)}) "
                   "SELECT programme, body, source, sum(amount_vnd)::bigint AS amount_vnd FROM r GROUP BY 1, 2, 3",
        "quantities": f"WITH r AS ({_totals('rp_support_quantities', _AT_SELF, crosswalk)}) "
                      "SELECT programme, body, measure, sum(quantity) AS quantity FROM r GROUP BY 1, 2, 3",
        "children": f"WITH r AS ({_totals('rp_support_totals', _AT_CHILDREN, crosswalk)}) "
                    f"SELECT {subtree.CHILD} AS child, {_COUNTS} FROM r GROUP BY 1",
    }


def _by_dates(crosswalk: bool, own: bool = False) -> dict[str, str]:
    rows = f"WITH r AS ({subtree.rows('rp_support_deliveries', _DATES, crosswalk, own=own)}) "
    return {
        "lines": f"{rows} SELECT programme, body, {_ROW_COUNTS} FROM r GROUP BY 1, 2",
        "funding": f"{rows} SELECT programme, body, part->>'source' AS source, "
                   "sum((part->>'amount_vnd')::bigint)::bigint AS amount_vnd "
                   "FROM r CROSS JOIN LATERAL jsonb_array_elements(funding) part GROUP BY 1, 2, 3",
        "quantities": f"{rows} SELECT programme, body, q->>'measure' AS measure, sum((q->>'quantity')::numeric) "
                      "AS quantity FROM r CROSS JOIN LATERAL jsonb_array_elements(quantities) q GROUP BY 1, 2, 3",
        "children": f"{rows} SELECT {subtree.CHILD} AS child, {_ROW_COUNTS} FROM r GROUP BY 1",
    }


_YEAR_STATEMENTS = {flag: _by_year(flag) for flag in (False, True)}
_DATE_STATEMENTS = {flag: _by_dates(flag) for flag in (False, True)}
_NAMES = "SELECT catalogue, code, name FROM rp_support_catalogue"


@dataclass
class SupportRows:
    lines: list[Any]
    funding: list[Any]
    quantities: list[Any]
    children: list[Any]


def is_calendar_year(first: date, last: date) -> bool:
    return first == date(first.year, 1, 1) and last == date(first.year, 12, 31)


_OWN_STATEMENTS = _by_dates(False, own=True)


async def support_rows(session: AsyncSession, path: str, first: date, last: date, own: bool = False,
                       parts: tuple[str, ...] = ("lines", "funding", "quantities", "children")) -> SupportRows:
    """The support figures of the unit's subtree (or, with `own`, of the unit alone) for deliveries
    dated `first`..`last`; `parts` leaves out the groupings a caller does not show (they stay empty)."""
    crosswalk = uses_crosswalk(path)
    args: tuple[object, ...]
    if own:
        statements, args = _OWN_STATEMENTS, (first, last)
    elif is_calendar_year(first, last):
        statements, args = _YEAR_STATEMENTS[crosswalk], (first.year,)
    else:
        statements, args = _DATE_STATEMENTS[crosswalk], (first, last)
    found = {name: await fetch(session, sql, *subtree.params(path), *args) if name in parts else []
             for name, sql in statements.items()}
    return SupportRows(**found)


async def catalogue_names(session: AsyncSession) -> dict[tuple[str, str], str]:
    """{(catalogue, code): Vietnamese name} of the support catalogue as published."""
    return {(r["catalogue"], r["code"]): r["name"] for r in await fetch(session, _NAMES)}
