"""Periodic clean-up of a service's platform tables: expired Idempotency-Key answers (which may hold
personal data) are deleted, not kept forever."""

from __future__ import annotations

import logging

from shared.db import Database
from shared.idempotency import purge_expired
from shared.tasks import Periodic

log = logging.getLogger(__name__)


class Housekeeping(Periodic):
    def __init__(self, db: Database, interval_seconds: float = 600.0) -> None:
        super().__init__("housekeeping", interval_seconds, run_at_start=True)
        self.db = db

    async def run_once(self) -> int:
        async with self.db.system_session() as session:
            return await purge_expired(session)

    async def tick(self) -> None:
        purged = await self.run_once()
        if purged:
            log.info("expired idempotency keys deleted", extra={"count": purged})
