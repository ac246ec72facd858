"""Projection of the emulation service's events into the read models the periodic reports and the
dashboard read (models.py): movements and their phases, documents issued, propaganda and other
activities, targets handed down, scores, exemplary models, awards and their revocations.

Every emulation event carries its subject's whole state with the row version, so each read model
keeps the latest state per subject (latest_state.py): a redelivered or older event changes nothing.
A removed activity and a withdrawn model stay as rows marked so (a later version could not be told
from an earlier one otherwise); an award revoked is a row of its own, joined when awards are read,
so a revocation that arrives before its decision still counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.emulation import rules
from services.reporting.latest_state import StateTable, upsert_latest
from shared.events import Event

MOVEMENTS = StateTable("rp_movements", ("movement_id",), (
    ("unit_path", "text"), ("name", "text"), ("level", "text"), ("issuing_body", "text"), ("starts_on", "date"),
    ("ends_on", "date"), ("objectives", "jsonb"), ("phases", "jsonb")))
DOCUMENTS = StateTable("rp_documents", ("document_id",), (
    ("unit_path", "text"), ("movement_id", "text"), ("doc_type", "text"), ("doc_type_name", "text"),
    ("number", "text"), ("issued_on", "date"), ("issuing_body", "text"), ("summary", "text"), ("signer", "text")))
ACTIVITIES = StateTable("rp_emulation_activities", ("activity_id",), (
    ("unit_path", "text"), ("movement_id", "text"), ("year", "smallint"), ("quarter", "smallint"),
    ("held_on", "date"), ("kind", "text"), ("kind_name", "text"), ("group_name", "text"), ("measure", "text"),
    ("count", "bigint"), ("participants", "bigint"), ("title", "text"), ("removed", "bool")))
TARGETS = StateTable("rp_targets", ("target_id",), (
    ("unit_path", "text"), ("movement_id", "text"), ("year", "smallint"), ("indicator", "text"),
    ("measure_unit", "text"), ("value", "numeric"), ("upper", "numeric"), ("parent_path", "text"),
    ("parent_value", "numeric")))
SCORES = StateTable("rp_scores", ("score_id",), (
    ("unit_path", "text"), ("movement_id", "text"), ("criteria_set_id", "text"), ("scored_by", "text"),
    ("year", "smallint"), ("level", "text"), ("total", "numeric"),
    ("criteria", "jsonb")))
EXEMPLARS = StateTable("rp_exemplars", ("exemplar_id",), (
    ("unit_path", "text"), ("movement_id", "text"), ("kind", "text"), ("name", "text"), ("summary", "text"),
    ("recognised_by", "text"), ("recognised_on", "date"), ("document_number", "text"), ("withdrawn", "bool")))
AWARDS = StateTable("rp_awards", ("nomination_id",), (
    ("unit_path", "text"), ("movement_id", "text"), ("year", "smallint"), ("form", "text"), ("form_name", "text"),
    ("category", "text"), ("nominee_kind", "text"), ("nominee_name", "text"), ("award_id", "text"),
    ("decision_number", "text"), ("decision_date", "date"), ("awarding_level", "text"),
    ("awarding_authority", "text"), ("prize_amount", "bigint")))
REVOCATIONS = StateTable("rp_award_revocations", ("award_id",), (
    ("unit_path", "text"), ("nomination_id", "text"), ("reason", "text"), ("decision_number", "text"),
    ("decision_date", "date")))

Handler = Callable[[AsyncSession, list[Event]], Any]


def _latest(table: StateTable, read: Callable[[Event, dict[str, Any]], rules.Row]) -> Handler:
    async def handler(session: AsyncSession, events: list[Event]) -> None:
        await upsert_latest(session, table, [rules.row_of(read, e) for e in events])

    handler.__name__ = f"on_{table.name.removeprefix('rp_')}"
    return handler


HANDLERS: dict[str, Handler] = {
    "emulation.movement.launched": _latest(MOVEMENTS, rules.movement_row),
    "emulation.movement.updated": _latest(MOVEMENTS, rules.movement_row),
    "emulation.document.issued": _latest(DOCUMENTS, rules.document_row),
    "emulation.document.updated": _latest(DOCUMENTS, rules.document_row),
    "emulation.activity.recorded": _latest(ACTIVITIES, rules.activity_row),
    "emulation.activity.removed": _latest(ACTIVITIES, rules.activity_row),
    "emulation.target.set": _latest(TARGETS, rules.target_row),
    "emulation.score.computed": _latest(SCORES, rules.score_row),
    "emulation.exemplar.recognised": _latest(EXEMPLARS, rules.exemplar_row),
    "emulation.exemplar.withdrawn": _latest(EXEMPLARS, rules.exemplar_row),
    "emulation.nomination.decided": _latest(AWARDS, rules.award_row),
    "emulation.award.revoked": _latest(REVOCATIONS, rules.revocation_row),
}
