"""Progress and results of a job, written on a connection of their own (autocommit).

The job's data goes in one long transaction that readers cannot see until it commits; progress,
rejected rows and the final state of a rejected or failed job are written here so they are visible
while it runs and survive the rollback of a rejected file.

Progress commits without waiting for the disk (`synchronous_commit` off): each wait would flush the
import's own gigabytes of WAL written so far and hold up the next batch. A crash may lose the last
fraction of a second of progress, which nobody needs (the job is reported failed by its stale
heartbeat); the final state of a job waits for the disk as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from services.registry.imports.validation import RowError

log = logging.getLogger(__name__)

_STARTED = """
UPDATE import_jobs SET status = 'running', format = $2, rows_total = $3, started_at = now(), heartbeat_at = now()
WHERE id = $1
"""
_PROGRESS = """
UPDATE import_jobs SET rows_done = $2::int, rows_total = GREATEST($3::int, $2::int), errors_total = $4,
       heartbeat_at = now()
WHERE id = $1
"""
_FINISHED = """
UPDATE import_jobs SET status = $2, rows_total = $3, rows_done = $4, rows_stored = $5, rows_rejected = $6,
       errors_total = $7, counts = $8::jsonb, failure = $9, unit_path = COALESCE($10, unit_path),
       finished_at = now(), heartbeat_at = now()
WHERE id = $1
"""
_HEARTBEAT = "UPDATE import_jobs SET heartbeat_at = now() WHERE id = $1"
# A failure is recorded only over a job still under way: a job whose data committed (its final state
# commits with the data) just as its connection dropped stays completed.
_UNFINISHED = " AND status IN ('pending', 'running')"
_FAIL = ("UPDATE import_jobs SET status = 'failed', failure = $2, finished_at = now(), heartbeat_at = now() "
         "WHERE id = $1" + _UNFINISHED)


SERVER_SETTINGS = {"synchronous_commit": "off"}  # for the progress connection (see above)


class Progress:
    def __init__(self, conn: asyncpg.Connection, job_id: UUID) -> None:
        self.conn = conn
        self.job_id = job_id
        self.errors_total = 0

    async def started(self, file_format: str, rows_total: int | None) -> None:
        await self.conn.execute(_STARTED, self.job_id, file_format, rows_total)

    async def errors(self, errors: Sequence[RowError]) -> None:
        if not errors:
            return
        records = [(self.job_id, self.errors_total + i, e.row, e.column, e.reason[:2000])
                   for i, e in enumerate(errors, start=1)]
        await self.conn.copy_records_to_table("import_errors", records=records,
                                              columns=("job_id", "seq", "row", "column", "reason"))
        self.errors_total += len(errors)

    async def advance(self, rows_done: int, rows_total: int | None, errors: Sequence[RowError]) -> None:
        await self.errors(errors)
        await self.conn.execute(_PROGRESS, self.job_id, rows_done, rows_total or 0, self.errors_total)

    async def reset(self) -> None:
        """Forgets what a pass reported, before the file is read again."""
        await self.conn.execute("DELETE FROM import_errors WHERE job_id = $1", self.job_id)
        self.errors_total = 0
        await self.conn.execute(_PROGRESS, self.job_id, 0, 0, 0)

    async def heartbeat(self) -> None:
        await self.conn.execute(_HEARTBEAT, self.job_id)

    async def finished(self, status: str, *, rows_total: int, rows_done: int, rows_stored: int = 0,
                       rows_rejected: int = 0, counts: dict[str, int] | None = None, failure: str | None = None,
                       unit_path: str | None = None, conn: asyncpg.Connection | None = None) -> None:
        """`conn`: the job's own connection when the final state must commit with the data."""
        args = (self.job_id, status, rows_total, rows_done, rows_stored, rows_rejected, self.errors_total,
                _json(counts), failure, unit_path)
        query = _FINISHED + (_UNFINISHED if status == "failed" else "")
        if conn is not None:
            await conn.execute(query, *args)
            return
        async with self.conn.transaction():
            await self.conn.execute("SET LOCAL synchronous_commit = on")
            await self.conn.execute(query, *args)


async def record_failure(dsn: str, job_id: UUID, failure: str, retry_for: float) -> bool:
    """Records a job failed on a connection of its own, when the job's connections are gone with the
    database: tried again (after 0.5 s, doubling up to 5 s) while the database is away, for up to
    `retry_for` seconds (after that, readers report the job failed by its stale heartbeat anyway).
    Whether it was recorded."""
    deadline, pause = time.monotonic() + retry_for, 0.5
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=10)
            try:
                await conn.execute(_FAIL, job_id, failure)
            finally:
                with contextlib.suppress(Exception):
                    await conn.close()
            return True
        except Exception as exc:
            if time.monotonic() + pause > deadline:
                log.warning("import job %s: could not record its failure (%s)", job_id, type(exc).__name__)
                return False
        await asyncio.sleep(pause)
        pause = min(5.0, pause * 2)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
