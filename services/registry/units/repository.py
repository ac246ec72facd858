"""Queries of administrative units, with the scope rule of docs/registry-units-and-classification.md.

A caller sees the units inside its scope units' subtrees and the ancestors of its scope units (it
needs their names); it changes only units inside its scope. `units` is reference data, not a
`Scoped` table, so every query here adds `visible_clause` itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.registry.units.models import Unit, UnitSuccession
from services.registry.units.names import search_key
from services.registry.units.rules import ancestor_paths, pick
from shared.db import scope_clause
from shared.errors import Problem, forbidden
from shared.principal import Principal


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    inside = scope_clause(Unit.path, principal.scope_paths)
    above = ancestor_paths(principal)
    return or_(inside, Unit.path.in_(sorted(above))) if above else inside


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


def units_query(principal: Principal, *, parent_path: str | None = None, hierarchy: str | None = None,
                level: str | None = None, code: str | None = None, name: str | None = None) -> Select[Any]:
    """The units the caller sees, filtered, in tree order."""
    query = select(Unit).where(visible_clause(principal))
    if parent_path is not None:
        query = query.where(Unit.parent_path == parent_path)
    if hierarchy:
        query = query.where(Unit.hierarchy == hierarchy)
    if level:
        query = query.where(Unit.level == level)
    if code:
        query = query.where(Unit.code == code)
    if name and (key := search_key(name)):
        query = query.where(Unit.name_search.contains(key, autoescape=True))
    return query.order_by(Unit.path)


def crosswalk_query(unit: Unit, own_side: Any, principal: Principal) -> Select[Any]:
    """(partial, old unit, new unit) rows of `unit`'s communes that lie in the caller's scope; the
    counterpart is shown whatever its hierarchy, because showing it is the point of the crosswalk."""
    old, new = aliased(Unit), aliased(Unit)
    query: Select[Any] = (select(UnitSuccession.partial, old, new)
            .join(old, old.path == UnitSuccession.old_path).join(new, new.path == UnitSuccession.new_path)
            .where(scope_clause(own_side, [unit.path]), scope_clause(own_side, principal.scope_paths))
            .order_by(UnitSuccession.old_path, UnitSuccession.new_path))  # type: ignore[assignment]
    return query


async def successors_of(session: AsyncSession, path: str) -> list[dict[str, Any]]:
    """[{path, partial}] of the units that took over (part of) the unit at `path`."""
    rows = await session.execute(select(UnitSuccession.new_path, UnitSuccession.partial)
                                 .where(UnitSuccession.old_path == path).order_by(UnitSuccession.new_path))
    return [{"path": p, "partial": x} for p, x in rows]
