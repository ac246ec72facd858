"""Use cases of scoring: criteria sets, the board's manual points, and re-scoring what an event or an
entry touched (only the units above the touched unit, in the sets covering it)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation.models import CriteriaSet, ManualScore
from services.emulation.movements import repository as movements
from services.emulation.nominations.rules import acts_at
from services.emulation.scoring import repository, rules
from services.emulation.scoring.schemas import CriteriaSetIn, ManualScoreIn
from services.emulation.units.service import locate, unit_under
from shared import clock
from shared.errors import Problem, forbidden
from shared.events import uuid7
from shared.principal import Principal
from shared.scope import ancestors, path_within


async def rescore(session: AsyncSession, sets: list[CriteriaSet], only: list[str]) -> int:
    """Scores the sets' units (only those in `only` when given), ranks them, and tells reporting of
    every score that changed. Returns how many scores changed."""
    return sum([await repository.compute(session, s, only) for s in sets])


async def rescore_touched(session: AsyncSession, touched: list[tuple[str, int]]) -> int:
    """A late fact of (unit path, year): re-score only the units containing it, in the sets covering it."""
    sets = await repository.affected(session, touched)
    if not sets:
        return 0
    only = sorted({a for path, _ in touched for a in ancestors(path)})
    return await rescore(session, sets, only)


async def set_criteria(session: AsyncSession, principal: Principal, movement_id: UUID,
                       body: CriteriaSetIn) -> tuple[CriteriaSet, int]:
    movement = await movements.movement(session, principal, movement_id)
    unit = await unit_under(session, principal, movement, body.unit, body.hierarchy)
    if not acts_at(principal.scope_paths, unit.path, principal.has("*")):
        raise forbidden(f"The criteria of {unit.path} are set by its own emulation board.")
    if not movement.starts_on.year <= body.year <= movement.ends_on.year:
        raise Problem(422, "validation_error", "Invalid request", f"{body.year} is outside the movement's period.",
                      errors=[{"field": "year", "reason": "outside the movement's period"}])
    if unit.level not in rules.LEVELS or rules.LEVELS.index(body.level) >= rules.LEVELS.index(unit.level):
        raise Problem(422, "validation_error", "Invalid request", f"A {unit.level} scores the levels below it.",
                      errors=[{"field": "level", "reason": f"not below the {unit.level}"}])
    criteria = [c.model_dump(mode="json") for c in body.criteria]
    rules.parse_criteria(criteria)
    item = await repository.set_of(session, movement.id, unit.path, body.year, body.level)
    if item is None:
        item = CriteriaSet(id=uuid7(), movement_id=movement.id, unit_path=unit.path, year=body.year,
                           level=body.level, version=0)
        session.add(item)
    item.criteria = criteria
    item.version += 1
    await session.flush()
    return item, await rescore(session, [item], [])


async def give_points(session: AsyncSession, principal: Principal, set_id: UUID,
                      body: ManualScoreIn) -> tuple[ManualScore, int]:
    s = await _visible_set(session, principal, set_id)
    if not acts_at(principal.scope_paths, s.unit_path, principal.has("*")):
        raise forbidden(f"Manual points of this set are given by the emulation board of {s.unit_path}.")
    unit = await locate(session, principal, body.unit, body.hierarchy)
    if unit.level != s.level or not path_within(unit.path, s.unit_path):
        raise Problem(422, "validation_error", "Invalid request", f"{unit.path} is not scored by this set.",
                      errors=[{"field": "unit", "reason": f"not a {s.level} under {s.unit_path}"}])
    criterion = next((c for c in rules.parse_criteria(s.criteria) if c.key == body.criterion), None)
    if criterion is None or criterion.kind != "manual":
        raise Problem(422, "validation_error", "Invalid request", f"{body.criterion} is not a manual criterion.",
                      errors=[{"field": "criterion", "reason": "not a manual criterion of this set"}])
    if body.points > criterion.weight:
        raise Problem(422, "validation_error", "Invalid request", f"At most {criterion.weight} points.",
                      errors=[{"field": "points", "reason": f"more than the weight {criterion.weight}"}])
    item = await repository.manual(session, s.id, unit.path, body.criterion)
    if item is None:
        item = ManualScore(id=uuid7(), criteria_set_id=s.id, unit_path=unit.path, criterion=body.criterion)
        session.add(item)
    item.points, item.evidence, item.given_by, item.given_at = body.points, body.evidence, principal.id, clock.now()
    await session.flush()
    return item, await rescore(session, [s], [unit.path])


async def _visible_set(session: AsyncSession, principal: Principal, set_id: UUID) -> CriteriaSet:
    return await repository.criteria_set(session, set_id, lock=True)


async def recompute(session: AsyncSession, principal: Principal, set_id: UUID) -> int:
    s = await _visible_set(session, principal, set_id)
    if not acts_at(principal.scope_paths, s.unit_path, principal.has("*")):
        raise forbidden(f"This set is scored by the emulation board of {s.unit_path}.")
    return await rescore(session, [s], [])
