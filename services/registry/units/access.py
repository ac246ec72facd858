"""Who may see and change which units (the scope rule of docs/registry-units-and-classification.md).

A caller sees the units inside its scope units' subtrees and the ancestors of its scope units (it
needs their names); it changes only units inside its scope. `units` is reference data, not a
`Scoped` table, so every query here adds `visible_clause` itself.

A code names one unit per hierarchy and codes are reused across the 2025 reform: when the caller
does not say which hierarchy, the unit in the hierarchy of its own scope wins, then the current one.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.units.models import Unit
from shared.db import scope_clause
from shared.errors import Problem, forbidden
from shared.principal import Principal
from shared.scope import HIERARCHY_AFTER_REFORM, ancestors, split_path


def ancestor_paths(principal: Principal) -> set[str]:
    return {a for p in principal.scope_paths for a in ancestors(p) if a != p}


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    inside = scope_clause(Unit.path, principal.scope_paths)
    above = ancestor_paths(principal)
    return or_(inside, Unit.path.in_(sorted(above))) if above else inside


def scope_hierarchies(principal: Principal) -> set[str]:
    return {s.hierarchy or split_path(s.path)[0] for s in principal.scopes}


def pick(units: Sequence[Unit], principal: Principal) -> Unit:
    """One unit among the same code's units in both hierarchies."""
    if len(units) == 1:
        return units[0]
    own = [u for u in units if u.hierarchy in scope_hierarchies(principal)] or list(units)
    current = [u for u in own if u.hierarchy == HIERARCHY_AFTER_REFORM]
    return (current or own)[0]


def unit_not_found(code: str) -> Problem:
    return Problem(404, "unit_not_found", "Unit not found", f"No administrative unit with code {code} in your scope.",
                   code_searched=code)


async def find_visible(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None) -> Unit:
    """For reads: a unit the caller may see, else 404 (a foreign unit is not revealed)."""
    query = select(Unit).where(Unit.code == code, visible_clause(principal))
    if hierarchy:
        query = query.where(Unit.hierarchy == hierarchy)
    units = (await session.scalars(query)).all()
    if not units:
        raise unit_not_found(code)
    return pick(units, principal)


async def find_writable(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None,
                        *, lock: bool = False) -> Unit:
    """For writes and for requests that name a unit: inside the caller's scope, else 403; unknown: 404."""
    query = select(Unit).where(Unit.code == code)
    if hierarchy:
        query = query.where(Unit.hierarchy == hierarchy)
    if lock:
        query = query.with_for_update()
    units = (await session.scalars(query)).all()
    if not units:
        raise Problem(404, "unit_not_found", "Unit not found", f"No administrative unit with code {code}.",
                      code_searched=code)
    inside = [u for u in units if principal.can_reach(u.path)]
    if not inside:
        raise forbidden(f"Unit {code} is outside your scope.", unit=code)
    return pick(inside, principal)
