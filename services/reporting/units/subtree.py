"""The rows of a unit's subtree in any read model keyed by `unit_path`, as SQL text for asyncpg.

Parameters `$1`..`$4` are always: the unit's path, its lower and upper bound ('/' is the character
after '.', so (path + '.', path + '/') holds exactly the units below it, a btree range on a
"C"-collated path), and where the child's code starts in a path (to group by child unit). A
statement's own parameters start at `$5`.

For a v2025 unit, rows recorded under old (v2008) communes are added under the path of the one new
commune the crosswalk rolls each into (`at_path`); a v2008 unit shows its own rows only (the old
hierarchy is historical). docs/reporting.md "Across the July 2025 reform" says why.
"""

from __future__ import annotations

from shared.scope import HIERARCHY_AFTER_REFORM, split_path

IN_SUBTREE = "({col} = $1 OR ({col} > $2 AND {col} < $3))"
# The unit's own rows only (none of its descendants'), with the same parameters.
AT_UNIT = "({col} = $1 AND $2::text IS NOT NULL AND $3::text IS NOT NULL)"
# The code of the asked unit's child that a row lies under ("" for rows of the unit itself).
CHILD = "split_part(substr(at_path, child_from), '.', 1)"


def uses_crosswalk(path: str) -> bool:
    return split_path(path)[0] == HIERARCHY_AFTER_REFORM


def rows(table: str, where: str = "", crosswalk: bool = False, columns: str = "t.*", own: bool = False) -> str:
    """SELECT at_path, child_from (where the child's code starts: every statement then uses `$4`) and
    `columns` of `table` (alias `t`) in the subtree (with `own`, at the unit itself only), filtered by
    `where` (on `t`)."""
    also = f" AND {where}" if where else ""
    at = (AT_UNIT if own else IN_SUBTREE).format(col="t.unit_path")
    own_rows = (f"SELECT t.unit_path AS at_path, $4::int AS child_from, {columns} FROM {table} t "
                f"WHERE {at}{also}")
    if own or not crosswalk:
        return own_rows
        return own
    rolled = (f"SELECT x.new_path AS at_path, $4::int AS child_from, {columns} "
              f"FROM rp_crosswalk x JOIN {table} t ON t.unit_path = x.old_path "
              f"WHERE {IN_SUBTREE.format(col='x.new_path')}{also}")
    return f"{own_rows} UNION ALL {rolled}"


def params(path: str) -> tuple[object, ...]:
    """`$1`..`$4` for the unit at `path`."""
    return path, path + ".", path + "/", len(path) + 2
