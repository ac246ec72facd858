"""Body activities: /support/activities/..."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.support import history
from services.support.activities import repository, service
from services.support.activities.models import Activity, ActivityHistory
from services.support.activities.schemas import ActivityIn, ActivityOut, VoidIn
from services.support.dependencies import (
    AnyYear,
    DbSession,
    Hierarchy,
    IdempotencyKey,
    IfMatch,
    Page,
    Paging,
    Reader,
    RecordAnswers,
    UnitCode,
    Writer,
    check_if_match,
    idempotent,
    paginate,
    problems,
)
from services.support.households import repository as units

router = APIRouter(prefix="/support/activities", tags=["support activities"])


def out(item: Activity) -> ActivityOut:
    return ActivityOut.model_validate(item, from_attributes=True)


_json = RecordAnswers(out, "/support/activities")


@router.post("", status_code=201, response_model=ActivityOut, responses=problems(404),
             summary="Record a body's activity and its counted measures (Idempotency-Key accepted)")
async def record_activity(body: ActivityIn, request: Request, principal: Writer, session: DbSession,
                          idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        return _json(await service.record(session, principal, body), created=True)

    return await idempotent(request, session, principal, run)


@router.get("", response_model=Page[ActivityOut], responses=problems(404), summary="Activities in your scope")
async def list_activities(principal: Reader, session: DbSession, paging: Paging,
                          unit: UnitCode = None, hierarchy: Hierarchy = None, body: str | None = None,
                          kind: str | None = None, year: AnyYear = None,
                          include_voided: bool = False) -> Page[ActivityOut]:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    query = repository.activities(path, body=body, kind=kind, year=year, include_voided=include_voided)
    return await paginate(session, query, paging, out)


@router.get("/{activity_id}", response_model=ActivityOut, responses=problems(404), summary="An activity")
async def get_activity(activity_id: UUID, principal: Reader, session: DbSession) -> Response:
    return _json(await service.load(session, activity_id))


@router.post("/{activity_id}/void", response_model=ActivityOut, responses=problems(404, 409, 412, 428),
             summary="Void an activity with a reason (If-Match required)")
async def void_activity(activity_id: UUID, body: VoidIn, principal: Writer, session: DbSession,
                        if_match: IfMatch = None) -> Response:
    item = await service.load(session, activity_id, lock=True)
    check_if_match(if_match, item.version)
    return _json(await service.void(session, principal, item, body.reason))


@router.get("/{activity_id}/history", response_model=Page[history.HistoryOut], responses=problems(404),
            summary="Every change of an activity (recorded, voided): who, when, why, before and after")
async def activity_history(activity_id: UUID, principal: Reader, session: DbSession,
                           paging: Paging) -> Page[history.HistoryOut]:
    item = await service.load(session, activity_id)
    return await history.page(session, paging, ActivityHistory, activity_id=item.id)
