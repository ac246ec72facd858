"""`GET /reporting/completeness`: who must report, who did, on time or late, and who is overdue."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Query, Response

from services.reporting.completeness.service import completeness
from shared.http import DbSession, require
from shared.openapi import problems
from shared.pagination import PageParams, page_params
from shared.permissions import REPORTS_READ
from shared.principal import Principal

router = APIRouter(prefix="/reporting", tags=["reports"])
Reader = Annotated[Principal, Depends(require(REPORTS_READ))]


@router.get("/completeness", summary="Completeness and timeliness of a report type and period under a unit",
            response_class=Response, responses={200: {"content": {"application/json": {}}}, **problems(404)})
async def reporting_completeness(
    principal: Reader, session: DbSession, paging: Annotated[PageParams, Depends(page_params)],
    type: Annotated[str, Query(max_length=16, description="annual, monthly, midterm or final")],
    period: Annotated[str, Query(max_length=64, description="2024, 2024-03, or a movement id")],
    unit: Annotated[str | None, Query(max_length=160, description="Unit code (with `hierarchy`) or path; "
                                                                  "default: your scope unit")] = None,
    hierarchy: Annotated[str | None, Query(description="v2008 or v2025")] = None,
) -> Response:
    """Expected reports (units below the unit that must report, valid on the due date) are the
    denominator; submitted, on time (first submitted by the due date), accepted, returned, missing;
    per level, per child unit rolled up, and the overdue units (paged with `limit`/`offset`)."""
    body = await completeness(session, principal, unit, hierarchy, type, period, paging)
    return Response(orjson.dumps(body), media_type="application/json")
