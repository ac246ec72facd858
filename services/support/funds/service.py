"""Fund use cases: open a unit's fund, receive a donation, spend (never below zero on any day), refund,
transfer to a lower level's fund, reverse a mistaken entry, and a period's statement. One transaction
each, with its ledger entries and its event; a refused request changes no balance and writes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import vnn_fund_levels
from services.support.deliveries.models import Delivery
from services.support.deliveries.rules import RECORDED
from services.support.deliveries.service import load as load_delivery
from services.support.funds import repository, rules
from services.support.funds.models import Fund, FundEntry
from services.support.funds.schemas import DonationIn, FundIn, RefundIn, ReversalIn, SpendIn, TransferIn
from services.support.households import repository as units
from shared import clock
from shared.errors import Problem, conflict, forbidden, not_found
from shared.events import Event, uuid7
from shared.principal import Principal
from shared.scope import level_of, path_in_any, path_within


async def open_fund(session: AsyncSession, principal: Principal, body: FundIn) -> Fund:
    unit = await units.writable_unit(session, principal, body.unit, body.hierarchy)
    if await repository.fund_of_unit(session, unit.path) is not None:
        raise conflict("fund_exists", f"{unit.name or unit.code} already has its fund.", unit=unit.code)
    fund = Fund(unit_path=unit.path, unit_code=unit.code, level=level_of(unit.path),
                name=body.name or f'Quỹ "Vì người nghèo" {unit.name}'.strip(), balance_vnd=0, version=1,
                created_at=clock.now())
    session.add(fund)
    await session.flush()
    return fund


async def load(session: AsyncSession, fund_id: UUID) -> Fund:
    found = await repository.fund(session, fund_id)
    if found is None:
        raise not_found("fund", fund_id)
    return found


def _future(day: date) -> None:
    if day > clock.today():
        raise Problem(422, "validation_error", "Invalid request", f"occurred_on {day} is in the future",
                      errors=[{"field": "occurred_on", "reason": "in the future"}])


def _insufficient(fund: Fund, amount: int, day: date, lowest: rules.Lowest, balance: int | None = None) -> Problem:
    """409 `insufficient_balance`: the amount is more than the balance (field `amount_vnd`), or dated
    `day` it would leave a day from then on below zero (field `occurred_on`). `balance_vnd` is the
    fund's balance now, `available_vnd` what may go out dated `day`."""
    held = fund.balance_vnd if balance is None else balance
    low = lowest
    available = max(low.balance_vnd, 0)
    if amount > held:
        field, reason = "amount_vnd", f"more than the {held} VND the fund holds"
        detail = f"The fund holds {held} VND; {amount} VND cannot go out of it. Nothing was recorded."
    else:
        field = "occurred_on"
        reason = (f"dated {day}, it would leave the fund at {low.balance_vnd - amount} VND on {low.on}: at most "
                  f"{available} VND may go out dated {day}")
        detail = (f"The fund holds {held} VND now, but on {low.on} it held {low.balance_vnd} VND: {amount} VND "
                  f"going out dated {day} would leave it below zero that day. Nothing was recorded.")
    return conflict("insufficient_balance", detail, field=field, balance_vnd=held, available_vnd=available,
                    lowest_on=low.on.isoformat(), errors=[{"field": field, "reason": reason}])


async def _check_out(session: AsyncSession, fund: Fund, amount: int, day: date) -> None:
    """Money going out of a locked fund dated `day`: refused (409) when the balance of any day from
    `day` on would fall below zero. Dated on or after the fund's latest entry, that is the balance now;
    dated before it, the running balance of each later day (one grouped read under the row lock)."""
    later = (await repository.later_days(session, fund.id, day)
             if fund.latest_on is not None and day < fund.latest_on else [])
    lowest = rules.lowest_from(fund.balance_vnd, day, later)
    if amount > lowest.balance_vnd:
        raise _insufficient(fund, amount, day, lowest)


async def _locked(session: AsyncSession, fund_id: UUID) -> Fund:
    found = await repository.locked(session, fund_id)
    if found is None:
        raise not_found("fund", fund_id)
    return found


async def _take_out(session: AsyncSession, fund_id: UUID, amount: int, day: date) -> tuple[Fund, int, int]:
    """Money going out of a fund (a transfer, a backdated spend, a reversal of money in): the fund locked,
    every day from `day` on checked, the balance moved. The fund, its new balance and version."""
    fund = await _locked(session, fund_id)
    await _check_out(session, fund, amount, day)
    moved = await repository.move(session, fund.id, -amount, day)
    assert moved is not None  # checked under the row lock
    return fund, moved[0], moved[1]


async def _check_receipt(session: AsyncSession, fund: Fund, receipt_number: str | None) -> None:
    """A receipt number is recorded once per fund (among the entries not reversed); checked once the
    fund's row is locked, so two requests with one receipt number cannot both pass."""
    if receipt_number is None:
        return
    existing = await repository.entry_with_receipt(session, fund.id, receipt_number)
    if existing is not None:
        raise conflict("duplicate_receipt", f"Receipt {receipt_number} is already recorded in this fund (entry "
                                            f"{existing}). Nothing was recorded.", field="receipt_number",
                       entry_id=str(existing), errors=[{"field": "receipt_number",
                                                        "reason": f"already recorded: entry {existing}"}])


def _event(type_: str, fund: Fund, entry: FundEntry, version: int, **extra: Any) -> Event:
    payload = {"fund_id": str(fund.id), "entry_id": str(entry.id), **events.unit_fields(fund.unit_path),
               "amount_vnd": abs(entry.amount_vnd), "occurred_on": entry.occurred_on.isoformat(),
               "year": entry.occurred_on.year, "balance_after": entry.balance_after,
               "campaign_year": entry.campaign_year, "donor_name": entry.donor_name, "donor_kind": entry.donor_kind,
               "receipt_number": entry.receipt_number, "purpose": entry.purpose,
               "delivery_id": str(entry.delivery_id) if entry.delivery_id else None, "programme": entry.programme,
               "note": entry.note, **extra}
    return Event(type=type_, producer=events.PRODUCER, subject_id=str(entry.id), unit_code=fund.unit_code,
                 unit_path=fund.unit_path, version=version, payload=payload)


def _entry(principal: Principal, fund: Fund, kind: str, amount: int, balance: int, day: date,
           **fields: Any) -> FundEntry:
    return FundEntry(id=uuid7(), fund_id=fund.id, unit_path=fund.unit_path, kind=kind,
                     amount_vnd=rules.SIGN[kind] * amount, balance_after=balance, occurred_on=day,
                     recorded_by=principal.id, recorded_at=clock.now(),
                     **fields)


async def _write(session: AsyncSession, principal: Principal, entries: list[FundEntry], out: list[Event]) -> None:
    """The entries and their events in one statement; each entry's unit in the caller's scope (the
    check the ORM's flush makes, here before raw SQL)."""
    for entry in entries:
        if not path_in_any(entry.unit_path, principal.scope_paths):
            raise forbidden(f"Unit {entry.unit_path} is outside your scope.", unit=entry.unit_path)
    await repository.write(session, entries, out)


async def donate(session: AsyncSession, principal: Principal, fund: Fund, body: DonationIn) -> FundEntry:
    _future(body.occurred_on)
    moved = await repository.move(session, fund.id, body.amount_vnd, body.occurred_on)
    assert moved is not None  # money coming in never makes a balance negative
    await _check_receipt(session, fund, body.receipt_number)
    balance, version = moved
    entry = _entry(principal, fund, rules.DONATION, body.amount_vnd, balance, body.occurred_on,
                   donor_name=body.donor_name, donor_kind=body.donor_kind, campaign_year=body.campaign_year,
                   receipt_number=body.receipt_number, note=body.note)
    await _write(session, principal, [entry], [_event(events.FUND_DONATION, fund, entry, version)])
    return entry


async def _fund_part(session: AsyncSession, fund: Fund, delivery: Delivery) -> int:
    """What of a delivery this fund may pay: its `funding` parts whose source is a "Vì người nghèo" fund
    (kind `vnn_fund`) of this fund's level — a commune's fund does not pay the district fund's part.
    422 naming `delivery_id` when there is none (the detail lists the sources and their levels)."""
    refs = await catalogue.several(session, [("funding_source", f["source"]) for f in delivery.funding])
    levels = vnn_fund_levels(delivery.funding,
                             lambda code: (e.fields if (e := refs.get(("funding_source", code))) else None))
    part = sum(int(f["amount_vnd"]) for f in delivery.funding if levels.get(f["source"]) == fund.level)
    if part > 0:
        return part
    if levels:
        named = ", ".join(f"{source} ({level})" for source, level in levels.items())
        raise Problem(422, "validation_error", "Invalid request",
                      f'delivery {delivery.id}\'s "Vì người nghèo" fund part is from {named}; this {fund.level} '
                      f"fund pays only a part whose source is the {fund.level} level's fund. Nothing was recorded.",
                      fund_level=fund.level, sources=sorted(levels),
                      errors=[{"field": "delivery_id", "reason": f'its "Vì người nghèo" part is from {named}, not '
                                                                  f"the {fund.level} level's fund"}])
    sources = ", ".join(f["source"] for f in delivery.funding) or "none"
    raise Problem(422, "validation_error", "Invalid request",
                  f'delivery {delivery.id} has no "Vì người nghèo" fund part (its sources: {sources}); '
                  "a fund spend cannot pay it. Nothing was recorded.", fund_level=fund.level,
                  sources=[f["source"] for f in delivery.funding],
                  errors=[{"field": "delivery_id", "reason": 'no "Vì người nghèo" fund source part'}])


async def _linked_delivery(session: AsyncSession, fund: Fund, delivery_id: UUID, amount: int) -> Delivery:
    """The delivery a spend pays, row-locked (spends linked to one delivery, and its void, are
    serialised on it): recorded, in the fund's unit or below, with a "Vì người nghèo" fund part of the
    fund's level that this spend and the earlier ones linked to it from funds of that level (minus their
    refunds and reversals) stay within."""
    delivery = await load_delivery(session, delivery_id, lock=True)  # 404 outside the caller's scope
    if not path_within(delivery.unit_path, fund.unit_path) or delivery.status != RECORDED:
        raise Problem(422, "validation_error", "Invalid request",
                      "the delivery must be a recorded delivery in the fund's unit or below",
                      errors=[{"field": "delivery_id", "reason": "not a recorded delivery of this fund's units"}])
    part = await _fund_part(session, fund, delivery)
    paid = (await repository.linked_by_level(session, delivery.id)).get(fund.level, 0)
    if paid + amount > part:
        left = max(part - paid, 0)
        raise conflict("delivery_fund_part_exceeded",
                       f'The delivery\'s {fund.level} "Vì người nghèo" fund part is {part} VND and {paid} VND of it is '
                       f"already paid by linked spends (refunds deducted): {amount} VND more would exceed it; at most "
                       f"{left} VND. Nothing was recorded.", field="amount_vnd", fund_part_vnd=part,
                       already_paid_vnd=paid, left_vnd=left,
                       errors=[{"field": "amount_vnd", "reason": f"more than the {left} VND left of the delivery's "
                                                                 "fund part"}])
    return delivery


def _bad_programme(reason: str) -> Problem:
    return Problem(422, "validation_error", "Invalid request", f"programme: {reason}",
                   errors=[{"field": "programme", "reason": reason}])


async def _programme(session: AsyncSession, body: SpendIn, delivery: Delivery | None) -> str | None:
    """The spend's programme: the one named (an active programme of the catalogue, and the linked
    delivery's when there is one), else the linked delivery's."""
    if body.programme is None:
        return delivery.programme if delivery is not None else None
    if delivery is not None and body.programme != delivery.programme:
        raise _bad_programme(f"{body.programme} differs from the linked delivery's programme {delivery.programme}")
    entry = await catalogue.entry(session, "programme", body.programme)
    if entry is None or not entry.active:
        raise _bad_programme(f"{body.programme} is not an active programme of the catalogue")
    return body.programme


async def spend(session: AsyncSession, principal: Principal, fund_id: UUID, body: SpendIn) -> FundEntry:
    """A spend linked to a delivery checks the delivery against the fund first; a spend is then one
    conditional UPDATE that finds the fund (in scope), checks and moves its balance at once — unless it
    is dated before the fund's latest entry or refused: then the fund is locked and read, and the spend
    checked day by day from its date (404, or 409 with the balances)."""
    _future(body.occurred_on)
    delivery = None
    if body.delivery_id is not None:
        delivery = await _linked_delivery(session, await load(session, fund_id), body.delivery_id, body.amount_vnd)
    programme = await _programme(session, body, delivery)
    taken = await repository.take(session, fund_id, body.amount_vnd, body.occurred_on)
    if taken is not None:
        fund, balance, version = taken, taken.balance_vnd, taken.version
    else:  # not in scope (404), not enough (409), or dated before the fund's latest entry: checked day by day
        fund, balance, version = await _take_out(session, fund_id, body.amount_vnd, body.occurred_on)
    entry = _entry(principal, fund, rules.SPEND, body.amount_vnd, balance, body.occurred_on, purpose=body.purpose,
                   delivery_id=body.delivery_id, programme=programme, note=body.note)
    await _write(session, principal, [entry], [_event(events.FUND_SPENT, fund, entry, version)])
    return entry


def check_spend(body: SpendIn) -> None:
    """What a spend is refused for before any fund is read."""
    _future(body.occurred_on)


@dataclass(frozen=True)
class Spend:
    """A plain spend (no delivery, no Idempotency-Key) waiting to be applied with others of its fund;
    `correlation_id` and `traceparent` of the request that asked for it, for its event."""
    principal: Principal
    body: SpendIn
    correlation_id: str | None
    traceparent: str | None


async def spend_together(conn: asyncpg.Connection, fund_id: UUID, spends: Sequence[Spend]
                         ) -> list[FundEntry | Problem]:
    """Several spends of one fund in the connection's transaction, in order: the fund read once with
    its row lock, each spend checked against the balance the ones before it left — and, dated before the
    fund's latest entry (stored or of this batch), against every day from its date on (404 when the fund
    is not in that spend's caller's scope, 422 for a programme not active in the catalogue, 409 with the
    balances it met when the money is not there), each
    accepted one its own entry and its own event (the fund's version moving by one per spend, as one by
    one), then the balance, the entries and the events written in one statement. The answers, in order."""
    named = {s.body.programme for s in spends if s.body.programme is not None}
    active = await repository.active_programmes(conn, sorted(named)) if named else set()  # before the lock
    fund = await repository.lock_fund(conn, fund_id)
    answers: list[FundEntry | Problem] = []
    entries: list[FundEntry] = []
    out: list[Event] = []
    balance, version = (fund.balance_vnd, fund.version) if fund is not None else (0, 0)
    latest = fund.latest_on if fund is not None else None
    for spend in spends:
        if fund is None or not path_in_any(fund.unit_path, spend.principal.scope_paths):
            answers.append(not_found("fund", fund_id))
            continue
        if spend.body.programme is not None and spend.body.programme not in active:
            answers.append(_bad_programme(f"{spend.body.programme} is not an active programme of the catalogue"))
            continue
        amount, day = spend.body.amount_vnd, spend.body.occurred_on
        later: list[tuple[date, int]] = []
        if latest is not None and day < latest:  # backdated: the days after it, stored and of this batch
            later = [*await repository.later_days_on(conn, fund.id, day),
                     *((e.occurred_on, e.amount_vnd) for e in entries if e.occurred_on > day)]
        lowest = rules.lowest_from(balance, day, later)
        if amount > lowest.balance_vnd:
            answers.append(_insufficient(fund, amount, day, lowest, balance))
            continue
        balance, version, latest = balance - amount, version + 1, max(latest or day, day)
        body = spend.body
        entry = _entry(spend.principal, fund, rules.SPEND, amount, balance, body.occurred_on, purpose=body.purpose,
                       delivery_id=None, programme=body.programme, note=body.note)
        entries.append(entry)
        out.append(replace(_event(events.FUND_SPENT, fund, entry, version), correlation_id=spend.correlation_id,
                           traceparent=spend.traceparent))
        answers.append(entry)
    if fund is not None and entries:
        await repository.write_spends(conn, fund.id, balance, version, entries, out)
    return answers


async def refund(session: AsyncSession, principal: Principal, fund: Fund, body: RefundIn) -> FundEntry:
    """Money of a spend coming back into the fund (unused, returned by the household or the body): a
    `refund` entry linked to the spend, at most what of it has not come back yet (refunds of one spend
    serialised on the spend's row). Money coming in never makes a balance negative."""
    _future(body.occurred_on)
    spent = await repository.locked_entry(session, fund.id, body.spend_entry_id)
    if spent is None or spent.kind != rules.SPEND:
        raise Problem(422, "validation_error", "Invalid request", "spend_entry_id is not a spend of this fund",
                      errors=[{"field": "spend_entry_id", "reason": f"{body.spend_entry_id} is not a spend of "
                                                                    "this fund"}])
    if spent.reversed_by is not None:  # its reversal gave all of it back already
        raise Problem(422, "validation_error", "Invalid request", "spend_entry_id names a reversed spend",
                      errors=[{"field": "spend_entry_id", "reason": f"reversed by entry {spent.reversed_by}: "
                                                                    "nothing of it is left to come back"}])
    if body.occurred_on < spent.occurred_on:
        raise Problem(422, "validation_error", "Invalid request", "a refund cannot come before its spend",
                      errors=[{"field": "occurred_on", "reason": f"before the spend ({spent.occurred_on})"}])
    left = rules.refundable(-spent.amount_vnd, await repository.refunded(session, spent.id))
    if body.amount_vnd > left:
        raise conflict("refund_exceeds_spend", f"Only {left} VND of this spend of {-spent.amount_vnd} VND has not "
                                               "come back yet. Nothing was recorded.", refundable_vnd=left)
    moved = await repository.move(session, fund.id, body.amount_vnd, body.occurred_on)
    assert moved is not None  # money coming in never makes a balance negative
    await _check_receipt(session, fund, body.receipt_number)
    balance, version = moved
    entry = _entry(principal, fund, rules.REFUND, body.amount_vnd, balance, body.occurred_on, purpose=body.reason,
                   receipt_number=body.receipt_number, delivery_id=spent.delivery_id, programme=spent.programme,
                   counterpart_entry_id=spent.id, note=body.note)
    await _write(session, principal, [entry], [_event(events.FUND_REFUNDED, fund, entry, version,
                                                      spend_entry_id=str(spent.id))])
    return entry


async def transfer(session: AsyncSession, principal: Principal, fund: Fund, body: TransferIn) -> FundEntry:
    _future(body.occurred_on)
    target = await load(session, body.to_fund_id)  # 404 outside the caller's scope
    if not rules.may_transfer(fund.unit_path, fund.level, target.unit_path, target.level):
        raise Problem(422, "validation_error", "Invalid request",
                      "money passes only to the fund of a unit below this fund's unit",
                      errors=[{"field": "to_fund_id", "reason": "not a fund of a lower level inside this unit"}])
    fund, balance, version = await _take_out(session, fund.id, body.amount_vnd, body.occurred_on)
    received = await repository.move(session, target.id, body.amount_vnd, body.occurred_on)
    assert received is not None
    out = _entry(principal, fund, rules.TRANSFER_OUT, body.amount_vnd, balance, body.occurred_on,
                 counterpart_fund_id=target.id, note=body.note)
    into = _entry(principal, target, rules.TRANSFER_IN, body.amount_vnd, received[0], body.occurred_on,
                  counterpart_fund_id=fund.id, note=body.note)
    out.counterpart_entry_id, into.counterpart_entry_id = into.id, out.id
    target_fields = events.unit_fields(target.unit_path)
    await _write(session, principal, [out, into], [_event(
        events.FUND_TRANSFERRED, fund, out, version, to_fund_id=str(target.id), to_entry_id=str(into.id),
        to_unit_code=target_fields["unit_code"], to_unit_path=target.unit_path,
        to_unit_level=target_fields["unit_level"], to_balance_after=received[0])])
    return out


def _bad_reversal(field: str, reason: str) -> Problem:
    return Problem(422, "validation_error", "Invalid request", f"{field}: {reason}",
                   errors=[{"field": field, "reason": reason}])


async def _reversible(session: AsyncSession, fund: Fund, entry_id: UUID, day: date | None) -> tuple[FundEntry, date]:
    """The entry to reverse, row-locked (reversals of one entry are serialised on it), and the reversal's
    date: 404 not an entry of this fund; 422 a transfer in (reversed from its sending side) or a reversal;
    409 already reversed, or a spend with refunds standing (reverse them first)."""
    entry = await repository.locked_entry(session, fund.id, entry_id)
    if entry is None:
        raise not_found("fund entry", entry_id)
    if entry.kind == rules.TRANSFER_IN:
        raise _bad_reversal("entry_id", f"a transfer in is reversed from its sending fund {entry.counterpart_fund_id}"
                                        f" (entry {entry.counterpart_entry_id}): both sides together")
    if entry.kind not in rules.REVERSIBLE:
        raise _bad_reversal("entry_id", "a reversal is not reversed: record the entry again")
    if entry.reversed_by is not None:
        raise conflict("already_reversed", f"Entry {entry.id} is already reversed (by entry {entry.reversed_by}). "
                                           "Nothing was recorded.", field="entry_id",
                       reversal_entry_id=str(entry.reversed_by),
                       errors=[{"field": "entry_id", "reason": f"already reversed by {entry.reversed_by}"}])
    if entry.kind == rules.SPEND:
        back = await repository.refunded(session, entry.id)
        if back > 0:
            raise conflict("spend_has_refunds", f"{back} VND of this spend came back as refunds: reverse them first "
                                                "(the spend's reversal gives back all of it). Nothing was recorded.",
                           field="entry_id", refunded_vnd=back,
                           errors=[{"field": "entry_id", "reason": f"{back} VND of it refunded"}])
    if day is None:
        return entry, entry.occurred_on
    _future(day)
    if day < entry.occurred_on:
        raise _bad_reversal("occurred_on", f"before the entry it reverses ({entry.occurred_on})")
    return entry, day


async def reverse(session: AsyncSession, principal: Principal, fund: Fund, entry_id: UUID,
                  body: ReversalIn) -> FundEntry:
    """Cancel a mistaken entry: a `reversal` entry of the opposite amount, linked to it
    (`counterpart_entry_id`; the entry's `reversed_by` names the reversal), with the reason, in one
    transaction with its event. Money going out (a donation's or a refund's reversal) is checked like a
    spend, from the reversal's date on (409 `insufficient_balance`: the money was spent since). A
    transfer is reversed from its sending side, both lines at once: the receiving fund gives the money
    back (checked the same way). A refund's reversal counts against its delivery's fund part again."""
    entry, day = await _reversible(session, fund, entry_id, body.occurred_on)
    amount = abs(entry.amount_vnd)
    if entry.kind == rules.REFUND and entry.delivery_id is not None:
        await _linked_delivery(session, fund, entry.delivery_id, amount)
    if entry.amount_vnd > 0:
        fund, balance, version = await _take_out(session, fund.id, amount, day)
    else:
        moved = await repository.move(session, fund.id, amount, day)
        assert moved is not None  # money coming in never makes a balance negative
        balance, version = moved
    reversal = _entry(principal, fund, rules.REVERSAL, -entry.amount_vnd, balance, day, purpose=body.reason,
                      note=body.note, campaign_year=entry.campaign_year, donor_name=entry.donor_name,
                      donor_kind=entry.donor_kind, delivery_id=entry.delivery_id, programme=entry.programme,
                      counterpart_entry_id=entry.id, counterpart_fund_id=entry.counterpart_fund_id)
    entries, extra = [reversal], {
        "reversed_entry_id": str(entry.id), "reversed_kind": entry.kind,
        "reversed_occurred_on": entry.occurred_on.isoformat(), "reversed_amount_vnd": entry.amount_vnd,
        "reversed_receipt_number": entry.receipt_number, "amount_signed_vnd": reversal.amount_vnd,
        "direction": "out" if reversal.amount_vnd < 0 else "in", "reason": body.reason}
    entry.reversed_by = reversal.id
    if entry.kind == rules.TRANSFER_OUT:
        assert entry.counterpart_fund_id is not None and entry.counterpart_entry_id is not None
        into = await repository.locked_entry(session, entry.counterpart_fund_id, entry.counterpart_entry_id)
        assert into is not None and into.reversed_by is None  # a transfer in is reversed only from here
        try:
            lower, lower_balance, _ = await _take_out(session, entry.counterpart_fund_id, amount, day)
        except Problem as refused:
            if refused.code == "insufficient_balance":
                refused.detail = f"The receiving fund {entry.counterpart_fund_id}: {refused.detail}"
                refused.extra["fund_id"] = str(entry.counterpart_fund_id)
            raise
        back = _entry(principal, lower, rules.REVERSAL, -into.amount_vnd, lower_balance, day, purpose=body.reason,
                      note=body.note, counterpart_entry_id=into.id, counterpart_fund_id=fund.id)
        into.reversed_by = back.id
        entries.append(back)
        lower_fields = events.unit_fields(lower.unit_path)
        extra |= {"to_fund_id": str(lower.id), "to_entry_id": str(back.id), "to_reversed_entry_id": str(into.id),
                  "to_unit_code": lower_fields["unit_code"], "to_unit_path": lower.unit_path,
                  "to_unit_level": lower_fields["unit_level"], "to_balance_after": lower_balance}
    await _write(session, principal, entries, [_event(events.FUND_REVERSED, fund, reversal, version, **extra)])
    await session.flush()  # the reversed entries' `reversed_by`, in scope like every ORM write
    return reversal


async def statement(session: AsyncSession, fund: Fund, start: date, end: date) -> dict[str, Any]:
    before = await repository.sum_before(session, fund.id, start)
    listed = list((await session.scalars(repository.entries(fund.id, start, end))).all())
    figures = rules.statement(before, [(e.kind, e.amount_vnd) for e in listed])
    return {"fund": fund, "date_from": start, "date_to": end, "opening_vnd": figures.opening_vnd,
            "in_vnd": figures.in_vnd, "out_vnd": figures.out_vnd, "closing_vnd": figures.closing_vnd,
            "entries": listed}
