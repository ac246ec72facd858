"""Criteria sets, the emulation board's manual points, and the yearly scores and ranking."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from sqlalchemy import select

from services.emulation.dependencies import (
    Board,
    DbSession,
    Hierarchy,
    Page,
    Paging,
    Reader,
    UnitQuery,
    paginate,
    problems,
)
from services.emulation.models import CriteriaSet, Score
from services.emulation.movements import repository as movements
from services.emulation.movements.repository import _up_or_down
from services.emulation.scoring import repository, rules, service
from services.emulation.scoring.schemas import CriteriaSetIn, CriteriaSetOut, ManualScoreIn, ManualScoreOut, ScoreOut
from services.emulation.units.service import locate

router = APIRouter(prefix="/emulation", tags=["scoring"])


def set_out(s: CriteriaSet, changed: int | None = None) -> CriteriaSetOut:
    return CriteriaSetOut(id=s.id, movement_id=s.movement_id, unit_path=s.unit_path, year=s.year, level=s.level,
                          criteria=s.criteria, version=s.version, scores_changed=changed)


def score_out(row: tuple[Score, int, int]) -> ScoreOut:
    s, rank, rank_in_parent = row
    return ScoreOut(id=s.id, criteria_set_id=s.criteria_set_id, movement_id=s.movement_id, unit_path=s.unit_path,
                    parent_path=s.parent_path, year=s.year, level=s.level, total=s.total, rank=rank,
                    rank_in_parent=rank_in_parent, criteria=s.criteria, version=s.version,
                    computed_at=s.computed_at)


@router.get("/criteria-sources", summary="What each automatic criterion measures, and from which events")
async def sources(_: Reader) -> list[dict[str, str]]:
    return [{"source": k, "measured_from": v} for k, v in rules.SOURCES.items()]


@router.post("/movements/{movement_id}/criteria-sets", response_model=CriteriaSetOut, responses=problems(404),
             summary="Set (or replace) the criteria and weights a unit scores the level below by, for a year")
async def set_criteria(movement_id: UUID, body: CriteriaSetIn, principal: Board, session: DbSession) -> CriteriaSetOut:
    """The weights add up to 100; every unit of `level` under `unit` is scored at once (set-based)."""
    item, changed = await service.set_criteria(session, principal, movement_id, body)
    return set_out(item, changed)


@router.get("/movements/{movement_id}/criteria-sets", response_model=list[CriteriaSetOut], responses=problems(404),
            summary="The criteria sets you are scored by or score with")
async def list_criteria(movement_id: UUID, principal: Reader, session: DbSession,
                        year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> list[CriteriaSetOut]:
    await movements.movement(session, principal, movement_id)
    query = select(CriteriaSet).where(CriteriaSet.movement_id == movement_id,
                                      _up_or_down(CriteriaSet.unit_path, principal))
    if year is not None:
        query = query.where(CriteriaSet.year == year)
    rows = await session.scalars(query.order_by(CriteriaSet.year, CriteriaSet.unit_path, CriteriaSet.level)
                                 .execution_options(skip_scope=True))
    return [set_out(s) for s in rows]


@router.post("/criteria-sets/{criteria_set_id}/manual-scores", response_model=ManualScoreOut,
             responses=problems(404), summary="Give a unit points on a manual criterion, with the evidence")
async def give_points(criteria_set_id: UUID, body: ManualScoreIn, principal: Board,
                      session: DbSession) -> ManualScoreOut:
    item, changed = await service.give_points(session, principal, criteria_set_id, body)
    return ManualScoreOut(unit_path=item.unit_path, criterion=item.criterion, points=item.points,
                          evidence=item.evidence, given_by=item.given_by, given_at=item.given_at,
                          scores_changed=changed)


@router.post("/criteria-sets/{criteria_set_id}/scores", response_model=CriteriaSetOut, responses=problems(404),
             summary="Score every unit of the set again (scores follow events by themselves)")
async def recompute(criteria_set_id: UUID, principal: Board, session: DbSession) -> CriteriaSetOut:
    changed = await service.recompute(session, principal, criteria_set_id)
    return set_out(await repository.criteria_set(session, criteria_set_id), changed)


@router.get("/movements/{movement_id}/scores", response_model=Page[ScoreOut], responses=problems(404),
            summary="Yearly scores and ranks of your units and the units below, with each criterion's value")
async def list_scores(movement_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                      unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                      year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                      level: Annotated[str | None, Query(max_length=12)] = None) -> Page[ScoreOut]:
    """`rank` is among all the set's units (1 is best; ties share a rank), `rank_in_parent` among the
    units of the same parent: a commune sees where it stands without seeing the others' scores."""
    await movements.movement(session, principal, movement_id)
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.scores(principal, movement_id, path, year, level), paging, score_out)
