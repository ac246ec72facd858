"""Reading the commune counters of one unit's subtree, grouped by child unit and year, in one statement.

The unit's own communes are found by path range (a btree range on a "C"-collated path). For a v2025
unit the old (v2008) communes rolled into its communes through the crosswalk are added: their rows
are read under the new commune's path. The counters are one wide row per commune and year, so a
province answer sums a few hundred rows into one row per child unit and year.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.indicators.rules import COUNTERS, Figures
from services.reporting.poverty.counters import COLUMNS, STATUSES, TRANSITIONS
from services.reporting.sql import fetch, fetchval
from services.reporting.units import subtree
from services.reporting.units.subtree import uses_crosswalk

_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in COLUMNS)


def as_figures(row: dict[str, int]) -> Figures:
    """The API's counters from one row of the wide commune counters (poverty/counters.py)."""
    f: Figures = dict.fromkeys(COUNTERS, 0)
    for s in STATUSES:
        households, members = row[f"h_{s}"], row[f"m_{s}"]
        f["households"] += households
        f["members"] += members
        f[s] = households
        for b, prefix in (("ethnic_minority", "em"), ("policy_family", "pf"), ("social_protection", "sp"),
                          ("urban", "urban"), ("rural", "rural")):
            f[b] += row[f"{prefix}_{s}"]
            if s in ("poor", "near_poor"):
                f[f"{b}__{s}"] = row[f"{prefix}_{s}"]
    f["poor_members"], f["near_poor_members"] = row["m_poor"], row["m_near_poor"]
    for t in TRANSITIONS:
        f[f"t__{t}"] = row[f"t_{t}"]
    return f


# $1..$4 the subtree (units/subtree.py), $5..$6 the years
_YEARS = "t.year BETWEEN $5 AND $6"


def _statement(crosswalk: bool) -> str:
    return (f"WITH r AS ({subtree.rows('rp_commune_year', _YEARS, crosswalk)}) "
            f"SELECT {subtree.CHILD} AS child, year, {_SUMS} FROM r GROUP BY 1, 2")


_BY_CHILD = {flag: _statement(flag) for flag in (False, True)}
_LATEST_YEAR = {flag: f"WITH r AS ({subtree.rows('rp_commune_year', _YEARS, flag)}) SELECT max(year) FROM r"
                for flag in (False, True)}


def _params(path: str, year_from: int, year_to: int) -> tuple[object, ...]:
    return *subtree.params(path), year_from, year_to


async def figures_by_child(session: AsyncSession, path: str, year_from: int,
                           year_to: int) -> dict[str, dict[int, Figures]]:
    """{child code ("" for rows of the unit itself): {year: figures}} for the unit's subtree."""
    rows = await fetch(session, _BY_CHILD[uses_crosswalk(path)], *_params(path, year_from, year_to))
    found: dict[str, dict[int, Figures]] = defaultdict(dict)
    for row in rows:
        found[row["child"]][int(row["year"])] = as_figures(row)
    return found


async def latest_year(session: AsyncSession, path: str) -> int | None:
    value = await fetchval(session, _LATEST_YEAR[uses_crosswalk(path)], *_params(path, 1900, 9999))
    return int(value) if value is not None else None
