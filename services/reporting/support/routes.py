"""`GET /reporting/support/totals`: support of a unit and its descendants in a year (support.service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from services.reporting.support.schemas import SupportTotals
from services.reporting.support.service import support_totals
from shared.http import DbSession, require
from shared.openapi import problems
from shared.permissions import INDICATORS_READ
from shared.principal import Principal

router = APIRouter(prefix="/reporting/support", tags=["support totals"])
Reader = Annotated[Principal, Depends(require(INDICATORS_READ))]


@router.get("/totals", response_model=SupportTotals, responses=problems(404),
            summary="Support delivered in a unit and its descendants: per programme, body and funding source")
async def totals(
    principal: Reader, session: DbSession,
    unit: Annotated[str | None, Query(description="Unit code (with `hierarchy`) or path; default: your scope unit",
                                      max_length=160)] = None,
    hierarchy: Annotated[str | None, Query(description="v2008 (before 1 July 2025) or v2025")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Year of the deliveries (default: this year)")]
    = None,
) -> dict[str, Any]:
    """Counts (deliveries, households, persons, turns) belong to a delivery; money is split by funding
    source; quantities by measure. Voided deliveries count nowhere; a corrected one counts as corrected.
    `current_as_of` says up to which support event the figures are current."""
    return await support_totals(session, principal, unit, hierarchy, year)
