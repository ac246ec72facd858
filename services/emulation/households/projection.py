"""Projection of the registry's household events into `em_households`: which households exist, their
commune and whether the registry removed them — all a nomination or registration naming a household
needs (households/service.py). `registered` / `updated` / `removed`, and `restated` (the registry's
operator re-announcing a household at its current version: how households an import brought, which
has no `registered` event, become known); the newest version wins, an older or repeated event changes
nothing. One statement per batch; the consumer runs in a system session."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import Event

_UPSERT = text("""
INSERT INTO em_households AS h (id, unit_path, removed, version)
SELECT * FROM unnest(CAST(:ids AS text[]), CAST(:paths AS text[]), CAST(:removed AS bool[]),
                     CAST(:versions AS bigint[]))
ON CONFLICT (id) DO UPDATE SET unit_path = EXCLUDED.unit_path, removed = EXCLUDED.removed,
    version = EXCLUDED.version
WHERE h.version < EXCLUDED.version
""")


def _row(event: Event, removed: bool) -> dict[str, Any]:
    return {"id": str(event.subject_id), "path": str(event.unit_path), "removed": removed, "version": event.version}


async def _apply(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    newest: dict[str, dict[str, Any]] = {}
    for row in rows:  # one row per household in a statement: the newest version
        if row["id"] not in newest or newest[row["id"]]["version"] < row["version"]:
            newest[row["id"]] = row
    items = list(newest.values())
    if items:
        await session.execute(_UPSERT, {"ids": [r["id"] for r in items], "paths": [r["path"] for r in items],
                                        "removed": [r["removed"] for r in items],
                                        "versions": [r["version"] for r in items]})


async def on_household(session: AsyncSession, events: list[Event]) -> None:
    """`registered` and `updated`: the household exists in this commune."""
    await _apply(session, [_row(e, False) for e in events])


async def on_removed(session: AsyncSession, events: list[Event]) -> None:
    await _apply(session, [_row(e, True) for e in events])


HANDLERS = {
    "registry.household.registered": on_household,
    "registry.household.updated": on_household,
    "registry.household.removed": on_removed,
    "registry.household.restated": on_household,
}
