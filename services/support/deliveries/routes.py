"""Deliveries: /support/deliveries/... and a household's support history."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from services.support import history
from services.support.catalogue import repository as catalogue
from services.support.deliveries import repository, rules, service
from services.support.deliveries.models import Delivery, DeliveryHistory
from services.support.deliveries.schemas import (
    AggregateDeliveryIn,
    DeliveryOut,
    DeliveryPatch,
    HouseholdDeliveryIn,
    VoidIn,
)
from services.support.dependencies import (
    AnyYear,
    DateFrom,
    DateTo,
    DbSession,
    Hierarchy,
    IdempotencyKey,
    IfMatch,
    Page,
    Paging,
    Period,
    Reader,
    RecordAnswers,
    UnitCode,
    Writer,
    check_if_match,
    idempotent,
    paginate,
    problems,
)
from services.support.households import repository as households
from shared.errors import not_found

router = APIRouter(prefix="/support", tags=["support deliveries"])


def out(delivery: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate({
        **{c: getattr(delivery, c) for c in DeliveryOut.model_fields if hasattr(delivery, c)},
        "amount_million_vnd": rules.million_vnd(delivery.amount_vnd)})


_json = RecordAnswers(out, "/support/deliveries")


@router.post("/deliveries", status_code=201, response_model=DeliveryOut, responses=problems(404),
             summary="Record support delivered to one household (eligibility checked)",
             description="Accepts `Idempotency-Key`. The household's recognised status (the registry's, as "
                         "its events told this service) must be one the programme serves: otherwise 422 "
                         "`not_eligible` naming the rule, unless `override_reason` is given by a role holding "
                         "`support.eligibility.override` (the delivery is then flagged `eligibility_exception`).")
async def record_household_delivery(body: HouseholdDeliveryIn, request: Request, principal: Writer,
                                    session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        return _json(await service.record_household(session, principal, body), created=True)

    return await idempotent(request, session, principal, run)


@router.post("/deliveries/aggregate", status_code=201, response_model=DeliveryOut, responses=problems(404),
             summary="Record a batch delivered in a unit without naming each household",
             description="Counts of households, persons and turns, quantities, the amount split by source. "
                         "Accepts `Idempotency-Key`.")
async def record_aggregate_delivery(body: AggregateDeliveryIn, request: Request, principal: Writer,
                                    session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        return _json(await service.record_aggregate(session, principal, body), created=True)

    return await idempotent(request, session, principal, run)


@router.get("/deliveries", response_model=Page[DeliveryOut], responses=problems(404),
            summary="Deliveries in your scope, filtered and paged (newest first)")
async def list_deliveries(
    principal: Reader, session: DbSession, paging: Paging, unit: UnitCode = None, hierarchy: Hierarchy = None,
    programme: str | None = None, source: Annotated[str | None, Query(description="a funding source's code")] = None,
    body: Annotated[str | None, Query(description="a delivering body's code")] = None,
    kind: Literal["household", "aggregate"] | None = None, status: Literal["recorded", "voided"] | None = None,
    household_id: UUID | None = None, date_from: DateFrom = None, date_to: DateTo = None,
) -> Page[DeliveryOut]:
    path = (await households.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    query = repository.deliveries(path, programme=programme, source=source, body=body, kind=kind, status=status,
                                  household_id=household_id, date_from=date_from, date_to=date_to)
    return await paginate(session, query, paging, out)


@router.get("/deliveries/totals", responses=problems(404),
            summary="Totals per programme × funding source × body for a unit and its descendants")
async def delivery_totals(principal: Reader, session: DbSession, period: Period, unit: UnitCode = None,
                          hierarchy: Hierarchy = None) -> dict[str, Any]:
    start, end = period
    paths = [(await households.visible_unit(session, principal, unit, hierarchy)).path] if unit \
        else principal.scope_paths
    rows = await repository.totals(session, paths, start, end)
    names = {(e.catalogue, e.code): e.name for e in await catalogue.entries(session)}
    return {"units": paths, "from": start.isoformat(), "to": end.isoformat(), **rules.totals_figures(rows, names)}


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut, responses=problems(404),
            summary="A delivery (ETag: its version)")
async def get_delivery(delivery_id: UUID, principal: Reader, session: DbSession) -> Response:
    return _json(await service.load(session, delivery_id))


@router.patch("/deliveries/{delivery_id}", response_model=DeliveryOut, responses=problems(404, 409, 412, 428),
              summary="Correct a delivery (If-Match with the ETag read required: 428 without it or with `*`; "
                      "the whole delivery is checked again)")
async def correct_delivery(delivery_id: UUID, body: DeliveryPatch, principal: Writer, session: DbSession,
                           if_match: IfMatch = None) -> Response:
    delivery = await service.load(session, delivery_id, lock=True)
    check_if_match(if_match, delivery.version, any_version=False)  # a correction is never a blind overwrite
    return _json(await service.correct(session, principal, delivery, body))


@router.post("/deliveries/{delivery_id}/void", response_model=DeliveryOut, responses=problems(404, 409, 412, 428),
             summary="Void a delivery with a reason (never deleted; If-Match required)")
async def void_delivery(delivery_id: UUID, body: VoidIn, principal: Writer, session: DbSession,
                        if_match: IfMatch = None) -> Response:
    delivery = await service.load(session, delivery_id, lock=True)
    check_if_match(if_match, delivery.version)
    return _json(await service.void(session, principal, delivery, body.reason))


@router.get("/deliveries/{delivery_id}/history", response_model=Page[history.HistoryOut], responses=problems(404),
            summary="Every change of a delivery: who, when, why, before and after")
async def delivery_history(delivery_id: UUID, principal: Reader, session: DbSession,
                           paging: Paging) -> Page[history.HistoryOut]:
    delivery = await service.load(session, delivery_id)
    return await history.page(session, paging, DeliveryHistory, delivery_id=delivery.id)


@router.get("/households/{household_id}/deliveries", response_model=Page[DeliveryOut], responses=problems(404),
            summary="What a household received (its support history), newest first")
async def household_deliveries(household_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                               year: AnyYear = None, include_voided: bool = False) -> Page[DeliveryOut]:
    if await households.household(session, household_id) is None:
        raise not_found("household", household_id)
    query = repository.deliveries(
        None, household_id=household_id, status=None if include_voided else rules.RECORDED,
        date_from=date(year, 1, 1) if year else None, date_to=date(year, 12, 31) if year else None)
    return await paginate(session, query, paging, out)
