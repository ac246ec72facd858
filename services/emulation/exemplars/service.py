"""Use cases of exemplary models."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation import events
from services.emulation.exemplars import repository, rules
from services.emulation.exemplars.schemas import ExemplarIn, Withdrawal
from services.emulation.models import Exemplar
from services.emulation.units.service import check_in_movement, locate
from shared import clock
from shared.errors import Problem
from shared.events import record_events, uuid7
from shared.principal import Principal


async def recognise(session: AsyncSession, principal: Principal, body: ExemplarIn) -> Exemplar:
    unit = await locate(session, principal, body.unit, body.hierarchy)
    rules.check_recognised_on(body.recognised_on, clock.today())
    await check_in_movement(session, principal, unit, body.movement_id)
    item = Exemplar(id=uuid7(), unit_path=unit.path, movement_id=body.movement_id, kind=body.kind, name=body.name,
                    summary=body.summary, evidence=list(body.evidence), recognised_by=body.recognised_by,
                    recognised_on=body.recognised_on, document_number=body.document_number, withdrawn=False,
                    version=1)
    session.add(item)
    await session.flush()
    await record_events(session, [events.exemplar(item)])
    return item


async def withdraw(session: AsyncSession, exemplar_id: UUID, body: Withdrawal) -> Exemplar:
    item = await repository.exemplar(session, exemplar_id)
    if item.withdrawn:
        raise Problem(409, "already_withdrawn", "Already withdrawn", "This model was withdrawn already.")
    item.withdrawn = True
    item.evidence = [*item.evidence, f"Rút danh hiệu: {body.reason}"]
    item.version += 1
    await session.flush()
    await record_events(session, [events.exemplar(item)])
    return item
