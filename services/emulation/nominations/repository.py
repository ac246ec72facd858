"""Queries on nominations, quotas and awards through the caller's scoped session."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import Award, Nomination, Quota
from services.emulation.nominations.rules import HOLDS_QUOTA
from shared.db import scope_clause
from shared.errors import not_found


async def nomination(session: AsyncSession, nomination_id: UUID, lock: bool = False) -> Nomination:
    query = select(Nomination).where(Nomination.id == nomination_id)
    if lock:
        query = query.with_for_update()
    found = await session.scalar(query)
    if found is None:
        raise not_found("nomination", nomination_id)
    return found


async def quota_locked(session: AsyncSession, unit_path: str, form: str, year: int) -> Quota | None:
    """The quota row, locked: submissions against one quota take turns, so none is over-counted."""
    return await session.scalar(select(Quota).where(Quota.unit_path == unit_path, Quota.form == form,
                                                    Quota.year == year).with_for_update())


async def used(session: AsyncSession, unit_path: str, form: str, year: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Nomination).where(
        Nomination.unit_path == unit_path, Nomination.form == form, Nomination.year == year,
        Nomination.state.in_(HOLDS_QUOTA))) or 0)


async def award_of(session: AsyncSession, nomination_id: UUID) -> Award | None:
    return await session.scalar(select(Award).where(Award.nomination_id == nomination_id))


async def award(session: AsyncSession, award_id: UUID, lock: bool = True) -> Award:
    query = select(Award).where(Award.id == award_id)
    found = await session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise not_found("award", award_id)
    return found


async def certificates_of_decision(session: AsyncSession, awarding_path: str, decision_number: str) -> int:
    """How many certificates one decision of one awarding unit has (its awards may be of units the
    caller cannot see: the statement filters by the awarding unit itself)."""
    return int(await session.scalar(select(func.count()).select_from(Award).where(
        Award.awarding_path == awarding_path, Award.decision_number == decision_number)
        .execution_options(skip_scope=True)) or 0)


def nominations(path: str | None, year: int | None, state: str | None, handler: str | None) -> Select[Any]:
    query = select(Nomination)
    if path is not None:
        query = query.where(scope_clause(Nomination.unit_path, [path]))
    if year is not None:
        query = query.where(Nomination.year == year)
    if state is not None:
        query = query.where(Nomination.state == state)
    if handler is not None:
        query = query.where(Nomination.handler_path == handler)
    return query.order_by(Nomination.year.desc(), Nomination.created_at, Nomination.id)


def quotas(path: str | None, year: int | None) -> Select[Any]:
    held = (select(func.count()).where(Nomination.unit_path == Quota.unit_path, Nomination.form == Quota.form,
                                       Nomination.year == Quota.year, Nomination.state.in_(HOLDS_QUOTA))
            .correlate(Quota).scalar_subquery())
    query = select(Quota, held.label("used"))
    if path is not None:
        query = query.where(scope_clause(Quota.unit_path, [path]))
    if year is not None:
        query = query.where(Quota.year == year)
    return query.order_by(Quota.year.desc(), Quota.unit_path, Quota.form)


def awards(path: str | None, year: int | None, form: str | None) -> Select[Any]:
    query = select(Award)
    if path is not None:
        query = query.where(scope_clause(Award.unit_path, [path]))
    if year is not None:
        query = query.where(Award.year == year)
    if form is not None:
        query = query.where(Award.form == form)
    return query.order_by(Award.decision_date.desc(), Award.certificate_number)
