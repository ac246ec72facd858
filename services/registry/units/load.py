"""Loads both hierarchies and the crosswalk into the registry: `python -m services.registry.units.load URL`.

Idempotent and fast: reads what is stored, compares it with the package data, and writes only what
changed with a few set-based statements (unnest arrays), plus one `registry.unit.changed` event per
unit created or changed — in the same transaction, with one `record_events` call. Officers' flags
are never touched. Units that disappeared from the package are kept (households may point at them)
and counted in the report.
"""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.units.events import FLAG_FIELDS, REFERENCE_FIELDS, unit_changed
from services.registry.units.settings import UnitSettings
from services.registry.units.source import Source, read_source
from shared.db import Database
from shared.events import record_events

# Two loaders started together (two replicas booting) must not both insert.
_LOCK_KEY = 720_250_701
_FIELDS = ("path", "name_search", *REFERENCE_FIELDS)
_ARRAY_TYPES = {"urban": "boolean[]", "valid_from": "date[]", "valid_to": "date[]"}
_COLUMNS = ", ".join(_FIELDS)
_UNNEST = ", ".join(f"CAST(:{f} AS {_ARRAY_TYPES.get(f, 'text[]')})" for f in _FIELDS)

_INSERT_UNITS = text(f"INSERT INTO units ({_COLUMNS}) SELECT * FROM unnest({_UNNEST})")
_UPDATE_UNITS = text(
    f"UPDATE units AS u SET {', '.join(f'{f} = s.{f}' for f in _FIELDS if f != 'path')}, version = u.version + 1 "
    f"FROM unnest({_UNNEST}) AS s({_COLUMNS}) WHERE u.path = s.path"
)
_INSERT_SUCCESSIONS = text(
    "INSERT INTO unit_successions (old_path, new_path, partial) "
    "SELECT * FROM unnest(CAST(:old AS text[]), CAST(:new AS text[]), CAST(:partial AS boolean[])) "
    "ON CONFLICT (old_path, new_path) DO UPDATE SET partial = excluded.partial"
)
_DELETE_SUCCESSIONS = text(
    "DELETE FROM unit_successions AS x USING unnest(CAST(:old AS text[]), CAST(:new AS text[])) AS s(o, n) "
    "WHERE x.old_path = s.o AND x.new_path = s.n"
)


@dataclass(frozen=True)
class LoadReport:
    created: int
    updated: int
    unchanged: int
    successions_written: int
    successions_removed: int
    missing_from_source: int  # stored units the package no longer lists (kept)
    events: int

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self).items())


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {f: [r[f] for r in rows] for f in _FIELDS}


async def load_units(session: AsyncSession, source: Source | None = None) -> LoadReport:
    """Brings the units and the crosswalk in line with `source` (default: the package data)."""
    source = source or read_source(UnitSettings().special_zone_urban)
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    stored = {r["path"]: dict(r) for r in (await session.execute(text(
        f"SELECT {_COLUMNS}, version, {', '.join(FLAG_FIELDS)} FROM units"))).mappings()}
    stored_rows = await session.execute(text("SELECT old_path, new_path, partial FROM unit_successions"))
    stored_succ = {(str(o), str(n)): bool(p) for o, n, p in stored_rows}

    wanted_succ = {(s.old_path, s.new_path): s.partial for s in source.successions}
    successors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (old, new), partial in sorted(wanted_succ.items()):
        successors[old].append({"path": new, "partial": partial})
    stored_successors: dict[str, set[tuple[str, bool]]] = defaultdict(set)
    for (old, new), partial in stored_succ.items():
        stored_successors[old].add((new, partial))

    created: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    for record in source.units:
        row = asdict(record)
        current = stored.get(record.path)
        if current is None:
            created.append(row | dict.fromkeys(FLAG_FIELDS, False) | {"version": 1})
            continue
        same_reference = all(current[f] == row[f] for f in _FIELDS)
        same_successors = stored_successors.get(record.path, set()) == {
            (s["path"], s["partial"]) for s in successors.get(record.path, [])}
        if not (same_reference and same_successors):
            updated.append(row | {f: current[f] for f in FLAG_FIELDS} | {"version": current["version"] + 1})

    if created:
        await session.execute(_INSERT_UNITS, _columns(created))
    if updated:
        await session.execute(_UPDATE_UNITS, _columns(updated))
    to_write = [(o, n, p) for (o, n), p in wanted_succ.items() if stored_succ.get((o, n)) != p]
    to_remove = [key for key in stored_succ if key not in wanted_succ]
    if to_remove:
        await session.execute(_DELETE_SUCCESSIONS, {"old": [o for o, _ in to_remove], "new": [n for _, n in to_remove]})
    if to_write:
        await session.execute(_INSERT_SUCCESSIONS, {"old": [o for o, _, _ in to_write],
                                                    "new": [n for _, n, _ in to_write],
                                                    "partial": [p for _, _, p in to_write]})
    events = [unit_changed(row, successors.get(row["path"], [])) for row in (*created, *updated)]
    await record_events(session, events)
    source_paths = {u.path for u in source.units}
    return LoadReport(created=len(created), updated=len(updated),
                      unchanged=len(source.units) - len(created) - len(updated),
                      successions_written=len(to_write), successions_removed=len(to_remove),
                      missing_from_source=sum(1 for p in stored if p not in source_paths), events=len(events))


async def load(database_url: str) -> LoadReport:
    """Loads the units into the registry database at `database_url` (already migrated)."""
    db = Database(database_url, pool_size=1)
    try:
        async with db.system_session() as session:
            return await load_units(session)
    finally:
        await db.dispose()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m services.registry.units.load <registry-database-url>", file=sys.stderr)
        return 2
    report = asyncio.run(load(argv[0]))
    print(f"units loaded: {report.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
