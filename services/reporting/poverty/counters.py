"""The commune counters: one wide row per (commune, year) in `rp_commune_year`.

Per status: households (`h_`), members (`m_`), and households that are ethnic minority (`em_`), policy
families (`pf_`), social-protection beneficiaries (`sp_`), urban and rural; per transition:
households (`t_`). One row per commune and year keeps a province query to a few hundred rows, and a
batch's delta to one row per commune touched.
"""

from __future__ import annotations

STATUSES = ("poor", "near_poor", "middle_income", "not_poor")
TRANSITIONS = ("newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor", "stayed")

# prefix → condition on a household-year row (besides its status)
_PER_STATUS = {"h": None, "m": None, "em": "ethnic_minority", "pf": "policy_family", "sp": "social_protection",
               "urban": "urban IS TRUE", "rural": "urban IS FALSE"}

COLUMNS: tuple[str, ...] = (
    *(f"{prefix}_{status}" for status in STATUSES for prefix in _PER_STATUS),
    *(f"t_{t}" for t in TRANSITIONS),
)


def _delta_expression(column: str) -> str:
    prefix, _, rest = column.partition("_")
    if prefix == "t":
        return f"COALESCE(sum(n) FILTER (WHERE transition = '{rest}'), 0)"
    condition = f"status = '{rest}'"
    if _PER_STATUS[prefix]:
        condition += f" AND {_PER_STATUS[prefix]}"
    return f"COALESCE(sum({'m' if prefix == 'm' else 'n'}) FILTER (WHERE {condition}), 0)"


_KINDS = "unit_path, year, status, transition, ethnic_minority, policy_family, social_protection, urban"


def add_delta_sql(source: str) -> str:
    """INSERT ... ON CONFLICT adding the signed rows of CTE `source` (columns of rp_household_years plus
    `sign`) to the counters of their commune and year.

    Two steps: count the rows per kind (commune, year, status, transition, flags) — one cheap hash
    aggregate over the batch — then pivot those few thousand kinds into the wide row.
    """
    columns = ", ".join(COLUMNS)
    sums = ", ".join(_delta_expression(c) for c in COLUMNS)
    updates = ", ".join(f"{c} = c.{c} + EXCLUDED.{c}" for c in COLUMNS)
    return (
        f"INSERT INTO rp_commune_year AS c (unit_path, year, {columns}) "
        f"SELECT unit_path, year, {sums} FROM ("
        f"SELECT {_KINDS}, sum(sign) AS n, sum(sign * members) AS m FROM {source} GROUP BY {_KINDS}"
        f") kinds GROUP BY unit_path, year "
        f"ON CONFLICT (unit_path, year) DO UPDATE SET {updates}"
    )
