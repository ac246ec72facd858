"""Use cases of targets handed down and registrations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation import events
from services.emulation.households.service import check as check_household
from services.emulation.models import Registration, Target, Unit
from services.emulation.movements import repository as movements
from services.emulation.scoring.service import rescore_touched
from services.emulation.targets import repository, rules
from services.emulation.targets.schemas import RegistrationIn, RegistrationStatusIn, TargetsIn
from services.emulation.units.service import children, locate, unit_under
from shared import clock
from shared.errors import Problem
from shared.events import record_events, uuid7
from shared.principal import Principal


def _in_period(year: int, starts_on: date, ends_on: date) -> None:
    if not starts_on.year <= year <= ends_on.year:
        raise Problem(422, "validation_error", "Invalid request", f"{year} is outside the movement's period.",
                      errors=[{"field": "year", "reason": "outside the movement's period"}])


async def set_targets(session: AsyncSession, principal: Principal, movement_id: UUID,
                      body: TargetsIn) -> tuple[Unit, Decimal | None, Decimal | None, list[Target]]:
    """The unit's own target (the movement's unit only) and the targets it hands to its children,
    refused whole when the children's do not cover its own."""
    movement = await movements.movement(session, principal, movement_id)
    unit = await unit_under(session, principal, movement, body.unit, body.hierarchy)
    _in_period(body.year, movement.starts_on, movement.ends_on)
    if body.value is None and not body.children:
        raise Problem(422, "validation_error", "Invalid request", "Give the unit's value, children, or both.",
                      errors=[{"field": "children", "reason": "empty, and no value"}])
    if body.value is not None and unit.path != movement.unit_path:
        raise Problem(422, "target_handed_down", "Targets are handed down",
                      f"{unit.path}'s own target is handed down by the unit above; only {movement.unit_path}, "
                      "which launched the movement, sets its own.", errors=[{"field": "value",
                                                                              "reason": "set by the unit above"}])
    child_units = {}
    for i, child in enumerate(body.children):
        found = await locate(session, principal, child.unit, unit.hierarchy)
        if found.parent_path != unit.path:
            raise Problem(422, "not_a_child_unit", "Not a unit directly below",
                          f"{found.path} is not directly below {unit.path}.",
                          errors=[{"field": f"children[{i}].unit", "reason": f"not directly below {unit.path}"}])
        if found.path in child_units:
            raise Problem(422, "validation_error", "Invalid request", f"{found.path} is given twice.",
                          errors=[{"field": f"children[{i}].unit", "reason": "given twice"}])
        child_units[found.path] = child.value
    held = await repository.targets_of(session, movement.id, body.year, body.indicator,
                                       [unit.path, *child_units])
    own = held.get(unit.path)
    own_value = body.value if body.value is not None else (own.value if own else None)
    covered = None
    if child_units:
        if own_value is None:
            raise Problem(422, "no_parent_target", "No target to hand down",
                          f"{unit.path} has no {body.indicator} target for {body.year} to hand down yet.",
                          errors=[{"field": "unit", "reason": "has no target yet"}])
        # The children's targets after this request: the new ones and those held for the other children.
        siblings = await repository.targets_of(session, movement.id, body.year, body.indicator,
                                               [c.path for c in await children(session, unit.path)])
        values = {p: t.value for p, t in siblings.items()} | child_units
        weights = await repository.households(session, list(values), body.year)
        covered = rules.check_cover(body.indicator, unit.path, own_value,
                                    {p: (v, weights.get(p)) for p, v in values.items()})
    now, changed = clock.now(), []
    wanted = ({unit.path: (body.value, None, None)} if body.value is not None else {}) | {
        p: (v, unit.path, own_value) for p, v in child_units.items()}
    for path, (value, parent_path, parent_value) in wanted.items():
        target = held.get(path)
        if target is None:
            target = Target(id=uuid7(), movement_id=movement.id, unit_path=path, year=body.year,
                            indicator=body.indicator, version=0)
            session.add(target)
        target.value, target.parent_path, target.parent_value = value, parent_path, parent_value
        target.version += 1
        target.set_by, target.set_at = principal.id, now
        changed.append(target)
    await session.flush()
    measure = rules.INDICATORS[body.indicator].measure_unit
    await record_events(session, [events.target(t, measure) for t in changed])
    await rescore_touched(session, [(t.unit_path, t.year) for t in changed])
    return unit, own_value, covered, changed


async def register(session: AsyncSession, principal: Principal, movement_id: UUID,
                   body: RegistrationIn) -> Registration:
    movement = await movements.movement(session, principal, movement_id)
    unit = await unit_under(session, principal, movement, body.unit, body.hierarchy)
    _in_period(body.year, movement.starts_on, movement.ends_on)
    rules.check_title(body.registrant_kind, body.title_sought)
    if (body.household_id is not None) != (body.registrant_kind == "household"):
        raise Problem(422, "validation_error", "Invalid request", "A household registers with its registry id.",
                      errors=[{"field": "household_id", "reason": "required for a household, only for one"}])
    if body.household_id is not None:
        await check_household(session, principal, body.household_id, unit.path, "household_id")
    item = Registration(id=uuid7(), movement_id=movement.id, unit_path=unit.path, year=body.year,
                        registrant_kind=body.registrant_kind, registrant_name=body.registrant_name,
                        household_id=str(body.household_id) if body.household_id else None,
                        title_sought=body.title_sought, commitment=body.commitment, status=rules.REGISTERED,
                        version=1, created_at=clock.now())
    session.add(item)
    await session.flush()
    await record_events(session, [events.registration(item)])
    return item


async def set_status(session: AsyncSession, registration_id: UUID, body: RegistrationStatusIn) -> Registration:
    item = await repository.registration(session, registration_id)
    rules.check_move(item.status, body.status)
    item.status = body.status
    item.version += 1
    await session.flush()
    await record_events(session, [events.registration(item, events.REGISTRATION_UPDATED)])
    return item
