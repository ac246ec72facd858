"""Emulation events (docs/events.md "emulation"): type names and payload builders.

Each event carries its subject's whole state and the row version, so the reporting projection keeps
the latest per subject (services/reporting/emulation/rules.py reads these payloads).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.emulation.catalogue import rules as catalogue
from services.emulation.models import Activity, Award, Document, Exemplar, Movement, Nomination, Registration, Target
from services.emulation.movements import rules as movement_rules
from shared.events import Event
from shared.scope import unit_code_of

PRODUCER = "emulation"
MOVEMENT_LAUNCHED = "emulation.movement.launched"
MOVEMENT_UPDATED = "emulation.movement.updated"
DOCUMENT_ISSUED = "emulation.document.issued"
ACTIVITY_RECORDED = "emulation.activity.recorded"
ACTIVITY_REMOVED = "emulation.activity.removed"
TARGET_SET = "emulation.target.set"
REGISTRATION_MADE = "emulation.registration.made"
REGISTRATION_UPDATED = "emulation.registration.updated"
SCORE_COMPUTED = "emulation.score.computed"  # written by scoring.repository.SCORE_SQL itself
EXEMPLAR_RECOGNISED = "emulation.exemplar.recognised"
EXEMPLAR_WITHDRAWN = "emulation.exemplar.withdrawn"
NOMINATION_SUBMITTED = "emulation.nomination.submitted"
NOMINATION_FORWARDED = "emulation.nomination.forwarded"
NOMINATION_RETURNED = "emulation.nomination.returned"
NOMINATION_DECIDED = "emulation.nomination.decided"
NOMINATION_REJECTED = "emulation.nomination.rejected"
AWARD_REVOKED = "emulation.award.revoked"


def _event(type_: str, subject: str, unit_path: str, version: int, payload: dict[str, Any]) -> Event:
    return Event(type=type_, producer=PRODUCER, subject_id=subject, unit_code=unit_code_of(unit_path),
                 unit_path=unit_path, version=version, payload={**payload, "unit_path": unit_path})


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def movement(m: Movement, type_: str = MOVEMENT_LAUNCHED) -> Event:
    return _event(type_, str(m.id), m.unit_path, m.version, {
        "movement_id": str(m.id), "name": m.name, "hierarchy": m.unit_path.split(".")[0], "level": m.level,
        "issuing_body": m.issuing_body, "starts_on": m.starts_on.isoformat(), "ends_on": m.ends_on.isoformat(),
        "description": m.description, "objectives": m.objectives, "phases": m.phases})


def document(d: Document) -> Event:
    return _event(DOCUMENT_ISSUED, str(d.id), d.unit_path, d.version, {
        "document_id": str(d.id), "movement_id": str(d.movement_id), "doc_type": d.doc_type,
        "doc_type_name": movement_rules.DOC_TYPES[d.doc_type], "number": d.number,
        "issued_on": d.issued_on.isoformat(), "issuing_body": d.issuing_body, "summary": d.summary,
        "signer": d.signer, "launches_movement": d.launches_movement})


def activity(a: Activity) -> Event:
    kind = movement_rules.ACTIVITY_KINDS[a.kind]
    return _event(ACTIVITY_REMOVED if a.removed else ACTIVITY_RECORDED, str(a.id), a.unit_path, a.version, {
        "activity_id": str(a.id), "movement_id": str(a.movement_id), "year": a.year,
        "quarter": (a.held_on.month - 1) // 3 + 1, "held_on": a.held_on.isoformat(), "kind": a.kind,
        "kind_name": kind.name, "group": kind.group, "measure": kind.measure, "count": a.count,
        "participants": a.participants, "title": a.title})


def target(t: Target, measure_unit: str) -> Event:
    return _event(TARGET_SET, str(t.id), t.unit_path, t.version, {
        "target_id": str(t.id), "movement_id": str(t.movement_id), "year": t.year, "indicator": t.indicator,
        "measure_unit": measure_unit, "value": _number(t.value), "upper": None, "parent_path": t.parent_path,
        "parent_value": _number(t.parent_value)})


def registration(r: Registration, type_: str = REGISTRATION_MADE) -> Event:
    return _event(type_, str(r.id), r.unit_path, r.version, {
        "registration_id": str(r.id), "movement_id": str(r.movement_id), "year": r.year,
        "registrant_kind": r.registrant_kind, "registrant_name": r.registrant_name,
        "household_id": r.household_id, "title_sought": r.title_sought, "status": r.status})


def exemplar(e: Exemplar) -> Event:
    return _event(EXEMPLAR_WITHDRAWN if e.withdrawn else EXEMPLAR_RECOGNISED, str(e.id), e.unit_path, e.version, {
        "exemplar_id": str(e.id), "movement_id": str(e.movement_id) if e.movement_id else None, "kind": e.kind,
        "name": e.name, "summary": e.summary, "recognised_by": e.recognised_by,
        "recognised_on": e.recognised_on.isoformat(), "document_number": e.document_number})


def award_payload(a: Award) -> dict[str, Any]:
    return {"award_id": str(a.id), "decision_number": a.decision_number, "decision_date": a.decision_date.isoformat(),
            "signer": a.signer, "awarding_path": a.awarding_path, "awarding_level": a.awarding_level,
            "awarding_authority": a.awarding_authority, "prize_multiplier": _number(a.prize_multiplier),
            "base_salary": a.base_salary, "prize_amount": a.prize_amount, "certificate_number": a.certificate_number}


def nomination(n: Nomination, type_: str, award: Award | None = None) -> Event:
    f = catalogue.form(n.form)
    return _event(type_, str(n.id), n.unit_path, n.version, {
        "nomination_id": str(n.id), "movement_id": str(n.movement_id) if n.movement_id else None, "year": n.year,
        "form": n.form, "form_name": f.name if f else n.form, "category": f.category if f else None,
        "nominee_kind": n.nominee_kind, "nominee_name": n.nominee_name, "state": n.state,
        "handler_path": n.handler_path, "comment": n.comment,
        "award": award_payload(award) if award is not None else None})


def revoked(a: Award) -> Event:
    r = a.revocation or {}
    return _event(AWARD_REVOKED, str(a.id), a.unit_path, a.version, {
        "award_id": str(a.id), "nomination_id": str(a.nomination_id), "form": a.form, "year": a.year,
        "reason": r.get("reason"), "decision_number": r.get("decision_number"),
        "decision_date": r.get("decision_date"), "recovered_amount": r.get("recovered_amount")})
