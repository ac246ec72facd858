"""Periodic clean-up of a service's platform tables: expired Idempotency-Key answers (which may hold
personal data) are deleted, not kept forever."""

from __future__ import annotations

import asyncio
import logging

from shared.db import Database
from shared.idempotency import purge_expired
from shared.tasks import stop_task

log = logging.getLogger(__name__)


class Housekeeping:
    def __init__(self, db: Database, interval_seconds: float = 600.0) -> None:
        self.db, self.interval = db, interval_seconds
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="housekeeping")

    async def stop(self) -> None:
        await stop_task(self._task)

    async def run_once(self) -> int:
        async with self.db.system_session() as session:
            return await purge_expired(session)

    async def _run(self) -> None:
        while True:
            try:
                purged = await self.run_once()
                if purged:
                    log.info("expired idempotency keys deleted", extra={"count": purged})
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("housekeeping failed; trying again later")
            await asyncio.sleep(self.interval)
