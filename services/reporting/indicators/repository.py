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
from shared.scope import HIERARCHY_AFTER_REFORM, split_path

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


# $1 path, $2 its lower bound, $3 its upper bound, $4 where the child's code starts, $5..$6 the years
_IN_SUBTREE = "({col} = $1 OR ({col} > $2 AND {col} < $3))"
_OWN_ROWS = (
    "SELECT a.unit_path AS at_path, a.* FROM rp_commune_year a "
    f"WHERE {_IN_SUBTREE.format(col='a.unit_path')} AND a.year BETWEEN $5 AND $6"
)
_CROSSWALKED_ROWS = (
    "SELECT x.new_path AS at_path, a.* FROM rp_crosswalk x JOIN rp_commune_year a ON a.unit_path = x.old_path "
    f"WHERE {_IN_SUBTREE.format(col='x.new_path')} AND a.year BETWEEN $5 AND $6"
)


def _rows(crosswalk: bool) -> str:
    return f"{_OWN_ROWS} UNION ALL {_CROSSWALKED_ROWS}" if crosswalk else _OWN_ROWS


def _statement(crosswalk: bool) -> str:
    return (
        f"WITH r AS ({_rows(crosswalk)}) "
        f"SELECT split_part(substr(at_path, $4), '.', 1) AS child, year, {_SUMS} FROM r GROUP BY 1, 2"
    )


_BY_CHILD = {flag: _statement(flag) for flag in (False, True)}
# The same parameters ($4 unused but typed, so both statements take one argument list).
_LATEST_YEAR = {flag: f"WITH r AS ({_rows(flag)}) SELECT max(year), $4::int FROM r" for flag in (False, True)}


def _params(path: str, year_from: int, year_to: int) -> tuple[object, ...]:
    # '/' is the character after '.', so (path + '.', path + '/') holds exactly the units below path.
    return path, path + ".", path + "/", len(path) + 2, year_from, year_to


def uses_crosswalk(path: str) -> bool:
    return split_path(path)[0] == HIERARCHY_AFTER_REFORM


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
