"""The coverage-gap queries, through the caller's scoped session (ORM: the scope filter applies to
the households, the deliveries and the transitions alike)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, and_, cast, exists, false, func, select
from sqlalchemy.dialects.postgresql import array

from services.support.deliveries.models import Delivery
from services.support.deliveries.rules import AGGREGATE, RECORDED
from services.support.gaps.rules import ESCAPES, REVIEW_LAST_DAY
from services.support.households.models import SupportHousehold, SupportTransition
from shared.db import scope_clause


def recognised_on(review_year: int) -> Any:
    """The day (Vietnam's) the registry recognised the transition; the review's last day when the
    time is not known (a transition held before support kept it)."""
    return func.coalesce(cast(func.timezone("Asia/Ho_Chi_Minh", SupportTransition.recognised_at), Date),
                         date(review_year, *REVIEW_LAST_DAY))


def without_programme(unit_path: str | None, statuses: Sequence[str], programmes: Sequence[str],
                      year: int) -> Select[SupportHousehold]:
    """Households of these statuses with no recorded delivery of these programmes in the year."""
    received = exists().where(Delivery.household_id == SupportHousehold.id, Delivery.status == RECORDED,
                              Delivery.year == year, Delivery.programme.in_(list(programmes)))
    query = select(SupportHousehold).where(SupportHousehold.status.in_(list(statuses)),
                                           SupportHousehold.removed.is_(False), ~received)
    if unit_path is not None:
        query = query.where(scope_clause(SupportHousehold.unit_path, [unit_path]))
    return query.order_by(SupportHousehold.unit_path, SupportHousehold.household_code, SupportHousehold.id)


def aggregate_deliveries(unit_path: str | None, programmes: Sequence[str], year: int) -> Select[Any]:
    """The recorded aggregate deliveries of these programmes in the year (households, quantities), in
    the unit's subtree (None: the caller's scope): batches that name no household."""
    query = select(Delivery.households, Delivery.quantities).where(
        Delivery.kind == AGGREGATE, Delivery.status == RECORDED, Delivery.year == year,
        Delivery.programme.in_(list(programmes)))
    if unit_path is not None:
        query = query.where(scope_clause(Delivery.unit_path, [unit_path]))
    return query


def deprived_without_programme(unit_path: str | None, statuses: Sequence[str], indicators: Sequence[str],
                               programmes: Sequence[str], start: date, end: date) -> Select[SupportHousehold]:
    """Households of these statuses deprived in one of `indicators` (their newest assessment's) with no
    recorded delivery of these programmes from `start` to `end`."""
    received = exists().where(Delivery.household_id == SupportHousehold.id, Delivery.status == RECORDED,
                              Delivery.delivered_on >= start, Delivery.delivered_on <= end,
                              Delivery.programme.in_(list(programmes)))
    query = select(SupportHousehold).where(SupportHousehold.status.in_(list(statuses)),
                                           SupportHousehold.removed.is_(False),
                                           ~received)
    query = query.where(SupportHousehold.deprived_indicators.overlap(array(list(indicators))) if indicators
                        else false())
    if unit_path is not None:
        query = query.where(scope_clause(SupportHousehold.unit_path, [unit_path]))
    return query.order_by(SupportHousehold.unit_path, SupportHousehold.household_code, SupportHousehold.id)


def escaped_still_supported(unit_path: str | None, review_year: int,
                            programmes: Sequence[str]) -> Select[Any]:
    """Deliveries of poor-only programmes to households that escaped poverty (or near-poverty) at that
    year's review and are not poor now, delivered on or after the day the escape was recognised
    (support received while still poor is not a gap)."""
    query = (select(Delivery, SupportHousehold, SupportTransition, recognised_on(review_year).label("recognised_on"))
             .join(SupportHousehold, SupportHousehold.id == Delivery.household_id)
             .join(SupportTransition, and_(SupportTransition.household_id == SupportHousehold.id,
                                           SupportTransition.review_year == review_year))
             .where(SupportTransition.transition.in_(ESCAPES), SupportHousehold.status != "poor",
                    Delivery.status == RECORDED, Delivery.delivered_on >= recognised_on(review_year),
                    Delivery.programme.in_(list(programmes))))
    if unit_path is not None:
        query = query.where(scope_clause(Delivery.unit_path, [unit_path]))
    return query.order_by(Delivery.unit_path, Delivery.delivered_on, Delivery.id)
