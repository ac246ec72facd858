"""Sponsorship use cases: start one (its households must be of its unit, in the caller's scope),
end it, and what was delivered against its commitment. Each change emits its event and writes its
history entry, in the caller's transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events, history
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import MONEY_MEASURES, use_refusal
from services.support.deliveries.models import Delivery
from services.support.deliveries.rules import RECORDED
from services.support.households import repository as households
from services.support.households.models import SupportHousehold
from services.support.sponsorships import rules
from services.support.sponsorships.models import Sponsorship, SponsorshipHistory
from services.support.sponsorships.schemas import EndIn, SponsorshipIn
from shared import clock
from shared.db import scope_clause
from shared.errors import Problem, conflict, not_found
from shared.events import Event, record_events
from shared.principal import Principal

STARTED, ENDED = "support.sponsorship.started", "support.sponsorship.ended"
# What the history keeps of a sponsorship.
SNAPSHOT_FIELDS = ("kind", "helper_kind", "helper_name", "helpers", "body", "household_ids", "started_on", "ends_on",
                   "ended_on", "commitment", "status", "note", "end_reason")


def _invalid(field: str, reason: str) -> Problem:
    return Problem(422, "validation_error", "Invalid request", f"{field}: {reason}",
                   errors=[{"field": field, "reason": reason}])


def _event(type_: str, item: Sponsorship) -> Event:
    payload = {"sponsorship_id": str(item.id), **events.unit_fields(item.unit_path), "kind": item.kind,
               "helper_kind": item.helper_kind, "helper_name": item.helper_name, "helpers": item.helpers,
               "body": item.body, "households": len(item.household_ids),
               "household_ids": [str(h) for h in item.household_ids], "started_on": item.started_on.isoformat(),
               "ends_on": item.ends_on.isoformat() if item.ends_on else None,
               "ended_on": item.ended_on.isoformat() if item.ended_on else None, "commitment": item.commitment,
               "status": item.status}
    return Event(type=type_, producer=events.PRODUCER, subject_id=str(item.id), unit_code=item.unit_code,
                 unit_path=item.unit_path, version=item.version, payload=payload)


async def start(session: AsyncSession, principal: Principal, body: SponsorshipIn) -> Sponsorship:
    unit = await households.writable_unit(session, principal, body.unit, body.hierarchy)
    if body.started_on > clock.today():
        raise _invalid("started_on", "in the future")
    found = {h.id: h for h in await session.scalars(select(SupportHousehold).where(
        SupportHousehold.id.in_(body.household_ids), scope_clause(SupportHousehold.unit_path, [unit.path]),
        SupportHousehold.removed.is_(False)))}
    for i, household_id in enumerate(body.household_ids):
        if household_id not in found:
            raise _invalid(f"household_ids.{i}", f"no household {household_id} of {unit.code} in your scope")
    codes = [("measure", line.measure) for line in body.commitment]
    if body.body:
        codes.append(("body", body.body))
    known = await catalogue.several(session, codes)
    for i, line in enumerate(body.commitment):
        if ("measure", line.measure) not in known:
            raise _invalid(f"commitment.{i}.measure", f"no measure {line.measure} in the catalogue")
        if line.measure in MONEY_MEASURES and line.quantity != line.quantity.to_integral_value():
            raise _invalid(f"commitment.{i}.quantity", f"{line.measure} is money: whole VND (compared with the "
                                                       "linked deliveries' amount_vnd)")
    if body.body and ("body", body.body) not in known:
        raise _invalid("body", f"no delivering body {body.body} in the catalogue")
    if body.body and (refusal := use_refusal("body", body.body, known[("body", body.body)].owner_path, unit.path)):
        raise _invalid("body", refusal)
    item = Sponsorship(
        unit_path=unit.path, unit_code=unit.code, kind=body.kind, helper_kind=body.helper_kind,
        helper_name=body.helper_name, helpers=body.helpers, body=body.body, household_ids=list(body.household_ids),
        started_on=body.started_on, ends_on=body.ends_on,
        commitment=[{"measure": c.measure, "quantity": format(c.quantity.normalize(), "f"), "per": c.per,
                     "per_household": c.per_household} for c in body.commitment],
        status=rules.ACTIVE, note=body.note, version=1, created_by=principal.id, created_at=clock.now())
    session.add(item)
    await session.flush()
    history.record(session, SponsorshipHistory, principal, item, "started", SNAPSHOT_FIELDS, sponsorship_id=item.id)
    await record_events(session, [_event(STARTED, item)])
    return item


async def load(session: AsyncSession, sponsorship_id: UUID, *, lock: bool = False) -> Sponsorship:
    query = select(Sponsorship).where(Sponsorship.id == sponsorship_id)
    if lock:
        query = query.with_for_update()
    found = (await session.scalars(query)).first()
    if found is None:
        raise not_found("sponsorship", sponsorship_id)
    return found


async def end(session: AsyncSession, principal: Principal, item: Sponsorship, body: EndIn) -> Sponsorship:
    if item.status == rules.ENDED:
        raise conflict("sponsorship_ended", f"Sponsorship {item.id} ended on {item.ended_on}.")
    if body.ended_on < item.started_on or body.ended_on > clock.today():
        raise _invalid("ended_on", "must be between the start and today")
    before = history.snapshot(item, SNAPSHOT_FIELDS)
    item.status, item.ended_on, item.end_reason = rules.ENDED, body.ended_on, body.reason
    item.version += 1
    await session.flush()
    history.record(session, SponsorshipHistory, principal, item, "ended", SNAPSHOT_FIELDS, before=before,
                   reason=body.reason, sponsorship_id=item.id)
    await record_events(session, [_event(ENDED, item)])
    return item


async def check_delivery(session: AsyncSession, sponsorship_id: UUID, household_id: UUID, day: Any) -> None:
    """A delivery made under a sponsorship: one of its households, within its period."""
    item = (await session.scalars(select(Sponsorship).where(Sponsorship.id == sponsorship_id))).first()
    if item is None:
        raise _invalid("sponsorship_id", f"no sponsorship {sponsorship_id} in your scope")
    if household_id not in item.household_ids:
        raise _invalid("sponsorship_id", "the household is not one this sponsorship helps")
    if not rules.covers(item.started_on, item.ends_on, item.ended_on, day):
        raise _invalid("sponsorship_id", f"{day} is outside the sponsorship's period")


async def progress(session: AsyncSession, item: Sponsorship) -> dict[str, Any]:
    return (await progress_of(session, [item]))[item.id]


async def progress_of(session: AsyncSession, items: list[Sponsorship]) -> dict[UUID, dict[str, Any]]:
    """What the deliveries linked to each sponsorship brought against its commitment: one query for
    them all (a page of the list)."""
    rows = (await session.execute(select(Delivery.sponsorship_id, Delivery.household_id, Delivery.quantities,
                                         Delivery.amount_vnd).where(
        Delivery.sponsorship_id.in_([i.id for i in items]), Delivery.status == RECORDED))).all() if items else []
    linked: dict[UUID, list[Any]] = {}
    for row in rows:
        linked.setdefault(row[0], []).append(row)
    out = {}
    for item in items:
        delivered: dict[str, dict[str, Decimal]] = {}  # household → measure → quantity
        amount = 0
        for _, household_id, quantities, amount_vnd in linked.get(item.id, []):
            amount += int(amount_vnd)
            got = delivered.setdefault(str(household_id), {})
            for q in quantities:
                if q["measure"] not in MONEY_MEASURES:  # money is the amount_vnd below, counted once
                    got[q["measure"]] = got.get(q["measure"], Decimal(0)) + Decimal(q["quantity"])
            for money in MONEY_MEASURES:
                got[money] = got.get(money, Decimal(0)) + Decimal(int(amount_vnd))
        until = rules.last_day(item.started_on, item.ends_on, item.ended_on, clock.today())
        out[item.id] = {"until": until, "deliveries": len(linked.get(item.id, [])), "amount_vnd": amount,
                        "lines": rules.progress(item.commitment, item.started_on, until, delivered,
                                                [str(h) for h in item.household_ids])}
    return out

