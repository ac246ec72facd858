"""`registry.unit.changed` (docs/events.md): one per unit created or changed, version = the unit's row version."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from shared.events import Event

UNIT_CHANGED = "registry.unit.changed"
PRODUCER = "registry"
REFERENCE_FIELDS = ("hierarchy", "code", "name", "type", "level", "parent_path", "urban", "valid_from", "valid_to")
FLAG_FIELDS = ("poor_district", "difficult_commune", "ethnic_minority_area", "mountainous")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def unit_changed(unit: Mapping[str, Any], successors: Sequence[Mapping[str, Any]]) -> Event:
    """`unit` holds path, version and every reference and flag field; `successors` [{path, partial}]."""
    payload = {f: _plain(unit[f]) for f in (*REFERENCE_FIELDS, *FLAG_FIELDS)}
    payload["successors"] = [{"path": s["path"], "partial": bool(s["partial"])} for s in successors]
    return Event(type=UNIT_CHANGED, producer=PRODUCER, subject_id=unit["path"], payload=payload,
                 unit_code=unit["code"], unit_path=unit["path"], version=int(unit["version"]))
