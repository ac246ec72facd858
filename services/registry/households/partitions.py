"""Housekeeping of the personal-data access log, partitioned by month (migration 0007): creates the
partitions of the current month and the next `MONTHS_AHEAD`, at start and every six hours, in every
registry process that runs background workers (the database function serialises them). A month whose
partition is missing is not refused: its rows wait in the default partition and move into their month
when it is created. The same loop runs the registry's other housekeeping jobs given to it (`also`:
DCI's, services/registry/dci/housekeeping.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date

from fastapi import FastAPI
from sqlalchemy import text

from shared import clock
from shared.db import Database
from shared.tasks import stop_task

log = logging.getLogger(__name__)

MONTHS_AHEAD = 3
EVERY_SECONDS = 6 * 3600.0


async def ensure_partitions(db: Database, first_month: date | None = None, months_ahead: int = MONTHS_AHEAD) -> int:
    """Creates the missing month partitions from `first_month` (default: this month, Vietnam time) to
    `months_ahead` months after this one. How many were created."""
    first = first_month or clock.today()
    async with db.system_session() as session:
        created = await session.scalar(text("SELECT ensure_access_log_partitions(:first, :ahead)"),
                                       {"first": first, "ahead": months_ahead})
    return int(created or 0)


class AccessLogPartitions:
    def __init__(self, db: Database, every_seconds: float = EVERY_SECONDS,
                 also: Sequence[Callable[[], Awaitable[object]]] = ()) -> None:
        self.db, self.every_seconds, self.also = db, every_seconds, tuple(also)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="access-log-partitions")

    async def stop(self) -> None:
        await stop_task(self._task)

    async def _run(self) -> None:
        while True:
            try:
                created = await ensure_partitions(self.db)
                if created:
                    log.info("access log: %d month partitions created", created)
                for job in self.also:
                    await job()
                await asyncio.sleep(self.every_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("registry housekeeping failed; trying again in a minute")
                await asyncio.sleep(60)


def worker(app: FastAPI, *also: Callable[[FastAPI], Callable[[], Awaitable[object]]]) -> AccessLogPartitions:
    """The registry app's housekeeping; `also`: its other jobs, each made for the app."""
    return AccessLogPartitions(app.state.db, also=[make(app) for make in also])
