"""Projection of `registry.unit.changed` into `em_units`: the units a request may name, their level
and parent. A unit event is applied when its version is at least the one held."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Event
from shared.scope import level_of

_UPSERT = text("""
INSERT INTO em_units AS u (path, hierarchy, code, name, level, parent_path, valid_to, version)
SELECT * FROM unnest(CAST(:paths AS text[]), CAST(:hierarchies AS text[]), CAST(:codes AS text[]),
                     CAST(:names AS text[]), CAST(:levels AS text[]), CAST(:parents AS text[]),
                     CAST(:valid_to AS date[]), CAST(:versions AS bigint[]))
ON CONFLICT (path) DO UPDATE SET hierarchy = EXCLUDED.hierarchy, code = EXCLUDED.code, name = EXCLUDED.name,
    level = EXCLUDED.level, parent_path = EXCLUDED.parent_path, valid_to = EXCLUDED.valid_to,
    version = EXCLUDED.version
WHERE u.version <= EXCLUDED.version
""")


def _row(event: Event) -> dict[str, Any]:
    p = event.payload
    path = str(event.subject_id)
    valid_to = p.get("valid_to")
    return {"path": path, "hierarchy": p.get("hierarchy") or path.split(".")[0], "code": str(p.get("code")),
            "name": str(p.get("name") or p.get("code")), "level": p.get("level") or level_of(path),
            "parent": p.get("parent_path"), "valid_to": date.fromisoformat(str(valid_to)[:10]) if valid_to else None,
            "version": event.version}


async def upsert_units(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:  # one row per path in a statement: the newest version
        if row["path"] not in latest or latest[row["path"]]["version"] <= row["version"]:
            latest[row["path"]] = row
    if not latest:
        return
    items = list(latest.values())
    await session.execute(_UPSERT, {
        "paths": [r["path"] for r in items], "hierarchies": [r["hierarchy"] for r in items],
        "codes": [r["code"] for r in items], "names": [r["name"] for r in items],
        "levels": [r["level"] for r in items], "parents": [r["parent"] for r in items],
        "valid_to": [r["valid_to"] for r in items], "versions": [r["version"] for r in items]})


async def on_unit_changed(session: AsyncSession, events: list[Event]) -> None:
    await upsert_units(session, [_row(e) for e in events])
