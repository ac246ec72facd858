"""Delivery queries through the caller's scoped session: the filtered list, a delivery's history,
and the totals per programme × funding source × body (raw SQL that applies the scope itself)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.deliveries.models import Delivery, DeliveryHistory
from shared.db import scope_clause


def deliveries(unit_path: str | None, *, programme: str | None = None, source: str | None = None,
               body: str | None = None, kind: str | None = None, status: str | None = None,
               household_id: UUID | None = None, date_from: date | None = None,
               date_to: date | None = None) -> Select[Delivery]:
    query = select(Delivery).order_by(Delivery.delivered_on.desc(), Delivery.id)
    if unit_path is not None:
        query = query.where(scope_clause(Delivery.unit_path, [unit_path]))
    if programme:
        query = query.where(Delivery.programme == programme)
    if source:
        query = query.where(Delivery.funding.contains([{"source": source}]))
    if body:
        query = query.where(Delivery.body == body)
    if kind:
        query = query.where(Delivery.kind == kind)
    if status:
        query = query.where(Delivery.status == status)
    if household_id is not None:
        query = query.where(Delivery.household_id == household_id)
    if date_from is not None:
        query = query.where(Delivery.delivered_on >= date_from)
    if date_to is not None:
        query = query.where(Delivery.delivered_on <= date_to)
    return query


def history(delivery_id: UUID) -> Select[DeliveryHistory]:
    return select(DeliveryHistory).where(DeliveryHistory.delivery_id == delivery_id).order_by(
        DeliveryHistory.version, DeliveryHistory.at)


# The subtrees of `paths` (the unit asked about, which lies in the caller's scope, or the caller's
# own scope units): the scope rule of shared.db written in SQL, hence skip_scope.
_IN_PATHS = """EXISTS (SELECT 1 FROM unnest(CAST(:paths AS text[])) p
                     WHERE d.unit_path = p OR (d.unit_path > p || '.' AND d.unit_path < p || '/'))"""
_TOTALS = text(f"""
WITH d AS (
    SELECT * FROM deliveries d
    WHERE d.status = 'recorded' AND d.delivered_on BETWEEN :date_from AND :date_to AND {_IN_PATHS}
)
SELECT 'counts' AS part, programme, body, NULL AS key, count(*) AS deliveries, sum(households) AS households,
       sum(coalesce(persons, 0)) AS persons, sum(coalesce(turns, 0)) AS turns, sum(amount_vnd) AS amount
FROM d GROUP BY programme, body
UNION ALL
SELECT 'source', programme, body, f->>'source', count(*), 0, 0, 0, sum((f->>'amount_vnd')::bigint)
FROM d CROSS JOIN LATERAL jsonb_array_elements(d.funding) f GROUP BY programme, body, f->>'source'
UNION ALL
SELECT 'quantity', programme, body, q->>'measure', count(*), 0, 0, 0, sum((q->>'quantity')::numeric)
FROM d CROSS JOIN LATERAL jsonb_array_elements(d.quantities) q GROUP BY programme, body, q->>'measure'
ORDER BY 1, 2, 3, 4
""").execution_options(skip_scope=True)


async def totals(session: AsyncSession, paths: Sequence[str], date_from: date, date_to: date) -> list[Any]:
    return list((await session.execute(_TOTALS, {"paths": list(paths), "date_from": date_from,
                                                 "date_to": date_to})).all())
