"""A delivery import, all or nothing: every row read and checked (the catalogue, the household in
the caller's scope, its eligibility), then — only when no row has a problem — the deliveries and
their history COPYed in the request's transaction, with `support.delivery.recorded_batch` events of
up to 1,000 deliveries each. A refused file stores nothing.

Speed: one look-up of the file's households, one of their transitions when a programme needs them;
rows become COPY text lines (PostgreSQL's text format) and the database parses them, as the
registry's import does; events carry their items as one serialised list each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import date
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import Programme, Transition, eligibility_refusal
from services.support.deliveries.rules import HOUSEHOLD, RECORDED
from services.support.households.models import SupportHousehold, SupportTransition
from services.support.imports import reader, rules
from services.support.imports.models import ImportJob
from shared import clock
from shared.errors import Problem, not_found
from shared.events import Event, record_events, uuid7
from shared.principal import Principal

EVENT_ITEMS = 1000
DELIVERY_COLUMNS = ("id", "unit_path", "kind", "status", "unit_code", "programme", "delivered_on", "year",
                    "household_id", "households", "persons", "quantities", "amount_vnd", "funding", "body", "note",
                    "document_ref", "household_status", "import_job_id", "version", "recorded_at", "recorded_by",
                    "updated_at")
HISTORY_COLUMNS = ("id", "unit_path", "delivery_id", "version", "action", "actor_id", "actor_role", "at", "after")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


async def _catalogue(session: AsyncSession) -> tuple[rules.Catalogue, dict[tuple[str, str], dict[str, Any]]]:
    entries = await catalogue.entries(session)
    active = [e for e in entries if e.active]
    programmes = {e.code: Programme.of(e.code, e.name, e.fields) for e in active if e.catalogue == "programme"}
    return (rules.Catalogue(programmes=programmes,
                            bodies=frozenset(e.code for e in active if e.catalogue == "body"),
                            sources=frozenset(e.code for e in active if e.catalogue == "funding_source")),
            {(e.catalogue, e.code): e.fields for e in entries})


def read_file(data: bytes, known: rules.Catalogue, today: date) -> tuple[list[rules.Row], list[tuple[int, str, str]]]:
    lines = reader.rows(data)
    try:
        header = next(lines)
    except StopIteration:
        raise Problem(422, "import_rejected", "File refused", "The file is empty.") from None
    fields, problems = rules.header_fields(header)
    if problems:
        raise Problem(422, "import_rejected", "File refused", "; ".join(problems),
                      errors=[{"row": 1, "column": None, "reason": p} for p in problems])
    good: list[rules.Row] = []
    errors: list[tuple[int, str, str]] = []
    for number, cells in enumerate(lines, start=2):
        if not any(c not in (None, "") for c in cells):
            continue
        mapped = {f: cells[i] for i, f in enumerate(fields) if f and i < len(cells)}
        row, problems_of_row = rules.read_row(number, mapped, known, today)
        if row is not None:
            good.append(row)
        errors.extend(problems_of_row)
    return good, errors


async def _households(session: AsyncSession, communes: set[str]) -> dict[tuple[str, str], list[Any]]:
    """The households of these communes that the caller's scope reaches (the scope filter applies)."""
    found: dict[tuple[str, str], list[Any]] = {}
    query = select(SupportHousehold.id, SupportHousehold.household_code, SupportHousehold.commune_code,
                   SupportHousehold.unit_path, SupportHousehold.status, SupportHousehold.removed).where(
        SupportHousehold.commune_code.in_(sorted(communes)))
    for row in await session.execute(query):
        found.setdefault((row.commune_code, row.household_code), []).append(row)
    return found


async def _transitions(session: AsyncSession, ids: list[UUID]) -> dict[UUID, list[Transition]]:
    out: dict[UUID, list[Transition]] = {}
    if ids:
        query = select(SupportTransition).where(SupportTransition.household_id.in_(ids))
        for t in await session.scalars(query):
            out.setdefault(t.household_id, []).append(Transition(t.review_year, t.status, t.transition))
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
    known, fields = await _catalogue(session)
    today = clock.today()
    try:
        rows, errors = read_file(data, known, today)
    except reader.FileRejected as exc:
        raise Problem(422, "import_rejected", "File refused", str(exc)) from exc
    households = await _households(session, {r.commune_code for r in rows})
    placed: list[tuple[rules.Row, Any]] = []
    for row in rows:
        matches = households.get((row.commune_code, row.household_code), [])
        if len(matches) != 1:
            reason = "no such household in your scope" if not matches else "the code names two households"
            errors.append((row.number, "Mã hộ", f"{row.commune_code}/{row.household_code}: {reason}"))
        elif matches[0].removed:
            errors.append((row.number, "Mã hộ", "the registry removed this household"))
        else:
            placed.append((row, matches[0]))
    doubtful = [h.id for r, h in placed if "all" not in r.programme.eligible and h.status not in r.programme.eligible]
    transitions = await _transitions(session, doubtful)
    for row, household in placed:
        refusal = None if household.id not in transitions and (
            "all" in row.programme.eligible or household.status in row.programme.eligible) else \
            eligibility_refusal(row.programme, household.status, transitions.get(household.id, []), row.delivered_on)
        if refusal is not None:
            errors.append((row.number, "Mã chương trình", refusal))
    if errors:
        errors.sort()
        raise Problem(422, "import_rejected", "File refused",
                      f"{len(errors)} problem(s) in the file; nothing was recorded.", error_count=len(errors),
                      errors=[{"row": r, "column": c, "reason": m} for r, c, m in errors[:rules.MAX_ERRORS_LISTED]])
    if not placed:
        raise Problem(422, "import_rejected", "File refused", "The file has no delivery rows.")
    return await _store(session, principal, placed, fields, file_name)


def _esc(value: str | None) -> str:
    """Free text in COPY text format (codes and numbers need no escaping)."""
    if value is None:
        return "\\N"
    return value.translate(_ESCAPES) if ("\\" in value or "\t" in value or "\n" in value or "\r" in value) else value


def _json(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text.translate(_ESCAPES) if "\\" in text else text


def _kinds(fields: dict[tuple[str, str], dict[str, Any]], catalogue: str, key: str) -> dict[str, Any]:
    return {code: entry.get(key) for (name, code), entry in fields.items() if name == catalogue}


async def _store(session: AsyncSession, principal: Principal, placed: list[tuple[rules.Row, Any]],
                 fields: dict[tuple[str, str], dict[str, Any]], file_name: str | None) -> ImportJob:
    """The rows as COPY lines and event items. Written out by hand rather than through the generic
    builders (events.delivery_payload): this loop runs once per row of a 200,000-row file. The item
    has exactly the keys of `events.delivery_payload` (tests/support/test_imports.py reads it with
    reporting's projection)."""
    job_id, now = uuid7(), clock.now()
    stamp, job_text, actor = now.isoformat(), str(job_id), _esc(principal.id)
    after = _json({"import_job_id": job_text})
    history_tail = f"\t1\trecorded\t{actor}\t{_esc(principal.role)}\t{stamp}\t{after}\n"
    categories, body_kinds = _kinds(fields, "programme", "category"), _kinds(fields, "body", "kind")
    source_kinds, source_levels = _kinds(fields, "funding_source", "kind"), _kinds(fields, "funding_source", "level")
    deliveries, history, items = [], [], []
    for row, household in placed:
        delivery_id, path, status = str(uuid7()), household.unit_path, household.status
        unit_code = path.rsplit(".", 1)[-1]
        day = row.delivered_on.isoformat()
        persons = "\\N" if row.persons is None else str(row.persons)
        deliveries.append(
            f"{delivery_id}\t{path}\thousehold\trecorded\t{unit_code}\t{row.programme.code}\t{day}\t"
            f"{row.delivered_on.year}\t{household.id}\t1\t{persons}\t{_json(row.quantities)}\t{row.amount_vnd}\t"
            f"{_json(row.funding)}\t{row.body}\t{_esc(row.note)}\t{_esc(row.document_ref)}\t{_esc(status)}\t"
            f"{job_text}\t1\t{stamp}\t{actor}\t{stamp}\n")
        history.append(f"{uuid7()}\t{path}\t{delivery_id}{history_tail}")
        items.append({
            "delivery_id": delivery_id, "version": 1, "kind": HOUSEHOLD, "status": RECORDED, **events.unit_fields(path),
            "programme": row.programme.code, "programme_category": categories.get(row.programme.code),
            "delivered_on": day, "period_from": None, "year": row.delivered_on.year, "households": 1,
            "persons": row.persons, "turns": None, "quantities": row.quantities, "amount_vnd": row.amount_vnd,
            "funding": [{"source": f["source"], "source_kind": source_kinds.get(f["source"]),
                         "source_level": source_levels.get(f["source"]), "amount_vnd": f["amount_vnd"]}
                        for f in row.funding],
            "body": row.body, "body_kind": body_kinds.get(row.body), "body_detail": None,
            "household_id": str(household.id), "household_status": status, "member_ids": [],
            "eligibility_exception": False, "eligibility_rule": None, "sponsorship_id": None,
            "import_job_id": job_text, "recorded_at": stamp, "void_reason": None})
    connection = await session.connection()
    raw: Any = (await connection.get_raw_connection()).driver_connection
    await raw.copy_to_table("deliveries", source=_chunks(deliveries), columns=DELIVERY_COLUMNS, format="text")
    await raw.copy_to_table("delivery_history", source=_chunks(history), columns=HISTORY_COLUMNS, format="text")
    job = ImportJob(id=job_id, unit_path=_common_path(h.unit_path for _, h in placed), file_name=file_name,
                    rows=len(placed), amount_vnd=sum(r.amount_vnd for r, _ in placed), created_by=principal.id,
                    created_at=now)
    session.add(job)
    await session.flush()
    batches = [Event(type=events.DELIVERY_RECORDED_BATCH, producer=events.PRODUCER, subject_id=job_text,
                     unit_path=chunk[0]["unit_path"], unit_code=chunk[0]["unit_code"], version=1,
                     payload={"job_id": job_text, "items": chunk})
               for chunk in (items[i:i + EVENT_ITEMS] for i in range(0, len(items), EVENT_ITEMS))]
    await record_events(session, batches)
    return job


async def load(session: AsyncSession, job_id: UUID) -> ImportJob:
    """An accepted import (404 outside the caller's scope)."""
    job = (await session.scalars(select(ImportJob).where(ImportJob.id == job_id))).first()
    if job is None:
        raise not_found("import", job_id)
    return job
