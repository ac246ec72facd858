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

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import Programme, Transition
from services.support.households.models import SupportHousehold, SupportTransition
from services.support.imports import rules
from services.support.imports.build import DELIVERY_COLUMNS, HISTORY_COLUMNS, Built
from services.support.imports.models import ImportJob
from services.support.imports.preparer import HouseholdRow, Preparer, Refused, Setup
from shared import clock
from shared.errors import Problem, not_found
from shared.events import Event, record_events, uuid7
from shared.principal import Principal

EVENT_ITEMS = 1000


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


async def _chunks(lines: list[str], size: int = 2000) -> AsyncIterator[bytes]:
    for start in range(0, len(lines), size):
        yield "".join(lines[start:start + size]).encode()


async def import_file(session: AsyncSession, principal: Principal, data: bytes, file_name: str | None) -> ImportJob:
    known, entries = await _catalogue(session)
    job_id, now = uuid7(), clock.now()
    preparer = Preparer(Setup(data=data, catalogue=known, entries=entries, today=clock.today(), job_id=str(job_id),
                              stamp=now.isoformat(), actor_id=principal.id, actor_role=principal.role))
    try:
        communes = preparer.read()
        doubtful = preparer.place(await _households(session, communes))
        built = preparer.build(await _transitions(session, doubtful))
    except Refused as exc:
        raise Problem(422, "import_rejected", "File refused", exc.detail, **exc.extras) from None
    return await _store(session, principal, job_id, now, built, file_name)


async def _store(session: AsyncSession, principal: Principal, job_id: UUID, now: Any, built: Built,
                 file_name: str | None) -> ImportJob:
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    await raw.copy_to_table("deliveries", source=_chunks(built.deliveries), columns=DELIVERY_COLUMNS, format="text")
    await raw.copy_to_table("delivery_history", source=_chunks(built.history), columns=HISTORY_COLUMNS,
                            format="text")
    job = ImportJob(id=job_id, unit_path=_common_path(set(built.paths)), file_name=file_name,
                    rows=len(built.deliveries), amount_vnd=built.amount_vnd, created_by=principal.id, created_at=now)
    session.add(job)
    await session.flush()
    await record_events(session, batch_events(str(job_id), built.items, built.paths))
    return job


def batch_events(job_id: str, items: Sequence[str], paths: Sequence[str]) -> list[Event]:
    """`support.delivery.recorded_batch` events of EVENT_ITEMS items each; an item arrives as JSON text
    and is spliced in unparsed. The event's unit is its first delivery's."""
    out = []
    for start in range(0, len(items), EVENT_ITEMS):
        unit = events.unit_fields(paths[start])
        chunk = orjson.Fragment(("[" + ",".join(items[start:start + EVENT_ITEMS]) + "]").encode())
        out.append(Event(type=events.DELIVERY_RECORDED_BATCH, producer=events.PRODUCER, subject_id=job_id,
                         unit_path=unit["unit_path"], unit_code=unit["unit_code"], version=1,
                         payload={"job_id": job_id, "items": chunk}))
    return out


async def load(session: AsyncSession, job_id: UUID) -> ImportJob:
    """An accepted import (404 outside the caller's scope)."""
    job = (await session.scalars(select(ImportJob).where(ImportJob.id == job_id))).first()
    if job is None:
        raise not_found("import", job_id)
    return job
