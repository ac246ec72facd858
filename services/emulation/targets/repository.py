"""Queries on targets and registrations through the caller's scoped session."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import Registration, ReviewCount, Target
from shared.db import scope_clause
from shared.errors import not_found


async def targets_of(session: AsyncSession, movement_id: UUID, year: int, indicator: str,
                     paths: list[str]) -> dict[str, Target]:
    rows = await session.scalars(select(Target).where(
        Target.movement_id == movement_id, Target.year == year, Target.indicator == indicator,
        Target.unit_path.in_(paths)).with_for_update())
    return {t.unit_path: t for t in rows}


async def households(session: AsyncSession, paths: list[str], year: int) -> dict[str, int]:
    """Households of each unit (and the communes below it) at its last approved review before `year`."""
    found: dict[str, int] = {}
    for path in paths:  # a parent hands to tens of children at most
        latest = (select(ReviewCount.unit_path, func.max(ReviewCount.year).label("y"))
                  .where(scope_clause(ReviewCount.unit_path, [path]), ReviewCount.year < year)
                  .group_by(ReviewCount.unit_path).subquery())
        total = await session.scalar(select(func.sum(ReviewCount.households)).join(
            latest, (ReviewCount.unit_path == latest.c.unit_path) & (ReviewCount.year == latest.c.y)))
        if total:
            found[path] = int(total)
    return found


def targets(movement_id: UUID, path: str | None, year: int | None, indicator: str | None) -> Select[Any]:
    query = select(Target).where(Target.movement_id == movement_id)
    if path is not None:
        query = query.where(scope_clause(Target.unit_path, [path]))
    if year is not None:
        query = query.where(Target.year == year)
    if indicator is not None:
        query = query.where(Target.indicator == indicator)
    return query.order_by(Target.year, Target.indicator, Target.unit_path)


def registrations(movement_id: UUID, path: str | None, year: int | None, status: str | None) -> Select[Any]:
    query = select(Registration).where(Registration.movement_id == movement_id)
    if path is not None:
        query = query.where(scope_clause(Registration.unit_path, [path]))
    if year is not None:
        query = query.where(Registration.year == year)
    if status is not None:
        query = query.where(Registration.status == status)
    return query.order_by(Registration.year, Registration.unit_path, Registration.created_at, Registration.id)


async def registration(session: AsyncSession, registration_id: UUID) -> Registration:
    found = await session.scalar(select(Registration).where(Registration.id == registration_id).with_for_update())
    if found is None:
        raise not_found("registration", registration_id)
    return found
