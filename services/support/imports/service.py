"""A delivery import, all or nothing: every row read and checked (the catalogue, the household in
the caller's scope, its eligibility); the deliveries and their history COPYed in the request's
transaction, with `support.delivery.recorded_batch` events of up to 1,000 deliveries each, which
commits only when no row had a problem. A refused file stores nothing.

The per-row work (preparer.py: read, check, place, build COPY text lines and the events, packed:
build.py) runs in a worker process (worker.py) and needs no database: this module answers its look-ups (the households
of the communes it meets, in the caller's scope; the transitions of households a programme does not
serve by their status alone) and stores each batch it sends — COPY and the outbox — while it reads
and builds the next.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import Programme, Transition, usable_everywhere_in, visible_to
from services.support.households.models import SupportHousehold, SupportTransition
from services.support.imports import build, preparer, rules
from services.support.imports.build import DELIVERY_COLUMNS, HISTORY_COLUMNS, Built
from services.support.imports.models import ImportJob
from services.support.imports.preparer import HouseholdRow, Refused, Setup
from services.support.imports.worker import BATCH, PreparerProcess
from shared import clock, tracing
from shared.context import request_id_var
from shared.copy_text import slices
from shared.errors import Problem, not_found
from shared.events import uuid7, write_outbox
from shared.principal import Principal
from shared.workers import WorkerFailed

log = logging.getLogger(__name__)


async def _catalogue(session: AsyncSession, scope_paths: list[str]
                     ) -> tuple[rules.Catalogue, dict[tuple[str, str], dict[str, Any]]]:
    """The active entries every unit of the caller's scope may use: national ones, and a unit's own
    only when the whole scope lies within that unit (filtered once here, never per row)."""
    entries = await catalogue.entries(session)
    usable = [e for e in entries if e.active and usable_everywhere_in(e.owner_path, scope_paths)]
    refused = {(e.catalogue, e.code): f"{e.catalogue.replace('_', ' ')} {e.code} belongs to unit {e.owner_path}; "
               "only an import by that unit's officers (or its units') may use it"
               for e in entries if e.active and e.owner_path is not None and visible_to(e.owner_path, scope_paths)
               and not usable_everywhere_in(e.owner_path, scope_paths)}
    programmes = {e.code: Programme.of(e.code, e.name, e.fields) for e in usable if e.catalogue == "programme"}
    return (rules.Catalogue(programmes=programmes,
                            bodies=frozenset(e.code for e in usable if e.catalogue == "body"),
                            sources=frozenset(e.code for e in usable if e.catalogue == "funding_source"),
                            refused=refused),
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
    known, entries = await _catalogue(session, principal.scope_paths)
    job_id, now = uuid7(), clock.now()
    worker = PreparerProcess(Setup(data=data, catalogue=known, entries=entries, today=clock.today(),
                                   job_id=str(job_id), stamp=now.isoformat(), actor_id=principal.id,
                                   actor_role=principal.role, batch_rows=preparer.BATCH_ROWS,
                                   event_items=build.EVENT_ITEMS, correlation_id=request_id_var.get(),
                                   traceparent=tracing.current_traceparent()))
    try:
        await worker.start()
        return await _store(session, principal, job_id, now, worker, file_name)
    except Refused as exc:
        raise Problem(422, "import_rejected", "File refused", exc.detail, **exc.extras) from None
    except WorkerFailed as exc:
        log.error("support import failed: %s", exc)
        raise Problem(500, "import_failed", "Import failed", f"{exc} Nothing was stored; upload the file again.") \
            from None
    finally:
        await worker.stop()


async def _store(session: AsyncSession, principal: Principal, job_id: UUID, now: datetime, worker: PreparerProcess,
                 file_name: str | None) -> ImportJob:
    """The worker's questions answered; each batch COPYed (deliveries, then their history) and its events
    (outbox rows the worker packed) written as it arrives."""
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    rows, amount, paths = 0, 0, set[str]()
    async for kind, body in worker.messages():
        if kind == "households":
            await worker.answer(await _households(session, set(body)))
        elif kind == "transitions":
            await worker.answer(await _transitions(session, body))
        elif kind == BATCH and isinstance(body, Built):
            if body.rows:
                await raw.copy_to_table("deliveries", source=slices(body.deliveries), columns=DELIVERY_COLUMNS,
                                        format="text")
                await raw.copy_to_table("delivery_history", source=slices(body.history), columns=HISTORY_COLUMNS,
                                        format="text")
                await write_outbox(raw, body.events)
            rows, amount, paths = rows + body.rows, amount + body.amount_vnd, paths | body.paths
        else:
            raise WorkerFailed(f"The import's worker process sent {kind!r}.")
    job = ImportJob(id=job_id, unit_path=_common_path(paths), file_name=file_name, rows=rows, amount_vnd=amount,
                    created_by=principal.id, created_at=now)
    session.add(job)
    await session.flush()
    return job


async def load(session: AsyncSession, job_id: UUID) -> ImportJob:
    """An accepted import (404 outside the caller's scope)."""
    job = (await session.scalars(select(ImportJob).where(ImportJob.id == job_id))).first()
    if job is None:
        raise not_found("import", job_id)
    return job
