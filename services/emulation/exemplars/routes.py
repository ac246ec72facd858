"""Exemplary models held up under a movement (điển hình tiên tiến, mô hình hay)."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.emulation.dependencies import (
    DbSession,
    Hierarchy,
    IdempotencyKey,
    Page,
    Paging,
    UnitQuery,
    UpReader,
    Writer,
    created,
    idempotent,
    paginate,
    problems,
)
from services.emulation.exemplars import repository, rules, service
from services.emulation.exemplars.schemas import ExemplarIn, ExemplarKind, ExemplarOut, Withdrawal
from services.emulation.models import Exemplar
from services.emulation.units.service import locate

router = APIRouter(prefix="/emulation", tags=["exemplary models"])


def exemplar_out(e: Exemplar) -> ExemplarOut:
    return ExemplarOut(id=e.id, unit_path=e.unit_path, movement_id=e.movement_id, kind=e.kind,
                       kind_name=rules.KINDS[e.kind], name=e.name, summary=e.summary, evidence=e.evidence,
                       recognised_by=e.recognised_by, recognised_on=e.recognised_on,
                       document_number=e.document_number, withdrawn=e.withdrawn)


@router.post("/exemplars", status_code=201, response_model=ExemplarOut, responses=problems(404),
             summary="Recognise an exemplary model, initiative, person, household or collective")
async def recognise(body: ExemplarIn, request: Request, principal: Writer, session: DbSession,
                    idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        item = await service.recognise(session, principal, body)
        return created(exemplar_out(item), f"/emulation/exemplars?unit={body.unit}")
    return await idempotent(request, session, principal, run)


@router.get("/exemplars", response_model=Page[ExemplarOut], responses=problems(404),
            summary="Exemplary models of a unit (yours, the units above and below)")
async def list_exemplars(principal: UpReader, session: DbSession, paging: Paging,
                         unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                         movement_id: UUID | None = None, kind: ExemplarKind | None = None,
                         withdrawn: bool = False) -> Page[ExemplarOut]:
    path = (await locate(session, principal, unit, hierarchy, ancestors_ok=True)).path if unit else None
    return await paginate(session, repository.exemplars(principal, path, movement_id, kind, withdrawn), paging,
                          exemplar_out)


@router.post("/exemplars/{exemplar_id}/withdrawal", response_model=ExemplarOut, responses=problems(404, 409),
             summary="Withdraw a recognition (reports stop counting the model)")
async def withdraw(exemplar_id: UUID, body: Withdrawal, principal: Writer, session: DbSession) -> ExemplarOut:
    return exemplar_out(await service.withdraw(session, exemplar_id, body))
