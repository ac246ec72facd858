"""The unit directory: which paths a unit code names, from the registry's `registry.unit.changed`.

The consumer writes the gateway's `directory_units` table (so a restart or another replica finds
it) and updates this process's map at once; a refresh loop reads the rows changed since its last
look (another replica consumed those events). The hot path only reads the in-memory maps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.directory import repository
from shared.consumer import Consumer
from shared.db import Database
from shared.events import Event
from shared.scope import HIERARCHIES, level_of, split_path
from shared.tasks import Periodic

log = logging.getLogger(__name__)

UNIT_CHANGED = "registry.unit.changed"
_OVERLAP = timedelta(seconds=30)


@dataclass(frozen=True)
class DirUnit:
    path: str
    hierarchy: str
    code: str
    level: str
    name: str = ""
    parent_path: str | None = None


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
            fingerprint = await repository.fingerprint(session)
            rows = await repository.rows(session)
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
            fingerprint = await repository.fingerprint(session)
            if fingerprint == self._fingerprint:
                return 0
            rows = await repository.rows(session, changed_after=since)
        if rows:
            self.put([DirUnit(*row[:-1]) for row in rows])
            self._latest = max(self._latest, max(row[-1] for row in rows))
        self._fingerprint = fingerprint  # read before the rows: a later change shows at the next look
        return len(rows)

    def consumer(self) -> Consumer:
        async def on_unit_changed(session: AsyncSession, events: list[Event]) -> None:
            latest: dict[str, tuple[DirUnit, int]] = {}
            for event in events:
                unit = unit_of(event)
                if unit is not None and event.version >= latest.get(unit.path, (unit, 0))[1]:
                    latest[unit.path] = (unit, event.version)
            if not latest:
                return
            values = list(latest.values())
            await repository.upsert(session, values)
            # Applied before the commit: a unit code is public reference data, and a failed batch is
            # redelivered and written again.
            self.put([u for u, _ in values])

        return Consumer(name="gateway-unit-directory", producer="registry",
                        handlers={UNIT_CHANGED: on_unit_changed}, filter_subjects=[UNIT_CHANGED])


def unit_of(event: Event) -> DirUnit | None:
    """The unit a `registry.unit.changed` event describes; None (logged) for a malformed one."""
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
