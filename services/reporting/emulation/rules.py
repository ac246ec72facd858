"""Reading the emulation service's event payloads (docs/events.md "emulation") into read-model rows.

Pure. Each event carries its subject's whole state with the row version; a payload that lacks what a
report needs raises `BadEvent` and the consumer parks that one event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from services.reporting.events import BadEvent
from services.reporting.latest_state import json_text
from shared.events import Event

Row = dict[str, Any]


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _number(value: Any) -> str | None:
    """A number as exact decimal text (numeric columns), never through float arithmetic."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a number: {value!r}")
    return str(number)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _path(event: Event, p: dict[str, Any]) -> str:
    path = p.get("unit_path") or event.unit_path
    if not path:
        raise KeyError("unit_path")
    return str(path)


def movement_row(event: Event, p: dict[str, Any]) -> Row:
    return {"movement_id": str(p.get("movement_id") or event.subject_id), "unit_path": _path(event, p),
            "name": str(p["name"]), "level": p.get("level"), "issuing_body": p.get("issuing_body"),
            "starts_on": _date(p.get("starts_on")), "ends_on": _date(p.get("ends_on")),
            "objectives": json_text(p.get("objectives") or []), "phases": json_text(p.get("phases") or [])}


def document_row(event: Event, p: dict[str, Any]) -> Row:
    return {"document_id": str(p.get("document_id") or event.subject_id), "unit_path": _path(event, p),
            "movement_id": p.get("movement_id"), "doc_type": p.get("doc_type"),
            "doc_type_name": p.get("doc_type_name"), "number": p.get("number"),
            "issued_on": _date(p.get("issued_on")), "issuing_body": p.get("issuing_body"),
            "summary": p.get("summary"), "signer": p.get("signer")}


def activity_row(event: Event, p: dict[str, Any]) -> Row:
    removed = event.type.endswith(".removed")
    return {"activity_id": str(p.get("activity_id") or event.subject_id), "unit_path": _path(event, p),
            "movement_id": p.get("movement_id"), "year": _int(p.get("year")), "quarter": _int(p.get("quarter")),
            "held_on": _date(p.get("held_on")), "kind": p.get("kind"), "kind_name": p.get("kind_name"),
            "group_name": p.get("group"), "measure": p.get("measure"),
            "count": None if removed else int(p["count"]), "participants": _int(p.get("participants")),
            "title": p.get("title"), "removed": removed}


def target_row(event: Event, p: dict[str, Any]) -> Row:
    return {"target_id": str(p.get("target_id") or event.subject_id), "unit_path": _path(event, p),
            "movement_id": p.get("movement_id"), "year": _int(p.get("year")), "indicator": str(p["indicator"]),
            "measure_unit": p.get("measure_unit"), "value": _number(p.get("value")), "upper": _number(p.get("upper")),
            "parent_path": p.get("parent_path"), "parent_value": _number(p.get("parent_value"))}


def score_row(event: Event, p: dict[str, Any]) -> Row:
    return {"score_id": event.subject_id, "unit_path": _path(event, p), "movement_id": p.get("movement_id"),
            "criteria_set_id": _text(p.get("criteria_set_id")), "scored_by": _text(p.get("scored_by")),
            "year": _int(p.get("year")), "level": p.get("level"), "total": _number(p.get("total")),
            "criteria": json_text(p.get("criteria") or [])}


def exemplar_row(event: Event, p: dict[str, Any]) -> Row:
    return {"exemplar_id": str(p.get("exemplar_id") or event.subject_id), "unit_path": _path(event, p),
            "movement_id": p.get("movement_id"), "kind": p.get("kind"), "name": p.get("name"),
            "summary": p.get("summary"), "recognised_by": p.get("recognised_by"),
            "recognised_on": _date(p.get("recognised_on")), "document_number": p.get("document_number"),
            "withdrawn": event.type.endswith(".withdrawn")}


def award_row(event: Event, p: dict[str, Any]) -> Row:
    award = p.get("award") or {}
    return {"nomination_id": str(p.get("nomination_id") or event.subject_id), "unit_path": _path(event, p),
            "movement_id": p.get("movement_id"), "year": _int(p.get("year")), "form": p.get("form"),
            "form_name": p.get("form_name"), "category": p.get("category"), "nominee_kind": p.get("nominee_kind"),
            "nominee_name": p.get("nominee_name"), "award_id": str(award["award_id"]),
            "decision_number": award.get("decision_number"), "decision_date": _date(award.get("decision_date")),
            "awarding_level": award.get("awarding_level"), "awarding_authority": award.get("awarding_authority"),
            "prize_amount": _int(award.get("prize_amount"))}


def revocation_row(event: Event, p: dict[str, Any]) -> Row:
    return {"award_id": str(p.get("award_id") or event.subject_id), "unit_path": _path(event, p),
            "nomination_id": p.get("nomination_id"), "reason": p.get("reason"),
            "decision_number": p.get("decision_number"), "decision_date": _date(p.get("decision_date"))}


def row_of(read: Callable[[Event, dict[str, Any]], Row], event: Event) -> Row:
    """The row `read` makes of the event, with the event's version; BadEvent when it cannot."""
    try:
        return {**read(event, event.payload), "version": event.version}
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable payload: {exc!r}") from exc
