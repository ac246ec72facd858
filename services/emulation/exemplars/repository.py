"""Queries on exemplary models: read by the unit, the units above it and below it (they are held up
to be followed), as movements are; written only within the caller's scope."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import Exemplar
from services.emulation.movements.repository import _up_or_down
from shared.db import scope_clause
from shared.errors import not_found
from shared.principal import Principal


def exemplars(principal: Principal, path: str | None, movement_id: UUID | None, kind: str | None,
              withdrawn: bool) -> Select[Any]:
    query = select(Exemplar).where(_up_or_down(Exemplar.unit_path, principal))
    if path is not None:
        query = query.where(scope_clause(Exemplar.unit_path, [path]))
    if movement_id is not None:
        query = query.where(Exemplar.movement_id == movement_id)
    if kind is not None:
        query = query.where(Exemplar.kind == kind)
    if not withdrawn:
        query = query.where(Exemplar.withdrawn.is_(False))
    return query.order_by(Exemplar.recognised_on.desc(), Exemplar.id).execution_options(skip_scope=True)


async def exemplar(session: AsyncSession, exemplar_id: UUID) -> Exemplar:
    found = await session.scalar(select(Exemplar).where(Exemplar.id == exemplar_id).with_for_update())
    if found is None:
        raise not_found("exemplary model", exemplar_id)
    return found
