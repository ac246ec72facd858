"""Body activity use cases: record one (checked by `rules.problems`: its measures must be the kind's),
void one. Each emits its event (`support.activity.recorded` / `.voided`), which reporting counts, and
writes its history entry, in the caller's transaction."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import events, history
from services.support.activities import rules
from services.support.activities.models import Activity, ActivityHistory
from services.support.activities.schemas import ActivityIn
from services.support.catalogue import repository as catalogue
from services.support.catalogue.rules import use_refusal
from services.support.households import repository as units
from shared import clock
from shared.errors import Problem, conflict, not_found
from shared.events import Event, record_events
from shared.principal import Principal

RECORDED_EVENT, VOIDED_EVENT = "support.activity.recorded", "support.activity.voided"
# What the history keeps of an activity.
SNAPSHOT_FIELDS = ("body", "body_detail", "kind", "title", "period_from", "period_to", "measures", "amount_vnd",
                   "status", "note", "void_reason")


def _event(type_: str, item: Activity, body_kind: str | None) -> Event:
    payload = {"activity_id": str(item.id), **events.unit_fields(item.unit_path), "body": item.body,
               "body_kind": body_kind, "body_detail": item.body_detail, "kind": item.kind, "title": item.title,
               "period_from": item.period_from.isoformat(), "period_to": item.period_to.isoformat(),
               "year": item.year, "measures": item.measures, "amount_vnd": item.amount_vnd, "status": item.status,
               "void_reason": item.void_reason}
    return Event(type=type_, producer=events.PRODUCER, subject_id=str(item.id), unit_code=item.unit_code,
                 unit_path=item.unit_path, version=item.version, payload=payload)


async def _body_kind(session: AsyncSession, code: str) -> str | None:
    entry = await catalogue.entry(session, "body", code)
    return entry.fields.get("kind") if entry is not None else None


async def record(session: AsyncSession, principal: Principal, body: ActivityIn) -> Activity:
    unit = await units.writable_unit(session, principal, body.unit, body.hierarchy)
    refs = await catalogue.several(session, [("activity_kind", body.kind), ("body", body.body)])
    kind = refs.get(("activity_kind", body.kind))
    errors = rules.problems(body.kind, kind.fields.get("measures", []) if kind is not None and kind.active else None,
                            body.body, ("body", body.body) in refs, body.period_to,
                            [(m.measure, m.quantity) for m in body.measures], clock.today())
    for field, name, code in (("kind", "activity_kind", body.kind), ("body", "body", body.body)):
        entry = refs.get((name, code))
        if entry is not None and (refusal := use_refusal(name, code, entry.owner_path, unit.path)):
            errors.append({"field": field, "reason": refusal})
    if errors:
        raise Problem(422, "validation_error", "Invalid activity",
                      "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors)
    item = Activity(unit_path=unit.path, unit_code=unit.code, body=body.body, body_detail=body.body_detail,
                    kind=body.kind, title=body.title, period_from=body.period_from, period_to=body.period_to,
                    year=body.period_to.year,
                    measures=[{"measure": m.measure, "quantity": format(m.quantity.normalize(), "f")}
                              for m in body.measures],
                    amount_vnd=body.amount_vnd, status=rules.RECORDED, note=body.note, version=1,
                    recorded_by=principal.id, recorded_at=clock.now())
    session.add(item)
    await session.flush()
    history.record(session, ActivityHistory, principal, item, "recorded", SNAPSHOT_FIELDS, activity_id=item.id)
    body_entry = refs.get(("body", body.body))
    await record_events(session, [_event(RECORDED_EVENT, item, body_entry.fields.get("kind") if body_entry else None)])
    return item


async def load(session: AsyncSession, activity_id: UUID, *, lock: bool = False) -> Activity:
    query = select(Activity).where(Activity.id == activity_id)
    if lock:
        query = query.with_for_update()
    found = (await session.scalars(query)).first()
    if found is None:
        raise not_found("activity", activity_id)
    return found


async def void(session: AsyncSession, principal: Principal, item: Activity, reason: str) -> Activity:
    if (refusal := rules.void_refusal(item.status)) is not None:
        raise conflict("activity_voided", f"Activity {item.id} {refusal}.")
    before = history.snapshot(item, SNAPSHOT_FIELDS)
    item.status, item.void_reason = rules.VOIDED, reason
    item.version += 1
    await session.flush()
    history.record(session, ActivityHistory, principal, item, "voided", SNAPSHOT_FIELDS, before=before, reason=reason,
                   activity_id=item.id)
    await record_events(session, [_event(VOIDED_EVENT, item, await _body_kind(session, item.body))])
    return item
