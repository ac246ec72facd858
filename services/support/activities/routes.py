"""Body activities: /support/activities/..."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from services.support.activities import service
from services.support.activities.models import Activity
from services.support.activities.schemas import ActivityIn, ActivityOut, VoidIn
from services.support.households import repository as units
from shared import permissions
from shared.db import scope_clause
from shared.etag import check_if_match, versioned_json
from shared.http import DbSession, require
from shared.idempotency import idempotent
from shared.openapi import problems
from shared.pagination import Page, PageParams, page_params, paginate
from shared.principal import Principal

router = APIRouter(prefix="/support/activities", tags=["support activities"])
Reader = Annotated[Principal, Depends(require(permissions.SUPPORT_READ))]
Writer = Annotated[Principal, Depends(require(permissions.SUPPORT_WRITE))]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="the ETag you last read; required (428 without it)")]


def out(item: Activity) -> ActivityOut:
    return ActivityOut.model_validate(item, from_attributes=True)


def _json(item: Activity, status: int = 200) -> JSONResponse:
    return versioned_json(out(item), item.version, status, f"/support/activities/{item.id}" if status == 201 else None)


@router.post("", status_code=201, response_model=ActivityOut, responses=problems(404),
             summary="Record a body's activity and its counted measures (Idempotency-Key accepted)")
async def record_activity(body: ActivityIn, request: Request, principal: Writer, session: DbSession) -> Response:
    async def run() -> Response:
        return _json(await service.record(session, principal, body), 201)

    return await idempotent(request, session, principal, run)


@router.get("", response_model=Page[ActivityOut], responses=problems(404), summary="Activities in your scope")
async def list_activities(principal: Reader, session: DbSession, paging: Paging,
                          unit: Annotated[str | None, Query(description="a unit's code (its subtree)")] = None,
                          hierarchy: Annotated[str | None, Query(pattern="^v(2008|2025)$")] = None,
                          body: str | None = None, kind: str | None = None,
                          year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                          include_voided: bool = False) -> Page[ActivityOut]:
    query = select(Activity).order_by(Activity.period_to.desc(), Activity.id)
    if unit:
        path = (await units.visible_unit(session, principal, unit, hierarchy)).path
        query = query.where(scope_clause(Activity.unit_path, [path]))
    for column, value in ((Activity.body, body), (Activity.kind, kind), (Activity.year, year)):
        if value is not None:
            query = query.where(column == value)
    if not include_voided:
        query = query.where(Activity.status == "recorded")
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
