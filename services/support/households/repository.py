"""Reads of the eligibility read model, through the caller's scoped session."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.catalogue.rules import Transition
from services.support.households.models import SupportHousehold, SupportTransition, SupportUnit
from shared.errors import Problem, forbidden
from shared.principal import Principal
from shared.scope import HIERARCHY_AFTER_REFORM, split_path


async def household(session: AsyncSession, household_id: UUID) -> SupportHousehold | None:
    """The household if the caller's scope reaches it (the scope filter hides the others)."""
    return (await session.scalars(select(SupportHousehold).where(SupportHousehold.id == household_id))).first()


async def transitions(session: AsyncSession, household_id: UUID) -> list[Transition]:
    rows = await session.scalars(select(SupportTransition).where(SupportTransition.household_id == household_id)
                                 .order_by(SupportTransition.review_year))
    return [Transition(r.review_year, r.status, r.transition) for r in rows]


async def writable_unit(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None) -> SupportUnit:
    """The unit a caller names to record something at: 404 unknown, 403 outside the caller's scope.
    A code names one unit per hierarchy: without `hierarchy`, the caller's own hierarchy wins."""
    query = select(SupportUnit).where(SupportUnit.code == code)
    if hierarchy:
        query = query.where(SupportUnit.hierarchy == hierarchy)
    units = list((await session.scalars(query)).all())
    if not units:
        raise Problem(404, "unit_not_found", "Unit not found", f"No administrative unit with code {code}.",
                      field="unit")
    inside = [u for u in units if principal.can_reach(u.path)]
    if not inside:
        raise forbidden(f"Unit {code} is outside your scope.", unit=code)
    own = {split_path(p)[0] for p in principal.scope_paths}
    inside.sort(key=lambda u: (u.hierarchy not in own, u.hierarchy != HIERARCHY_AFTER_REFORM))
    return inside[0]


async def visible_unit(session: AsyncSession, principal: Principal, code: str, hierarchy: str | None) -> SupportUnit:
    """For reads that name a unit: inside the caller's scope, else 404 (a foreign unit is not revealed)."""
    try:
        return await writable_unit(session, principal, code, hierarchy)
    except Problem as exc:
        if exc.status == 403:
            raise Problem(404, "unit_not_found", "Unit not found",
                          f"No administrative unit with code {code} in your scope.", field="unit") from exc
        raise
