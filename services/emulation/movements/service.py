"""Use cases of movements, documents and activities: one transaction each, with its events."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation import events
from services.emulation.models import Activity, Document, Movement
from services.emulation.movements import repository, rules
from services.emulation.movements.schemas import ActivityIn, DocumentIn, MovementEdit, MovementIn
from services.emulation.scoring.service import rescore_touched
from services.emulation.units.service import locate, unit_under
from shared import clock
from shared.errors import Problem, forbidden
from shared.events import record_events, uuid7
from shared.principal import Principal


def _phases(items: list[Any]) -> list[dict[str, Any]]:
    return [{"kind": p.kind, "name": p.name or rules.PHASE_KINDS[p.kind], "starts_on": p.starts_on,
             "ends_on": p.ends_on, "held_on": p.held_on} for p in items]


def _json_phases(phases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in p.items()} for p in phases]


async def launch(session: AsyncSession, principal: Principal, body: MovementIn) -> Movement:
    unit = await locate(session, principal, body.unit, body.hierarchy)
    phases = _phases(body.phases)
    rules.check_period(body.starts_on, body.ends_on, phases)
    now = clock.now()
    item = Movement(id=uuid7(), unit_path=unit.path, name=body.name, level=unit.level,
                    issuing_body=body.issuing_body, starts_on=body.starts_on, ends_on=body.ends_on,
                    description=body.description, objectives=list(body.objectives), phases=_json_phases(phases),
                    version=1, created_by=principal.id, created_at=now)
    session.add(item)
    await session.flush()  # the movement first: its documents refer to it
    emitted = [events.movement(item)]
    if body.document is not None:
        d = body.document
        doc = Document(id=uuid7(), movement_id=item.id, unit_path=unit.path, doc_type=d.doc_type,
                       number=rules.check_number(d.number), issued_on=d.issued_on, issuing_body=body.issuing_body,
                       summary=d.summary, signer=d.signer, launches_movement=True, version=1, created_at=now)
        session.add(doc)
        emitted.append(events.document(doc))
    await session.flush()
    await record_events(session, emitted)
    return item


async def edit(session: AsyncSession, principal: Principal, movement_id: UUID, body: MovementEdit,
               check: Any) -> Movement:
    item = await repository.movement(session, principal, movement_id, lock=True)
    if not principal.can_reach(item.unit_path):
        raise forbidden("Only the unit that launched the movement (or a unit above it) may change it.")
    check(item.version)
    phases = _phases(body.phases) if body.phases is not None else item.phases
    ends_on = body.ends_on or item.ends_on
    rules.check_period(item.starts_on, ends_on, [_parsed(p) for p in phases])
    item.name = body.name or item.name
    item.description = body.description if body.description is not None else item.description
    item.objectives = list(body.objectives) if body.objectives is not None else item.objectives
    item.phases = _json_phases(phases)
    item.ends_on = ends_on
    item.version += 1
    await session.flush()
    await record_events(session, [events.movement(item, events.MOVEMENT_UPDATED)])
    return item


def _parsed(phase: dict[str, Any]) -> dict[str, Any]:
    return {k: (date.fromisoformat(v) if k.endswith("_on") and isinstance(v, str) else v) for k, v in phase.items()}


async def issue_document(session: AsyncSession, principal: Principal, movement_id: UUID,
                         body: DocumentIn) -> Document:
    movement = await repository.movement(session, principal, movement_id)
    unit = await unit_under(session, principal, movement, body.unit, body.hierarchy)
    doc = Document(id=uuid7(), movement_id=movement.id, unit_path=unit.path, doc_type=body.doc_type,
                   number=rules.check_number(body.number), issued_on=body.issued_on, issuing_body=body.issuing_body,
                   summary=body.summary, signer=body.signer, launches_movement=False, version=1,
                   created_at=clock.now())
    session.add(doc)
    await session.flush()
    await record_events(session, [events.document(doc)])
    return doc


async def record_activity(session: AsyncSession, principal: Principal, movement_id: UUID,
                          body: ActivityIn) -> Activity:
    movement = await repository.movement(session, principal, movement_id)
    unit = await unit_under(session, principal, movement, body.unit, body.hierarchy)
    rules.check_activity(body.kind, body.held_on, body.participants, movement.starts_on, movement.ends_on)
    item = Activity(id=uuid7(), movement_id=movement.id, unit_path=unit.path, kind=body.kind, held_on=body.held_on,
                    year=body.held_on.year, count=body.count, participants=body.participants,
                    title=body.title or rules.ACTIVITY_KINDS[body.kind].name, removed=False, version=1,
                    created_at=clock.now())
    session.add(item)
    await session.flush()
    await record_events(session, [events.activity(item)])
    await rescore_touched(session, [(item.unit_path, item.year)])
    return item


async def remove_activity(session: AsyncSession, activity_id: UUID) -> Activity:
    item = await repository.activity(session, activity_id)
    if item.removed:
        raise Problem(409, "already_removed", "Already removed", "This activity was removed already.")
    item.removed = True
    item.version += 1
    await session.flush()
    await record_events(session, [events.activity(item)])
    await rescore_touched(session, [(item.unit_path, item.year)])
    return item
