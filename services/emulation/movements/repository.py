"""Queries on movements, documents and activities through the caller's session.

A movement (and the documents steering it) is read by the units below the one that launched it: a
commune works under its province's movement. So their reads apply the scope themselves — the caller's
units, the units below and the units above — and are marked `skip_scope`; writes keep the filter.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import Activity, Document, Movement
from shared.db import scope_clause
from shared.errors import not_found
from shared.principal import Principal
from shared.scope import ancestors


def _up_or_down(column: Any, principal: Principal) -> ColumnElement[bool]:
    above = sorted({a for p in principal.scope_paths for a in ancestors(p)} | set(principal.scope_paths))
    return or_(scope_clause(column, principal.scope_paths), column.in_(above))


async def movement(session: AsyncSession, principal: Principal, movement_id: UUID, lock: bool = False) -> Movement:
    """A movement of the caller's units, of the units above or below them; 404 otherwise."""
    query = select(Movement).where(Movement.id == movement_id, _up_or_down(Movement.unit_path, principal))
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query.execution_options(skip_scope=True))
    if found is None:
        raise not_found("movement", movement_id)
    return found


def movements(principal: Principal, path: str | None, year: int | None) -> Select[Any]:
    query = select(Movement).where(_up_or_down(Movement.unit_path, principal))
    if path is not None:  # the movements that apply to this unit: its own, above and below it
        query = query.where(or_(scope_clause(Movement.unit_path, [path]), Movement.unit_path.in_(ancestors(path))))
    if year is not None:
        query = query.where(Movement.starts_on <= date(year, 12, 31), Movement.ends_on >= date(year, 1, 1))
    return query.order_by(Movement.starts_on.desc(), Movement.id).execution_options(skip_scope=True)


def documents(principal: Principal, movement_id: UUID, path: str | None) -> Select[Any]:
    query = select(Document).where(Document.movement_id == movement_id, _up_or_down(Document.unit_path, principal))
    if path is not None:
        query = query.where(scope_clause(Document.unit_path, [path]))
    return query.order_by(Document.issued_on, Document.id).execution_options(skip_scope=True)


def activities(movement_id: UUID, path: str | None, year: int | None, kind: str | None) -> Select[Any]:
    query = select(Activity).where(Activity.movement_id == movement_id, Activity.removed.is_(False))
    if path is not None:
        query = query.where(scope_clause(Activity.unit_path, [path]))
    if year is not None:
        query = query.where(Activity.year == year)
    if kind is not None:
        query = query.where(Activity.kind == kind)
    return query.order_by(Activity.held_on, Activity.id)


async def activity(session: AsyncSession, activity_id: UUID) -> Activity:
    found = await session.scalar(select(Activity).where(Activity.id == activity_id).with_for_update())
    if found is None:
        raise not_found("activity", activity_id)
    return found
