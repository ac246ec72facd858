"""Delivery queries through the caller's scoped session: what recording one to a household reads (its
household, the catalogue entries and the household's transitions in ONE query) and writes (the
delivery, its history entry and its event in ONE statement), the filtered list,
and the totals per programme × funding source × body (raw SQL that applies the scope itself)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Select, Table, bindparam, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.catalogue.models import CatalogueEntry
from services.support.catalogue.rules import Transition
from services.support.deliveries.models import Delivery, DeliveryHistory
from services.support.households.models import SupportHousehold, SupportTransition
from shared.db import scope_clause
from shared.events import OUTBOX_INSERT_SQL, Event, outbox_params

Refs = dict[tuple[str, str], CatalogueEntry]


def _household_with_refs() -> Select[Any]:
    entry = func.jsonb_build_object("catalogue", CatalogueEntry.catalogue, "code", CatalogueEntry.code,
                                    "name", CatalogueEntry.name, "fields", CatalogueEntry.fields,
                                    "active", CatalogueEntry.active, "owner_path", CatalogueEntry.owner_path)
    refs = (select(func.jsonb_agg(entry, type_=JSONB))
            .where(tuple_(CatalogueEntry.catalogue, CatalogueEntry.code).in_(bindparam("keys", expanding=True)))
            .scalar_subquery())
    step = func.jsonb_build_object("review_year", SupportTransition.review_year, "status", SupportTransition.status,
                                   "transition", SupportTransition.transition)
    transitions = (select(func.jsonb_agg(aggregate_order_by(step, SupportTransition.review_year), type_=JSONB))
                   .where(SupportTransition.household_id == SupportHousehold.id).scalar_subquery())
    return select(SupportHousehold, refs, transitions).where(SupportHousehold.id == bindparam("household_id"))


# Built once: building it per request cost more CPU than the round trip it saves.
_HOUSEHOLD_WITH_REFS = _household_with_refs()


async def household_with_refs(session: AsyncSession, household_id: UUID, keys: Iterable[tuple[str, str]]
                              ) -> tuple[SupportHousehold | None, Refs, list[Transition]]:
    """The household if the caller's scope reaches it, with the catalogue entries named by (catalogue,
    code) and the household's recognised transitions (those in scope, oldest first) — one query, one
    round trip. The scope filter of the session applies to the household and to the transitions'
    subquery alike; the catalogue is reference data. No household: (None, {}, [])."""
    row = (await session.execute(_HOUSEHOLD_WITH_REFS, {"household_id": household_id,
                                                        "keys": sorted(set(keys))})).first()
    if row is None:
        return None, {}, []
    entries = [CatalogueEntry(catalogue=e["catalogue"], code=e["code"], name=e["name"], fields=e["fields"],
                              active=e["active"], owner_path=e["owner_path"]) for e in row[1] or []]
    return (row[0], {(e.catalogue, e.code): e for e in entries},
            [Transition(t["review_year"], t["status"], t["transition"]) for t in row[2] or []])


def _columns(table: Any) -> list[Any]:
    assert isinstance(table, Table)
    return list(table.columns)


_DELIVERY_COLUMNS = _columns(Delivery.__table__)
_HISTORY_COLUMNS = _columns(DeliveryHistory.__table__)


def _values(prefix: str, columns: list[Any]) -> str:
    return f"({', '.join(c.key for c in columns)}) VALUES ({', '.join(f':{prefix}{c.key}' for c in columns)})"


# Typed parameters: the JSONB and array columns are encoded as the ORM would encode them.
_WRITE_NEW = text(
    f"WITH delivery AS (INSERT INTO deliveries {_values('d_', _DELIVERY_COLUMNS)}), "
    f"history AS (INSERT INTO delivery_history {_values('h_', _HISTORY_COLUMNS)}) {OUTBOX_INSERT_SQL}"
).bindparams(*(bindparam(f"d_{c.key}", type_=c.type) for c in _DELIVERY_COLUMNS),
             *(bindparam(f"h_{c.key}", type_=c.type) for c in _HISTORY_COLUMNS)).execution_options(skip_scope=True)


def with_defaults(obj: Any) -> Any:
    """The object with each column's Python default where it leaves the column unset, as a flush would
    set it (the rows written by `write_new` are never flushed)."""
    for column in _columns(obj.__table__):
        if getattr(obj, column.key) is None and column.default is not None:
            if column.default.is_scalar:
                setattr(obj, column.key, column.default.arg)
            elif column.default.is_callable:
                setattr(obj, column.key, column.default.arg({}))
    return obj


def _row(prefix: str, columns: list[Any], obj: Any) -> dict[str, Any]:
    return {f"{prefix}{column.key}": getattr(obj, column.key) for column in columns}


async def write_new(session: AsyncSession, delivery: Delivery, history: DeliveryHistory, event: Event) -> None:
    """A new delivery, its first history entry and its event in ONE statement (data-modifying CTEs before
    the outbox insert): one round trip. Raw SQL, so the caller checks the delivery's unit is in the
    caller's scope (as the ORM's flush check would), and has set the defaults (`with_defaults`); the
    rows stay outside the session."""
    await session.execute(_WRITE_NEW, {**_row("d_", _DELIVERY_COLUMNS, delivery),
                                       **_row("h_", _HISTORY_COLUMNS, history), **outbox_params([event])})


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
