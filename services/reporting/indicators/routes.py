"""`GET /reporting/indicators/poverty` (JSON, or `?format=csv|xlsx`) and its `.csv` / `.xlsx` twins."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from services.reporting.indicators.export import to_csv, to_xlsx, years_label
from services.reporting.indicators.schemas import PovertyAnswer, PovertyQuery
from services.reporting.indicators.service import poverty_report
from shared.http import DbSession, require
from shared.openapi import problems
from shared.permissions import INDICATORS_READ
from shared.principal import Principal

router = APIRouter(prefix="/reporting/indicators", tags=["indicators"])
Reader = Annotated[Principal, Depends(require(INDICATORS_READ, timeout=120))]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Format = Literal["json", "csv", "xlsx"]


def poverty_query(
    unit: Annotated[str | None, Query(description="Unit code (with `hierarchy`) or path, e.g. 24 or v2008.24.213;"
                                      " default: your scope unit", max_length=160)] = None,
    hierarchy: Annotated[str | None, Query(description="v2008 (before 1 July 2025) or v2025 (current)")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="Review year (default: latest with data)")] = None,
    year_from: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    year_to: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> PovertyQuery:
    return PovertyQuery(unit=unit, hierarchy=hierarchy, year=year, year_from=year_from, year_to=year_to)


Params = Annotated[PovertyQuery, Depends(poverty_query)]


async def _report(principal: Principal, session: DbSession, q: PovertyQuery) -> dict[str, Any]:
    return await poverty_report(session, principal, q.unit, q.hierarchy, q.year, q.year_from, q.year_to)


def _file_name(report: dict[str, Any], extension: str) -> str:
    years = years_label(report)
    return f"chi-tieu-ho-ngheo_{report['hierarchy']}_{report['unit']['code']}_{years}.{extension}"


def _render(report: dict[str, Any], fmt: Format) -> Response:
    as_of = report["current_as_of"]
    headers = {"X-Current-As-Of-Stream-Seq": str(as_of["stream_seq"] or 0)}
    if fmt == "json":
        return Response(orjson.dumps(report), media_type="application/json", headers=headers)
    headers["Content-Disposition"] = f'attachment; filename="{_file_name(report, fmt)}"'
    if fmt == "csv":
        return Response(to_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(to_xlsx(report), media_type=XLSX, headers=headers)


@router.get("/poverty", summary="Poverty indicators of a unit and its child units",
            responses={200: {"model": PovertyAnswer, "content": {"text/csv": {}, XLSX: {}}}, **problems(404)})
async def poverty(principal: Reader, session: DbSession, q: Params, format: Format = "json") -> Response:
    """Households, poor and near-poor counts and rates (ratios of sums, percent), change against the
    previous year in percentage points, breakdowns and transitions, for the unit and each child unit.
    `current_as_of` says up to which registry event the figures are current."""
    return _render(await _report(principal, session, q), format)


@router.get("/poverty.csv", summary="The poverty indicator table as CSV (Vietnamese headers)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}, **problems(404)})
async def poverty_csv(principal: Reader, session: DbSession, q: Params) -> Response:
    return _render(await _report(principal, session, q), "csv")


@router.get("/poverty.xlsx", summary="The poverty indicator table as XLSX (Vietnamese headers)",
            response_class=Response, responses={200: {"content": {XLSX: {}}}, **problems(404)})
async def poverty_xlsx(principal: Reader, session: DbSession, q: Params) -> Response:
    return _render(await _report(principal, session, q), "xlsx")
