"""Queries on the support read models for one unit's subtree (units/subtree.py: `$1`..`$4`).

A calendar year reads the totals (`rp_support_totals`, `_funding`, `_quantities`: a few rows per
commune); any other span of dates (a month, a movement's phase) sums the delivery rows whose date
falls in it. Both give the same rows: per programme and body the counts and amount, per programme,
body and source the money, per programme, body and measure the quantities, per child unit the
counts and amount.
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


def _by_year(crosswalk: bool, own: bool = False) -> dict[str, str]:
    def r(table: str) -> str:
        return subtree.rows(table, _YEAR, crosswalk, own=own)

    return {
        "lines": f"WITH r AS ({r('rp_support_totals')}) SELECT programme, body, {_COUNTS} FROM r GROUP BY 1, 2",
        "funding": f"WITH r AS ({r('rp_support_funding')}) "
                   "SELECT programme, body, source, sum(amount_vnd)::bigint AS amount_vnd FROM r GROUP BY 1, 2, 3",
        "quantities": f"WITH r AS ({r('rp_support_quantities')}) "
                      "SELECT programme, body, measure, sum(quantity) AS quantity FROM r GROUP BY 1, 2, 3",
        "children": f"WITH r AS ({r('rp_support_totals')}) "
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


_OWN_YEAR_STATEMENTS = _by_year(False, own=True)
_OWN_DATE_STATEMENTS = _by_dates(False, own=True)


async def support_rows(session: AsyncSession, path: str, first: date, last: date, own: bool = False,
                       parts: tuple[str, ...] = ("lines", "funding", "quantities", "children")) -> SupportRows:
    """The support figures of the unit's subtree (or, with `own`, of the unit alone) for deliveries
    dated `first`..`last`; `parts` leaves out the groupings a caller does not show (they stay empty)."""
    crosswalk = uses_crosswalk(path) and not own
    args: tuple[object, ...]
    if is_calendar_year(first, last):
        statements, args = (_OWN_YEAR_STATEMENTS if own else _YEAR_STATEMENTS[crosswalk]), (first.year,)
    else:
        statements, args = (_OWN_DATE_STATEMENTS if own else _DATE_STATEMENTS[crosswalk]), (first, last)
    found = {name: await fetch(session, sql, *subtree.params(path), *args) if name in parts else []
             for name, sql in statements.items()}
    return SupportRows(**found)


async def catalogue_names(session: AsyncSession) -> dict[tuple[str, str], str]:
    """{(catalogue, code): Vietnamese name} of the support catalogue as published."""
    return {(r["catalogue"], r["code"]): r["name"] for r in await fetch(session, _NAMES)}
