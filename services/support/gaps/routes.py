"""Coverage gaps: /support/gaps/... — paged JSON, or the whole list as a file (`format=csv` or `xlsx`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Select

from services.support.dependencies import (
    XLSX,
    DbSession,
    Exporter,
    Hierarchy,
    Page,
    Paging,
    Period,
    UnitCode,
    Year,
    paginate,
    problems,
)
from services.support.gaps import export, repository, rules, service
from services.support.gaps.schemas import (
    DELIVERY_COLUMNS,
    DEPRIVED_COLUMNS,
    HOUSEHOLD_COLUMNS,
    DeliveryGap,
    DeprivedHouseholdGap,
    HealthInsuranceGapPage,
    HouseholdGap,
)
from services.support.households import repository as units
from shared import clock
from shared.errors import Problem
from shared.pagination import batches, count
from shared.principal import Principal

router = APIRouter(prefix="/support/gaps", tags=["support coverage gaps"])
Format = Literal["json", "csv", "xlsx"]
CSV = "text/csv; charset=utf-8"
# `format=csv` / `xlsx` answer the whole list as a file: the document lists those media types beside the
# JSON page; 413 when the list is longer than an XLSX sheet holds.
ANSWERS: dict[int | str, dict[str, Any]] = {
    **problems(404), 413: {"description": "format=xlsx: the list has more rows than an XLSX sheet holds "
                                          "(the detail gives the count); format=csv holds any length"},
    200: {"content": {"text/csv": {"schema": {"type": "string"}},
                      XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _household(row: Any) -> HouseholdGap:
    return HouseholdGap(household_id=str(row.id), household_code=row.household_code, commune_code=row.commune_code,
                        unit_path=row.unit_path, status=row.status)


def _deprived(row: Any) -> DeprivedHouseholdGap:
    return DeprivedHouseholdGap(**_household(row).model_dump(), deprived_indicators=list(row.deprived_indicators or []))


def _delivery(row: Any) -> DeliveryGap:
    delivery, household, transition, recognised = row
    return DeliveryGap(delivery_id=str(delivery.id), delivered_on=delivery.delivered_on,
                       programme=delivery.programme, amount_vnd=delivery.amount_vnd, household_id=str(household.id),
                       household_code=household.household_code, unit_path=delivery.unit_path,
                       status=household.status, transition=transition.transition, review_year=transition.review_year,
                       recognised_on=recognised)


async def _items(rows: AsyncIterator[list[Any]], to_item: Callable[[Any], BaseModel]) -> AsyncIterator[list[BaseModel]]:
    async for batch in rows:
        yield [to_item(r) for r in batch]


async def _answer(request: Request, principal: Principal, session: DbSession, query: Select[Any], paging: Paging,
                  to_item: Callable[[Any], Any], fmt: Format, columns: Mapping[str, str], name: str,
                  sheet: str) -> Any:
    """The page as JSON, or the whole list as a file: CSV streamed from a cursor as it is read (in a
    session of its own: the request's closes when this returns), XLSX built first (a sheet has a
    limit: 413 with the count above it)."""
    if fmt == "json":
        return await paginate(session, query, paging, to_item)
    if fmt == "csv":
        rows = service.batches_in_own_session(request.app.state.db, principal, query)
        return StreamingResponse(export.csv_chunks(_items(rows, to_item), columns), media_type=CSV,
                                 headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if (refusal := rules.xlsx_too_many(await count(session, query))) is not None:
        raise Problem(413, "export_too_large", "Too many rows for XLSX", refusal)
    handle, size = await export.xlsx_file(_items(batches(session, query, service.BATCH), to_item), columns, sheet)
    return StreamingResponse(export.file_chunks(handle), media_type=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}.xlsx"', "Content-Length": str(size)})


@router.get("/health-insurance", response_model=HealthInsuranceGapPage, responses=ANSWERS,
            summary="Poor and near-poor households without a health-insurance card delivery this year",
            description="Only household deliveries close a household's gap. Cards recorded as aggregate batches "
                        "(seed 003: \"1.405 thẻ\") name no household: the JSON answer counts them beside the list "
                        "(`aggregate_deliveries`, `aggregate_cards`, `aggregate_households`) so that a gap next to "
                        "a batch reads as \"not matched\", not as \"never received\". `format=csv` or `xlsx`: "
                        "the whole list, with Vietnamese column titles.")
async def health_insurance_gap(request: Request, principal: Exporter, session: DbSession, paging: Paging,
                               unit: UnitCode = None, hierarchy: Hierarchy = None, year: Year = None,
                               format: Format = "json") -> Any:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    year = year or clock.today().year
    programmes = await service.programmes_of_category(session, "health_insurance")
    query = repository.without_programme(path, rules.HEALTH_INSURANCE_STATUSES, programmes, year)
    answer = await _answer(request, principal, session, query, paging, _household, format, HOUSEHOLD_COLUMNS,
                           f"thieu-the-bhyt-{year}", f"Thiếu thẻ BHYT {year}")
    if format != "json":
        return answer
    return HealthInsuranceGapPage(**answer.model_dump(), **await service.aggregate_cards(session, path, programmes,
                                                                                         year))


@router.get("/housing", response_model=Page[DeprivedHouseholdGap], responses=ANSWERS,
            summary="Poor households with a temporary or damaged house and no housing support in the period",
            description="Poor households whose newest assessment finds them deprived in `housing_quality` (the "
                        "registry's indicator for a temporary or damaged house, in every standard) with no recorded "
                        "household delivery of a programme of category `housing` in the period. `format=csv` or "
                        "`xlsx`: the whole list, with Vietnamese column titles.")
async def housing_gap(request: Request, principal: Exporter, session: DbSession, paging: Paging, period: Period,
                      unit: UnitCode = None, hierarchy: Hierarchy = None, format: Format = "json") -> Any:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    start, end = period
    programmes = await service.programmes_of_category(session, "housing")
    query = repository.deprived_without_programme(path, rules.HOUSING_STATUSES, rules.HOUSING_INDICATORS, programmes,
                                                  start, end)
    return await _answer(request, principal, session, query, paging, _deprived, format, DEPRIVED_COLUMNS,
                         f"thieu-ho-tro-nha-o-{start.isoformat()}-{end.isoformat()}", "Nhà tạm, dột nát chưa hỗ trợ")


@router.get("/escaped-still-supported", response_model=Page[DeliveryGap], responses=ANSWERS,
            summary="Households that escaped poverty at a review and still get poor-only support",
            description="`format=csv` or `xlsx`: the whole list, with Vietnamese column titles.")
async def escaped_still_supported(request: Request, principal: Exporter, session: DbSession, paging: Paging,
                                  unit: UnitCode = None, hierarchy: Hierarchy = None,
                                  review_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                                  format: Format = "json") -> Any:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    year = review_year or clock.today().year
    query = repository.escaped_still_supported(path, year, await service.poor_only_programmes(session))
    return await _answer(request, principal, session, query, paging, _delivery, format, DELIVERY_COLUMNS,
                         f"thoat-ngheo-van-huong-{year}", f"Thoát nghèo vẫn hưởng {year}")
