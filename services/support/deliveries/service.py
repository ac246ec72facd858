"""Delivery use cases: record one to a household (eligibility checked against the registry's read
model), record an aggregate batch, correct, void. One transaction each, with its history entry and
its event; a refused request writes nothing. A new delivery is read for in one query and written in
one statement (delivery, history entry, event): the create is a handful of round trips."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events, history
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import (
    Programme,
    Transition,
    eligibility_refusal,
    use_refusal,
    vnn_fund_levels,
)
from services.support.deliveries import repository, rules
from services.support.deliveries.models import Delivery, DeliveryHistory
from services.support.deliveries.schemas import AggregateDeliveryIn, DeliveryPatch, HouseholdDeliveryIn
from services.support.funds import repository as funds
from services.support.households import repository as households
from services.support.sponsorships import service as sponsorships
from shared import clock, permissions
from shared.errors import Problem, conflict, forbidden, not_found
from shared.events import record_events, uuid7
from shared.principal import Principal
from shared.scope import path_in_any

Refs = repository.Refs


def _invalid(errors: list[dict[str, str]]) -> Problem:
    return Problem(422, "validation_error", "Invalid delivery", "; ".join(f"{e['field']}: {e['reason']}"
                                                                         for e in errors), errors=errors)


def _ref_keys(programme: str, body: str, sources: list[str]) -> list[tuple[str, str]]:
    return [("programme", programme), ("body", body), *(("funding_source", s) for s in sources)]


async def _refs(session: AsyncSession, programme: str, body: str, sources: list[str]) -> Refs:
    return await catalogue.several(session, _ref_keys(programme, body, sources))


def _programme(refs: Refs, code: str) -> Programme | None:
    entry = refs.get(("programme", code))
    return Programme.of(entry.code, entry.name, entry.fields) if entry is not None and entry.active else None


def _owned_elsewhere(refs: Refs, state: Mapping[str, Any], unit_path: str) -> list[dict[str, str]]:
    """The catalogue entries the delivery names that belong to a unit it is not in (a province's own
    programme, body or source is used only within that province)."""
    named = [("programme", "programme", state["programme"]), ("body", "body", state["body"]),
             *((f"funding.{i}.source", "funding_source", f["source"]) for i, f in enumerate(state["funding"]))]
    found = []
    for field, name, code in named:
        entry = refs.get((name, code))
        if entry is not None and (reason := use_refusal(name, code, entry.owner_path, unit_path)):
            found.append({"field": field, "reason": reason})
    return found


def _check(refs: Refs, state: Mapping[str, Any], unit_path: str) -> Programme:
    """The whole delivery against the catalogue (entries of its unit's owners only) and the calendar:
    422 naming every bad field."""
    lines = rules.Lines(
        programme=state["programme"], delivered_on=state["delivered_on"], period_from=state.get("period_from"),
        quantities=[(q["measure"], q["quantity"]) for q in state["quantities_in"]],
        amount_vnd=state["amount_vnd"], funding=[(f["source"], f["amount_vnd"]) for f in state["funding"]],
        body=state["body"], households=state["households"], persons=state.get("persons"), turns=state.get("turns"))
    programme = _programme(refs, lines.programme)
    body = refs.get(("body", lines.body))
    sources = {s: bool((e := refs.get(("funding_source", s))) and e.active) for s, _ in lines.funding}
    errors = _owned_elsewhere(refs, state, unit_path) + rules.problems(
        lines, programme, sources, bool(body and body.active), clock.today())
    if errors:
        raise _invalid(errors)
    assert programme is not None
    return programme


def catalogue_fields(refs: Refs) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: entry.fields for key, entry in refs.items()}


def snapshot(delivery: Delivery) -> dict[str, Any]:
    return history.snapshot(delivery, rules.SNAPSHOT_FIELDS)


def _history_entry(principal: Principal, delivery: Delivery, action: str, before: dict[str, Any] | None,
                   after: dict[str, Any] | None, reason: str | None = None) -> DeliveryHistory:
    return history.entry(DeliveryHistory, principal, version=delivery.version, action=action, before=before,
                         after=after, reason=reason, delivery_id=delivery.id, unit_path=delivery.unit_path)


async def _write_new(session: AsyncSession, principal: Principal, delivery: Delivery, refs: Refs,
                     reason: str | None = None) -> Delivery:
    """A new delivery with its history entry and its event, in one statement; its unit in the caller's
    scope (the check the ORM's flush makes, here before raw SQL)."""
    if not path_in_any(delivery.unit_path, principal.scope_paths):
        raise forbidden(f"Unit {delivery.unit_path} is outside your scope.", unit=delivery.unit_path)
    repository.with_defaults(delivery)
    entry = repository.with_defaults(_history_entry(principal, delivery, "recorded", None, snapshot(delivery), reason))
    event = events.delivery_event(events.DELIVERY_RECORDED, delivery, catalogue_fields(refs))
    await repository.write_new(session, delivery, entry, event)
    return delivery


def _state(body: HouseholdDeliveryIn | AggregateDeliveryIn) -> dict[str, Any]:
    return {"programme": body.programme, "delivered_on": body.delivered_on,
            "period_from": getattr(body, "period_from", None),
            "quantities_in": [q.model_dump() for q in body.quantities], "amount_vnd": body.amount_vnd,
            "funding": [f.model_dump() for f in body.funding], "body": body.body,
            "households": getattr(body, "households", 1), "persons": body.persons, "turns": body.turns}


async def _emit(session: AsyncSession, type_: str, delivery: Delivery, refs: Refs) -> None:
    await record_events(session, [events.delivery_event(type_, delivery, catalogue_fields(refs))])


async def _eligibility(session: AsyncSession, principal: Principal, programme: Programme, household_id: UUID,
                       status: str | None, day: date, override_reason: str | None,
                       transitions: list[Transition] | None = None) -> str | None:
    """None when the household qualifies; the rule set aside when an allowed role overrides; else 422.
    `transitions`: the household's, when already read (else read here, only when the status does not
    qualify by itself)."""
    if "all" in programme.eligible or (status is not None and status in programme.eligible):
        return None  # the hot path: no transitions needed
    if transitions is None:
        transitions = await households.transitions(session, household_id)
    refusal = eligibility_refusal(programme, status, transitions, day)
    if refusal is None:
        return None
    if override_reason is None:
        raise Problem(422, "not_eligible", "Household not eligible", refusal, field="household_id",
                      programme=programme.code, eligible=list(programme.eligible), household_status=status)
    if not principal.has(permissions.SUPPORT_OVERRIDE):
        raise forbidden(f"Recording a delivery the eligibility rule refuses needs the permission "
                        f"'{permissions.SUPPORT_OVERRIDE}'.", permission=permissions.SUPPORT_OVERRIDE)
    return refusal


async def record_household(session: AsyncSession, principal: Principal, body: HouseholdDeliveryIn) -> Delivery:
    """Four round trips when no sponsorship is named: BEGIN, one read (the household in scope, the
    catalogue entries, its transitions), one write (delivery, history, event), COMMIT."""
    household, refs, transitions = await repository.household_with_refs(
        session, body.household_id, _ref_keys(body.programme, body.body, [f.source for f in body.funding]))
    if household is None:
        raise not_found("household", body.household_id)
    if household.removed:
        raise Problem(422, "household_removed", "Household removed",
                      "The registry removed this household; support cannot be recorded for it.", field="household_id")
    members = rules.member_problems((str(m) for m in body.member_ids), household.member_ids)
    if members:
        raise _invalid(members)
    state = _state(body)
    programme = _check(refs, state, household.unit_path)
    rule = await _eligibility(session, principal, programme, household.id, household.status, body.delivered_on,
                              body.override_reason, transitions)
    if body.sponsorship_id is not None:
        await sponsorships.check_delivery(session, body.sponsorship_id, household.id, body.delivered_on)
    now = clock.now()
    delivery = Delivery(
        id=uuid7(), unit_path=household.unit_path, unit_code=household.commune_code, kind=rules.HOUSEHOLD,
        status=rules.RECORDED,
        programme=body.programme, delivered_on=body.delivered_on, year=body.delivered_on.year,
        household_id=household.id, member_ids=[str(m) for m in body.member_ids], households=1,
        persons=body.persons if body.persons is not None else (len(body.member_ids) or None), turns=body.turns,
        quantities=rules.quantities_json((q.measure, q.quantity) for q in body.quantities),
        amount_vnd=body.amount_vnd, funding=state["funding"], body=body.body, body_detail=body.body_detail,
        note=body.note, document_ref=body.document_ref, household_status=household.status,
        eligibility_exception=rule is not None, eligibility_rule=rule,
        override_reason=body.override_reason if rule is not None else None, sponsorship_id=body.sponsorship_id,
        version=1, recorded_at=now, recorded_by=principal.id, updated_at=now)
    return await _write_new(session, principal, delivery, refs, body.override_reason)


async def record_aggregate(session: AsyncSession, principal: Principal, body: AggregateDeliveryIn) -> Delivery:
    unit = await households.writable_unit(session, principal, body.unit, body.hierarchy)
    refs = await _refs(session, body.programme, body.body, [f.source for f in body.funding])
    state = _state(body)
    _check(refs, state, unit.path)
    now = clock.now()
    delivery = Delivery(
        id=uuid7(), unit_path=unit.path, unit_code=unit.code, kind=rules.AGGREGATE, status=rules.RECORDED,
        programme=body.programme, delivered_on=body.delivered_on, period_from=body.period_from,
        year=body.delivered_on.year, household_id=None, member_ids=[], households=body.households,
        persons=body.persons, turns=body.turns,
        quantities=rules.quantities_json((q.measure, q.quantity) for q in body.quantities),
        amount_vnd=body.amount_vnd, funding=state["funding"], body=body.body, body_detail=body.body_detail,
        note=body.note, document_ref=body.document_ref, version=1, recorded_at=now, recorded_by=principal.id,
        updated_at=now)
    return await _write_new(session, principal, delivery, refs)


def fund_parts_vnd(funding: list[dict[str, Any]], refs: Refs) -> dict[str, int]:
    """The parts of a delivery's amount paid by "Vì người nghèo" funds, per fund level; `refs` holds the
    funding sources."""
    levels = vnn_fund_levels(funding, lambda code: (e.fields if (e := refs.get(("funding_source", code))) else None))
    parts: dict[str, int] = {}
    for f in funding:
        if f["source"] in levels:
            parts[levels[f["source"]]] = parts.get(levels[f["source"]], 0) + int(f["amount_vnd"])
    return parts


async def _check_fund_spends(session: AsyncSession, delivery: Delivery, funding: list[dict[str, Any]] | None,
                             refs: Refs | None = None) -> None:
    """Money the funds paid for a delivery must stay accounted for: a void is refused while linked spends
    (minus their refunds) remain — refund them first; a correction may not bring the "Vì người nghèo"
    fund part of a level below what that level's funds paid (a commune fund pays the commune fund's part
    only, so moving that part to the district's source is refused too). `refs`: the corrected funding's
    sources, read by the caller."""
    paid = await funds.linked_by_level(session, delivery.id)
    if not paid:
        return
    if funding is None:
        total = sum(paid.values())
        raise conflict("delivery_has_fund_spends",
                       f'"Vì người nghèo" fund spends of {total} VND (refunds deducted) are linked to delivery '
                       f"{delivery.id}: refund them into their funds (POST /support/funds/{{id}}/refunds) before "
                       "voiding it. Nothing was changed.", paid_vnd=total)
    parts = fund_parts_vnd(funding, refs or {})
    short = {level: amount for level, amount in paid.items() if parts.get(level, 0) < amount}
    if short:
        named = "; ".join(f"the {level} funds paid {amount} VND, its part would be {parts.get(level, 0)} VND"
                          for level, amount in sorted(short.items()))
        raise conflict("delivery_has_fund_spends",
                       f'Linked "Vì người nghèo" fund spends (refunds deducted) paid more of this delivery than its '
                       f"corrected funding leaves to their level: {named}. Nothing was changed.", field="funding",
                       paid_vnd=sum(paid.values()), fund_part_vnd=sum(parts.values()),
                       paid_by_level=paid, fund_part_by_level=parts,
                       errors=[{"field": "funding", "reason": f"the {level} \"Vì người nghèo\" fund part is below "
                                                             f"the {amount} VND the {level} funds paid"}
                               for level, amount in sorted(short.items())])


async def load(session: AsyncSession, delivery_id: UUID, *, lock: bool = False) -> Delivery:
    query = select(Delivery).where(Delivery.id == delivery_id)
    if lock:
        query = query.with_for_update()
    found = (await session.scalars(query)).first()
    if found is None:
        raise not_found("delivery", delivery_id)
    return found


def _not_voided(delivery: Delivery) -> None:
    if delivery.status == rules.VOIDED:
        raise conflict("delivery_voided", f"Delivery {delivery.id} is voided; it cannot change any more. "
                       "Nothing was changed.", field="delivery_id", delivery_id=str(delivery.id),
                       void_reason=delivery.void_reason,
                       errors=[{"field": "delivery_id", "reason": f"delivery {delivery.id} is voided"}])


async def correct(session: AsyncSession, principal: Principal, delivery: Delivery, patch: DeliveryPatch) -> Delivery:
    _not_voided(delivery)
    given = patch.model_dump(exclude_unset=True)
    reason = given.pop("reason", None)
    override = given.pop("override_reason", None)
    if delivery.kind == rules.HOUSEHOLD:
        for field in ("households", "period_from"):
            if field in given:
                raise _invalid([{"field": field, "reason": "a household delivery is for one household on one day"}])
    elif "member_ids" in given:
        raise _invalid([{"field": "member_ids", "reason": "an aggregate delivery names no members"}])
    if delivery.kind == rules.HOUSEHOLD and given.get("member_ids"):
        household = await households.household(session, delivery.household_id)  # type: ignore[arg-type]
        members = rules.member_problems((str(m) for m in given["member_ids"]),
                                        household.member_ids if household is not None else None)
        if members:
            raise _invalid(members)
    state: dict[str, Any] = {
        "programme": given.get("programme") or delivery.programme,
        "delivered_on": given.get("delivered_on") or delivery.delivered_on,
        "period_from": given.get("period_from", delivery.period_from),
        "quantities_in": [{"measure": q.measure, "quantity": q.quantity} for q in patch.quantities]
        if patch.quantities is not None else
        [{"measure": q["measure"], "quantity": Decimal(q["quantity"])} for q in delivery.quantities],
        "amount_vnd": delivery.amount_vnd if patch.amount_vnd is None else patch.amount_vnd,
        "funding": [f.model_dump() for f in patch.funding] if patch.funding is not None else list(delivery.funding),
        "body": patch.body or delivery.body,
        "households": delivery.households if patch.households is None else patch.households,
        "persons": given.get("persons", delivery.persons),
        "turns": given.get("turns", delivery.turns),
    }
    refs = await _refs(session, state["programme"], state["body"], [f["source"] for f in state["funding"]])
    programme = _check(refs, state, delivery.unit_path)
    if patch.funding is not None:
        await _check_fund_spends(session, delivery, state["funding"], refs)
    if delivery.sponsorship_id is not None and (state["programme"] != delivery.programme
                                                or state["delivered_on"] != delivery.delivered_on):
        # Still one of its households, within its period: else the delivery would count against it wrongly.
        await sponsorships.check_delivery(session, delivery.sponsorship_id, delivery.household_id,  # type: ignore[arg-type]
                                          state["delivered_on"])
    before = snapshot(delivery)
    if delivery.kind == rules.HOUSEHOLD and (state["programme"] != delivery.programme
                                             or state["delivered_on"] != delivery.delivered_on):
        household = await households.household(session, delivery.household_id)  # type: ignore[arg-type]
        status = household.status if household is not None else None
        # An override given now; else an exception already recorded stays one on the correction's reason.
        override = override or (reason or delivery.override_reason if delivery.eligibility_exception else None)
        rule = await _eligibility(session, principal, programme, delivery.household_id,  # type: ignore[arg-type]
                                  status, state["delivered_on"], override)
        delivery.eligibility_exception, delivery.eligibility_rule = rule is not None, rule
        delivery.override_reason = override if rule is not None else None
        delivery.household_status = status
    delivery.programme, delivery.delivered_on = state["programme"], state["delivered_on"]
    delivery.year, delivery.period_from = state["delivered_on"].year, state["period_from"]
    delivery.quantities = rules.quantities_json((q["measure"], q["quantity"]) for q in state["quantities_in"])
    delivery.amount_vnd, delivery.funding, delivery.body = state["amount_vnd"], state["funding"], state["body"]
    delivery.households, delivery.persons, delivery.turns = state["households"], state["persons"], state["turns"]
    for field in ("body_detail", "note", "document_ref"):
        if field in given:
            setattr(delivery, field, given[field])
    if "member_ids" in given:
        delivery.member_ids = [str(m) for m in given["member_ids"] or []]
    if snapshot(delivery) == before:
        return delivery  # nothing to change: no new version, no event
    delivery.version += 1
    delivery.updated_at = clock.now()
    await session.flush()
    history.record(session, DeliveryHistory, principal, delivery, "corrected", rules.SNAPSHOT_FIELDS, before=before,
                   reason=reason, delivery_id=delivery.id)
    await _emit(session, events.DELIVERY_CORRECTED, delivery, refs)
    return delivery


async def void(session: AsyncSession, principal: Principal, delivery: Delivery, reason: str) -> Delivery:
    _not_voided(delivery)
    await _check_fund_spends(session, delivery, None)
    before = snapshot(delivery)
    delivery.status, delivery.void_reason = rules.VOIDED, reason
    delivery.version += 1
    delivery.updated_at = clock.now()
    await session.flush()
    history.record(session, DeliveryHistory, principal, delivery, "voided", rules.SNAPSHOT_FIELDS, before=before,
                   reason=reason, delivery_id=delivery.id)
    refs = await _refs(session, delivery.programme, delivery.body, [f["source"] for f in delivery.funding])
    await _emit(session, events.DELIVERY_VOIDED, delivery, refs)
    return delivery
