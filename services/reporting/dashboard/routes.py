"""`GET /reporting/dashboard`: the data of an officer's dashboard for a unit and a year (dashboard.service)."""

from __future__ import annotations

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from services.reporting.dashboard.service import dashboard
from shared.http import DbSession, require
from shared.openapi import problems
from shared.permissions import INDICATORS_READ
from shared.principal import Principal

router = APIRouter(prefix="/reporting", tags=["dashboard"])
Reader = Annotated[Principal, Depends(require(INDICATORS_READ))]


@router.get("/dashboard", summary="Dashboard data: poverty against targets, support, funds, completeness, ranking",
            response_class=Response, responses={200: {"content": {"application/json": {}}}, **problems(404)})
async def officer_dashboard(
    principal: Reader, session: DbSession, request: Request,
    unit: Annotated[str | None, Query(max_length=160, description="Unit code (with `hierarchy`) or path; "
                                                                  "default: your scope unit")] = None,
    hierarchy: Annotated[str | None, Query(description="v2008 or v2025")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Default: this year")] = None,
    month: Annotated[int | None, Query(ge=1, le=12, description="Completeness of that month's review report "
                                                               "instead of the year's annual report")] = None,
    review: Annotated[Literal["midterm", "final"] | None,
                      Query(description="Completeness of a movement's mid-term (sơ kết) or final (tổng kết) "
                                        "review instead (with `movement`)")] = None,
    movement: Annotated[str | None, Query(max_length=64, description="The movement of `review` (the "
                                          "answer's `movements` lists those covering the unit)")] = None,
) -> Response:
    """docs/reporting.md "Dashboard data" describes every field."""
    body = await dashboard(session, request.app.state.dashboard_cache, principal, unit, hierarchy, year, month,
                           review, movement)
    return Response(orjson.dumps(body), media_type="application/json")
