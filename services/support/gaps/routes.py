"""Coverage gaps: /support/gaps/... — paged JSON, or the whole list as CSV (`format=csv`)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from services.support.dependencies import (
    DbSession,
    Hierarchy,
    Page,
    PageParams,
    Paging,
    Period,
    Reader,
    UnitCode,
    Year,
    paginate,
    problems,
)
from services.support.gaps import repository, service
from services.support.households import repository as units
from shared import clock
from shared.text import neutralise_formula

router = APIRouter(prefix="/support/gaps", tags=["support coverage gaps"])
Format = Literal["json", "csv"]
CSV_LIMIT = 100_000  # an export holds a commune's or a district's list whole
# `format=csv` answers the whole list as CSV: the document lists that media type beside the JSON page.
ANSWERS: dict[int | str, dict[str, Any]] = {
    **problems(404), 200: {"content": {"text/csv": {"schema": {"type": "string"}}}}}


class HouseholdGap(BaseModel):
    household_id: str
    household_code: str | None
    commune_code: str
    unit_path: str
    status: str | None


class HealthInsuranceGapPage(Page[HouseholdGap]):
    """The households without a card, and beside them what aggregate batches reported for the same unit
    and year: those name no household and close no household's gap."""

    aggregate_deliveries: int = Field(description="recorded aggregate deliveries of health-insurance programmes in "
                                                  "the unit (or your scope) and below in the year")
    aggregate_cards: int = Field(description="the cards they count (measure `card`); not matched to any household")
    aggregate_households: int = Field(description="the households they say they reached; not matched either")


class DeprivedHouseholdGap(HouseholdGap):
    deprived_indicators: list[str]


class DeliveryGap(BaseModel):
    delivery_id: str
    delivered_on: str
    programme: str
    amount_vnd: int
    household_id: str
    household_code: str | None
    unit_path: str
    status: str | None
    transition: str | None
    review_year: int
    recognised_on: str = Field(description="the day the escape was recognised (only support from then on is listed)")


def _household(row: Any) -> HouseholdGap:
    return HouseholdGap(household_id=str(row.id), household_code=row.household_code, commune_code=row.commune_code,
                        unit_path=row.unit_path, status=row.status)


def _deprived(row: Any) -> DeprivedHouseholdGap:
    return DeprivedHouseholdGap(**_household(row).model_dump(), deprived_indicators=list(row.deprived_indicators or []))


def _delivery(row: Any) -> DeliveryGap:
    delivery, household, transition, recognised = row
    return DeliveryGap(delivery_id=str(delivery.id), delivered_on=delivery.delivered_on.isoformat(),
                       programme=delivery.programme, amount_vnd=delivery.amount_vnd, household_id=str(household.id),
                       household_code=household.household_code, unit_path=delivery.unit_path,
                       status=household.status, transition=transition.transition, review_year=transition.review_year,
                       recognised_on=recognised.isoformat())


def _cell(value: Any) -> Any:
    return ";".join(value) if isinstance(value, list) else value


async def _answer(session: DbSession, query: Any, paging: PageParams, to_item: Any, fmt: Format,
                  columns: Sequence[str], name: str) -> Any:
    if fmt == "json":
        return await paginate(session, query, paging, to_item)
    page = await paginate(session, query, PageParams(limit=CSV_LIMIT, offset=0), to_item)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for item in page.items:
        writer.writerow([neutralise_formula(_cell(getattr(item, c))) for c in columns])
    return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@router.get("/health-insurance", response_model=HealthInsuranceGapPage, responses=ANSWERS,
            summary="Poor and near-poor households without a health-insurance card delivery this year",
            description="Only household deliveries close a household's gap. Cards recorded as aggregate batches "
                        "(seed 003: \"1.405 thẻ\") name no household: the JSON answer counts them beside the list "
                        "(`aggregate_deliveries`, `aggregate_cards`, `aggregate_households`) so that a gap next to "
                        "a batch reads as \"not matched\", not as \"never received\".")
async def health_insurance_gap(principal: Reader, session: DbSession, paging: Paging, unit: UnitCode = None,
                               hierarchy: Hierarchy = None, year: Year = None, format: Format = "json") -> Any:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    year = year or clock.today().year
    programmes = await service.programmes_of_category(session, "health_insurance")
    query = repository.without_programme(path, ("poor", "near_poor"), programmes, year)
    answer = await _answer(session, query, paging, _household, format, tuple(HouseholdGap.model_fields),
                           f"thieu-the-bhyt-{year}")
    if format != "json":
        return answer
    return HealthInsuranceGapPage(**answer.model_dump(), **await service.aggregate_cards(session, path, programmes,
                                                                                         year))


@router.get("/housing", response_model=Page[DeprivedHouseholdGap], responses=ANSWERS,
            summary="Poor and near-poor households deprived in housing with no housing support in the period")
async def housing_gap(principal: Reader, session: DbSession, paging: Paging, period: Period, unit: UnitCode = None,
                      hierarchy: Hierarchy = None, format: Format = "json") -> Any:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    start, end = period
    programmes, indicators = await service.deprivations_of_category(session, "housing")
    query = repository.deprived_without_programme(path, ("poor", "near_poor"), indicators, programmes, start, end)
    return await _answer(session, query, paging, _deprived, format, tuple(DeprivedHouseholdGap.model_fields),
                         f"thieu-ho-tro-nha-o-{start.isoformat()}-{end.isoformat()}")


@router.get("/escaped-still-supported", response_model=Page[DeliveryGap], responses=ANSWERS,
            summary="Households that escaped poverty at a review and still get poor-only support")
async def escaped_still_supported(principal: Reader, session: DbSession, paging: Paging, unit: UnitCode = None,
                                  hierarchy: Hierarchy = None,
                                  review_year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                                  format: Format = "json") -> Any:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    year = review_year or clock.today().year
    query = repository.escaped_still_supported(path, year, await service.poor_only_programmes(session))
    return await _answer(session, query, paging, _delivery, format, tuple(DeliveryGap.model_fields),
                         f"thoat-ngheo-van-huong-{year}")
