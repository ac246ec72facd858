"""Movements, the documents that launched or steered them, and counted activities."""

from __future__ import annotations

from functools import partial
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.emulation.dependencies import (
    DbSession,
    Hierarchy,
    IdempotencyKey,
    IfMatch,
    Page,
    Paging,
    Reader,
    UnitQuery,
    UpReader,
    Writer,
    Year,
    check_if_match,
    created,
    idempotent,
    paginate,
    problems,
    set_etag,
)
from services.emulation.models import Activity, Document, Movement
from services.emulation.movements import repository, rules, service
from services.emulation.movements.schemas import (
    ActivityIn,
    ActivityKindCode,
    ActivityOut,
    DocumentIn,
    DocumentOut,
    MovementEdit,
    MovementIn,
    MovementOut,
)
from services.emulation.units.service import locate

router = APIRouter(prefix="/emulation", tags=["movements"])


def movement_out(m: Movement) -> MovementOut:
    return MovementOut.model_validate(m, from_attributes=True)


def document_out(d: Document) -> DocumentOut:
    return DocumentOut(id=d.id, movement_id=d.movement_id, unit_path=d.unit_path, doc_type=d.doc_type,
                       doc_type_name=rules.DOC_TYPES[d.doc_type], number=d.number, issued_on=d.issued_on,
                       issuing_body=d.issuing_body, summary=d.summary, signer=d.signer,
                       launches_movement=d.launches_movement)


def activity_out(a: Activity) -> ActivityOut:
    kind = rules.ACTIVITY_KINDS[a.kind]
    return ActivityOut(id=a.id, movement_id=a.movement_id, unit_path=a.unit_path, kind=a.kind, kind_name=kind.name,
                       measure=kind.measure, held_on=a.held_on, year=a.year, count=a.count,
                       participants=a.participants, title=a.title, removed=a.removed)


@router.get("/activity-kinds", summary="The catalogue of counted activity kinds and document types")
async def activity_kinds(_: Reader) -> dict[str, Any]:
    return {"activity_kinds": [{"code": c, "name": k.name, "group": k.group, "measure": k.measure,
                                "participants": k.participants} for c, k in rules.ACTIVITY_KINDS.items()],
            "document_types": [{"code": c, "name": n} for c, n in rules.DOC_TYPES.items()],
            "phase_kinds": [{"code": c, "name": n} for c, n in rules.PHASE_KINDS.items()]}


@router.post("/movements", status_code=201, response_model=MovementOut, responses=problems(404),
             summary="Launch a movement for a unit (with the document that launched it)")
async def launch(body: MovementIn, request: Request, principal: Writer, session: DbSession,
                 idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        item = await service.launch(session, principal, body)
        return created(movement_out(item), f"/emulation/movements/{item.id}", item.version)
    return await idempotent(request, session, principal, run)


@router.get("/movements", response_model=Page[MovementOut], responses=problems(404),
            summary="Movements of your units, the units above (that you take part in) and below")
async def list_movements(principal: UpReader, session: DbSession, paging: Paging,
                         unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                         year: Year = None) -> Page[MovementOut]:
    path = (await locate(session, principal, unit, hierarchy, ancestors_ok=True)).path if unit else None
    return await paginate(session, repository.movements(principal, path, year), paging, movement_out)


@router.get("/movements/{movement_id}", response_model=MovementOut, responses=problems(404),
            summary="A movement: period, phases, objectives")
async def read_movement(movement_id: UUID, principal: Reader, session: DbSession, response: Response) -> MovementOut:
    item = await repository.movement(session, principal, movement_id)
    set_etag(response, item.version)
    return movement_out(item)


@router.patch("/movements/{movement_id}", response_model=MovementOut, responses=problems(404, 412, 428),
              summary="Change a movement's name, description, end, objectives or phases (If-Match)")
async def edit_movement(movement_id: UUID, body: MovementEdit, principal: Writer, session: DbSession,
                        response: Response, if_match: IfMatch = None) -> MovementOut:
    item = await service.edit(session, principal, movement_id, body, partial(check_if_match, if_match))
    set_etag(response, item.version)
    return movement_out(item)


@router.post("/movements/{movement_id}/documents", status_code=201, response_model=DocumentOut,
             responses=problems(404), summary="Record a document a unit issued under the movement")
async def issue_document(movement_id: UUID, body: DocumentIn, request: Request, principal: Writer,
                         session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        doc = await service.issue_document(session, principal, movement_id, body)
        return created(document_out(doc), f"/emulation/movements/{movement_id}/documents")
    return await idempotent(request, session, principal, run)


@router.get("/movements/{movement_id}/documents", response_model=Page[DocumentOut], responses=problems(404),
            summary="Documents that launched or steered the movement, at any level you may see")
async def list_documents(movement_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                         unit: UnitQuery = None,
                         hierarchy: Hierarchy | None = None) -> Page[DocumentOut]:
    await repository.movement(session, principal, movement_id)
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.documents(principal, movement_id, path), paging, document_out)


@router.post("/movements/{movement_id}/activities", status_code=201, response_model=ActivityOut,
             responses=problems(404), summary="Record a counted activity (broadcasts, news items, conferences, ...)")
async def record_activity(movement_id: UUID, body: ActivityIn, request: Request, principal: Writer,
                          session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        item = await service.record_activity(session, principal, movement_id, body)
        return created(activity_out(item), f"/emulation/activities/{item.id}")
    return await idempotent(request, session, principal, run)


@router.get("/movements/{movement_id}/activities", response_model=Page[ActivityOut], responses=problems(404),
            summary="Activities of your units (and below) under the movement")
async def list_activities(movement_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                          unit: UnitQuery = None, hierarchy: Hierarchy | None = None,
                          year: Year = None, kind: ActivityKindCode | None = None) -> Page[ActivityOut]:
    await repository.movement(session, principal, movement_id)
    path = (await locate(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.activities(movement_id, path, year, kind), paging, activity_out)


@router.delete("/activities/{activity_id}", response_model=ActivityOut, responses=problems(404, 409),
               summary="Remove an activity recorded by mistake (reports stop counting it)")
async def remove_activity(activity_id: UUID, principal: Writer, session: DbSession) -> ActivityOut:
    return activity_out(await service.remove_activity(session, activity_id))
