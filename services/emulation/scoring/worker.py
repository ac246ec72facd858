"""The re-scorer: every `EMULATION_RESCORE_INTERVAL_SECONDS` it takes the (unit, year) pairs the
consumers queued and re-scores them in one pass per criteria set. Events arriving in a burst (a whole
province's reviews) are thus scored once, after the burst, instead of once per consumer batch; a late
event is scored at the next tick. Rows are taken with SKIP LOCKED, so several instances share a backlog."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import text

from services.emulation.scoring.service import rescore_touched
from shared.db import Database
from shared.tasks import Periodic

log = logging.getLogger(__name__)

TAKE = text("""
DELETE FROM em_rescore_queue WHERE (unit_path, year) IN (
    SELECT unit_path, year FROM em_rescore_queue FOR UPDATE SKIP LOCKED LIMIT :limit)
RETURNING unit_path, year
""")
LIMIT = 100_000


class Rescorer(Periodic):
    def __init__(self, db: Database, interval: float) -> None:
        super().__init__("emulation-rescorer", interval, run_at_start=True)
        self.db = db

    async def tick(self) -> None:
        while await self.once() >= LIMIT:  # a backlog larger than one take: keep going
            pass

    async def once(self) -> int:
        async with self.db.system_session() as session:
            taken = [(str(r[0]), int(r[1])) for r in (await session.execute(TAKE, {"limit": LIMIT})).all()]
            if taken:
                changed = await rescore_touched(session, taken)
                log.info("re-scored", extra={"touched": len(taken), "changed": changed})
        return len(taken)


def rescorer(app: FastAPI) -> Rescorer:
    return Rescorer(app.state.db, app.state.settings.rescore_interval_seconds)
