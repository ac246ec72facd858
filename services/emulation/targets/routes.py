"""Targets handed down level by level, and registrations of commitments and titles sought."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.emulation.dependencies import (
    DbSession,
    Hierarchy,
    IdempotencyKey,
    Page,
    Paging,
    Reader,
    UnitQuery,
    Writer,
    Year,
    created,
    idempotent,
    paginate,
    problems,
)
from services.emulation.models import Registration, Target
from services.emulation.movements import repository as movements
from services.emulation.targets import repository, rules, service
from services.emulation.targets.schemas import (
    IndicatorCode,
    RegistrationIn,
    RegistrationOut,
    RegistrationStatusIn,
    TargetOut,
    TargetsAnswer,
    TargetsIn,
)
from services.emulation.units.service import locate

router = APIRouter(prefix="/emulation", tags=["targets and registrations"])


def target_out(t: Target) -> TargetOut:
    return TargetOut(id=t.id, movement_id=t.movement_id, unit_path=t.unit_path, year=t.year, indicator=t.indicator,
                     measure_unit=rules.INDICATORS[t.indicator].measure_unit, value=t.value,
                     parent_path=t.parent_path, parent_value=t.parent_value, version=t.version)


def registration_out(r: Registration) -> RegistrationOut:
    return RegistrationOut.model_validate(r, from_attributes=True)


@router.get("/indicators", summary="Target indicators: unit of measure and how children's targets cover a parent's")
async def indicators(_: Reader) -> list[dict[str, str]]:
    return [{"code": c, "name": i.name, "measure_unit": i.measure_unit, "cover": i.cover}
            for c, i in rules.INDICATORS.items()]


@router.post("/movements/{movement_id}/targets", response_model=TargetsAnswer, responses=problems(404),
             summary="Set the movement unit's own target and hand targets to the units directly below")
async def set_targets(movement_id: UUID, body: TargetsIn, principal: Writer, session: DbSession) -> TargetsAnswer:
    """422 `targets_do_not_cover` (with `parent_value`, `covered`, `shortfall` and each child's value) when
    the children's targets — these and those held for the other children — fall short of the parent's;
    nothing is stored then."""
    unit, value, covered, changed = await service.set_targets(session, principal, movement_id, body)
    return TargetsAnswer(unit_path=unit.path, value=value, covered=covered, targets=[target_out(t) for t in changed])


@router.get("/movements/{movement_id}/targets", response_model=Page[TargetOut], responses=problems(404),
            summary="Targets of your units and the units below")
async def list_targets(movement_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                       unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                       year: Year = None, indicator: IndicatorCode | None = None) -> Page[TargetOut]:
    await movements.movement(session, principal, movement_id)
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.targets(movement_id, path, year, indicator), paging, target_out)


@router.post("/movements/{movement_id}/registrations", status_code=201, response_model=RegistrationOut,
             responses=problems(404), summary="Register a commitment and the title sought for a year")
async def register(movement_id: UUID, body: RegistrationIn, request: Request, principal: Writer,
                   session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    """A household registrant: 404 `household_not_found` (unknown to the registry's events, or outside
    your units), 422 `household_removed`, `household_outside_unit`."""
    async def run() -> Response:
        item = await service.register(session, principal, movement_id, body)
        return created(registration_out(item), f"/emulation/registrations/{item.id}")
    return await idempotent(request, session, principal, run)


@router.get("/movements/{movement_id}/registrations", response_model=Page[RegistrationOut], responses=problems(404),
            summary="Registrations of your units and the units below, with their status")
async def list_registrations(movement_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                             unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                             year: Year = None,
                             status: Annotated[str | None, Query(max_length=16)] = None) -> Page[RegistrationOut]:
    await movements.movement(session, principal, movement_id)
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.registrations(movement_id, path, year, status), paging,
                          registration_out)


@router.post("/registrations/{registration_id}/status", response_model=RegistrationOut, responses=problems(404, 409),
             summary="Record whether a registrant achieved what it registered (or withdrew)")
async def set_status(registration_id: UUID, body: RegistrationStatusIn, principal: Writer,
                     session: DbSession) -> RegistrationOut:
    return registration_out(await service.set_status(session, registration_id, body))
