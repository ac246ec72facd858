"""The read model of the registry's households, as emulation keeps it (not scoped: the service checks
the caller's reach on the row it finds)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import Household


async def find(session: AsyncSession, household_id: UUID) -> Household | None:
    return await session.get(Household, str(household_id))
