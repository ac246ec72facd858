"""Running import jobs inside the service process: a few at a time, the rest waiting as `pending`.

A job lives in this process (its spooled file is on local disk). If its database connection drops,
the process records the job `failed` as soon as the database answers again. If the process dies the
job stops refreshing its heartbeat, and readers report it `failed` once the heartbeat is older than
`stale_after_seconds`; nothing of it was committed, because the data commits only at its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import asyncpg

from services.registry.classification.classifier import Standards
from services.registry.imports.models import FAILED, FINISHED
from services.registry.imports.progress import record_failure
from services.registry.imports.runner import CONNECTION_LOST, ImportJobRunner, JobSpec
from services.registry.imports.settings import ImportSettings
from services.registry.personal_data import PersonalDataCipher

log = logging.getLogger(__name__)

STALE_FAILURE = "The import stopped (its service process ended) before finishing; nothing was stored. Upload again."
_PENDING_HEARTBEAT_SECONDS = 20.0


class ImportJobs:
    def __init__(self, dsn: str, settings: ImportSettings, standards: Standards) -> None:
        self.dsn = dsn
        self.standards = standards
        self.settings = settings
        self._slots = asyncio.Semaphore(max(1, settings.concurrent_jobs))
        self._tasks: set[asyncio.Task[str]] = set()

    def start(self, spec: JobSpec, cipher: PersonalDataCipher) -> asyncio.Task[str]:
        """Runs the job in the background (the caller's context, so events carry its request id)."""
        task = asyncio.create_task(self._run(spec, cipher), name=f"import-{spec.job_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self, spec: JobSpec, cipher: PersonalDataCipher) -> str:
        try:
            await self._wait_for_slot(spec)
            try:
                return await ImportJobRunner(spec, self.dsn, self.settings, cipher, self.standards).run()
            except Exception:
                # The database was unreachable when the job began: recorded failed once it answers again.
                log.exception("import job could not run", extra={"job_id": str(spec.job_id)})
                await record_failure(self.dsn, spec.job_id, CONNECTION_LOST, self.settings.stale_after_seconds)
                return FAILED
            finally:
                self._slots.release()
        finally:
            with contextlib.suppress(FileNotFoundError):
                spec.file.unlink()

    async def _wait_for_slot(self, spec: JobSpec) -> None:
        while True:
            try:
                await asyncio.wait_for(self._slots.acquire(), _PENDING_HEARTBEAT_SECONDS)
                return
            except TimeoutError:
                await _heartbeat(self.dsn, spec)

    async def wait_all(self) -> None:
        """Waits for every running job (tests, and a graceful drain)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def shutdown(self) -> None:
        """Stops the jobs: each rolls back and is marked failed, so a client knows to upload again."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def _heartbeat(dsn: str, spec: JobSpec) -> None:
    with contextlib.suppress(Exception):
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("UPDATE import_jobs SET heartbeat_at = now() WHERE id = $1", spec.job_id)
        finally:
            await conn.close()


def is_stale(status: str, heartbeat_at: datetime | None, created_at: datetime, stale_after: float) -> bool:
    if status in FINISHED:
        return False
    last = heartbeat_at or created_at
    return datetime.now(UTC) - last > timedelta(seconds=stale_after)


async def fail_stale_jobs(dsn: str, stale_after: float) -> int:
    """At start-up: jobs whose process died are marked failed."""
    conn = await asyncpg.connect(dsn)
    try:
        result = await conn.execute(
            "UPDATE import_jobs SET status = $1, failure = $2, finished_at = now() "
            "WHERE status IN ('pending', 'running') "
            "AND COALESCE(heartbeat_at, created_at) < now() - make_interval(secs => $3)",
            FAILED, STALE_FAILURE, stale_after)
        return int(result.split()[-1])
    finally:
        await conn.close()
