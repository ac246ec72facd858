"""Locating the unit a request names (a code, and the hierarchy when the code is ambiguous).

A write or a filter naming a unit outside the caller's scope is refused (403); an unknown unit is
404. Reads of a movement may name the units above the caller's (the movement's own unit). A record
of a unit taking part in a movement is of the movement's unit or one below it (`unit_under`,
`check_in_movement`)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import Movement, Unit
from services.emulation.movements import repository as movements
from shared.errors import Problem, forbidden
from shared.principal import Principal
from shared.scope import path_within


def unit_not_found(code: str) -> Problem:
    return Problem(404, "unit_not_found", "Unit not found", f"No administrative unit with code {code}.",
                   unit=code)


async def locate(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None,
                 ancestors_ok: bool = False) -> Unit:
    """The unit with this code inside the caller's scope (a current unit first); 403 outside, 404 unknown.
    `ancestors_ok`: a read may also name a unit above the caller's (the province whose movement it joins)."""
    query = select(Unit).where(Unit.code == code)
    if hierarchy:
        query = query.where(Unit.hierarchy == hierarchy)
    units = list(await session.scalars(query))
    if not units:
        raise unit_not_found(code)
    inside = [u for u in units if principal.can_reach(u.path)
              or (ancestors_ok and any(path_within(s, u.path) for s in principal.scope_paths))]
    if not inside:
        raise forbidden(f"Unit {code} is outside your scope.", unit=code)
    return sorted(inside, key=lambda u: (u.valid_to is not None, u.path))[0]


async def by_path(session: AsyncSession, path: str) -> Unit | None:
    return await session.get(Unit, path)


async def children(session: AsyncSession, path: str) -> list[Unit]:
    return list(await session.scalars(select(Unit).where(Unit.parent_path == path).order_by(Unit.path)))


async def unit_under(session: AsyncSession, principal: Principal, movement: Movement, code: str,
                      hierarchy: str | None) -> Unit:
    """A unit of the caller's scope that takes part in the movement (the launching unit or below it)."""
    unit = await locate(session, principal, code, hierarchy)
    if not path_within(unit.path, movement.unit_path):
        raise Problem(422, "unit_outside_movement", "Unit outside the movement",
                      f"Unit {code} is not under {movement.unit_path}, which launched this movement.",
                      errors=[{"field": "unit", "reason": "not under the movement's unit"}])
    return unit


async def check_in_movement(session: AsyncSession, principal: Principal, unit: Unit, movement_id: UUID | None) -> None:
    """A record of `unit` that names a movement (`movement_id`, optional): the movement must be one the
    caller sees (404 otherwise) and `unit` take part in it (the launching unit or below it: 422)."""
    if movement_id is None:
        return
    movement = await movements.movement(session, principal, movement_id)
    if not path_within(unit.path, movement.unit_path):
        raise Problem(422, "unit_outside_movement", "Unit outside the movement",
                      f"{unit.path} does not take part in the movement of {movement.unit_path}.",
                      errors=[{"field": "movement_id", "reason": "the unit is not under the movement's unit"}])
