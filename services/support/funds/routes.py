"""The "Vì người nghèo" fund ledger: /support/funds/..."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.support.deliveries.rules import million_vnd
from services.support.dependencies import (
    XLSX,
    DateFrom,
    DateTo,
    DbSession,
    Hierarchy,
    IdempotencyKey,
    Page,
    Paging,
    Period,
    Reader,
    UnitCode,
    Writer,
    etag_of,
    file_answer,
    idempotent,
    paginate,
    problems,
)
from services.support.funds import export, repository, service
from services.support.funds.combiner import SpendCombiner
from services.support.funds.models import Fund, FundEntry
from services.support.funds.schemas import (
    DonationIn,
    EntryOut,
    FundIn,
    FundOut,
    RefundIn,
    ReversalIn,
    SpendIn,
    StatementOut,
    TransferIn,
)
from services.support.households import repository as units
from shared.principal import Principal

router = APIRouter(prefix="/support/funds", tags=["support funds"])


def spends(request: Request) -> SpendCombiner:
    """The process's spend combiner, made at the first spend (it needs the app's database)."""
    combiner: SpendCombiner | None = getattr(request.app.state, "spend_combiner", None)
    if combiner is None:
        combiner = request.app.state.spend_combiner = SpendCombiner(request.app.state.db)
    return combiner


def fund_out(fund: Fund) -> FundOut:
    return FundOut.model_validate(fund, from_attributes=True)


def entry_out(entry: FundEntry) -> EntryOut:
    return EntryOut.model_validate(entry, from_attributes=True)


def _entry_json(entry: FundEntry, fund_id: UUID) -> JSONResponse:
    return JSONResponse(entry_out(entry).model_dump(mode="json"), status_code=201,
                        headers={"Location": f"/support/funds/{fund_id}/entries/{entry.id}"})


async def _ledger_write(request: Request, session: AsyncSession, principal: Principal, fund_id: UUID,
                        write: Callable[[Fund], Awaitable[FundEntry]]) -> Response:
    """A write to one fund's ledger: the fund read in the caller's scope (404), the entry `write` records
    answered 201 with its Location; a retry with the same Idempotency-Key answers the same."""
    async def run() -> Response:
        fund = await service.load(session, fund_id)
        return _entry_json(await write(fund), fund.id)

    return await idempotent(request, session, principal, run)


@router.post("", status_code=201, response_model=FundOut, responses=problems(404, 409),
             summary="Open the fund of a unit (one per unit; its level is the unit's)")
async def open_fund(body: FundIn, request: Request, principal: Writer, session: DbSession,
                    idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        fund = await service.open_fund(session, principal, body)
        return JSONResponse(fund_out(fund).model_dump(mode="json"), status_code=201,
                            headers={"Location": f"/support/funds/{fund.id}", "ETag": etag_of(fund.version)})

    return await idempotent(request, session, principal, run)


@router.get("", response_model=Page[FundOut], responses=problems(404), summary="Funds in your scope")
async def list_funds(principal: Reader, session: DbSession, paging: Paging,
                     unit: UnitCode = None, hierarchy: Hierarchy = None) -> Page[FundOut]:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    return await paginate(session, repository.funds(path), paging, fund_out)


@router.get("/{fund_id}", response_model=FundOut, responses=problems(404), summary="A fund and its balance")
async def get_fund(fund_id: UUID, principal: Reader, session: DbSession) -> Response:
    fund = await service.load(session, fund_id)
    return JSONResponse(fund_out(fund).model_dump(mode="json"), headers={"ETag": etag_of(fund.version)})


@router.post("/{fund_id}/donations", status_code=201, response_model=EntryOut,
             responses={**problems(404), 409: {"description": "The receipt number is already recorded in this fund "
                                                              "(`duplicate_receipt`, with `entry_id`)"}},
             summary="Record a donation into the fund (Idempotency-Key accepted)")
async def donate(fund_id: UUID, body: DonationIn, request: Request, principal: Writer, session: DbSession,
                 idempotency_key: IdempotencyKey = None) -> Response:
    return await _ledger_write(request, session, principal, fund_id,
                               lambda fund: service.donate(session, principal, fund, body))


@router.post("/{fund_id}/spends", status_code=201, response_model=EntryOut,
             responses={**problems(404), 409: {"description": "The balance does not hold the amount on every day "
                                                              "from `occurred_on` on (unchanged)"}},
             summary="Spend from the fund; never below zero on any day (Idempotency-Key accepted)",
             description="Concurrent spends of one fund are serialised by the fund's row: when two officers spend "
                         "the last money, one succeeds and the other gets 409 `insufficient_balance`.")
async def spend(fund_id: UUID, body: SpendIn, request: Request, principal: Writer,
                idempotency_key: IdempotencyKey = None) -> Response:
    # A plain spend waits for the fund's next combined transaction; one linked to a delivery (read in the
    # caller's scope) or with a key (claimed in the same transaction) takes its own. No session otherwise:
    # a request waiting on the combiner must not hold one of the pool's connections.
    if idempotency_key is None and body.delivery_id is None:
        service.check_spend(body)
        return _entry_json(await spends(request).spend(principal, fund_id, body), fund_id)
    async with request.app.state.db.session(principal) as session:
        async def run() -> Response:
            return _entry_json(await service.spend(session, principal, fund_id, body), fund_id)

        answer = await idempotent(request, session, principal, run)
    return answer


@router.post("/{fund_id}/refunds", status_code=201, response_model=EntryOut,
             responses={**problems(404), 409: {"description": "More than what of the spend has not come back yet, or "
                                                              "the receipt number is already recorded"}},
             summary="Money of a spend coming back into the fund (Idempotency-Key accepted)",
             description="`spend_entry_id` names a spend of this fund; the refunds of one spend never exceed it "
                         "(409 `refund_exceeds_spend` with `refundable_vnd`; concurrent refunds are serialised on "
                         "the spend). Emits `support.fund.refunded`.")
async def refund(fund_id: UUID, body: RefundIn, request: Request, principal: Writer, session: DbSession,
                 idempotency_key: IdempotencyKey = None) -> Response:
    return await _ledger_write(request, session, principal, fund_id,
                               lambda fund: service.refund(session, principal, fund, body))


@router.post("/{fund_id}/transfers", status_code=201, response_model=EntryOut,
             responses={**problems(404), 409: {"description": "The balance does not hold the amount on every day "
                                                              "from `occurred_on` on (unchanged)"}},
             summary="Pass money to the fund of a unit below (Idempotency-Key accepted)")
async def transfer(fund_id: UUID, body: TransferIn, request: Request, principal: Writer,
                   session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    return await _ledger_write(request, session, principal, fund_id,
                               lambda fund: service.transfer(session, principal, fund, body))


@router.post("/{fund_id}/entries/{entry_id}/reversal", status_code=201, response_model=EntryOut,
             responses={**problems(404), 409: {"description": "Already reversed, money spent since, or a spend "
                                                              "with refunds standing (nothing recorded)"}},
             summary="Reverse a mistaken entry: a reversal entry of the opposite amount (Idempotency-Key accepted)",
             description="`entry_id` names a donation, spend, refund or transfer out of this fund (a transfer is "
                         "reversed from its sending side, both lines at once). 409 `already_reversed`; 409 "
                         "`insufficient_balance` when money going back out (a donation's reversal) was spent since; "
                         "409 `spend_has_refunds` (reverse the refunds first). Emits `support.fund.reversed`.")
async def reverse(fund_id: UUID, entry_id: UUID, body: ReversalIn, request: Request, principal: Writer,
                  session: DbSession, idempotency_key: IdempotencyKey = None) -> Response:
    return await _ledger_write(request, session, principal, fund_id,
                               lambda fund: service.reverse(session, principal, fund, entry_id, body))


@router.get("/{fund_id}/entries", response_model=Page[EntryOut], responses=problems(404),
            summary="The fund's ledger entries, oldest first")
async def list_entries(fund_id: UUID, principal: Reader, session: DbSession, paging: Paging,
                       date_from: DateFrom = None, date_to: DateTo = None) -> Page[EntryOut]:
    fund = await service.load(session, fund_id)
    return await paginate(session, repository.entries(fund.id, date_from, date_to), paging, entry_out)


@router.get("/{fund_id}/statement", response_model=StatementOut, responses={**problems(404), **file_answer(XLSX)},
            summary="The statement of a period: opening, in, out, closing and the entries (JSON or XLSX)")
async def fund_statement(fund_id: UUID, principal: Reader, session: DbSession, period: Period,
                         format: Literal["json", "xlsx"] = "json") -> Response:
    fund = await service.load(session, fund_id)
    start, end = period
    figures = await service.statement(session, fund, start, end)
    if format == "xlsx":
        return Response(export.render_xlsx(figures), media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="sao-ke-quy-{fund.unit_code}-{start}-{end}.xlsx"'})
    money = ("opening_vnd", "in_vnd", "out_vnd", "closing_vnd")
    out = StatementOut.model_validate({
        "fund": fund_out(fund), "date_from": start, "date_to": end, **{k: figures[k] for k in money},
        **{k.replace("_vnd", "_million_vnd"): million_vnd(figures[k]) for k in money},
        "entries": [entry_out(e) for e in figures["entries"]]})
    return JSONResponse(out.model_dump(mode="json", by_alias=True))
