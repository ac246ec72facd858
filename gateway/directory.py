"""The unit directory: which paths a unit code names, from the registry's `registry.unit.changed`.

The consumer writes the gateway's `directory_units` table (so a restart or another replica finds
it) and updates this process's map at once; a refresh loop reads the rows changed since its last
look (another replica consumed those events). The hot path only reads the in-memory maps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import DirectoryUnit
from shared.consumer import Consumer
from shared.db import Database
from shared.events import Event
from shared.scope import HIERARCHIES, split_path
from shared.tasks import Periodic

log = logging.getLogger(__name__)

UNIT_CHANGED = "registry.unit.changed"
_OVERLAP = timedelta(seconds=30)
_COLUMNS = (DirectoryUnit.path, DirectoryUnit.hierarchy, DirectoryUnit.code, DirectoryUnit.level,
            DirectoryUnit.name, DirectoryUnit.parent_path)

_UPSERT = text("""
INSERT INTO directory_units (path, hierarchy, code, level, name, parent_path, version, updated_at)
SELECT *, now() FROM unnest(CAST(:paths AS text[]), CAST(:hierarchies AS text[]), CAST(:codes AS text[]),
                            CAST(:levels AS text[]), CAST(:names AS text[]), CAST(:parents AS text[]),
                            CAST(:versions AS int[]))
ON CONFLICT (path) DO UPDATE SET hierarchy = EXCLUDED.hierarchy, code = EXCLUDED.code,
    level = EXCLUDED.level, name = EXCLUDED.name, parent_path = EXCLUDED.parent_path,
    version = EXCLUDED.version, updated_at = now()
WHERE directory_units.version <= EXCLUDED.version
""")


# Every insert adds a row and every applied change raises a version: either moves the fingerprint.
_FINGERPRINT = text("SELECT count(*), coalesce(sum(version), 0), max(updated_at) FROM directory_units")


@dataclass(frozen=True)
class DirUnit:
    path: str
    hierarchy: str
    code: str
    level: str
    name: str = ""
    parent_path: str | None = None


def level_of(path: str) -> str:
    hierarchy, codes = split_path(path)
    if not codes:
        return "national"
    if len(codes) == 1:
        return "province"
    if hierarchy == "v2008" and len(codes) == 2:
        return "district"
    return "commune"


class UnitDirectory:
    def __init__(self) -> None:
        self._by_code: dict[str, tuple[DirUnit, ...]] = {}
        self._by_path: dict[str, DirUnit] = {}
        self._latest: datetime | None = None  # newest `updated_at` loaded from the table
        self._fingerprint: tuple[object, ...] | None = None  # the table's at the last look

    def __len__(self) -> int:
        return len(self._by_path)

    def put(self, units: list[DirUnit]) -> None:
        for unit in units:
            old = self._by_path.get(unit.path)
            self._by_path[unit.path] = unit
            if old is not None and old.code != unit.code:
                self._by_code[old.code] = tuple(u for u in self._by_code.get(old.code, ()) if u.path != unit.path)
            others = tuple(u for u in self._by_code.get(unit.code, ()) if u.path != unit.path)
            self._by_code[unit.code] = (*others, unit)

    def resolve(self, code: str, hierarchy: str | None = None) -> tuple[DirUnit, ...]:
        """The units a code names (a code may exist in both hierarchies); a path names itself.

        A hierarchy root (`v2008`) is a valid name for the whole hierarchy."""
        if "." in code or code in HIERARCHIES:
            unit = self._by_path.get(code)
            if unit is None and code in HIERARCHIES:
                unit = DirUnit(code, code, "", "national")
            return (unit,) if unit is not None and (hierarchy is None or unit.hierarchy == hierarchy) else ()
        units = self._by_code.get(code, ())
        if hierarchy is not None:
            units = tuple(u for u in units if u.hierarchy == hierarchy)
        return units

    def by_path(self, path: str) -> DirUnit | None:
        return self._by_path.get(path)

    # ---- persistence -----------------------------------------------------------------------
    async def load(self, db: Database) -> None:
        """Everything in the table (at start)."""
        async with db.system_session() as session:
            fingerprint = tuple((await session.execute(_FINGERPRINT)).one())
            rows = (await session.execute(select(*_COLUMNS, DirectoryUnit.updated_at))).all()
        fresh = UnitDirectory()
        fresh.put([DirUnit(*row[:-1]) for row in rows])
        self._by_code, self._by_path = fresh._by_code, fresh._by_path
        self._latest = max((row[-1] for row in rows), default=None)
        self._fingerprint = fingerprint

    async def refresh(self, db: Database) -> int:
        """Rows another replica wrote since the last look (with an overlap: a transaction stamps
        `updated_at` when it starts and may commit later). Re-applying a row is harmless.

        Nothing is read while the table's fingerprint (rows, versions, latest stamp) is unchanged: after a
        bulk load the overlap holds every unit, and re-reading 14,000 rows every few seconds stalled
        the gateway's event loop (p99 of proxied requests ≈ 150 ms)."""
        if self._latest is None:
            await self.load(db)
            return len(self._by_path)
        since = self._latest - _OVERLAP
        async with db.system_session() as session:
            fingerprint = tuple((await session.execute(_FINGERPRINT)).one())
            if fingerprint == self._fingerprint:
                return 0
            rows = (await session.execute(
                select(*_COLUMNS, DirectoryUnit.updated_at).where(DirectoryUnit.updated_at > since))).all()
        if rows:
            self.put([DirUnit(*row[:-1]) for row in rows])
            self._latest = max(self._latest, max(row[-1] for row in rows))
        self._fingerprint = fingerprint  # read before the rows: a later change shows at the next look
        return len(rows)

    def consumer(self) -> Consumer:
        async def on_unit_changed(session: AsyncSession, events: list[Event]) -> None:
            units = [_unit_of(e) for e in events]
            latest: dict[str, tuple[DirUnit, int]] = {}
            for unit, event in zip(units, events, strict=True):
                if unit is not None and event.version >= latest.get(unit.path, (unit, 0))[1]:
                    latest[unit.path] = (unit, event.version)
            if not latest:
                return
            values = list(latest.values())
            await session.execute(_UPSERT, {
                "paths": [u.path for u, _ in values], "hierarchies": [u.hierarchy for u, _ in values],
                "codes": [u.code for u, _ in values], "levels": [u.level for u, _ in values],
                "names": [u.name for u, _ in values], "parents": [u.parent_path for u, _ in values],
                "versions": [v for _, v in values],
            })
            # Applied before the commit: a unit code is public reference data, and a failed batch is
            # redelivered and written again.
            self.put([u for u, _ in values])

        return Consumer(name="gateway-unit-directory", producer="registry",
                        handlers={UNIT_CHANGED: on_unit_changed}, filter_subjects=[UNIT_CHANGED])


def _unit_of(event: Event) -> DirUnit | None:
    payload = event.payload
    path = event.unit_path or event.subject_id
    if not path:
        return None
    hierarchy, codes = split_path(path)
    if hierarchy not in HIERARCHIES or not codes:
        log.warning("unit event with a malformed path ignored", extra={"path": path})
        return None
    return DirUnit(
        path=path, hierarchy=hierarchy, code=str(payload.get("code") or codes[-1]),
        level=str(payload.get("level") or level_of(path)), name=str(payload.get("name") or ""),
        parent_path=payload.get("parent_path") or (".".join([hierarchy, *codes[:-1]]) if len(codes) > 1 else None),
    )


class DirectoryRefresher(Periodic):
    """Brings in the rows other replicas wrote."""

    def __init__(self, directory: UnitDirectory, db: Database, interval: float) -> None:
        super().__init__("gateway-directory-refresh", interval)
        self.directory, self.db = directory, db

    async def tick(self) -> None:
        await self.directory.refresh(self.db)
