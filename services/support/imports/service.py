"""A delivery import, all or nothing: every row read and checked (the catalogue, the household in
the caller's scope, its eligibility), then — only when no row has a problem — the deliveries and
their history COPYed in the request's transaction, with `support.delivery.recorded_batch` events of
up to 1,000 deliveries each. A refused file stores nothing.

The per-row work (preparer.py: read, check, place, build COPY text lines and event items) needs no
database; this module answers its two look-ups (one of the file's households, in the caller's scope;
one of their transitions when a programme needs them) and forwards what it built to COPY and the
outbox.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import Programme, Transition
from services.support.households.models import SupportHousehold, SupportTransition
from services.support.imports import preparer, rules
from services.support.imports.build import DELIVERY_COLUMNS, EVENT_ITEMS, HISTORY_COLUMNS, Built
from services.support.imports.models import ImportJob
from services.support.imports.preparer import HouseholdRow, Refused, Setup
from services.support.imports.worker import PreparerProcess
from shared import clock
from shared.copy_text import slices
from shared.errors import Problem, not_found
from shared.events import Event, uuid7, write_events
from shared.principal import Principal
from shared.workers import WorkerFailed

log = logging.getLogger(__name__)


async def _catalogue(session: AsyncSession) -> tuple[rules.Catalogue, dict[tuple[str, str], dict[str, Any]]]:
    entries = await catalogue.entries(session)
    active = [e for e in entries if e.active]
    programmes = {e.code: Programme.of(e.code, e.name, e.fields) for e in active if e.catalogue == "programme"}
    return (rules.Catalogue(programmes=programmes,
                            bodies=frozenset(e.code for e in active if e.catalogue == "body"),
                            sources=frozenset(e.code for e in active if e.catalogue == "funding_source")),
            {(e.catalogue, e.code): e.fields for e in entries})


async def _households(session: AsyncSession, communes: set[str]) -> list[HouseholdRow]:
    """The households of these communes that the caller's scope reaches (the scope filter applies)."""
    if not communes:
        return []
    query = select(SupportHousehold.id, SupportHousehold.commune_code, SupportHousehold.household_code,
                   SupportHousehold.unit_path, SupportHousehold.status, SupportHousehold.removed).where(
        SupportHousehold.commune_code.in_(sorted(communes)))
    return [(str(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in await session.execute(query)]


async def _transitions(session: AsyncSession, ids: list[str]) -> dict[str, list[Transition]]:
    out: dict[str, list[Transition]] = {}
    if ids:
        query = select(SupportTransition).where(SupportTransition.household_id.in_([UUID(i) for i in ids]))
        for t in await session.scalars(query):
            out.setdefault(str(t.household_id), []).append(Transition(t.review_year, t.status, t.transition))
    return out


def _common_path(paths: Iterable[str]) -> str:
    parts: list[str] | None = None
    for path in paths:
        split = path.split(".")
        if parts is None:
            parts = split
        else:
            n = 0
            while n < min(len(parts), len(split)) and parts[n] == split[n]:
                n += 1
            parts = parts[:n]
    return ".".join(parts or [])


async def import_file(session: AsyncSession, principal: Principal, data: bytes, file_name: str | None) -> ImportJob:
    known, entries = await _catalogue(session)
    job_id, now = uuid7(), clock.now()
    worker = PreparerProcess(Setup(data=data, catalogue=known, entries=entries, today=clock.today(),
                                   job_id=str(job_id), stamp=now.isoformat(), actor_id=principal.id,
                                   actor_role=principal.role, batch_rows=preparer.BATCH_ROWS))
    try:
        communes = await worker.read()
        doubtful = await worker.place(await _households(session, communes))
        return await _store(session, principal, job_id, now, worker.batches(await _transitions(session, doubtful)),
                            file_name)
    except Refused as exc:
        raise Problem(422, "import_rejected", "File refused", exc.detail, **exc.extras) from None
    except WorkerFailed as exc:
        log.error("support import failed: %s", exc)
        raise Problem(500, "import_failed", "Import failed", f"{exc} Nothing was stored; upload the file again.") \
            from None
    finally:
        await worker.stop()


async def _store(session: AsyncSession, principal: Principal, job_id: UUID, now: datetime,
                 batches: AsyncIterator[Built], file_name: str | None) -> ImportJob:
    """Each batch COPYed (deliveries, then their history) and its events written as it arrives."""
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    rows, amount, paths = 0, 0, set()
    async for built in batches:
        await raw.copy_to_table("deliveries", source=slices(built.deliveries.data), columns=DELIVERY_COLUMNS,
                                format="text")
        await raw.copy_to_table("delivery_history", source=slices(built.history.data), columns=HISTORY_COLUMNS,
                                format="text")
        await write_events(raw, batch_events(str(job_id), built))
        rows, amount = rows + len(built.deliveries), amount + built.amount_vnd
        paths |= built.paths
    job = ImportJob(id=job_id, unit_path=_common_path(paths), file_name=file_name, rows=rows, amount_vnd=amount,
                    created_by=principal.id, created_at=now)
    session.add(job)
    await session.flush()
    return job


def batch_events(job_id: str, built: Built) -> list[Event]:
    """`support.delivery.recorded_batch` events of EVENT_ITEMS deliveries each; the items arrive as JSON
    text and are spliced in unparsed. An event's unit is its first delivery's."""
    out = []
    for n, path in enumerate(built.first_paths):
        unit = events.unit_fields(path)
        items = orjson.Fragment(b"[" + built.items.span(n * EVENT_ITEMS, min((n + 1) * EVENT_ITEMS,
                                                                             len(built.items)))[:-1] + b"]")
        out.append(Event(type=events.DELIVERY_RECORDED_BATCH, producer=events.PRODUCER, subject_id=job_id,
                         unit_path=unit["unit_path"], unit_code=unit["unit_code"], version=1,
                         payload={"job_id": job_id, "items": items}))
    return out


async def load(session: AsyncSession, job_id: UUID) -> ImportJob:
    """An accepted import (404 outside the caller's scope)."""
    job = (await session.scalars(select(ImportJob).where(ImportJob.id == job_id))).first()
    if job is None:
        raise not_found("import", job_id)
    return job
