"""Pure rules of administrative units: which unit a code means for a caller, which flag fits which level.

A code names one unit per hierarchy and codes are reused across the 2025 reform: when the caller
does not say which hierarchy, the unit in the hierarchy of its own scope wins, then the current one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

from shared.errors import Problem
from shared.principal import Principal
from shared.scope import HIERARCHY_AFTER_REFORM, ancestors, split_path

# Which flag makes sense on which level (a poor district is a district, a "135" commune a commune).
FLAG_LEVELS = {"poor_district": {"district"}, "difficult_commune": {"commune"}}


class HasHierarchy(Protocol):
    @property
    def hierarchy(self) -> str: ...


U = TypeVar("U", bound=HasHierarchy)


def ancestor_paths(principal: Principal) -> set[str]:
    """The paths above the caller's scope units (a reader may see their names)."""
    return {a for p in principal.scope_paths for a in ancestors(p) if a != p}


def scope_hierarchies(principal: Principal) -> set[str]:
    return {s.hierarchy or split_path(s.path)[0] for s in principal.scopes}


def pick(units: Sequence[U], principal: Principal) -> U:
    """One unit among the same code's units in both hierarchies."""
    if len(units) == 1:
        return units[0]
    own = [u for u in units if u.hierarchy in scope_hierarchies(principal)] or list(units)
    current = [u for u in own if u.hierarchy == HIERARCHY_AFTER_REFORM]
    return (current or own)[0]


def flag_changes(code: str, level: str, current: Mapping[str, bool], wanted: Mapping[str, Any]) -> dict[str, bool]:
    """The flags that change, or a 422 naming a flag set on a level it does not apply to."""
    changes = {f: bool(v) for f, v in wanted.items() if current[f] != v}
    for flag, value in changes.items():
        levels = FLAG_LEVELS.get(flag)
        if value and levels and level not in levels:
            raise Problem(422, "flag_not_applicable", "Flag does not apply to this level",
                          f"{flag} applies to {', '.join(sorted(levels))} units; {code} is a {level}.",
                          errors=[{"field": flag, "reason": f"not applicable to a {level}"}])
    return changes
