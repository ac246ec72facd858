"""Projection of `registry.unit.changed` into the units read model: name, level, parent, path, flags, crosswalk.

A unit event is applied when its version is at least the one held (re-publishing the same unit is
harmless). Its successors replace the ones held, and the crosswalk row of the old commune is
re-derived: the one v2025 commune its figures are rolled into is the successor that took it whole
(`partial = false`), else, when it was split, the first successor by path (docs/reporting.md).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting.events import BadEvent
from shared.events import Event

_UPSERT = text("""
INSERT INTO rp_units AS u (path, hierarchy, code, name, type, level, parent_path, urban, valid_from, valid_to,
                           poor_district, difficult_commune, ethnic_minority_area, mountainous, version)
SELECT * FROM unnest(
    CAST(:paths AS text[]), CAST(:hierarchies AS text[]), CAST(:codes AS text[]), CAST(:names AS text[]),
    CAST(:types AS text[]), CAST(:levels AS text[]), CAST(:parents AS text[]), CAST(:urban AS bool[]),
    CAST(:valid_from AS date[]), CAST(:valid_to AS date[]), CAST(:poor_district AS bool[]),
    CAST(:difficult AS bool[]), CAST(:ethnic AS bool[]), CAST(:mountainous AS bool[]),
    CAST(:versions AS bigint[]))
ON CONFLICT (path) DO UPDATE SET
    hierarchy = EXCLUDED.hierarchy, code = EXCLUDED.code, name = EXCLUDED.name, type = EXCLUDED.type,
    level = EXCLUDED.level, parent_path = EXCLUDED.parent_path, urban = EXCLUDED.urban,
    valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, poor_district = EXCLUDED.poor_district,
    difficult_commune = EXCLUDED.difficult_commune, ethnic_minority_area = EXCLUDED.ethnic_minority_area,
    mountainous = EXCLUDED.mountainous, version = EXCLUDED.version
WHERE u.version <= EXCLUDED.version
RETURNING path
""")

_DELETE_SUCCESSORS = text("DELETE FROM rp_unit_successors WHERE old_path = ANY(CAST(:paths AS text[]))")

_INSERT_SUCCESSORS = text("""
INSERT INTO rp_unit_successors (old_path, new_path, partial)
SELECT * FROM unnest(CAST(:old AS text[]), CAST(:new AS text[]), CAST(:partial AS bool[]))
ON CONFLICT (old_path, new_path) DO UPDATE SET partial = EXCLUDED.partial
""")

_CLEAR_CROSSWALK = text("DELETE FROM rp_crosswalk WHERE old_path = ANY(CAST(:paths AS text[]))")

_DERIVE_CROSSWALK = text("""
INSERT INTO rp_crosswalk (old_path, new_path)
SELECT DISTINCT ON (old_path) old_path, new_path FROM rp_unit_successors
WHERE old_path = ANY(CAST(:paths AS text[]))
ORDER BY old_path, partial, new_path
""")


def _date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def _unit_row(event: Event) -> dict[str, Any]:
    p = event.payload
    try:
        path = str(p.get("path") or event.unit_path or event.subject_id)
        return {
            "path": path, "hierarchy": str(p.get("hierarchy") or path.split(".", 1)[0]),
            "code": str(p.get("code") or path.rsplit(".", 1)[-1]), "name": str(p.get("name") or ""),
            "type": str(p.get("type") or ""), "level": str(p["level"]), "parent": p.get("parent_path"),
            "urban": p.get("urban"), "valid_from": _date(p.get("valid_from")), "valid_to": _date(p.get("valid_to")),
            "poor_district": bool(p.get("poor_district")), "difficult": bool(p.get("difficult_commune")),
            "ethnic": bool(p.get("ethnic_minority_area")), "mountainous": bool(p.get("mountainous")),
            "version": event.version,
            "successors": [(str(s["path"]), bool(s.get("partial"))) for s in (p.get("successors") or [])],
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"event {event.id} ({event.type}): unusable unit payload: {exc}") from exc


async def on_unit_changed(session: AsyncSession, events: list[Event]) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        row = _unit_row(event)
        held = latest.get(row["path"])
        if held is None or row["version"] >= held["version"]:
            latest[row["path"]] = row
    rows = list(latest.values())
    columns = {
        "paths": "path", "hierarchies": "hierarchy", "codes": "code", "names": "name", "types": "type",
        "levels": "level", "parents": "parent", "urban": "urban", "valid_from": "valid_from",
        "valid_to": "valid_to", "poor_district": "poor_district", "difficult": "difficult", "ethnic": "ethnic",
        "mountainous": "mountainous", "versions": "version",
    }
    result = await session.execute(_UPSERT, {param: [r[key] for r in rows] for param, key in columns.items()})
    applied = {row[0] for row in result}
    if not applied:
        return
    old, new, partial = [], [], []
    for r in rows:
        if r["path"] in applied:
            for successor, is_partial in r["successors"]:
                old.append(r["path"])
                new.append(successor)
                partial.append(is_partial)
    paths = sorted(applied)
    await session.execute(_DELETE_SUCCESSORS, {"paths": paths})
    await session.execute(_CLEAR_CROSSWALK, {"paths": paths})
    if old:
        await session.execute(_INSERT_SUCCESSORS, {"old": old, "new": new, "partial": partial})
    await session.execute(_DERIVE_CROSSWALK, {"paths": paths})
