"""Reading what the emulation service wrote to its outbox, and checking it against the reporting
service's projection (the contract: services/reporting/emulation/rules.py)."""

from __future__ import annotations

from typing import Any

from services.reporting.emulation import projection, rules
from shared.events import Event
from tests.kit import fetch

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


def reporting_row(event: Event) -> dict[str, Any]:
    """The row reporting's projection makes of the event (raises BadEvent if the payload lacks a field)."""
    assert event.type in projection.HANDLERS, event.type
    return rules.row_of(READERS[event.type], event)
