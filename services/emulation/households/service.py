"""Checking a household a nomination or registration names, against the read model of the registry's
household events (never by calling the registry). Nothing is stored when the check refuses."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.households import repository
from services.emulation.models import Household
from shared.errors import Problem
from shared.principal import Principal
from shared.scope import path_within


async def check(session: AsyncSession, principal: Principal, household_id: UUID, unit_path: str,
                field: str) -> Household:
    """The household, known to the registry, inside the caller's scope, not removed, and of `unit_path`
    (the nominating or registering unit) or a unit below it. Unknown and out of scope are the same 404
    (a caller learns nothing of another unit's households); removed or of another unit are 422."""
    found = await repository.find(session, household_id)
    if found is None or not principal.can_reach(found.unit_path):
        raise Problem(404, "household_not_found", "Household not found",
                      f"No registry household {household_id} in your units.",
                      errors=[{"field": field, "reason": "no such household in your units"}])
    if found.removed:
        raise Problem(422, "household_removed", "Household removed",
                      f"Household {household_id} was removed from the registry.",
                      errors=[{"field": field, "reason": "removed from the registry"}])
    if not path_within(found.unit_path, unit_path):
        raise Problem(422, "household_outside_unit", "Household of another unit",
                      f"Household {household_id} belongs to {found.unit_path}, not to {unit_path}.",
                      errors=[{"field": field, "reason": f"belongs to {found.unit_path}"}])
    return found
