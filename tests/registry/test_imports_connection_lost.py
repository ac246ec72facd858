"""An import whose database connection drops (a restart, a failover, the network) is reported failed as
soon as the database answers again — not only once its heartbeat is stale (REGISTRY_IMPORT_STALE_AFTER_SECONDS,
300 s) — with nothing stored, and the same file then imports whole."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from services.registry.imports.settings import ImportSettings
from shared.db import asyncpg_dsn
from tests.kit import Stack, unreachable
from tests.registry.test_imports_support import (
    Registry,
    csv_file,
    household,
    registry,  # noqa: F401 (fixture)
    until,
)


async def test_a_dropped_connection_fails_the_import_at_once_and_stores_nothing(
        registry: Registry, stack: Stack) -> None:  # noqa: F811
    assert registry.app.state.import_settings.stale_after_seconds == ImportSettings().stale_after_seconds == 300
    rows = [household(n) for n in range(1, 11)]
    # The outbox held by another transaction: the job stops at its first event, batches stored in its
    # open transaction, progress written.
    holder = await asyncpg.connect(asyncpg_dsn(registry.db_url))
    try:
        await holder.execute("BEGIN; LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE")
        response = await registry.upload(csv_file(rows))
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]

        async def running() -> dict[str, Any] | None:
            body = (await registry.job(job_id)).json()
            return body if body["status"] == "running" and body["rows_done"] >= 3 else None

        await until(running)
        # The database goes away: every connection ended, new ones refused for a while.
        async with unreachable(stack, registry.db_url):
            await asyncio.sleep(2)
    finally:
        with contextlib.suppress(Exception):
            await holder.close()

    async def failed() -> dict[str, Any] | None:
        answer = await registry.job(job_id)
        body = answer.json() if answer.status_code == 200 else {}
        return body if body.get("status") == "failed" else None

    job = await until(failed)  # seconds, not the 300 s of a stale heartbeat
    assert "database connection was lost" in job["failure"] and "nothing was stored" in job["failure"]
    # Recorded in the database, not only reported: every process and reader sees it.
    (stored,) = await registry.sql("SELECT status, failure FROM import_jobs WHERE id = $1", job_id)
    assert (stored["status"], stored["failure"]) == ("failed", job["failure"])
    assert (await registry.counts())["households"] == 0

    again = await registry.run(csv_file(rows))
    assert again["status"] == "completed" and again["rows_stored"] == 10, again
    assert (await registry.counts())["households"] == 10
