"""Reading what the emulation service wrote to its outbox (and its scores), and checking it against the reporting
service's projection (the contract: services/reporting/emulation/rules.py)."""

from __future__ import annotations

import json
from typing import Any

from nats.js import JetStreamContext

from services.reporting.emulation import projection, rules
from shared.events import Event
from tests.kit import eventually, fetch, scalar
from tests.reporting.registry_events import publish

READERS = {"emulation.movement.launched": rules.movement_row, "emulation.movement.updated": rules.movement_row,
           "emulation.document.issued": rules.document_row, "emulation.activity.recorded": rules.activity_row,
           "emulation.activity.removed": rules.activity_row, "emulation.target.set": rules.target_row,
           "emulation.score.computed": rules.score_row, "emulation.exemplar.recognised": rules.exemplar_row,
           "emulation.exemplar.withdrawn": rules.exemplar_row, "emulation.nomination.decided": rules.award_row,
           "emulation.award.revoked": rules.revocation_row}


async def outbox(db_url: str, type_: str | None = None) -> list[Event]:
    rows = await fetch(db_url, "SELECT body FROM outbox ORDER BY id")
    found = [Event.from_bytes(bytes(r["body"])) for r in rows]
    return [e for e in found if type_ is None or e.type == type_]


async def scores(db_url: str) -> dict[str, Any]:
    """The stored scores by unit path, their criteria decoded."""
    rows = await fetch(db_url, "SELECT unit_path, total, criteria, version FROM em_scores")
    return {r["unit_path"]: dict(r) | {"criteria": json.loads(r["criteria"])} for r in rows}


def reporting_row(event: Event) -> dict[str, Any]:
    """The row reporting's projection makes of the event (raises BadEvent if the payload lacks a field)."""
    assert event.type in projection.HANDLERS, event.type
    return rules.row_of(READERS[event.type], event)


def household_event(household_id: str, path: str, version: int = 1, kind: str = "registered") -> Event:
    """`registry.household.registered` (or `.updated`) as the registry writes it (docs/events.md)."""
    code = path.rsplit(".", 1)[-1]
    return Event(type=f"registry.household.{kind}", producer="registry", subject_id=household_id, unit_path=path,
                 unit_code=code, version=version, payload={
                     "household_code": f"HH-{household_id[:6]}", "commune_code": code, "village": "Tổ 3",
                     "member_count": 4, "ethnic_minority": False, "policy_family": False,
                     "social_protection": False, "area": "urban", "status": "poor"})


async def known_households(js: JetStreamContext, db_url: str, events: list[Event]) -> None:
    """Publish the registry's household events and wait until the read model holds each one's newest version."""
    await publish(js, events)
    newest: dict[str, int] = {}
    for e in events:
        newest[str(e.subject_id)] = max(newest.get(str(e.subject_id), 0), e.version)

    async def applied() -> bool:
        held = await scalar(db_url, "SELECT count(*) FROM em_households h JOIN unnest($1::text[], $2::bigint[]) "
                            "AS t(id, v) ON h.id = t.id AND h.version = t.v", list(newest), list(newest.values()))
        return bool(held == len(newest))

    await eventually(applied, timeout=30)
